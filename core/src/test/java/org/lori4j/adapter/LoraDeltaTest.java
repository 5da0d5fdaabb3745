package org.lori4j.adapter;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** Dense and sparse unmerged application against the double-precision reference loop. */
class LoraDeltaTest {

    private static LoraAdapter.Module module(int r, int in, int out, double zeroFraction, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] a = new float[r * in], b = new float[out * r];
        for (int i = 0; i < a.length; i++) a[i] = (float) (rng.nextDouble() * 2 - 1) / (float) Math.sqrt(in);
        for (int i = 0; i < b.length; i++) b[i] = rng.nextDouble() < zeroFraction ? 0f : (float) rng.nextGaussian() * 0.1f;
        return new LoraAdapter.Module("model.layers.0.mlp.down_proj", 0, "down_proj", r, in, out, 2 * r, 2.0, a, b);
    }

    @Test
    void denseAndSparseAgreeWithTheReference() {
        int[][] shapes = {{4, 32, 16}, {64, 200, 150}, {16, 96, 1000}};
        for (int[] s : shapes) {
            for (int n : new int[]{1, 3, 17}) {
                LoraAdapter.Module m = module(s[0], s[1], s[2], 0.9, s[0] * 31L + n);
                SplittableRandom rng = new SplittableRandom(n);
                float[] x = new float[n * m.in()];
                for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
                float[] base = new float[n * m.out()];
                for (int i = 0; i < base.length; i++) base[i] = (float) rng.nextGaussian();
                float[] ref = base.clone(), dense = base.clone(), sparse = base.clone();
                LoraDelta.forwardReference(m, 0.7 * m.scaling(), ref, x, n);
                LoraDelta.dense(m, 0.7).forward(dense, x, n);
                LoraDelta d = LoraDelta.sparse(m, 0.7);
                assertTrue(d.isSparse());
                d.forward(sparse, x, n);
                for (int i = 0; i < ref.length; i++) {
                    assertEquals(ref[i], dense[i], 1e-5 * (1 + Math.abs(ref[i])), "dense " + i);
                    assertEquals(ref[i], sparse[i], 1e-5 * (1 + Math.abs(ref[i])), "sparse " + i);
                }
            }
        }
    }

    @Test
    void sparseFormSumsEachOutputAsAWalkAlongItsRowOfB() {
        // the nonzeros are visited column by column, but each output's terms are summed from 0 in increasing rank order:
        // bit for bit what walking the row of B gives (the order the engine and lori generate must share)
        LoraAdapter.Module m = module(16, 96, 1000, 0.9, 7);
        int n = 3;
        SplittableRandom rng = new SplittableRandom(3);
        float[] x = new float[n * m.in()], y = new float[n * m.out()];
        for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
        for (int i = 0; i < y.length; i++) y[i] = (float) rng.nextGaussian();
        float[] want = y.clone();
        float scale = (float) (0.7 * m.scaling());
        float[] t = new float[n * m.r()];
        org.lori4j.tensor.MatMul.gemm(t, x, m.a(), n, m.in(), m.r(), false, true, scale, false);
        for (int o = 0; o < m.out(); o++) {
            boolean any = false;
            for (int j = 0; j < m.r(); j++) any |= m.b()[o * m.r() + j] != 0f;
            if (!any) continue;
            for (int i = 0; i < n; i++) {
                float s = 0;
                for (int j = 0; j < m.r(); j++) {
                    float v = m.b()[o * m.r() + j];
                    if (v != 0f) s += t[i * m.r() + j] * v;
                }
                want[i * m.out() + o] += s;
            }
        }
        LoraDelta.sparse(m, 0.7).forward(y, x, n);
        assertArrayEquals(want, y);
    }

    @Test
    void chosenRowsGetBitForBitWhatEachRowGetsAlone() {
        LoraAdapter.Module m = module(16, 96, 300, 0.9, 9);
        SplittableRandom rng = new SplittableRandom(4);
        int n = 6;
        float[] x = new float[n * m.in()], y = new float[n * m.out()];
        for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
        for (int i = 0; i < y.length; i++) y[i] = (float) rng.nextGaussian();
        float[] want = y.clone();
        for (LoraDelta d : new LoraDelta[]{LoraDelta.auto(m, 0.7), LoraDelta.dense(m, 0.7)}) {
            float[] got = y.clone();
            int[] rows = {4, 1, 5};
            d.forwardRows(got, x, rows, rows.length);
            for (int i = 0; i < n; i++) {
                float[] yi = java.util.Arrays.copyOfRange(y, i * m.out(), (i + 1) * m.out());
                boolean chosen = i == 4 || i == 1 || i == 5;
                if (chosen) d.forward(yi, java.util.Arrays.copyOfRange(x, i * m.in(), (i + 1) * m.in()), 1);
                float[] row = java.util.Arrays.copyOfRange(got, i * m.out(), (i + 1) * m.out());
                if (d.isSparse() || !chosen) assertArrayEquals(yi, row, "row " + i);
                else for (int o = 0; o < yi.length; o++) assertEquals(yi[o], row[o], 1e-5 * (1 + Math.abs(yi[o])), "dense row " + i);
            }
        }
        assertArrayEquals(want, y, "the input is not touched");
    }

    @Test
    void autoPicksSparseForLoriS() {
        assertTrue(LoraDelta.auto(module(8, 16, 16, 0.9, 1), 1).isSparse());
        assertFalse(LoraDelta.auto(module(8, 16, 16, 0.0, 1), 1).isSparse());
    }

    @Test
    void denseSeesInPlaceUpdatesOfB() {
        LoraAdapter.Module m = module(4, 8, 8, 0.0, 5);
        LoraDelta d = LoraDelta.dense(m, 1);
        float[] x = new float[8];
        x[0] = 1;
        float[] y1 = new float[8], y2 = new float[8];
        d.forward(y1, x, 1);
        for (int i = 0; i < m.b().length; i++) m.b()[i] *= 2;
        d.forward(y2, x, 1);
        for (int i = 0; i < 8; i++) assertEquals(2 * y1[i], y2[i], 1e-6f);
    }
}
