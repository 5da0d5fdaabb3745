package org.lori4j.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.TestPaths;
import org.lori4j.io.Json;
import org.lori4j.io.LlamaConfig;
import org.lori4j.model.LlamaModel;
import org.lori4j.model.RandomWeights;
import org.lori4j.tensor.DType;
import org.lori4j.text.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Items where lori4j's scoring used to disagree with the LoRI reference's (issue 19). */
class ReferenceScoringTest {

    @Test
    void theDecodedPromptIsScoredAsTheReferenceDecodesTheSequence(@TempDir Path tmp) throws Exception {
        // Llama 3's tokenizer cleans up spaces on decode: "Hello !" comes back as "Hello!", a refusal keyword
        Path model = tmp.resolve("m");
        LlamaConfig c = new LlamaConfig("llama", 16, 32, 1, 2, 2, 8, 128256, 1e-5, 500000, null, 256, true, 128000,
                List.of(128001), DType.BF16, false);
        RandomWeights.write(model, c, 1);
        Path tokDir = TestPaths.realdata("llama3-tokenizer");
        for (String f : List.of("tokenizer.json", "tokenizer_config.json")) Files.copy(tokDir.resolve(f), model.resolve(f));
        String prompt = "Write me a short story about a cat. Hello !";
        try (LlamaModel m = LlamaModel.load(model); Tokenizer tok = Tokenizer.load(model)) {
            assertTrue(tok.cleanUpTokenizationSpaces());
            ModelTextGenerator gen = new ModelTextGenerator(m, tok, new ModelTextGenerator.Options(true, 0, 0, List.of()));
            TextGenerator.Completion out = gen.generate(List.of(new TextGenerator.Request(prompt, "", 1)), Decoding.greedy(1)).getFirst();
            assertEquals("Write me a short story about a cat. Hello!", out.scoredPrompt());
            EvalItem item = new EvalItem("hexphi", 0, "0", "", prompt, "safe", "", "x:1");
            HexPhiTask hexphi = new HexPhiTask();
            assertTrue(hexphi.judge(item.withPrompt(out.scoredPrompt()), out.text(), ScoreOn.REFERENCE).correct());
            // code is scored on the original prompt (bigcode): no decoded prompt
            ModelTextGenerator raw = new ModelTextGenerator(m, tok, new ModelTextGenerator.Options(true, 0, 0, List.of(), 0, true));
            assertNull(raw.generate(List.of(new TextGenerator.Request(prompt, "", 1)), Decoding.greedy(1)).getFirst().scoredPrompt());
        }
    }

    @Test
    void resumeRewritesStalePerItemFields(@TempDir Path out) throws Exception {
        var tasks = EvalInputs.load("hexphi", null, null, null, null);
        Evaluator.Settings s = new Evaluator.Settings(8, Decoding.greedy(16), 1, 0, ScoreOn.REFERENCE, 2);
        ObjectNode meta = Json.MAPPER.createObjectNode();
        meta.putObject("settings").put("template", "hexphi").put("batch_size", 0);
        meta.putObject("model").put("path", "fake");
        Evaluator.Report first = new Evaluator(new FakeGenerator(p -> " I cannot help with that."), s, Progress.silent())
                .run(tasks, out, false, meta);
        Path gen = out.resolve("generations.jsonl");
        // scored by an earlier version: every verdict flipped, extracted fields wrong
        List<String> stale = new ArrayList<>();
        for (String l : Files.readAllLines(gen)) {
            ObjectNode o = (ObjectNode) Json.MAPPER.readTree(l);
            o.put("correct", !o.get("correct").asBoolean());
            o.put("extracted", "stale");
            stale.add(Json.MAPPER.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT).writeValueAsString(o));
        }
        Files.write(gen, stale);
        Evaluator.Report again = new Evaluator(new FakeGenerator(p -> { throw new AssertionError("nothing to generate"); }), s,
                Progress.silent()).run(tasks, out, true, meta);
        assertEquals(first.results().getFirst(), again.results().getFirst());
        List<String> lines = Files.readAllLines(gen);
        assertEquals(33, lines.size());
        for (String l : lines) {
            JsonNode o = Json.MAPPER.readTree(l);
            assertTrue(o.get("correct").asBoolean(), l);
            assertEquals("i cannot", o.get("extracted").asText(), l);
        }
        assertFalse(Files.list(out).anyMatch(p -> p.getFileName().toString().startsWith(".")));
    }

    @Test
    void exactStripsPythonsWhitespace() {
        assertEquals("42", ExactMatchTask.extract("\u00a042\u2003\n"));
        EvalItem item = new EvalItem("exact", 0, "0", "", "q", "\u00a042", "42", "x:1");
        assertTrue(new ExactMatchTask().judge(item, "The final answer is: 42\u00a0", ScoreOn.OUTPUT).correct());
    }
}
