package org.lori4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.adapter.Masks;
import org.lori4j.io.EmbeddedModel;
import org.lori4j.io.Json;
import org.lori4j.quickstart.Quickstart;
import org.lori4j.quickstart.QuickstartOptions;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * `lori quickstart --quick` end to end on the embedded stories260K model: the shape of every table, parameter
 * counts by formula, LoRI-S sparsity and mask containment, continual LoRI-S leaving safety's other entries
 * untouched, and the files a user looks at. Accuracies are only checked to be fractions.
 */
class QuickstartCommandTest {
    static final List<String> TASKS = List.of("nlu", "math", "code", "safety");
    static final List<String> METHODS = List.of("LoRA", "LoRI-D", "LoRI-S");

    // stories260K: hidden 64, intermediate 172, kv dim 4 heads * 8 = 32, 5 layers; the quick run uses r = 8
    static final int R = 8, LAYERS = 5;
    static final int IN_PLUS_OUT = (64 + 64) + (64 + 32) + (64 + 32) + (64 + 64) + 3 * (64 + 172);
    static final int OUT = 64 + 32 + 32 + 64 + 172 + 172 + 64;

    @TempDir
    static Path tmp;
    static Path out;
    static String stdout, stderr;
    static JsonNode results;

    @BeforeAll
    static void runQuickstart() throws Exception {
        out = tmp.resolve("qs");
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            code = Main.run("quickstart", "--quick", "--seed", "3", "--out", out.toString());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        stdout = o.toString(StandardCharsets.UTF_8);
        stderr = e.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, stderr);
        results = Json.read(out.resolve("results.json"));
    }

    static void assertFraction(JsonNode n, String where) {
        assertNotNull(n, where + " missing");
        assertTrue(n.isNumber(), where + " is not a number: " + n);
        assertTrue(n.asDouble() >= 0 && n.asDouble() <= 1, where + " = " + n + " is not in [0, 1]");
    }

    @Test
    void everyTableCellIsPresentAndAFraction() {
        for (String t : TASKS) assertFraction(results.get("base").get(t), "base " + t);
        for (String m : METHODS) {
            for (String t : TASKS) assertFraction(results.get("single_task").get(m).get(t), "single " + m + " " + t);
            for (String how : List.of("cat", "linear"))
                for (String t : TASKS) assertFraction(results.get("merging").get(how).get(m).get(t), how + " " + m + " " + t);
            for (String t : List.of("nlu", "math", "code")) {
                assertFraction(results.get("continual").get(m).get(t).get("safety"), "continual " + m + " " + t + " safety");
                assertFraction(results.get("continual").get(m).get(t).get("task"), "continual " + m + " " + t);
            }
        }
        assertEquals(3, results.get("options").get("seed").asInt());
        assertTrue(results.get("options").get("quick").asBoolean());
    }

    @Test
    void trainableParametersFollowTheFormulas() {
        long lora = (long) LAYERS * R * IN_PLUS_OUT;    // A [r, in] and B [out, r] of all seven projections
        long loriD = (long) LAYERS * R * OUT;           // B only
        long k = (long) ((1 - 0.9) * loriD);            // int((1 - s) * n) as Python computes it: 2399, not 2400
        assertEquals(46_240, lora);
        assertEquals(lora, results.get("lora_parameters_per_adapter").asLong());
        for (String t : TASKS) {
            JsonNode tr = results.get("single_task");
            assertEquals(lora, tr.get("LoRA").get("trainable_parameters").get(t).asLong(), t);
            assertEquals(loriD, tr.get("LoRI-D").get("trainable_parameters").get(t).asLong(), t);
            long s = tr.get("LoRI-S").get("trainable_parameters").get(t).asLong();
            assertTrue(s >= k && s <= k + 10, t + ": LoRI-S trains " + s + ", expected k = " + k + " up to ties");
        }
    }

    @Test
    void loriSAdaptersAreNinetyPercentSparseInsideTheirMasks() {
        for (String t : TASKS) {
            LoraAdapter s = LoraAdapter.load(out.resolve("adapters/single/" + t + "-lori-s"));
            LoraAdapter d = LoraAdapter.load(out.resolve("adapters/single/" + t + "-lori-d"));
            Map<String, Masks.Mask> mask = Masks.read(out.resolve("adapters/single/" + t + "-lori-d/masks/0.9_mask.safetensors"));
            long zeros = 0, all = 0, kept = 0;
            for (LoraAdapter.Module m : s.modules().values()) {
                boolean[] keep = mask.get(m.keyB()).keep();
                for (int i = 0; i < keep.length; i++) {
                    if (keep[i]) kept++;
                    if (!keep[i]) assertEquals(0f, m.b()[i], t + " " + m.keyB() + "[" + i + "] outside the mask");
                }
                zeros += m.zerosB();
                all += m.b().length;
                // LoRI-S takes A from the LoRI-D run of its task, frozen in both
                assertArrayEquals(d.module(m.name()).a(), m.a(), t + " " + m.name() + " A");
            }
            double sparsity = (double) zeros / all;
            assertTrue(sparsity >= 1 - (double) kept / all && kept <= (long) (0.1 * all) + 10,
                    t + ": sparsity " + sparsity + ", mask keeps " + kept + " of " + all);
        }
    }

    @Test
    void continualLoriSKeepsSafetyEntriesOutsideTheNewMask() {
        LoraAdapter safety = LoraAdapter.load(out.resolve("adapters/single/safety-lori-s"));
        for (String t : List.of("nlu", "math", "code")) {
            LoraAdapter after = LoraAdapter.load(out.resolve("adapters/continual/safety-then-" + t + "-lori-s"));
            int changed = 0;
            for (LoraAdapter.Module m : after.modules().values()) {
                LoraAdapter.Module before = safety.module(m.name());
                assertArrayEquals(before.a(), m.a(), "A is frozen");
                for (int i = 0; i < m.b().length; i++) {
                    if (before.b()[i] != 0f && m.b()[i] != before.b()[i]) changed++;
                }
            }
            assertEquals(0, changed, t + ": safety's nonzero B entries must keep their values bit for bit");
        }
    }

    @Test
    void dataFilesAreSeededDisjointSplits() throws Exception {
        for (String t : TASKS) {
            List<String> train = Files.readAllLines(out.resolve("data/" + t + ".train.jsonl"));
            List<String> test = Files.readAllLines(out.resolve("data/" + t + ".test.jsonl"));
            assertEquals(48, train.size());
            assertEquals(8, test.size());
            Set<String> prompts = new HashSet<>();
            for (String l : train) prompts.add(Json.MAPPER.readTree(l).get("instruction").asText());
            for (String l : test) assertFalse(prompts.contains(Json.MAPPER.readTree(l).get("instruction").asText()), l);
        }
        // 4 base + 12 single + 24 merged + 18 continual evaluations of 8 test items each
        assertEquals((4 + 12 + 24 + 18) * 8, Files.readAllLines(out.resolve("predictions.jsonl")).size());
    }

    @Test
    void tablesAreReportedAndChartsArePngs() throws Exception {
        String md = Files.readString(out.resolve("results.md"));
        for (String s : List.of("**Single-task**", "**Merging**", "**Continual learning**", "| Concat | LoRI-S |", "| Linear | LoRA |"))
            assertTrue(md.contains(s), "results.md lacks " + s);
        assertTrue(stdout.contains("**Single-task**") && stdout.contains("| LoRI-S | 2,"), stdout);
        for (String png : List.of("single", "merging", "continual", "loss-nlu", "loss-safety", "loss-safety-then-code")) {
            byte[] b = Files.readAllBytes(out.resolve("plots/" + png + ".png"));
            assertTrue(b.length > 1000, png);
            assertArrayEquals(new byte[]{(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(b, 4), png);
        }
        assertTrue(stderr.contains("train math-lori-s"), "progress names the stages: " + stderr);
        try (var s = Files.list(tmp)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".")), "no temporary folder is left beside the output");
        }
    }

    @Test
    void theSameSeedReproducesTheRunBitForBit() throws Exception {
        Path again = tmp.resolve("again");
        Quickstart.run(QuickstartOptions.quick(3), EmbeddedModel.path(), again, new Quickstart.Listener() {
            @Override public void plan(long totalUnits) { }
            @Override public void stage(String label) { }
            @Override public void advance(long units) { }
        });
        ObjectNode a = (ObjectNode) Json.read(out.resolve("results.json")), b = (ObjectNode) Json.read(again.resolve("results.json"));
        a.remove("seconds");
        b.remove("seconds");
        assertEquals(a, b);
        assertEquals(Files.readString(out.resolve("predictions.jsonl")), Files.readString(again.resolve("predictions.jsonl")));
        for (String ad : List.of("single/code-lora", "merged/linear-lori-d", "continual/safety-then-math-lori-s"))
            assertArrayEquals(Files.readAllBytes(out.resolve("adapters/" + ad + "/adapter_model.safetensors")),
                    Files.readAllBytes(again.resolve("adapters/" + ad + "/adapter_model.safetensors")), ad);
    }

    @Test
    void aQuickstartAdapterEvaluatedWithLoriEvalGetsTheQuickstartsOwnAnswersAndAccuracy() throws Exception {
        // the adapter folder says it ends its answers with BOS; eval reads the {instruction, output} data; with BOS in
        // front of the prompts and the quickstart's token budget (the task's longest answer + a margin) the answers match
        Path adapter = out.resolve("adapters/single/nlu-lori-d");
        assertEquals(1, Json.read(adapter.resolve("generation_config.json")).get("eos_token_id").asInt());
        int longest = 0;
        try (org.lori4j.text.Tokenizer tok = org.lori4j.text.Tokenizer.load(EmbeddedModel.path())) {
            for (String split : List.of("train", "test"))
                for (String line : Files.readAllLines(out.resolve("data/nlu." + split + ".jsonl")))
                    longest = Math.max(longest, tok.encode(Json.MAPPER.readTree(line).get("output").asText(), false).length);
        }
        int budget = longest + QuickstartOptions.quick(3).maxNewTokens();
        Path ev = tmp.resolve("eval-nlu");
        org.lori4j.LoriCli.Result r = org.lori4j.LoriCli.run("eval", "--task", "exact", "--data", out.resolve("data/nlu.test.jsonl").toString(),
                "--adapter", adapter.toString(), "--bos", "--max-new-tokens", Integer.toString(budget), "--out", ev.toString());
        assertEquals(0, r.code(), r.err());
        List<Boolean> quickstart = new java.util.ArrayList<>(), eval = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("predictions.jsonl"))) {
            JsonNode p = Json.MAPPER.readTree(line);
            if (p.get("run").asText().equals("single/nlu-lori-d")) quickstart.add(p.get("correct").asBoolean());
        }
        List<JsonNode> gens = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(ev.resolve("generations.jsonl"))) gens.add(Json.MAPPER.readTree(line));
        gens.sort(java.util.Comparator.comparingInt(g -> g.get("index").asInt()));
        for (JsonNode g : gens) eval.add(g.get("correct").asBoolean());
        assertEquals(quickstart, eval);
        assertEquals(100 * results.get("single_task").get("LoRI-D").get("nlu").asDouble(),
                Json.read(ev.resolve("results.json")).get("results").get(0).get("score").asDouble(), 1e-9);
    }

    @Test
    void trainingOnTheQuickstartsDataWithItsEndTokenGivesAnAdapterThatStops() throws Exception {
        // the quickstart's settings for LoRI-D; responses end with <s> (the story model never produces </s>)
        Path adapter = tmp.resolve("nlu-raw");
        org.lori4j.LoriCli.Result t = org.lori4j.LoriCli.run("train", "--template", "raw", "--add-bos", "--eos-token", "<s>",
                "--data", out.resolve("data/nlu.train.jsonl").toString(), "--out", adapter.toString(),
                "--rank", "8", "--alpha", "16", "--lr", "1e-2", "--batch-size", "8", "--epochs", "6");
        assertEquals(0, t.code(), t.err());
        assertEquals(1, Json.read(adapter.resolve("generation_config.json")).get("eos_token_id").asInt());
        assertEquals(1, Json.read(adapter.resolve("training_args.json")).get("eos_token_id").asInt());
        JsonNode item = Json.MAPPER.readTree(Files.readAllLines(out.resolve("data/nlu.test.jsonl")).getFirst());
        org.lori4j.LoriCli.Result g = org.lori4j.LoriCli.run("generate", "--adapter", adapter.toString(), "--no-echo",
                "-p", item.get("instruction").asText(), "-n", "20");
        assertEquals(0, g.code(), g.err());
        int generated = Integer.parseInt(g.err().replaceAll("(?s).*prompt tokens, (\\d+) generated.*", "$1"));
        assertTrue(generated < 20, "the adapter did not stop: " + g.out() + g.err());
        assertTrue(List.of("happy", "sad").contains(g.out().strip()), g.out());

        // without --eos-token the tokenizer's EOS (</s>, 2) is what the adapter learns to end with, as the reference
        Path plain = tmp.resolve("nlu-eos");
        assertEquals(0, org.lori4j.LoriCli.run("train", "--template", "raw", "--data", out.resolve("data/nlu.train.jsonl").toString(),
                "--out", plain.toString(), "--rank", "8", "--batch-size", "8", "--steps", "1").code());
        assertEquals(2, Json.read(plain.resolve("generation_config.json")).get("eos_token_id").asInt());
        org.lori4j.LoriCli.Result bad = org.lori4j.LoriCli.run("train", "--eos-token", "<nope>", "--data",
                out.resolve("data/nlu.train.jsonl").toString(), "--out", tmp.resolve("never").toString(), "--steps", "1");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--eos-token '<nope>' is not a token"), bad.err());
    }

    @Test
    void badOptionsFailBeforeAnyWorkWithAOneLineError() throws Exception {
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        PrintStream oldErr = System.err;
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            assertEquals(2, Main.run("quickstart", "--quick", "--out", file.toString()));
            assertEquals(2, Main.run("quickstart", "--quick", "--seed", "-1", "--out", tmp.resolve("never").toString()));
        } finally {
            System.setErr(oldErr);
        }
        String err = e.toString(StandardCharsets.UTF_8);
        assertTrue(err.contains("error: " + file + ": exists and is not a folder"), err);
        assertTrue(err.contains("error: --seed must be in [0, 2^32), got -1"), err);
        assertFalse(Files.exists(tmp.resolve("never")));
    }
}
