package org.lori4j.train;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * AdamW, the LoRI schedule and clipping against values printed by torch 1.13
 * ({@code torch.optim.AdamW(lr=0.1, wd=0.01)} + {@code LambdaLR} with warm-up 2 +
 * {@code clip_grad_norm_(p, 1.0)} each step; the script is in the javadoc of each test).
 */
class AdamWTest {

    /*
     * p = Parameter([0.5, -1, 2, 0, 3e-4]); opt = AdamW([p], lr=0.1, betas=(0.9,0.999), eps=1e-8, weight_decay=0.01)
     * sched = LambdaLR(opt, lambda s: min(1, (s+1)/3)); for g in grads: p.grad=g; clip_grad_norm_([p],1); opt.step(); sched.step()
     */
    @Test
    void adamWithWarmupDecayAndClippingMatchesTorch() {
        float[] p = {0.5f, -1.0f, 2.0f, 0.0f, 3e-4f};
        float[][] grads = {{0.3f, -0.2f, 1.5f, 0f, 1e-9f}, {-0.1f, 0.4f, 0.5f, 0f, -2e-9f},
                {0.2f, 0.2f, -3.0f, 0f, 0f}, {1.0f, -1.0f, 0f, 0f, 0.5f}};
        double[][] expected = {
                {0.46650001406669617, -0.9663333892822266, 1.9660000801086426, 0.0, -0.0017292476259171963},
                {0.449163556098938, -0.9991175532341003, 1.9022717475891113, 0.0, 0.0025990703143179417},
                {0.4112564027309418, -1.0463697910308838, 1.8899105787277222, 0.0, 0.006791875697672367},
                {0.34592705965042114, -1.017585039138794, 1.8794533014297485, 0.0, -0.05132775008678436}};
        AdamW opt = new AdamW(new AdamW.Config(0.9, 0.999, 1e-8, 0.01), p.length);
        LrSchedule schedule = new LrSchedule(0.1, 2);
        for (int s = 0; s < grads.length; s++) {
            float[] g = grads[s].clone();
            GradClip.clip(g, 1.0f);
            opt.update(p, g, schedule.at(s), null);
            for (int i = 0; i < p.length; i++)
                assertEquals(expected[s][i], p[i], 2e-7 * Math.max(1, Math.abs(expected[s][i])), "step " + s + " entry " + i);
        }
        assertEquals(4, opt.step());
    }

    @Test
    void scheduleWarmsUpLinearlyThenStaysConstant() {
        LrSchedule s = new LrSchedule(1e-4, 3);
        assertEquals(0.25e-4, s.at(0), 1e-18);
        assertEquals(0.5e-4, s.at(1), 1e-18);
        assertEquals(1e-4, s.at(3), 1e-18);
        assertEquals(1e-4, s.at(1000), 1e-18);
        assertEquals(1e-4, new LrSchedule(1e-4, 0).at(0), 1e-18);
    }

    @Test
    void clippingMatchesTorchFormulaIncludingItsEpsilon() {
        float[] g = {3f, 4f};
        assertEquals(5f, GradClip.clip(g, 1f));
        assertEquals(0.5999999046325684, g[0], 0);   // torch: max_norm / (5 + 1e-6), in f32
        assertEquals(0.7999998331069946, g[1], 0);
        float[] small = {0.3f, 0.4f};
        GradClip.clip(small, 1f);
        assertArrayEquals(new float[]{0.3f, 0.4f}, small, 0f);
    }

    @Test
    void globalClippingSharesOneNormEvenClipsEachTensor() {
        float[] a = {3f, 4f}, b = {12f};
        float[] norms = GradClip.clip(List.of(a, b), GradClip.Strategy.GLOBAL, 2.0);
        assertArrayEquals(new float[]{5f, 12f}, norms, 0f);
        assertEquals(0.4615384340286255, a[0], 1e-7);   // torch clip_grad_norm_([a, b], 2.0)
        assertEquals(0.615384578704834, a[1], 1e-7);
        assertEquals(1.846153736114502, b[0], 1e-7);

        float[] c = {3f, 4f}, d = {12f};
        GradClip.clip(List.of(c, d), GradClip.Strategy.EVEN, 2.0);
        assertEquals(2.0, GradClip.norm(c), 1e-5);
        assertEquals(2.0, GradClip.norm(d), 1e-5);

        float[] e = {3f, 4f}, f = {0.1f};
        GradClip.clip(List.of(e, f), GradClip.Strategy.PROPORTIONAL, 2.0);
        assertEquals(Math.sqrt(2.0), GradClip.norm(e), 1e-5);   // 2 / sqrt(2 tensors)
        assertEquals(0.1f, f[0], 0f);
    }

    @Test
    void zeroGradientEntriesNeverMoveWithoutDecay() {
        float[] p = {0.25f, -0.75f, 1e-3f};
        float[] before = p.clone();
        AdamW opt = new AdamW(AdamW.Config.lori(), 3);
        for (int s = 0; s < 5; s++) opt.update(p, new float[]{0f, 1f, 0f}, 0.01, null);
        assertEquals(Float.floatToRawIntBits(before[0]), Float.floatToRawIntBits(p[0]));
        assertEquals(Float.floatToRawIntBits(before[2]), Float.floatToRawIntBits(p[2]));
        assertNotEquals(before[1], p[1]);
    }

    @Test
    void decayOnlyTouchesMaskedEntries() {
        float[] p = {1f, 1f};
        AdamW opt = new AdamW(new AdamW.Config(0.9, 0.999, 1e-8, 0.1), 2);
        opt.update(p, new float[]{0f, 0f}, 0.5, new boolean[]{true, false});
        assertEquals(0.95f, p[0], 1e-7);
        assertEquals(1f, p[1], 0f);
    }
}
