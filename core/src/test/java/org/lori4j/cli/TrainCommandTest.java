package org.lori4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.LoriCli;
import org.lori4j.TestPaths;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.adapter.Masks;
import org.lori4j.io.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code lori train} through Main against the torch reference of src/test/python/make_train_fixtures.py
 * (LoRI's step semantics on a tiny Llama, float64): B (and A for LoRA) within 1e-3 relative error,
 * masks and continual learning bit-exact outside the trained entries, resume equal to an uninterrupted run.
 */
class TrainCommandTest {
    static final Path FIX = TestPaths.fixture("train");

    static String f(String name) { return FIX.resolve(name).toString(); }

    static String[] args(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--model", f("model"), "--out", out.toString(), "--warmup", "2", "--lr", "1e-2", "--no-shuffle"));
        a.addAll(List.of(extra));
        if (!a.contains("--batch-size")) a.addAll(List.of("--batch-size", "4", "--micro-batch-size", "2"));
        return a.toArray(String[]::new);
    }

    static double relErr(LoraAdapter got, LoraAdapter want, boolean a) {
        double num = 0, den = 0;
        for (LoraAdapter.Module m : want.modules().values()) {
            float[] w = a ? m.a() : m.b(), g = a ? got.module(m.name()).a() : got.module(m.name()).b();
            for (int i = 0; i < w.length; i++) { num += Math.pow(g[i] - w[i], 2); den += (double) w[i] * w[i]; }
        }
        return Math.sqrt(num / den);
    }

    @Test
    void loriDMatchesTheTorchReference(@TempDir Path out) throws IOException {
        LoriCli.Result r = LoriCli.run(args(out, "--method", "lori-d", "--data", f("data.jsonl"), "--init-adapter", f("init"),
                "--steps", "4", "--max-grad-norm", "1.0"));
        assertEquals(0, r.code(), r.err() + r.out());
        LoraAdapter got = LoraAdapter.load(out), init = LoraAdapter.load(FIX.resolve("init"));
        assertTrue(relErr(got, LoraAdapter.load(FIX.resolve("lorid")), false) < 1e-3);
        for (LoraAdapter.Module m : init.modules().values()) assertArrayEquals(m.a(), got.module(m.name()).a(), 0f);
        assertEquals(4, Files.readAllLines(out.resolve("metrics.jsonl")).size());
        JsonNode ta = Json.read(out.resolve("training_args.json"));
        assertEquals("lori-d", ta.get("method").asText());
        // LoRI-D trains every B entry: r * sum of output widths = 4 * 2 layers * (32+16+16+32+48+48+32)
        assertEquals(4 * 2 * 224, ta.get("trainable_parameters").asLong());
        // progress on stderr (HF's per-token loss, a fractional epoch: 8 records, 2 batches per epoch), the result on stdout
        assertTrue(r.err().contains("step 4/4 epoch 2.00 loss "), r.err());
        assertTrue(r.err().contains("(all of B; A frozen)"), r.err());
        assertEquals(1, r.out().lines().count(), r.out());
        assertTrue(r.out().startsWith("done after 4 of 4 steps"), r.out());
        JsonNode step1 = Json.MAPPER.readTree(Files.readAllLines(out.resolve("metrics.jsonl")).getFirst());
        assertEquals(0.5, step1.get("epoch").asDouble());
        assertTrue(Double.isFinite(step1.get("sequence_loss").asDouble()));
        assertTrue(Files.isRegularFile(out.resolve("training_state/state.json")));
        // the adapter names its base model (here the one its --init-adapter names) and has a model card, as PEFT writes them
        String base = Json.read(FIX.resolve("init/adapter_config.json")).get("base_model_name_or_path").asText();
        assertEquals(base, Json.read(out.resolve("adapter_config.json")).get("base_model_name_or_path").asText());
        assertTrue(Files.readString(out.resolve("README.md")).startsWith("---\nbase_model: " + base + "\nlibrary_name: peft\n"));
    }

    @Test
    void loriSFromTheUpstreamPtMaskTakesTheLoriDAAndMatchesTorch(@TempDir Path out) {
        LoriCli.Result r = LoriCli.run(args(out, "--method", "lori-s", "--data", f("data.jsonl"), "--mask", f("lorid/masks/0.5_mask.pt"),
                "--accumulation", "reference", "--steps", "4", "--max-grad-norm", "0.8"));
        assertEquals(0, r.code(), r.err() + r.out());
        LoraAdapter got = LoraAdapter.load(out), lorid = LoraAdapter.load(FIX.resolve("lorid"));
        assertTrue(relErr(got, LoraAdapter.load(FIX.resolve("expected/lori-s")), false) < 1e-3);
        Map<String, Masks.Mask> mask = Masks.read(FIX.resolve("lorid/masks/0.5_mask.pt"));
        long kept = 0;
        for (LoraAdapter.Module m : got.modules().values()) {
            assertArrayEquals(lorid.module(m.name()).a(), m.a(), 0f, "A copied from the mask's LoRI-D adapter, unchanged");
            boolean[] keep = mask.get(m.keyB()).keep();
            for (int i = 0; i < keep.length; i++) {
                if (keep[i]) kept++;
                else assertEquals(0, Float.floatToRawIntBits(m.b()[i]), m.name());
            }
        }
        // LoRI-S trains exactly the mask's entries (half of B here, so a quarter of LoRA's A+B)
        assertEquals(kept, Json.read(out.resolve("training_args.json")).get("trainable_parameters").asLong());
        assertTrue(r.err().contains("copied from"), r.err());
        // LoRI-S trains the entries of B inside the mask, not "all A and B entries"
        assertTrue(r.err().contains("trainable parameters " + String.format(java.util.Locale.ROOT, "%,d", kept)
                + " (the entries of B inside the mask; A frozen)"), r.err());
    }

    @Test
    void loriSWithAnotherAlphaKeepsTheLoriDAAndScalesByTheNewAlpha(@TempDir Path out, @TempDir Path out2) {
        // upstream's LoRI-S draws the same A whatever its alpha (e.g. Mistral GSM8K: alpha 32 for LoRI-D, 64 for LoRI-S)
        LoriCli.Result r = LoriCli.run(args(out, "--method", "lori-s", "--data", f("data.jsonl"), "--mask", f("lorid/masks/0.5_mask.pt"),
                "--alpha", "16", "--steps", "2"));
        assertEquals(0, r.code(), r.err() + r.out());
        LoraAdapter got = LoraAdapter.load(out), lorid = LoraAdapter.load(FIX.resolve("lorid"));
        assertEquals(8.0, lorid.config().loraAlpha());
        assertEquals(16.0, got.config().loraAlpha());
        for (LoraAdapter.Module m : got.modules().values()) {
            assertArrayEquals(lorid.module(m.name()).a(), m.a(), 0f, m.name());
            assertEquals(16.0 / 4, m.scaling(), m.name());
        }
        // another rank would need another A: refused
        LoriCli.Result bad = LoriCli.run(args(out2, "--method", "lori-s", "--data", f("data.jsonl"), "--mask", f("lorid/masks/0.5_mask.pt"),
                "--rank", "8", "--steps", "2"));
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--rank/--targets differ from"), bad.err());
    }

    @Test
    void anAdapterWithAGrownVocabularyTrainsOverItAndKeepsIt(@TempDir Path init, @TempDir Path out) throws IOException {
        // An upstream LoRI adapter saved from a model resized for a <PAD> token carries embed_tokens / lm_head with one
        // more row. Training from it (continual learning) runs the softmax over that grown vocabulary, as upstream's
        // resized model does; the first step's loss must be the NLL of the adapted model's V+1 logits.
        var base = org.lori4j.io.SafeTensors.read(FIX.resolve("model/model.safetensors")).tensors();
        var embed = base.get("model.embed_tokens.weight");
        var head = base.get("lm_head.weight");
        int v = (int) embed.dim(0), c = (int) embed.dim(1);
        float[] e = new float[(v + 1) * c], h = new float[(v + 1) * c];
        for (int i = 0; i < v * c; i++) { e[i] = embed.getFloat(i); h[i] = head.getFloat(i); }
        for (int j = 0; j < c; j++) {
            e[v * c + j] = embed.getFloat(27L * c + j);
            h[v * c + j] = 2 * head.getFloat(27L * c + j);   // a PAD logit large enough to change the loss
        }
        for (String name : List.of("adapter_config.json")) Files.copy(FIX.resolve("init").resolve(name), init.resolve(name));
        var tensors = new java.util.LinkedHashMap<>(org.lori4j.io.SafeTensors.read(FIX.resolve("init/adapter_model.safetensors")).tensors());
        tensors.put("base_model.model.model.embed_tokens.weight", org.lori4j.tensor.Tensor.of(e, v + 1, c));
        tensors.put("base_model.model.lm_head.weight", org.lori4j.tensor.Tensor.of(h, v + 1, c));
        org.lori4j.io.SafeTensors.write(init.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));

        LoriCli.Result r = LoriCli.run(args(out, "--method", "lori-d", "--data", f("data.jsonl"), "--init-adapter", init.toString(),
                "--steps", "1"));
        assertEquals(0, r.code(), r.err() + r.out());
        LoraAdapter got = LoraAdapter.load(out);
        assertEquals(v + 1, got.embedTokens().dim(0));
        for (int i = 0; i < h.length; i++) assertEquals(h[i], got.lmHead().getFloat(i));

        // the expected first loss: the mean over the first batch (4 records, no shuffle) of each record's summed NLL
        double want = 0, plain = 0, wantPerToken = 0;
        List<String> lines = Files.readAllLines(FIX.resolve("data.jsonl"));
        try (var model = org.lori4j.model.LlamaModel.load(FIX.resolve("model"))) {
            var active = new org.lori4j.adapter.ActiveAdapters(model, org.lori4j.adapter.ActiveAdapters.Mode.AUTO);
            var handle = active.add(LoraAdapter.load(init), 1.0);
            for (int pass = 0; pass < 2; pass++) {
                int vocab = pass == 0 ? v + 1 : v;
                double sum = 0;
                int scored = 0;
                for (int k = 0; k < 4; k++) {
                    JsonNode rec = Json.MAPPER.readTree(lines.get(k));
                    int[] ids = new int[rec.get("input_ids").size()];
                    for (int i = 0; i < ids.length; i++) ids[i] = rec.get("input_ids").get(i).asInt();
                    float[] logits = model.logits(ids);
                    for (int t = 0; t + 1 < ids.length; t++) {
                        int label = rec.get("labels").get(t + 1).asInt();
                        if (label < 0) continue;
                        scored++;
                        double m = Double.NEGATIVE_INFINITY, z = 0;
                        for (int j = 0; j < vocab; j++) m = Math.max(m, logits[t * vocab + j]);
                        for (int j = 0; j < vocab; j++) z += Math.exp(logits[t * vocab + j] - m);
                        sum += m + Math.log(z) - logits[t * vocab + label];
                    }
                }
                if (pass == 0) want = sum / 4; else plain = sum / 4;
                if (pass == 0) wantPerToken = sum / scored;
                if (pass == 0) active.remove(handle);   // the base vocabulary, for the comparison below
                if (pass == 0) handle = active.add(LoraAdapter.load(FIX.resolve("init")), 1.0);
            }
        }
        JsonNode first = Json.MAPPER.readTree(Files.readAllLines(out.resolve("metrics.jsonl")).getFirst());
        double loss = first.get("sequence_loss").asDouble();
        assertEquals(want, loss, 1e-4 * Math.abs(want));
        // and HF's loss: the mean NLL per scored token
        assertEquals(wantPerToken, first.get("loss").asDouble(), 1e-4 * Math.abs(wantPerToken));
        // the base vocabulary's loss lies far outside that tolerance: the test tells the two apart
        assertTrue(Math.abs(want - plain) > 10 * 1e-4 * Math.abs(want), want + " vs " + plain + ": the PAD row must matter");
    }

    @Test
    void badNumbersAndTooFewExamplesFailBeforeAnythingIsWritten(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("out");
        for (String[] bad : new String[][]{{"--steps", "-1"}, {"--alpha", "0", "--steps", "1"}, {"--max-grad-norm", "-1", "--steps", "1"},
                {"--batch-size", "100", "--micro-batch-size", "100", "--steps", "1"}}) {
            List<String> a = new ArrayList<>(List.of("--method", "lori-d", "--data", f("data.jsonl")));
            a.addAll(List.of(bad));
            LoriCli.Result r = LoriCli.run(args(out, a.toArray(String[]::new)));
            assertEquals(2, r.code(), String.join(" ", bad) + ": " + r.err());
            // one error line, the last (progress lines about the model and data may come before it on stderr)
            assertEquals(1, r.err().lines().filter(l -> l.startsWith("error:")).count(), r.err());
            assertTrue(r.err().strip().lines().reduce((x, y) -> y).orElse("").startsWith("error: "), r.err());
            assertFalse(Files.exists(out), String.join(" ", bad) + " left " + out);
        }
        Path file = Files.writeString(tmp.resolve("f.json"), "");
        LoriCli.Result r = LoriCli.run(args(file, "--method", "lori-d", "--data", f("data.jsonl"), "--steps", "1"));
        assertTrue(r.err().contains("exists and is not a folder"), r.err());
        Path p = tmp.resolve("p");
        LoriCli.Result pr = LoriCli.run("pipeline", "--model", f("model"), "--data", f("data.jsonl"), "--out", p.toString(), "--steps", "1",
                "--batch-size", "4", "--lr-s", "0");
        assertEquals("error: --lr-s must be positive, got 0.0", pr.err().strip());
        assertFalse(Files.exists(p));
    }

    @Test
    void aCorruptResumeStateIsRefused(@TempDir Path out) throws IOException {
        LoriCli.Result r = LoriCli.run(args(out, "--method", "lori-d", "--data", f("data.jsonl"), "--steps", "2", "--save-every", "1",
                "--stop-after", "1"));
        assertEquals(0, r.code(), r.err());
        Path state = out.resolve("training_state/state.json");
        Files.writeString(state, Files.readString(state).replaceFirst("\"batches_done\"\\s*:\\s*\\d+", "\"batches_done\": \"x\""));
        LoriCli.Result again = LoriCli.run(args(out, "--method", "lori-d", "--data", f("data.jsonl"), "--steps", "2", "--resume"));
        assertEquals(2, again.code(), again.err() + again.out());
        assertTrue(again.err().contains("field 'batches_done' must be a non-negative integer"), again.err());
    }

    @Test
    void resumingAFinishedRunTrainsAndWritesNothing(@TempDir Path out) throws IOException {
        LoriCli.Result r = LoriCli.run(args(out, "--method", "lori-d", "--data", f("data.jsonl"), "--steps", "2"));
        assertEquals(0, r.code(), r.err());
        Map<String, byte[]> before = new java.util.TreeMap<>();
        try (var files = Files.walk(out)) {
            for (Path p : files.filter(Files::isRegularFile).toList()) before.put(out.relativize(p).toString(), Files.readAllBytes(p));
        }
        double loss = Json.read(out.resolve("training_args.json")).path("final_loss").asDouble();
        assertTrue(Double.isFinite(loss));
        LoriCli.Result again = LoriCli.run(args(out, "--method", "lori-d", "--data", f("data.jsonl"), "--steps", "2", "--resume"));
        assertEquals(0, again.code(), again.err());
        assertTrue(again.err().contains("already has 2 steps of 2: nothing to train"), again.err());
        assertTrue(again.out().contains("done after 2 of 2 steps"), again.out());
        assertTrue(again.out().contains(String.format(java.util.Locale.ROOT, "%.4f", loss)), again.out() + " vs " + loss);
        try (var files = Files.walk(out)) {
            List<Path> now = files.filter(Files::isRegularFile).toList();
            assertEquals(before.size(), now.size());
            for (Path p : now)
                assertArrayEquals(before.get(out.relativize(p).toString()), Files.readAllBytes(p), p.toString());
        }
        // more steps than the run has: it continues from its state
        LoriCli.Result more = LoriCli.run(args(out, "--method", "lori-d", "--data", f("data.jsonl"), "--steps", "3", "--resume"));
        assertEquals(0, more.code(), more.err());
        assertEquals(3, Json.read(out.resolve("training_args.json")).path("steps_done").asInt());
    }

    @Test
    void loraTrainsAAndBLikeTorch(@TempDir Path out) {
        LoriCli.Result r = LoriCli.run(args(out, "--method", "lora", "--data", f("data.jsonl"), "--init-adapter", f("init"),
                "--rank", "4", "--alpha", "8", "--seed", "0", "--steps", "4", "--max-grad-norm", "1.0"));
        assertEquals(0, r.code(), r.err() + r.out());
        LoraAdapter got = LoraAdapter.load(out), want = LoraAdapter.load(FIX.resolve("expected/lora"));
        assertTrue(relErr(got, want, false) < 1e-3);
        assertTrue(relErr(got, want, true) < 1e-3);
    }

    @Test
    void continualLoriSKeepsTaskOneOutsideTheNewMask(@TempDir Path out) {
        LoriCli.Result r = LoriCli.run(args(out, "--method", "lori-s", "--data", f("data2.jsonl"), "--init-adapter", f("lorid"),
                "--mask", f("continual_mask.safetensors"), "--steps", "3", "--max-grad-norm", "0.5"));
        assertEquals(0, r.code(), r.err() + r.out());
        LoraAdapter got = LoraAdapter.load(out), before = LoraAdapter.load(FIX.resolve("lorid"));
        assertTrue(relErr(got, LoraAdapter.load(FIX.resolve("expected/continual")), false) < 1e-3);
        Map<String, Masks.Mask> mask = Masks.read(FIX.resolve("continual_mask.safetensors"));
        for (LoraAdapter.Module m : got.modules().values()) {
            float[] b0 = before.module(m.name()).b();
            boolean[] keep = mask.get(m.keyB()).keep();
            for (int i = 0; i < keep.length; i++)
                if (!keep[i]) assertEquals(Float.floatToRawIntBits(b0[i]), Float.floatToRawIntBits(m.b()[i]), m.name());
            assertArrayEquals(before.module(m.name()).a(), m.a(), 0f);
        }
    }

    @Test
    void resumeAfterAKillEqualsAnUninterruptedRun(@TempDir Path full, @TempDir Path killed) throws IOException {
        String[] common = {"--method", "lori-d", "--data", f("data.jsonl"), "--rank", "4", "--alpha", "8", "--seed", "3",
                "--steps", "5", "--batch-size", "2", "--micro-batch-size", "1", "--save-every", "2"};
        List<String> shuffled = new ArrayList<>(List.of(args(full, common)));
        shuffled.remove("--no-shuffle");
        LoriCli.Result r0 = LoriCli.run(shuffled.toArray(String[]::new));
        assertEquals(0, r0.code(), r0.err());
        // a fresh adapter names the model folder it was trained on (config.json has no _name_or_path)
        assertEquals(FIX.resolve("model").toAbsolutePath().normalize().toString(),
                Json.read(full.resolve("adapter_config.json")).get("base_model_name_or_path").asText());
        List<String> k = new ArrayList<>(List.of(args(killed, common)));
        k.remove("--no-shuffle");
        k.addAll(List.of("--stop-after", "3"));
        LoriCli.Result r = LoriCli.run(k.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("stopped after 3 of 5"), r.out());
        assertTrue(r.err().contains("B = 0"), "a fresh run says how A and B start: " + r.err());
        LoriCli.Result again = LoriCli.run(k.subList(0, k.size() - 2).toArray(String[]::new));
        assertEquals(2, again.code(), "a non-empty --out needs --resume");
        assertTrue(again.err().contains("--resume"), again.err());
        k = new ArrayList<>(k.subList(0, k.size() - 2));
        k.add("--resume");
        r = LoriCli.run(k.toArray(String[]::new));
        assertEquals(0, r.code(), r.err() + r.out());
        assertTrue(r.err().contains("resuming after step 3"), r.err());
        assertFalse(r.err().contains("B = 0"), "a resumed run's B is not 0: " + r.err());
        assertArrayEquals(Files.readAllBytes(full.resolve("adapter_model.safetensors")), Files.readAllBytes(killed.resolve("adapter_model.safetensors")));
        assertEquals(Files.readAllLines(full.resolve("metrics.jsonl")).size(), Files.readAllLines(killed.resolve("metrics.jsonl")).size());
        // resuming with another batch size is refused
        List<String> bad = new ArrayList<>(k);
        bad.set(bad.indexOf("--micro-batch-size") + 1, "2");
        LoriCli.Result rb = LoriCli.run(bad.toArray(String[]::new));
        assertEquals(2, rb.code());
        assertTrue(rb.err().contains("micro_batch_size"), rb.err());
    }

    @Test
    void badCombinationsAreOneLineErrors(@TempDir Path out) {
        LoriCli.Result r = LoriCli.run(args(out, "--method", "lori-s", "--data", f("data.jsonl")));
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("error: --method lori-s needs --mask"), r.err());
        r = LoriCli.run(args(out, "--method", "lori-d", "--data", f("data.jsonl"), "--batch-size", "3", "--micro-batch-size", "2"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--micro-batch-size 2 must divide --batch-size 3"), r.err());
        r = LoriCli.run(args(out, "--method", "lori-d", "--data", f("data.jsonl"), "--init-adapter", f("init"), "--rank", "8"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("differ from"), r.err());
        r = LoriCli.run(args(out, "--method", "lori-d", "--data", f("missing.jsonl")));
        assertEquals(2, r.code(), r.err());
    }

    // ------------------------------------------------------------------ interrupted runs (issue 19)

    @Test
    void aRunStoppedBeforeItsFirstCheckpointIsTakenOverByAFreshRun(@TempDir Path out) throws IOException {
        Files.writeString(out.resolve("metrics.jsonl"), "{\"step\": 1, \"loss\": 3.2}\n{\"step\": 2, \"lo");
        LoriCli.Result resume = LoriCli.run(args(out, "--method", "lori-d", "--data", f("data.jsonl"), "--steps", "1", "--resume"));
        assertEquals(2, resume.code());
        assertTrue(resume.err().contains("before its first checkpoint") && resume.err().contains("without --resume"), resume.err());
        LoriCli.Result fresh = LoriCli.run(args(out, "--method", "lori-d", "--data", f("data.jsonl"), "--steps", "1"));
        assertEquals(0, fresh.code(), fresh.err());
        assertTrue(Files.exists(out.resolve("adapter_model.safetensors")));
        assertEquals(1, Files.readAllLines(out.resolve("metrics.jsonl")).size());   // the stale lines are gone
    }

    @Test
    void ctrlCPrintsOneLineWithTheLastCheckpoint(@TempDir Path out) throws Exception {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(javaBin, "--add-modules", "jdk.incubator.vector", "-cp",
                System.getProperty("java.class.path"), "org.lori4j.cli.Main"));
        cmd.addAll(List.of(args(out, "--method", "lori-d", "--data", f("data.jsonl"), "--steps", "100000", "--save-every", "1")));
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            StringBuilder err = new StringBuilder();
            Thread reader = Thread.ofVirtual().start(() -> {
                try { err.append(new String(p.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)); }
                catch (IOException ignored) { }
            });
            for (int i = 0; i < 600 && !Files.exists(out.resolve("training_state")); i++) Thread.sleep(50);
            assertTrue(Files.exists(out.resolve("training_state")), "no checkpoint within 30 s");
            new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
            assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
            reader.join(5000);
            String last = err.toString().strip().lines().reduce((a, b) -> b).orElse("");
            assertTrue(last.matches("interrupted: the last checkpoint is step \\d+ in .*; rerun the same command with --resume to continue"), last);
            assertTrue(Files.list(out).noneMatch(x -> x.getFileName().toString().contains(".tmp-")));
            // and the run continues from there
            LoriCli.Result more = LoriCli.run(args(out, "--method", "lori-d", "--data", f("data.jsonl"), "--steps", "100000",
                    "--save-every", "1", "--resume", "--stop-after", "1"));
            assertEquals(0, more.code(), more.err());
        } finally {
            p.destroyForcibly();
        }
    }
}
