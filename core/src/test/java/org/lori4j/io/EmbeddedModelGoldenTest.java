package org.lori4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.lori4j.TestPaths;
import org.lori4j.generate.Generator;
import org.lori4j.generate.SamplingParams;
import org.lori4j.model.LlamaModel;
import org.lori4j.text.Tokenizer;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * End to end on the shipped HF files: the embedded model, loaded through safetensors and decoded with its
 * tokenizer.json, greedily continues BOS exactly as llama2.c's run.c does on the original .bin files.
 */
class EmbeddedModelGoldenTest {
    @Test
    void embeddedModelReproducesRunCGreedyOutput() {
        JsonNode golden = Json.read(TestPaths.realdata("stories260K/run_c_golden.json"));
        JsonNode greedy = null;
        for (JsonNode c : golden.get("cases")) if (c.get("temperature").asDouble() == 0.0) greedy = c;
        int steps = greedy.get("steps").asInt();
        try (LlamaModel model = LlamaModel.load(EmbeddedModel.path());
             Tokenizer tok = Tokenizer.load(EmbeddedModel.path())) {
            int[] out = new Generator(model).generate(new int[]{1}, SamplingParams.greedy(steps, List.of(1)), null);
            // run.c prints steps-1 tokens after BOS and strips the leading space of the first piece, as HF's Strip does
            int[] generated = Arrays.copyOfRange(out, out[0] == 1 ? 1 : 0, out.length);
            assertEquals(greedy.get("expected_stdout_text").asText(), tok.decode(generated, true));
        }
    }
}
