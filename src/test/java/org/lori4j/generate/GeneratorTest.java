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
}
