package org.lori4j.model;

import org.junit.jupiter.api.Test;
import org.lori4j.io.SafeTensors;
import org.lori4j.io.SafeTensorsFile;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.lori4j.model.LlamaModelTest.assertClose;

/**
 * The cache session API gives the same logits as the full-sequence pass, however tokens are fed. Both paths are
 * lori4j's own code (a consistency check, not a reference check): agreement with transformers' logits is
 * checked by the reference-fixture tests (e.g. LlamaModelTest against src/test/python's torch outputs).
 */
class KvCacheTest {

    private static int[] tokens(String fixture) {
        try (SafeTensorsFile exp = SafeTensors.read(LlamaModelTest.fixture(fixture).resolve("expected.safetensors"))) {
            return LlamaModelTest.ints(exp.get("tokens").toFloatArray());
        }
    }

    private static float[] row(float[] logits, int r, int V) { return Arrays.copyOfRange(logits, r * V, (r + 1) * V); }

    @Test
    void decodingOneTokenAtATimeEqualsFullSequenceLogits() {
        for (String name : new String[]{"gqa_f32", "llama3_scaling", "qwen2_bias", "mistral_window", "mistral_window_hd32", "qwen2_window"}) {
            try (LlamaModel m = LlamaModel.load(LlamaModelTest.fixture(name))) {
                int[] t = tokens(name);
                int V = m.config().vocabSize();
                float[] full = m.logits(t);
                KvCache cache = m.newCache(1, t.length);
                // a prompt of 5, then one token per step
                float[] first = m.forward(new int[][]{Arrays.copyOf(t, 5)}, cache);
                assertClose(row(full, 4, V), first, 1e-5, name + " prefill");
                for (int i = 5; i < t.length; i++) {
                    float[] step = m.forward(new int[][]{{t[i]}}, cache);
                    assertClose(row(full, i, V), step, 1e-5, name + " position " + i);
                }
                assertEquals(t.length, cache.length(0));
            }
        }
    }

    @Test
    void batchOfDifferentLengthsEqualsEachSequenceAlone() {
        try (LlamaModel m = LlamaModel.load(LlamaModelTest.fixture("gqa_bf16"))) {
            int[] t = tokens("gqa_bf16");
            int V = m.config().vocabSize();
            int[][] prompts = {Arrays.copyOf(t, 3), Arrays.copyOfRange(t, 2, 13), Arrays.copyOfRange(t, 7, 8)};
            KvCache cache = m.newCache(3, 32);
            float[] batched = m.forward(prompts, cache);
            for (int b = 0; b < 3; b++) {
                float[] alone = m.logits(prompts[b]);
                assertClose(row(alone, prompts[b].length - 1, V), row(batched, b, V), 1e-5, "sequence " + b);
                assertEquals(prompts[b].length, cache.length(b));
            }
            // Next step feeds only sequence 1; the others are untouched and get zero rows.
            float[] step = m.forward(new int[][]{null, {t[13]}, {}}, cache);
            float[] alone = m.logits(Arrays.copyOfRange(t, 2, 14));
            assertClose(row(alone, 11, V), row(step, 1, V), 1e-5, "decode of sequence 1");
            assertArrayEquals(new float[V], row(step, 0, V));
            assertEquals(3, cache.length(0));
            assertEquals(12, cache.length(1));
        }
    }

    @Test
    void chunkedPrefillEqualsOnePass() {
        try (LlamaModel m = LlamaModel.load(LlamaModelTest.fixture("llama3_scaling"))) {
            int[] t = tokens("llama3_scaling");
            float[] once = m.logits(t);
            m.setMaxRowsPerStep(5);
            float[] chunked = m.logits(t);
            assertClose(once, chunked, 1e-5, "chunks of 5 rows");
            int[][] two = {Arrays.copyOf(t, 9), Arrays.copyOfRange(t, 4, 20)};
            float[] all = m.logitsAll(two, m.newCache(2, 20));
            m.setMaxRowsPerStep(512);
            int V = m.config().vocabSize();
            assertClose(m.logits(two[0]), Arrays.copyOfRange(all, 0, 9 * V), 1e-5, "sequence 0 of logitsAll");
            assertClose(m.logits(two[1]), Arrays.copyOfRange(all, 9 * V, 25 * V), 1e-5, "sequence 1 of logitsAll");
        }
    }

    @Test
    void overfullCacheIsRefused() {
        try (LlamaModel m = LlamaModel.load(LlamaModelTest.fixture("gqa_f32"))) {
            KvCache cache = m.newCache(1, 4);
            m.forward(new int[][]{{1, 2, 3}}, cache);
            assertThrows(RuntimeException.class, () -> m.forward(new int[][]{{4, 5}}, cache));
            assertEquals(3, cache.length(0));
        }
    }
}
