package org.lori4j.cli;

import org.lori4j.LoriCli;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.TestPaths;
import org.lori4j.generate.Generator;
import org.lori4j.generate.SamplingParams;
import org.lori4j.io.EmbeddedModel;
import org.lori4j.io.Json;
import org.lori4j.io.SafeTensors;
import org.lori4j.io.SafeTensorsFile;
import org.lori4j.model.LlamaModel;
import org.lori4j.text.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lori4j.LoriCli.run;

/** lori generate / logits / bench end to end through Main, on the embedded stories260K model. */
class GenerateCommandsTest {

    private static String goldenGreedyText() {
        JsonNode golden = Json.read(TestPaths.realdata("stories260K/run_c_golden.json"));
        for (JsonNode c : golden.get("cases")) if (c.get("temperature").asDouble() == 0.0) return c.get("expected_stdout_text").asText();
        throw new AssertionError("no greedy case");
    }

    @Test
    void generateFromBosPrintsRunCsGreedyStory() {
        LoriCli.Result r = run("generate", "--prompt", "", "--max-new-tokens", "200");
        assertEquals(0, r.code(), r.err());
        assertEquals(goldenGreedyText() + "\n", r.out());
        assertTrue(r.err().contains("200 generated"), r.err());
    }

    @Test
    void promptIsEchoedUnlessNoEcho() {
        LoriCli.Result r = run("generate", "--prompt", "Once upon a time", "--max-new-tokens", "12");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Once upon a time, there was a little girl named Lily."), r.out());
        LoriCli.Result n = run("generate", "--prompt", "Once upon a time", "--max-new-tokens", "12", "--no-echo");
        assertEquals(r.out().substring("Once upon a time".length()), n.out());
    }

    @Test
    void seededSamplingIsReproducible() {
        String[] args = {"generate", "--prompt", "Once", "--max-new-tokens", "30", "--temperature", "1", "--top-p", "0.9", "--seed", "5"};
        LoriCli.Result a = run(args), b = run(args);
        assertEquals(0, a.code(), a.err());
        assertEquals(a.out(), b.out());
    }

    @Test
    void chatRendersTheTemplateWithTheGenerationPrompt(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("chat-model");
        Files.createDirectories(dir);
        Path src = EmbeddedModel.path();
        for (String f : List.of("config.json", "generation_config.json", "model.safetensors", "tokenizer.json"))
            Files.copy(src.resolve(f), dir.resolve(f));
        ObjectNode tc = (ObjectNode) Json.read(src.resolve("tokenizer_config.json"));
        tc.put("chat_template", "{% for m in messages %}{{ bos_token }}{{ m['content'] }}{% endfor %}"
                + "{% if add_generation_prompt %} Lily{% endif %}");
        Json.write(dir.resolve("tokenizer_config.json"), tc);

        LoriCli.Result r = run("generate", "--model", dir.toString(), "--chat", "There was a girl.", "--max-new-tokens", "15");
        assertEquals(0, r.code(), r.err());
        try (Tokenizer tok = Tokenizer.load(dir); LlamaModel m = LlamaModel.load(dir)) {
            int[] prompt = tok.encode("<s>There was a girl. Lily", false);
            assertEquals(1, prompt[0]);
            int[] out = new Generator(m).generate(prompt, SamplingParams.greedy(15, List.of(2)), null);
            int[] all = java.util.Arrays.copyOf(prompt, prompt.length + out.length);
            System.arraycopy(out, 0, all, prompt.length, out.length);
            // the streamed text is the continuation of the prompt's text (with its leading space)
            assertEquals(tok.decode(all, true).substring(tok.decode(prompt, true).length()) + "\n", r.out());
        }
        LoriCli.Result none = run("generate", "--chat", "Hi");
        assertEquals(2, none.code());
        assertTrue(none.err().startsWith("error: ") && none.err().contains("chat_template"), none.err());
    }

    @Test
    void adaptersAndBadValuesAreRefusedWithOneLine() {
        LoriCli.Result r = run("generate", "--prompt", "x", "--adapter", "/tmp/nothing");
        assertEquals(2, r.code());
        assertEquals("error: /tmp/nothing: adapter folder not found\n", r.err());
        r = run("generate", "--prompt", "x", "--top-p", "1.5");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("error: top-p"), r.err());
        r = run("logits", "--tokens", "1,999", "--out", "/tmp/never-written.safetensors");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("999"), r.err());
        assertTrue(!Files.exists(Path.of("/tmp/never-written.safetensors")));
    }

    @Test
    void logitsWritesTheFullSequenceLogits(@TempDir Path tmp) {
        Path out = tmp.resolve("l.safetensors");
        LoriCli.Result r = run("logits", "--tokens", "1,403,407,261", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        try (SafeTensorsFile f = SafeTensors.read(out); LlamaModel m = LlamaModel.load(EmbeddedModel.path())) {
            assertArrayEquals(new long[]{4, 512}, f.get("logits").shape());
            // not bit-equal: the Vector API's interpreted and compiled lane reductions round differently
            org.lori4j.model.LlamaModelTest.assertClose(m.logits(new int[]{1, 403, 407, 261}), f.get("logits").toFloatArray(), 1e-5, "logits");
        }
    }

    @Test
    void benchBuildsTheRandomModelOnceAndReports(@TempDir Path tmp) {
        LoriCli.Result r = run("bench", "decode", "--shape", "tiny", "--tokens", "4", "--runs", "1", "--cache-dir", tmp.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("writing random tiny f32 model") && r.out().contains("tokens/s") && r.out().contains("VmRSS"), r.out());
        assertTrue(Files.isRegularFile(tmp.resolve("tiny-f32/config.json")));
        r = run("bench", "prefill", "--shape", "tiny", "--dtype", "bf16", "--tokens", "16", "--runs", "1", "--cache-dir", tmp.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("GFLOP/s"), r.out());
        r = run("bench", "prefill", "--shape", "tiny", "--tokens", "16", "--runs", "1", "--cache-dir", tmp.toString());
        assertTrue(!r.out().contains("writing"), "reuses the cached model: " + r.out());
        assertEquals(2, run("bench", "sideways").code());
    }

    @Test
    void benchGenerateReportsEveryBatchSizeOnTheEmbeddedModel() {
        LoriCli.Result r = run("bench", "generate", "--prompts", "6", "--prompt-tokens", "9", "--shared-prefix", "4",
                "--tokens", "3", "--batches", "1,4", "--runs", "1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("6 prompts of 9 tokens (4 shared), 3 new tokens each"), r.out());
        assertTrue(r.out().contains("batch 1, 1 runs:") && r.out().contains("batch 4, 1 runs:")
                && r.out().contains("x batch 1"), r.out());
        LoriCli.Result bad = run("bench", "generate", "--batches", "1,0");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--batches"), bad.err());
        bad = run("bench", "generate", "--prompt-tokens", "5", "--shared-prefix", "6");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--shared-prefix"), bad.err());
    }
}
