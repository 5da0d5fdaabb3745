package org.lori4j.train;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;
import static org.lori4j.GradCheck.*;

/** Finite-difference checks of the LoRA path and the cross-entropy head (f32, small shapes, h = 1e-2); the Llama ops are checked in model.BackwardGradientTest. */
class OpsGradientTest {
    private static final float H = 1e-2f;
    private static final double TOL = 2e-3;

    @Test
    void loraBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(6);
        int n = 5, in = 7, out = 6, r = 3;
        float s = 2f;
        float[] x = random(rnd, n * in, 1f), a = random(rnd, r * in, 0.5f), b = random(rnd, out * r, 0.5f);
        float[] wt = random(rnd, n * out, 1f);
        float[] y = new float[n * out], u = new float[n * r];
        LoraOp.forward(y, u, x, a, b, n, in, out, r, s);
        float[] dx = new float[n * in], dA = new float[r * in], dB = new float[out * r], du = new float[n * r];
        LoraOp.backward(dx, dA, dB, du, wt, x, u, a, b, n, in, out, r, s);
        java.util.function.DoubleSupplier f = () -> {
            float[] yy = new float[n * out], uu = new float[n * r];
            LoraOp.forward(yy, uu, x, a, b, n, in, out, r, s);
            return weighted(yy, wt);
        };
        check("lora dx", x, dx, f, H, TOL);
        check("lora dA", a, dA, f, H, TOL);
        check("lora dB", b, dB, f, H, TOL);
    }

    @Test
    void crossEntropyGradientIsSoftmaxMinusOneHot() {
        Random rnd = new Random(7);
        int vocab = 11, target = 4;
        float[] z = random(rnd, vocab, 2f);
        double nll = CrossEntropy.forward(z, 0, vocab, target);
        float[] g = z.clone();
        double nll2 = CrossEntropy.forwardBackwardInPlace(g, 0, vocab, target, 0.5f);
        assertEquals(nll, nll2, 1e-6);
        for (int i = 0; i < vocab; i++) g[i] /= 0.5f;
        check("cross-entropy dz", z, g, () -> CrossEntropy.forward(z, 0, vocab, target), H, TOL);
        // uniform logits: nll = log(vocab)
        assertEquals(Math.log(vocab), CrossEntropy.forward(new float[vocab], 0, vocab, 3), 1e-6);
    }
}
