package org.lori4j.adapter;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.lori4j.GradCheck.*;

/** Finite-difference check of the LoRA path's backward (dx, dA, dB) against its forward. */
class LoraOpTest {
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
}
