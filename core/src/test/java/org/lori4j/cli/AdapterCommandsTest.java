package org.lori4j.cli;

import org.lori4j.LoriCli;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.TestPaths;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.adapter.Masks;
import org.lori4j.io.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** lori info / masks / merge / export through Main, with the bad inputs of the issue. */
class AdapterCommandsTest {
    private static final Path FIX = TestPaths.fixture("adapter");

    private static LoriCli.Result lori(String... args) { return LoriCli.run(args); }

    private static String f(String name) { return FIX.resolve(name).toString(); }

    private static long entries(Path dir) throws IOException {
        try (var s = Files.list(dir)) { return s.count(); }
    }

    @Test
    void infoReportsSparsityAndParameters() throws Exception {
        LoriCli.Result r = lori("info", "--adapter", f("lori_s"), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = Json.MAPPER.readTree(r.out());
        LoraAdapter s = LoraAdapter.load(FIX.resolve("lori_s"));
        long zeros = s.modules().values().stream().mapToLong(LoraAdapter.Module::zerosB).sum();
        assertEquals((double) zeros / 2048, j.get("B_sparsity").get("overall").asDouble(), 1e-12);
        assertEquals(2048, j.get("parameters").get("lora_B").asLong());
        assertEquals(2.0, j.get("scalings").get(0).asDouble());
        assertTrue(j.get("A").get("max_abs_times_sqrt_in").asDouble() <= 1.0);
        r = lori("info", "--adapter", f("lora_b"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("rsLoRA"), r.out());
        r = lori("info", "--model", f("tiny"), "--adapter", f("lora_a"), "--json");
        assertEquals(0, r.code(), r.err());
        assertEquals(4, Json.MAPPER.readTree(r.out()).get("adapter").get("r").asInt());
    }

    @Test
    void masksWritesTheReferenceMasks(@TempDir Path tmp) {
        LoriCli.Result r = lori("masks", "--adapter", f("lori_d"), "--sparsity", "0.1,0.5,0.9,0.99",
                "--granularity", "layer", "--out", tmp.toString());
        assertEquals(0, r.code(), r.err());
        for (String s : new String[]{"0.1", "0.5", "0.9", "0.99"}) {
            Map<String, Masks.Mask> got = Masks.read(tmp.resolve(s + "_mask.safetensors"));
            Map<String, Masks.Mask> exp = Masks.read(FIX.resolve("masks/layer/" + s + "_mask.safetensors"));
            assertEquals(exp.keySet(), got.keySet());
            exp.forEach((k, v) -> assertArrayEquals(v.keep(), got.get(k).keep(), k));
        }
        assertTrue(r.out().contains("sparsity reached"), r.out());
    }

    @Test
    void masksRefusesBadSparsityAndMaliciousExclude(@TempDir Path tmp) throws IOException {
        for (String s : new String[]{"0", "1", "1.5", "-0.1", "abc"}) {
            LoriCli.Result r = lori("masks", "--adapter", f("lori_d"), "--sparsity", s, "--out", tmp.resolve("m").toString());
            assertEquals(2, r.code(), s);
            assertEquals(1, r.err().strip().lines().filter(l -> l.startsWith("error:")).count(), r.err());
        }
        LoriCli.Result r = lori("masks", "--adapter", f("lori_d"), "--sparsity", "0.9", "--exclude", f("pt/evil.pt"),
                "--out", tmp.resolve("m").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("refusing pickle global"), r.err());
        assertFalse(Files.exists(tmp.resolve("m")));
    }

    @Test
    void masksExcludingAMaskOfAnotherShapeNameBothFiles(@TempDir Path tmp) {
        Path maskDir = tmp.resolve("a-masks");
        assertEquals(0, lori("masks", "--adapter", f("lora_a"), "--sparsity", "0.9", "--out", maskDir.toString()).code());
        String mask = maskDir.resolve("0.9_mask.safetensors").toString();
        // lora_b's v_proj has rank 2, lora_a's rank 4
        LoriCli.Result r = lori("masks", "--adapter", f("lora_b"), "--sparsity", "0.9", "--exclude", mask,
                "--out", tmp.resolve("b-masks").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("error: " + f("lora_b") + " with --exclude " + mask + ": the mask to exclude has shape [16, 4]"), r.err());
        assertFalse(Files.exists(tmp.resolve("b-masks")));
    }

    @Test
    void mergeWritesAPeftAdapterAndRefusesBadInput(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("cat");
        LoriCli.Result r = lori("merge", "--adapter", f("lora_a") + ":1.0", "--adapter", f("lora_b") + ":0.5", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        LoraAdapter got = LoraAdapter.load(out), exp = LoraAdapter.load(FIX.resolve("merge_cat"));
        assertEquals(exp.config().r(), got.config().r());
        for (LoraAdapter.Module m : exp.modules().values()) assertArrayEquals(m.a(), got.module(m.name()).a(), 1e-6f);
        // ranks that cannot be linearly merged, a missing adapter file: one line, exit 2, no output folder
        r = lori("merge", "--adapter", f("lora_a"), "--adapter", f("lora_r8"), "--method", "linear", "--out", tmp.resolve("bad").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("ranks cannot be linearly merged"), r.err());
        Path noWeights = tmp.resolve("noweights");
        Files.createDirectories(noWeights);
        Files.copy(FIX.resolve("lora_a/adapter_config.json"), noWeights.resolve("adapter_config.json"));
        r = lori("merge", "--adapter", f("lora_a"), "--adapter", noWeights.toString(), "--out", tmp.resolve("bad").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("no adapter_model.safetensors"), r.err());
        assertFalse(Files.exists(tmp.resolve("bad")));
        assertEquals(2, entries(tmp), "only cat/ and noweights/ exist");
    }

    @Test
    void mergeSvdWithRankAndClamp(@TempDir Path tmp) {
        Path out = tmp.resolve("svd");
        LoriCli.Result r = lori("merge", "--adapter", f("lora_a") + ":1.0", "--adapter", f("lora_r8") + ":-0.5", "--method", "svd",
                "--svd-clamp", "0.9", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("merged 2 adapters with svd: r = 8, lora_alpha = 8"), r.out());
        LoraAdapter got = LoraAdapter.load(out), exp = LoraAdapter.load(FIX.resolve("merge_svd_clamp"));
        for (LoraAdapter.Module m : exp.modules().values()) assertArrayEquals(m.b(), got.module(m.name()).b(), 1e-4f);
        r = lori("merge", "--adapter", f("lora_a"), "--adapter", f("lora_b"), "--svd-rank", "4", "--out", tmp.resolve("bad").toString());
        assertEquals(2, r.code());
        assertEquals("error: --svd-rank and --svd-clamp apply to the svd methods only", r.err().strip());
        r = lori("merge", "--adapter", f("lora_a"), "--adapter", f("lora_b"), "--method", "dare_ties_svd", "--out", tmp.resolve("bad").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("dare_ties_svd needs --density"), r.err());
    }

    @Test
    void exportRefusesAnAdapterForAnotherShape(@TempDir Path tmp) throws IOException {
        Path other = tmp.resolve("other");
        Files.createDirectories(other);
        var j = (com.fasterxml.jackson.databind.node.ObjectNode) Json.read(FIX.resolve("tiny/config.json"));
        j.put("hidden_size", 48);
        Json.write(other.resolve("config.json"), j);
        LoriCli.Result r = lori("export", "--model", other.toString(), "--adapter", f("lora_a"), "--out", tmp.resolve("out").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("has shape"), r.err());
        assertFalse(Files.exists(tmp.resolve("out")));
        r = lori("export", "--model", f("tiny"), "--adapter", f("lora_a"), "--out", tmp.resolve("out").toString(), "--dtype", "f32");
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.exists(tmp.resolve("out/model.safetensors")));
    }

    private static float[] logitsOf(Path file) {
        try (var f = org.lori4j.io.SafeTensors.read(file)) {
            return f.get("logits").toFloatArray();
        }
    }

    @Test
    void logitsWithAdaptersUnmergedAndMerged(@TempDir Path tmp) {
        String tokens = "1,5,9,13,2,40,7,63";
        Path u = tmp.resolve("u.safetensors"), m = tmp.resolve("m.safetensors"), s = tmp.resolve("s.safetensors");
        String[] ads = {"--adapter", f("lora_a") + ":0.7", "--adapter", f("lora_b") + ":1.3", "--adapter", f("lora_c")};
        LoriCli.Result r = lori(concat(new String[]{"logits", "--model", f("tiny"), "--tokens", tokens, "--out", u.toString()}, ads));
        assertEquals(0, r.code(), r.err());
        r = lori(concat(new String[]{"logits", "--model", f("tiny"), "--tokens", tokens, "--out", m.toString(), "--merge"}, ads));
        assertEquals(0, r.code(), r.err());
        r = lori("logits", "--model", f("tiny"), "--tokens", tokens, "--out", s.toString(), "--adapter", f("lori_s"), "--lora-b", "sparse");
        assertEquals(0, r.code(), r.err());
        float[] lu = logitsOf(u), lm = logitsOf(m), ls = logitsOf(s);
        try (var ref = org.lori4j.io.SafeTensors.read(FIX.resolve("logits.safetensors"))) {
            float[] multi = ref.get("multi").toFloatArray(), sparse = ref.get("lori_s").toFloatArray();
            double max = 0;
            for (float v : multi) max = Math.max(max, Math.abs(v));
            for (int i = 0; i < multi.length; i++) {
                assertEquals(multi[i], lu[i], 1e-5 * max, "unmerged " + i);
                assertEquals(lu[i], lm[i], 1e-4 * max, "merged vs unmerged " + i);
                assertEquals(sparse[i], ls[i], 1e-5 * max, "sparse " + i);
            }
        }
        // an adapter for another architecture: the embedded stories260K (hidden 64) with the tiny model's adapter
        r = lori("logits", "--tokens", "1,2", "--out", tmp.resolve("x.safetensors").toString(), "--adapter", f("lora_a"));
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("error: ") && r.err().contains("has shape"), r.err());
        assertFalse(Files.exists(tmp.resolve("x.safetensors")));
    }

    private static String[] concat(String[] a, String[] b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
