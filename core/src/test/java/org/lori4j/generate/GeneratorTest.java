package org.lori4j.generate;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lori4j.model.LlamaModel;
import org.lori4j.model.Stories260K;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** Batched generation on the real stories260K model against one-by-one generation. */
class GeneratorTest {
    static LlamaModel model;

    @BeforeAll
    static void load() throws Exception { model = Stories260K.model(); }

    @AfterAll
    static void close() { model.close(); }

    private static final List<int[]> PROMPTS = List.of(
            new int[]{1},
            new int[]{1, 403, 407, 261, 378},          // BOS + a few story pieces
            new int[]{1, 338, 365, 300, 260, 414, 349, 278, 273, 359, 388, 270});

    @Test
    void batchedGreedyEqualsOneByOne() {
        SamplingParams p = SamplingParams.greedy(40, List.of(2));
        Generator g = new Generator(model);
        List<int[]> batched = g.generate(PROMPTS, p);
        for (int i = 0; i < PROMPTS.size(); i++)
            assertArrayEquals(g.generate(PROMPTS.get(i), p, null), batched.get(i), "sequence " + i);
    }

    @Test
    void batchedSamplingOfSequenceZeroEqualsSinglePromptWithTheSameSeed() {
        SamplingParams p = new SamplingParams(0.9f, 40, 0.95f, 1234, 1.1f, 30, List.of(2));
        Generator g = new Generator(model);
        List<int[]> batched = g.generate(PROMPTS, p);
        assertArrayEquals(g.generate(PROMPTS.get(0), p, null), batched.get(0));
        assertArrayEquals(batched.get(1), g.generate(PROMPTS, p).get(1), "same seed, same text");
        assertFalse(Arrays.equals(batched.get(0), g.generate(PROMPTS.get(0), p.withSeed(99), null)));
    }

    @Test
    void continuousBatchingRefillsFreedSlotsAndEachOutputDependsOnlyOnItsPromptAndSeed() {
        Generator g = new Generator(model);
        // five prompts through two slots; a stop id that ends some sequences early, so slots free at different
        // steps and later prompts are prefilled while others decode
        List<int[]> prompts = new ArrayList<>(PROMPTS);
        prompts.add(new int[]{1, 403});
        prompts.add(new int[]{1, 338, 365, 300});
        int[] free = g.generate(PROMPTS.get(0), SamplingParams.greedy(25, List.of()), null);
        for (SamplingParams p : List.of(SamplingParams.greedy(25, List.of(free[5])),
                new SamplingParams(0.9f, 40, 0.95f, 0, 1.1f, 25, List.of(free[5])))) {
            long[] seeds = {11, 22, 33, 44, 55};
            int[][] got = new int[prompts.size()][];
            List<Integer> order = new ArrayList<>();
            g.generate(prompts, seeds, p, 2, null, (i, tokens) -> {
                assertNull(got[i], "prompt " + i + " finished twice");
                got[i] = tokens;
                order.add(i);
            });
            for (int i = 0; i < prompts.size(); i++)
                assertArrayEquals(g.generate(prompts.get(i), p.withSeed(seeds[i]), null), got[i], "prompt " + i + " alone");
            assertEquals(prompts.size(), order.size());
        }
        assertThrows(IllegalArgumentException.class, () -> g.generate(prompts, new long[2], SamplingParams.greedy(5, List.of()), 2, null, (i, t) -> {}));
    }

    @Test
    void aSlotReusesTheCachedPrefixItsNextPromptShares() {
        Generator g = new Generator(model);
        int[] template = {1, 338, 365, 300, 260, 414, 349, 278, 273, 359};
        List<int[]> prompts = List.of(concat(template, 403, 407), concat(template, 261), template.clone(),
                concat(template, 403, 407, 261, 378), new int[]{1, 403});
        SamplingParams p = SamplingParams.greedy(12, List.of());
        int[][] got = new int[prompts.size()][];
        g.generate(prompts, new long[prompts.size()], p, 1, null, (i, t) -> got[i] = t);   // one slot: every prompt follows another
        for (int i = 0; i < prompts.size(); i++)
            assertArrayEquals(g.generate(prompts.get(i), p, null), got[i], "prompt " + i + " alone");
    }

    private static int[] concat(int[] a, int... b) {
        int[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void stopsAtAStopIdWithoutReturningItAndStreamsEveryToken() {
        Generator g = new Generator(model);
        int[] free = g.generate(PROMPTS.get(0), SamplingParams.greedy(30, List.of()), null);
        int stopAt = 7;
        List<Integer> streamed = new ArrayList<>();
        int[] stopped = g.generate(PROMPTS.get(0), SamplingParams.greedy(30, List.of(free[stopAt])),
                (s, t) -> streamed.add(t));
        int first = 0;
        while (free[first] != free[stopAt]) first++;             // the first occurrence of that token ends it
        assertArrayEquals(Arrays.copyOf(free, first), stopped);
        assertEquals(streamed, Arrays.stream(stopped).boxed().toList());
        assertEquals(0, g.generate(PROMPTS.get(1), SamplingParams.greedy(0, List.of()), null).length);
    }

    @Test
    void perPromptTokenLimitsCutEachOutputAndAZeroLimitNeedsNoSlot() {
        SamplingParams p = SamplingParams.greedy(20, List.of());
        Generator g = new Generator(model);
        List<int[]> free = g.generate(PROMPTS, p);
        int[][] got = new int[3][];
        // limits 0, 7 and 50 (above the 20 of the params); two slots, so the zero-limit prompt must not hold one
        g.generate(PROMPTS, new long[3], new int[]{0, 7, 50}, p, 2, null, (i, t) -> got[i] = t);
        assertArrayEquals(new int[0], got[0]);
        assertArrayEquals(Arrays.copyOf(free.get(1), 7), got[1]);
        assertArrayEquals(free.get(2), got[2]);
        assertEquals(20, got[2].length);
        assertThrows(IllegalArgumentException.class, () -> g.generate(PROMPTS, new long[3], new int[]{1, 2}, p, 2, null, (i, t) -> {}));
    }

    @Test
    void aStopRuleEndsOnlyItsSequenceAfterTheTokenItNamesWhichIsKept() {
        SamplingParams p = SamplingParams.greedy(40, List.of(2));
        Generator g = new Generator(model);
        List<int[]> full = g.generate(PROMPTS, p);
        int[][] got = new int[PROMPTS.size()][];
        // sequence 1 ends after its 5th token; the others run to their normal end
        int[] count = new int[PROMPTS.size()];
        g.generate(PROMPTS, new long[PROMPTS.size()], null, p, 2, null,
                (i, t) -> i == 1 && ++count[i] == 5, (i, tokens) -> got[i] = tokens);
        assertArrayEquals(Arrays.copyOf(full.get(1), 5), got[1]);
        assertArrayEquals(full.get(0), got[0]);
        assertArrayEquals(full.get(2), got[2]);
    }
}
