package org.lori4j.train;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;
import static org.lori4j.train.GradCheck.*;

/** Finite-difference checks of every hand-written backward against its forward (f32, small shapes, h = 1e-2). */
class OpsGradientTest {
    private static final float H = 1e-2f;
    private static final double TOL = 2e-3;

    @Test
    void rmsNormBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(1);
        int n = 3, c = 8;
        float[] x = random(rnd, n * c, 1f), w = random(rnd, c, 1f), wt = random(rnd, n * c, 1f);
        float[] out = new float[n * c];
        float[] dx = new float[n * c];
        RmsNormOp.backward(dx, wt, x, w, n, c, 1e-5f, false);
        check("rmsnorm dx", x, dx, () -> { RmsNormOp.forward(out, x, w, n, c, 1e-5f); return weighted(out, wt); }, H, TOL);
        // accumulate adds to what is there
        float[] acc = new float[n * c];
        java.util.Arrays.fill(acc, 1f);
        RmsNormOp.backward(acc, wt, x, w, n, c, 1e-5f, true);
        for (int i = 0; i < acc.length; i++) assertEquals(1f + dx[i], acc[i], 1e-6f);
    }

    @Test
    void ropeBackwardIsTheInverseRotation() {
        Random rnd = new Random(2);
        int n = 4, heads = 2, d = 8;
        float[][] tab = RopeOp.tables(16, d, 10000.0);
        int[] pos = {0, 3, 7, 15};
        float[] x = random(rnd, n * heads * d, 1f), wt = random(rnd, n * heads * d, 1f);
        float[] dx = wt.clone();
        RopeOp.backward(dx, n, heads, d, pos, tab[0], tab[1]);
        check("rope dx", x, dx, () -> { float[] y = x.clone(); RopeOp.forward(y, n, heads, d, pos, tab[0], tab[1]); return weighted(y, wt); }, H, TOL);
        // position 0 is the identity
        float[] y = x.clone();
        RopeOp.forward(y, n, heads, d, pos, tab[0], tab[1]);
        for (int i = 0; i < heads * d; i++) assertEquals(x[i], y[i], 0f);
    }

    @Test
    void swiGluBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(3);
        int len = 20;
        float[] g = random(rnd, len, 2f), u = random(rnd, len, 1f), wt = random(rnd, len, 1f);
        float[] h = new float[len], dg = new float[len], du = new float[len];
        SwiGluOp.backward(dg, du, wt, g, u, len);
        check("swiglu dgate", g, dg, () -> { SwiGluOp.forward(h, g, u, len); return weighted(h, wt); }, H, TOL);
        check("swiglu dup", u, du, () -> { SwiGluOp.forward(h, g, u, len); return weighted(h, wt); }, H, TOL);
    }

    @Test
    void attentionBackwardMatchesFiniteDifferencesWithGqaAndPackedSequences() {
        Random rnd = new Random(4);
        AttentionOp.Dims dm = new AttentionOp.Dims(4, 2, 4);
        int[] start = {0, 3}, len = {3, 5};
        int n = 8;
        float[] q = random(rnd, n * 16, 1f), k = random(rnd, n * 8, 1f), v = random(rnd, n * 8, 1f);
        float[] wt = random(rnd, n * 16, 1f);
        float[] out = new float[n * 16], lse = new float[n * 4];
        AttentionOp.forward(out, lse, q, k, v, start, len, dm);
        float[] dq = new float[n * 16], dk = new float[n * 8], dv = new float[n * 8];
        AttentionOp.backward(dq, dk, dv, wt, q, k, v, out, lse, start, len, dm);
        java.util.function.DoubleSupplier f = () -> {
            float[] o = new float[n * 16], l = new float[n * 4];
            AttentionOp.forward(o, l, q, k, v, start, len, dm);
            return weighted(o, wt);
        };
        check("attention dq", q, dq, f, H, TOL);
        check("attention dk", k, dk, f, H, TOL);
        check("attention dv", v, dv, f, H, TOL);
    }

    @Test
    void attentionIsCausalAndSequencesDoNotSeeEachOther() {
        Random rnd = new Random(5);
        AttentionOp.Dims dm = new AttentionOp.Dims(2, 1, 4);
        int[] start = {0, 2}, len = {2, 3};
        float[] q = random(rnd, 5 * 8, 1f), k = random(rnd, 5 * 4, 1f), v = random(rnd, 5 * 4, 1f);
        float[] out = new float[5 * 8], lse = new float[10];
        AttentionOp.forward(out, lse, q, k, v, start, len, dm);
        // the first row of each sequence attends to itself only: out = its own v
        for (int h = 0; h < 2; h++)
            for (int x = 0; x < 4; x++) {
                assertEquals(v[x], out[h * 4 + x], 1e-6f);
                assertEquals(v[2 * 4 + x], out[2 * 8 + h * 4 + x], 1e-6f);
            }
        // changing a later row never changes an earlier one, nor the other sequence
        float[] k2 = k.clone(), v2 = v.clone();
        k2[4 * 4] += 1f; v2[4 * 4 + 1] += 1f;
        float[] out2 = new float[5 * 8];
        AttentionOp.forward(out2, lse, q, k2, v2, start, len, dm);
        for (int i = 0; i < 4 * 8; i++) assertEquals(out[i], out2[i], 0f);
    }

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
