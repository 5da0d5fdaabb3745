package org.lori4j.model;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.lori4j.TestPaths;
import org.lori4j.io.LlamaConfig;
import org.lori4j.io.SafeTensors;
import org.lori4j.io.SafeTensorsFile;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Full-sequence logits of tiny random models against an independent float64 torch re-implementation of
 * HF LlamaForCausalLM / Qwen2ForCausalLM (src/test/python/make_llama_fixtures.py).
 */
public class LlamaModelTest {

    static Path fixture(String name) { return TestPaths.fixture("llama/" + name); }

    /** Asserts |a - e| <= tol * (1 + |e|) elementwise. */
    public static void assertClose(float[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i]));
            if (!(err <= worst)) { worst = err; at = i; }
        }
        if (!(worst <= tol))
            fail(what + ": element " + at + " is " + actual[at] + ", expected " + expected[at] + " (relative error " + worst + ")");
    }

    @ParameterizedTest
    @ValueSource(strings = {"gqa_f32", "mha_tied_linear", "llama3_scaling", "qwen2_bias", "gqa_bf16", "gqa_f16", "head_dim",
            "mistral_window", "mistral_window_hd32", "qwen2_window"})
    void logitsMatchTorchReference(String name) {
        Path dir = fixture(name);
        try (SafeTensorsFile exp = SafeTensors.read(dir.resolve("expected.safetensors"));
             LlamaModel model = LlamaModel.load(dir)) {
            int[] tokens = ints(exp.get("tokens").toFloatArray());
            float[] expected = exp.get("logits").toFloatArray();
            assertClose(expected, model.logits(tokens), 1e-4, name);
        }
    }

    static int[] ints(float[] f) {
        int[] a = new int[f.length];
        for (int i = 0; i < f.length; i++) a[i] = (int) f[i];
        return a;
    }

    @Test
    void llama3FrequenciesFollowTheThreeBands() {
        // head_dim 16, theta 500000, original context 64: wavelengths 6.3 (high band, kept), 32.4 (medium band,
        // interpolated), >= 167 (low band, divided by 8).
        var s = new LlamaConfig.RopeScaling("llama3", 8, 1, 4, 64);
        float[] plain = RopeFrequencies.of(16, 500000, null).invFreq();
        float[] scaled = RopeFrequencies.of(16, 500000, s).invFreq();
        assertEquals(plain[0], scaled[0]);
        double wavelen = 2 * Math.PI / plain[1];
        double smooth = (64 / wavelen - 1) / (4 - 1);
        assertEquals((1 - smooth) * plain[1] / 8 + smooth * plain[1], scaled[1], 1e-7);
        for (int i = 2; i < 8; i++) assertEquals(plain[i] / 8, scaled[i], plain[i] * 1e-6);
        assertTrue(scaled[1] < plain[1] && scaled[1] > plain[1] / 8);
    }
}
