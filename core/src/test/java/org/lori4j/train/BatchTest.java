package org.lori4j.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Padding and next-token target shifting, against hand-written layouts. */
class BatchTest {
    static final int I = Example.IGNORE;

    @Test
    void targetsAreLabelsShiftedByOneAndPaddingIsIgnored() {
        Example a = new Example(new int[] {10, 11, 12, 13}, new int[] {I, I, 12, 13});
        Example b = new Example(new int[] {20, 21}, new int[] {I, 21});
        Batch batch = Batch.of(new Example[] {a, b}, new int[] {7, 3});
        assertEquals(2, batch.b());
        assertEquals(4, batch.t());
        assertArrayEquals(new int[] {10, 11, 12, 13, 20, 21, 0, 0}, batch.tokens());
        // position t predicts token t+1: a -> [I(label 11 is I), 12, 13, I(end)], b -> [21, I, pad, pad]
        assertArrayEquals(new int[] {I, 12, 13, I, 21, I, I, I}, batch.targets());
        assertArrayEquals(new int[] {4, 2}, batch.lengths());
        assertArrayEquals(new int[] {7, 3}, batch.indices());
        assertEquals(3, batch.scoredTokens());
        assertEquals(2, batch.scoredTokens(0));
        assertEquals(1, batch.scoredTokens(1));
    }

    @Test
    void theFirstLabelIsNeverScored() {
        Example a = new Example(new int[] {5, 6}, new int[] {5, 6});
        Batch batch = Batch.of(new Example[] {a}, new int[] {0});
        assertArrayEquals(new int[] {6, I}, batch.targets());
        assertEquals(1, a.scoredTokens());
    }
}
