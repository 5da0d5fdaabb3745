package org.lori4j.model;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;
import java.util.function.DoubleSupplier;

import static org.junit.jupiter.api.Assertions.*;
import static org.lori4j.GradCheck.*;

/** Finite-difference checks of the hand-written backward of each Llama op against its forward (f32, small shapes). */
class BackwardGradientTest {
    private static final float H = 1e-2f;
    private static final double TOL = 2e-3;

    @Test
    void rmsNormBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(1);
        int n = 3, c = 8;
        float[] x = random(rnd, n * c, 1f), w = random(rnd, c, 1f), wt = random(rnd, n * c, 1f);
        float[] out = new float[n * c], rstd = new float[n];
        RmsNorm.forward(out, rstd, x, w, n, c, 1e-5f);
        float[] dx = new float[n * c];
        RmsNorm.backward(dx, wt, x, w, rstd, n, c, false);
        check("rmsnorm dx", x, dx, () -> { RmsNorm.forward(out, null, x, w, n, c, 1e-5f); return weighted(out, wt); }, H, TOL);
        float[] acc = new float[n * c];
        Arrays.fill(acc, 1f);
        RmsNorm.backward(acc, wt, x, w, rstd, n, c, true);
        for (int i = 0; i < acc.length; i++) assertEquals(1f + dx[i], acc[i], 1e-6f);
    }

    @Test
    void ropeBackwardIsTheInverseRotation() {
        Random rnd = new Random(2);
        int n = 4, heads = 2, d = 8;
        int[] pos = {0, 3, 7, 15};
        float[] cos = new float[n * d / 2], sin = new float[n * d / 2];
        RopeFrequencies.of(d, 10000.0, null).cosSin(pos, n, cos, sin);
        float[] x = random(rnd, n * heads * d, 1f), wt = random(rnd, n * heads * d, 1f);
        float[] dx = wt.clone();
        Rope.backward(dx, cos, sin, n, heads, d);
        check("rope dx", x, dx, () -> { float[] y = x.clone(); Rope.forward(y, cos, sin, n, heads, d); return weighted(y, wt); }, H, TOL);
        // backward after forward restores the input (a rotation is orthogonal)
        float[] y = x.clone();
        Rope.forward(y, cos, sin, n, heads, d);
        Rope.backward(y, cos, sin, n, heads, d);
        assertArrayEquals(x, y, 1e-5f);
    }

    @Test
    void swiGluBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(3);
        int n = 4, f = 5;
        float[] g = random(rnd, n * f, 2f), u = random(rnd, n * f, 1f), wt = random(rnd, n * f, 1f);
        float[] h = new float[n * f], dg = new float[n * f], du = new float[n * f];
        SwiGlu.backward(dg, du, wt, g, u, n, f);
        DoubleSupplier obj = () -> { SwiGlu.forward(h, g, u, n, f); return weighted(h, wt); };
        check("swiglu dgate", g, dg, obj, H, TOL);
        check("swiglu dup", u, du, obj, H, TOL);
    }

    @Test
    void swiGluVectorBackwardAgreesWithTheScalarReference() {
        Random rnd = new Random(9);
        int n = 7, f = 37;
        float[] g = random(rnd, n * f, 3f), u = random(rnd, n * f, 1f), d = random(rnd, n * f, 1f);
        float[] dg = new float[n * f], du = new float[n * f], rg = new float[n * f], ru = new float[n * f];
        SwiGlu.backward(dg, du, d, g, u, n, f);
        SwiGlu.backwardReference(rg, ru, d, g, u, n, f);
        for (int i = 0; i < dg.length; i++) {
            assertEquals(rg[i], dg[i], 1e-6f * (1 + Math.abs(rg[i])), "dgate " + i);
            assertEquals(ru[i], du[i], 1e-6f * (1 + Math.abs(ru[i])), "dup " + i);
        }
    }

    @Test
    void attentionBackwardMatchesFiniteDifferencesWithGqa() {
        Random rnd = new Random(4);
        int T = 5, heads = 4, kv = 2, d = 4;
        float[] q = random(rnd, T * heads * d, 1f), k = random(rnd, T * kv * d, 1f), v = random(rnd, T * kv * d, 1f);
        float[] wt = random(rnd, T * heads * d, 1f);
        float[] out = new float[T * heads * d], att = new float[heads * T * T];
        Attention.forward(out, 0, att, 0, q, 0, k, 0, v, 0, T, 0, heads, kv, d);
        float[] dq = new float[q.length], dk = new float[k.length], dv = new float[v.length];
        Attention.backward(dq, 0, dk, 0, dv, 0, wt, 0, att, 0, q, 0, k, 0, v, 0, T, 0, heads, kv, d);
        DoubleSupplier obj = () -> {
            float[] o = new float[out.length];
            Attention.forward(o, 0, null, 0, q, 0, k, 0, v, 0, T, 0, heads, kv, d);
            return weighted(o, wt);
        };
        check("attention dq", q, dq, obj, H, TOL);
        check("attention dk", k, dk, obj, H, TOL);
        check("attention dv", v, dv, obj, H, TOL);
    }

    @Test
    void attentionBackwardHandlesCachedPositionsAndOffsets() {
        Random rnd = new Random(5);
        int T = 3, P = 2, heads = 2, kv = 1, d = 4, off = 7;
        float[] q = random(rnd, off + T * heads * d, 1f), k = random(rnd, off + (P + T) * kv * d, 1f),
                v = random(rnd, off + (P + T) * kv * d, 1f), wt = random(rnd, off + T * heads * d, 1f);
        float[] out = new float[off + T * heads * d], att = new float[off + heads * T * (P + T)];
        Attention.forward(out, off, att, off, q, off, k, off, v, off, T, P, heads, kv, d);
        float[] dq = new float[q.length], dk = new float[k.length], dv = new float[v.length];
        Attention.backward(dq, off, dk, off, dv, off, wt, off, att, off, q, off, k, off, v, off, T, P, heads, kv, d);
        DoubleSupplier obj = () -> {
            float[] o = new float[out.length];
            Attention.forward(o, off, null, 0, q, off, k, off, v, off, T, P, heads, kv, d);
            double s = 0;
            for (int i = off; i < o.length; i++) s += (double) o[i] * wt[i];
            return s;
        };
        int[] qe = java.util.stream.IntStream.range(off, q.length).toArray();
        int[] ke = java.util.stream.IntStream.range(off, k.length).toArray();
        check("attention dq (cached)", q, dq, obj, H, TOL, qe);
        check("attention dk (cached)", k, dk, obj, H, TOL, ke);
        check("attention dv (cached)", v, dv, obj, H, TOL, ke);
    }

    @Test
    void sequenceForwardAgreesWithTheCachedForwardAndFeedsTheBackward() {
        sequenceForm(0);
        sequenceForm(3);   // a sliding window of 3 positions: the backward needs nothing but the stored probabilities
    }

    private static void sequenceForm(int W) {
        Random rnd = new Random(6);
        int T = 7, heads = 4, kv = 2, d = 6;
        float[] q = random(rnd, T * heads * d, 1f), k = random(rnd, T * kv * d, 1f), v = random(rnd, T * kv * d, 1f);
        float[] out = new float[T * heads * d], att = new float[heads * T * T];
        float[] out2 = new float[out.length], att2 = new float[att.length];
        Attention.forward(out, 0, att, 0, q, 0, k, 0, v, 0, T, 0, heads, kv, d, W);
        Attention.forwardSequence(out2, 0, att2, 0, q, 0, k, 0, v, 0, T, heads, kv, d, W);
        assertArrayEquals(out, out2, 1e-5f);
        assertArrayEquals(att, att2, 1e-6f);
        if (W > 0) for (int h = 0; h < heads; h++) assertEquals(0f, att2[(h * T + W) * T], "position 0 is outside the window of row " + W);
        float[] wt = random(rnd, out.length, 1f);
        float[] dq = new float[q.length], dk = new float[k.length], dv = new float[v.length];
        Attention.backward(dq, 0, dk, 0, dv, 0, wt, 0, att2, 0, q, 0, k, 0, v, 0, T, 0, heads, kv, d);
        DoubleSupplier obj = () -> {
            float[] o = new float[out.length], a = new float[att.length];
            Attention.forwardSequence(o, 0, a, 0, q, 0, k, 0, v, 0, T, heads, kv, d, W);
            return weighted(o, wt);
        };
        check("attention dq (sequence form, window " + W + ")", q, dq, obj, H, TOL);
        check("attention dk (sequence form, window " + W + ")", k, dk, obj, H, TOL);
        check("attention dv (sequence form, window " + W + ")", v, dv, obj, H, TOL);
    }
}
