package org.lori4j.adapter;

import org.junit.jupiter.api.Test;
import org.lori4j.TestPaths;
import org.lori4j.io.SafeTensors;
import org.lori4j.io.SafeTensorsFile;
import org.lori4j.model.LlamaModel;
import org.lori4j.tensor.Tensor;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Logits of the tiny model with adapters applied, against PEFT's forward re-implemented in torch (float64). */
class ActiveAdaptersTest {
    private static final Path FIX = TestPaths.fixture("adapter");

    private static LoraAdapter ad(String name) { return LoraAdapter.load(FIX.resolve(name)); }

    private static int[] ints(Tensor t) {
        int[] v = new int[(int) t.numel()];
        for (int i = 0; i < v.length; i++) v[i] = (int) t.getLong(i);
        return v;
    }

    private static void assertLogits(Tensor expected, float[] actual, double tol, String what) {
        assertEquals(expected.numel(), actual.length, what);
        double maxAbs = 0;
        for (long i = 0; i < expected.numel(); i++) maxAbs = Math.max(maxAbs, Math.abs(expected.getFloat(i)));
        for (int i = 0; i < actual.length; i++)
            assertEquals(expected.getFloat(i), actual[i], tol * maxAbs, what + " logit " + i);
    }

    @Test
    void unmergedLogitsMatchPeftSemantics() {
        try (SafeTensorsFile ref = SafeTensors.read(FIX.resolve("logits.safetensors"));
             LlamaModel model = LlamaModel.load(FIX.resolve("tiny"))) {
            int[] tokens = ints(ref.get("tokens"));
            assertLogits(ref.get("base"), model.logits(tokens), 1e-5, "base");
            for (ActiveAdapters.Mode mode : ActiveAdapters.Mode.values()) {
                ActiveAdapters active = new ActiveAdapters(model, mode);
                for (String name : List.of("lora_a", "lora_b", "lora_c", "lori_s", "lora_r8")) {
                    ActiveAdapters.Handle h = active.add(ad(name), 1.0);
                    assertLogits(ref.get(name), model.logits(tokens), 1e-5, mode + " " + name);
                    active.remove(h);
                }
                // several at once, with weights; then switch one off without reloading
                ActiveAdapters.Handle a = active.add(ad("lora_a"), 0.7);
                ActiveAdapters.Handle b = active.add(ad("lora_b"), 1.0);
                active.add(ad("lora_c"), 1.0);
                active.setWeight(b, 1.3);
                assertLogits(ref.get("multi"), model.logits(tokens), 1e-5, mode + " multi");
                active.clear();
                assertLogits(ref.get("base"), model.logits(tokens), 1e-5, "base after clear");
                assertTrue(a.adapter().modules().size() > 0);
            }
        }
    }

    @Test
    void loriSIsAppliedSparse() {
        try (LlamaModel model = LlamaModel.load(FIX.resolve("tiny"))) {
            ActiveAdapters active = new ActiveAdapters(model, ActiveAdapters.Mode.AUTO);
            ActiveAdapters.Handle s = active.add(ad("lori_s"), 1.0);
            assertEquals(s.adapter().modules().size(), s.sparseModules());
            ActiveAdapters.Handle d = active.add(ad("lora_a"), 1.0);
            assertEquals(0, d.sparseModules());
        }
    }

    @Test
    void embeddingsFromTheAdapterGrowTheVocabularyAndAreRestored() {
        try (SafeTensorsFile ref = SafeTensors.read(FIX.resolve("logits.safetensors"));
             LlamaModel model = LlamaModel.load(FIX.resolve("tiny"))) {
            int[] tokens = ints(ref.get("embed_tokens"));
            ActiveAdapters active = new ActiveAdapters(model, ActiveAdapters.Mode.AUTO);
            ActiveAdapters.Handle h = active.add(ad("lora_embed"), 1.0);
            assertEquals(65, model.config().vocabSize());
            assertLogits(ref.get("lora_embed"), model.logits(tokens), 1e-5, "lora_embed");
            active.remove(h);
            assertEquals(64, model.config().vocabSize());
            int[] base = ints(ref.get("tokens"));
            assertLogits(ref.get("base"), model.logits(base), 1e-5, "restored");
        }
    }

    @Test
    void mergedAndUnmergedLogitsAgree() {
        try (SafeTensorsFile ref = SafeTensors.read(FIX.resolve("logits.safetensors"));
             LlamaModel unmerged = LlamaModel.load(FIX.resolve("tiny"));
             LlamaModel merged = LlamaModel.load(FIX.resolve("tiny"))) {
            int[] tokens = ints(ref.get("tokens"));
            List<LoraAdapter> ads = List.of(ad("lora_a"), ad("lora_b"), ad("lora_c"));
            double[] w = {0.7, 1.3, 1.0};
            ActiveAdapters active = new ActiveAdapters(unmerged, ActiveAdapters.Mode.AUTO);
            for (int i = 0; i < ads.size(); i++) active.add(ads.get(i), w[i]);
            ActiveAdapters.mergeInto(merged, ads, w);
            float[] u = unmerged.logits(tokens), m = merged.logits(tokens);
            double maxAbs = 0;
            for (float v : u) maxAbs = Math.max(maxAbs, Math.abs(v));
            for (int i = 0; i < u.length; i++) assertEquals(u[i], m[i], 1e-4 * maxAbs, "logit " + i);
            assertLogits(ref.get("multi"), m, 1e-5, "merged multi");
        }
    }
}
