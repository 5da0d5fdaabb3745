package org.lori4j.generate;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.lori4j.io.Json;
import org.lori4j.model.LlamaModel;
import org.lori4j.model.Stories260K;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Greedy generation on the real stories260K model against llama2.c run.c's recorded output. */
class GoldenStories260KTest {

    @Test
    void greedyContinuationOfBosEqualsRunC() throws Exception {
        JsonNode golden = Json.read(Stories260K.dir().resolve("run_c_golden.json"));
        JsonNode greedy = null;
        for (JsonNode c : golden.get("cases")) if (c.get("temperature").asDouble() == 0.0) greedy = c;
        assertEquals("", greedy.get("prompt").asText());
        int steps = greedy.get("steps").asInt();   // run.c: positions including BOS; prints one token per position
        try (LlamaModel model = Stories260K.model()) {
            int[] out = new Generator(model).generate(new int[]{1}, SamplingParams.greedy(steps, List.of(1)), null);
            assertEquals(steps, out.length);
            assertEquals(greedy.get("expected_stdout_text").asText(), Stories260K.decodeLikeRunC(out));
        }
    }
}
