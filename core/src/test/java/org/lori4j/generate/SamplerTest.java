package org.lori4j.generate;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplerTest {
    private static final float NEG = Float.NEGATIVE_INFINITY;

    @Test
    void topKKeepsTheKLargestAndTiesWithTheKth() {
        float[] l = {1, 5, 3, 3, 0, 4};
        Sampler.applyTopK(l, 3);                       // 3rd largest is 3: both 3s stay
        assertArrayEquals(new float[]{NEG, 5, 3, 3, NEG, 4}, l);
        float[] same = {1, 2};
        Sampler.applyTopK(same, 0);
        assertArrayEquals(new float[]{1, 2}, same);
    }

    @Test
    void topKOnALargeVocabularyMatchesSorting() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        float[] l = new float[5000];
        for (int i = 0; i < l.length; i++) l[i] = (float) r.nextGaussian();
        l[17] = l[18] = 9f;                             // a tie at the top
        for (int k : new int[]{1, 2, 3, 50, 4999}) {
            float[] sorted = l.clone();
            java.util.Arrays.sort(sorted);
            assertEquals(sorted[sorted.length - k], Sampler.kthLargest(l, k), "k=" + k);
        }
        float[] m = l.clone();
        Sampler.applyTopK(m, 50);
        int kept = 0;
        for (float v : m) if (v != NEG) kept++;
        assertEquals(50, kept);
    }

    @Test
    void topPKeepsTheSmallestNucleusReachingP() {
        // probabilities 0.5, 0.25, 0.125, 0.125 (logits are their logs)
        float[] base = {(float) Math.log(0.5), (float) Math.log(0.25), (float) Math.log(0.125), (float) Math.log(0.125)};
        float[] l = base.clone();
        Sampler.applyTopP(l, 0.7f);     // ascending cumulative 0.125, 0.25, 0.5, 1: remove while <= 0.3 -> the two 0.125s
        assertArrayEquals(new float[]{base[0], base[1], NEG, NEG}, l);
        l = base.clone();
        Sampler.applyTopP(l, 0.8f);     // remove while <= 0.2: one of the 0.125s only
        int removed = 0;
        for (float v : l) if (v == NEG) removed++;
        assertEquals(1, removed);
        l = base.clone();
        Sampler.applyTopP(l, 0.01f);    // only the most likely survives
        assertArrayEquals(new float[]{base[0], NEG, NEG, NEG}, l);
    }

    @Test
    void topPBreaksTiesAndRoundsItsBoundaryAsTorch() {
        // torch.sort ascending is stable here: among equal logits the lower index comes first and goes first
        float[] l = {1, 1, 1, 1};
        Sampler.applyTopP(l, 0.5f);
        assertArrayEquals(new float[]{NEG, NEG, 1, 1}, l);
        // float32 probabilities 0.1000000164 and 0.8999999762: torch compares the float cumsum with 1 - 0.9 as a
        // float (0.10000000149) and keeps both; 1 - (double) 0.9f = 0.10000002384 would have removed the first
        float[] m = {-2.3025848865509033f, -0.10536053031682968f};
        float[] want = m.clone();
        Sampler.applyTopP(m, 0.9f);
        assertArrayEquals(want, m);
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeOncePerToken() {
        float[] l = {2, -2, 4, 1};
        Sampler.applyRepetitionPenalty(l, new int[]{0, 1, 0, 0, 7}, 5, 2f);   // 7 is outside the vocabulary: ignored
        assertArrayEquals(new float[]{1, -4, 4, 1}, l);
    }

    @Test
    void greedyTakesTheArgmaxAfterThePenalty() {
        SamplingParams p = SamplingParams.greedy(10, List.of()).withRepetitionPenalty(3f);
        Sampler s = new Sampler(p);
        assertEquals(0, s.next(new float[]{3, 2, 1}, 0, 3, new int[0], 0));
        assertEquals(1, s.next(new float[]{3, 2, 1}, 0, 3, new int[]{0}, 1));   // 3/3 = 1 < 2
    }

    @Test
    void sameSeedSameDrawsDifferentSeedDifferentDraws() {
        SamplingParams p = new SamplingParams(1f, 0, 1f, 42, 1f, 10, List.of());
        float[] logits = new float[50];
        int[] a = new int[40], b = new int[40], c = new int[40];
        Sampler sa = new Sampler(p), sb = new Sampler(p), sc = new Sampler(p.withSeed(43));
        for (int i = 0; i < 40; i++) {
            a[i] = sa.next(logits.clone(), 0, 50, new int[0], 0);
            b[i] = sb.next(logits.clone(), 0, 50, new int[0], 0);
            c[i] = sc.next(logits.clone(), 0, 50, new int[0], 0);
        }
        assertArrayEquals(a, b);
        assertNotEquals(java.util.Arrays.toString(a), java.util.Arrays.toString(c));
    }

    @Test
    void samplingFollowsTheFilteredDistribution() {
        // top-k 2 of {0.6, 0.3, 0.1}: renormalised 2/3, 1/3; token 2 never drawn.
        float[] probs = {0.6f, 0.3f, 0.1f};
        SamplingParams p = new SamplingParams(1f, 2, 1f, 7, 1f, 10, List.of());
        Sampler s = new Sampler(p);
        int[] count = new int[3];
        int n = 30000;
        for (int i = 0; i < n; i++) {
            float[] l = new float[3];
            for (int j = 0; j < 3; j++) l[j] = (float) Math.log(probs[j]);
            count[s.next(l, 0, 3, new int[0], 0)]++;
        }
        assertEquals(0, count[2]);
        assertEquals(2.0 / 3, count[0] / (double) n, 0.015);
        // Temperature 0.5 squares the odds: 0.36 : 0.09 -> 0.8 / 0.2.
        Sampler hot = new Sampler(p.withTopK(0).withTemperature(0.5f));
        int zero = 0;
        for (int i = 0; i < n; i++) {
            float[] l = {(float) Math.log(0.6), (float) Math.log(0.3), NEG};
            if (hot.next(l, 0, 3, new int[0], 0) == 0) zero++;
        }
        assertEquals(0.8, zero / (double) n, 0.015);
        assertTrue(count[1] > 0);
    }
}
