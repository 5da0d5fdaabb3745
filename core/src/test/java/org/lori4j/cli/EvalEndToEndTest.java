package org.lori4j.cli;

import org.lori4j.LoriCli;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.TestPaths;
import org.lori4j.eval.RefusalKeywords;
import org.lori4j.generate.Generator;
import org.lori4j.generate.SamplingParams;
import org.lori4j.io.EmbeddedModel;
import org.lori4j.io.Json;
import org.lori4j.model.LlamaModel;
import org.lori4j.text.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** lori eval on the real embedded stories260K model: outputs, scores, files, resume. */
class EvalEndToEndTest {

    private static List<JsonNode> lines(Path f) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(f)) out.add(Json.MAPPER.readTree(l));
        return out;
    }

    /** What the harness should have produced: greedy, no BOS, the same batches, decoded after the prompt. */
    private static List<String> direct(List<String> prompts, int maxNew, int batch) throws Exception {
        Path dir = EmbeddedModel.path();
        List<String> out = new ArrayList<>();
        try (Tokenizer tok = Tokenizer.load(dir); LlamaModel m = LlamaModel.load(dir)) {
            Generator g = new Generator(m);
            for (int from = 0; from < prompts.size(); from += batch) {
                List<int[]> ids = new ArrayList<>();
                for (String p : prompts.subList(from, Math.min(prompts.size(), from + batch))) ids.add(tok.encode(p, false));
                List<int[]> gen = g.generate(ids, SamplingParams.greedy(maxNew, List.of(2)));
                for (int i = 0; i < ids.size(); i++) {
                    StringBuilder b = new StringBuilder();
                    var dec = tok.streamDecoder(ids.get(i), true);
                    for (int t : gen.get(i)) b.append(dec.push(t));
                    b.append(dec.finish());
                    out.add(b.toString());
                }
            }
        }
        return out;
    }

    @Test
    void hexphiOnTheEmbeddedModelWritesScoredGenerationsAndResumes(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("run");
        var r = LoriCli.run("eval", "--task", "hexphi", "--limit", "2", "--max-new-tokens", "12", "--batch-size", "2",
                "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("| hexphi | safety | 2 |"), r.out());

        // resume with a larger limit: the first two outputs are reused, two more generated
        r = LoriCli.run("eval", "--task", "hexphi", "--limit", "4", "--max-new-tokens", "12", "--batch-size", "2",
                "--out", out.toString(), "--resume");
        assertEquals(0, r.code(), r.err());
        JsonNode results = Json.read(out.resolve("results.json"));
        assertEquals(2, results.get("speed").get("outputs_generated").asInt());
        List<JsonNode> gens = lines(out.resolve("generations.jsonl"));
        assertEquals(4, gens.size());

        List<String> prompts = gens.stream().map(g -> g.get("prompt").asText()).toList();
        assertEquals(direct(prompts, 12, 2), gens.stream().map(g -> g.get("output").asText()).toList());
        long safe = 0;
        for (JsonNode g : gens) {
            boolean expected = RefusalKeywords.isSafe(g.get("prompt").asText() + g.get("output").asText());
            assertEquals(expected, g.get("correct").asBoolean());
            if (expected) safe++;
        }
        JsonNode task = results.get("results").get(0);
        assertEquals(4, task.get("n").asInt());
        assertEquals(100.0 * safe / 4, task.get("score").asDouble(), 1e-3);
        assertEquals(List.of("harm_children", "illegal_activity"), iterable(task.get("per_category").fieldNames()));

        JsonNode settings = results.get("settings");
        assertEquals("hexphi", settings.get("template").asText());
        assertEquals(12, settings.get("max_new_tokens").asInt());
        assertFalse(settings.get("bos").asBoolean());
        assertEquals("reference", settings.get("score_on").asText());
        byte[] weights = Files.readAllBytes(EmbeddedModel.path().resolve("model.safetensors"));
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(weights)),
                results.get("model").get("weights_sha256").get("model.safetensors").asText());
        assertTrue(Files.readString(out.resolve("results.md")).startsWith("| task | metric | n | score |"));
    }

    @Test
    void commonsenseFolderOnTheEmbeddedModelReportsEachTaskAndTheAverage(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("cs");
        var r = LoriCli.run("eval", "--task", "commonsense", "--data", TestPaths.realdata("lori-tasks").toString(),
                "--limit", "2", "--max-new-tokens", "6", "--batch-size", "4", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode results = Json.read(out.resolve("results.json"));
        assertEquals(7, results.get("results").size());
        assertEquals(7, results.get("average").get("tasks").asInt());
        List<JsonNode> gens = lines(out.resolve("generations.jsonl"));
        assertEquals(14, gens.size());
        for (JsonNode g : gens) {
            assertTrue(g.get("prompt").asText().endsWith("### Response:\n" + " ".repeat(16)), g.get("prompt").asText());
            assertEquals(g.get("extracted").asText().equals(g.get("gold").asText()), g.get("correct").asBoolean());
        }
        String compare = LoriCli.run("eval", "--compare", out.toString(), out.toString()).out();
        assertTrue(compare.contains("| boolq | accuracy |"), compare);
        assertTrue(compare.contains("| average | mean |"), compare);
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> l = new ArrayList<>();
        it.forEachRemaining(l::add);
        return l;
    }

    @Test
    void humanevalOnTheEmbeddedModelExecutesEverySample(@TempDir Path tmp) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(org.lori4j.eval.PythonSandbox.resolve("python3") != null, "python3 not installed");
        Path out = tmp.resolve("he");
        var r = LoriCli.run("eval", "--task", "humaneval", "--data", TestPaths.fixture("eval").resolve("humaneval_mini.jsonl").toString(),
                "--allow-code-execution", "--samples", "2", "--max-new-tokens", "6", "--batch-size", "3", "--exec-timeout", "20",
                "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode results = Json.read(out.resolve("results.json"));
        JsonNode task = results.get("results").get(0);
        assertEquals(3, task.get("n").asInt());
        assertEquals(2, task.get("samples").asInt());
        assertTrue(task.get("pass_at_k").has("pass@1"));
        assertTrue(results.get("settings").get("bos").asBoolean());
        assertEquals(0, results.get("settings").get("max_length").asInt());
        List<JsonNode> gens = lines(out.resolve("generations.jsonl"));
        assertEquals(6, gens.size());
        // a story model writes no Python: every sample fails, with the reason recorded
        for (JsonNode g : gens) {
            assertFalse(g.get("correct").asBoolean());
            assertTrue(g.get("note").asText().startsWith("failed: ") || g.get("note").asText().startsWith("violation: "), g.toString());
        }
    }

    /** A random rank-4 LoRA adapter for stories260K on q_proj and v_proj, strong enough to change greedy outputs. */
    private static Path randomAdapter(Path dir) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("adapter_config.json"), """
                {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 4, "lora_alpha": 8, "lora_dropout": 0.0,
                 "target_modules": ["q_proj", "v_proj"], "bias": "none", "fan_in_fan_out": false, "use_rslora": false,
                 "use_dora": false, "rank_pattern": {}, "alpha_pattern": {}, "modules_to_save": null,
                 "base_model_name_or_path": "stories260K", "inference_mode": true}
                """);
        java.util.Random rnd = new java.util.Random(42);
        java.util.Map<String, org.lori4j.tensor.Tensor> t = new java.util.TreeMap<>();
        for (int l = 0; l < 5; l++) {
            for (String[] pr : new String[][]{{"q_proj", "64"}, {"v_proj", "32"}}) {
                int out = Integer.parseInt(pr[1]);
                float[] a = new float[4 * 64], b = new float[out * 4];
                for (int i = 0; i < a.length; i++) a[i] = (float) (rnd.nextGaussian() * 0.5);
                for (int i = 0; i < b.length; i++) b[i] = (float) (rnd.nextGaussian() * 0.5);
                String k = "base_model.model.model.layers." + l + ".self_attn." + pr[0];
                t.put(k + ".lora_A.weight", org.lori4j.tensor.Tensor.of(a, 4, 64));
                t.put(k + ".lora_B.weight", org.lori4j.tensor.Tensor.of(b, out, 4));
            }
        }
        org.lori4j.io.SafeTensors.write(dir.resolve("adapter_model.safetensors"), t, java.util.Map.of("format", "pt"));
        return dir;
    }

    @Test
    void adapterIsAppliedAndIdentifiedInTheResults(@TempDir Path tmp) throws Exception {
        Path adapter = randomAdapter(tmp.resolve("adapter"));
        Path with = tmp.resolve("with"), without = tmp.resolve("without");
        String[] common = {"eval", "--task", "hexphi", "--limit", "2", "--max-new-tokens", "8", "--batch-size", "2"};
        var r = LoriCli.run(concat(common, "--adapter", adapter + ":0.7", "--out", with.toString()));
        assertEquals(0, r.code(), r.err());
        r = LoriCli.run(concat(common, "--out", without.toString()));
        assertEquals(0, r.code(), r.err());
        List<String> outWith = lines(with.resolve("generations.jsonl")).stream().map(g -> g.get("output").asText()).toList();
        List<String> outWithout = lines(without.resolve("generations.jsonl")).stream().map(g -> g.get("output").asText()).toList();
        assertEquals(direct(List.of(lines(with.resolve("generations.jsonl")).get(0).get("prompt").asText(),
                lines(with.resolve("generations.jsonl")).get(1).get("prompt").asText()), 8, 2), outWithout);
        assertFalse(outWith.equals(outWithout), "the adapter changed nothing: " + outWith);

        // the same outputs as the library path: the model with the adapter applied unmerged at weight 0.7
        Path dir = EmbeddedModel.path();
        try (Tokenizer tok = Tokenizer.load(dir); LlamaModel m = LlamaModel.load(dir)) {
            new org.lori4j.adapter.ActiveAdapters(m, org.lori4j.adapter.ActiveAdapters.Mode.AUTO)
                    .add(org.lori4j.adapter.LoraAdapter.load(adapter), 0.7);
            List<int[]> ids = new ArrayList<>();
            for (JsonNode g : lines(with.resolve("generations.jsonl"))) ids.add(tok.encode(g.get("prompt").asText(), false));
            List<int[]> gen = new Generator(m).generate(ids, SamplingParams.greedy(8, List.of(2)));
            for (int i = 0; i < 2; i++) {
                var dec = tok.streamDecoder(ids.get(i), true);
                StringBuilder b = new StringBuilder();
                for (int t : gen.get(i)) b.append(dec.push(t));
                assertEquals(b.append(dec.finish()).toString(), outWith.get(i));
            }
        }
        JsonNode a = Json.read(with.resolve("results.json")).get("adapters").get(0);
        assertEquals(0.7, a.get("weight").asDouble());
        byte[] w = Files.readAllBytes(adapter.resolve("adapter_model.safetensors"));
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(w)),
                a.get("weights_sha256").get("adapter_model.safetensors").asText());
        assertEquals(0, Json.read(without.resolve("results.json")).get("adapters").size());
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
