package org.lori4j.model;

import org.junit.jupiter.api.Test;
import org.lori4j.tensor.Tensor;
import org.lori4j.tensor.Weight;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LinearTest {
    // W [out 2, in 3]
    private static Weight w(float... v) { return Weight.of(Tensor.of(v, 2, 3)); }

    @Test
    void forwardIsXTimesWTransposedPlusBias() {
        Linear lin = new Linear("p", w(1, 2, 3, 4, 5, 6), new float[]{10, 20});
        float[] y = new float[4];
        lin.forward(y, new float[]{1, 0, -1, 2, 1, 0}, 2);
        // row 0: [1-3, 4-6] + b; row 1: [2+2, 8+5] + b
        assertArrayEquals(new float[]{8, 18, 14, 33}, y);
    }

    @Test
    void deltasAddAndDetachRestoresTheBase() {
        Linear lin = new Linear("p", w(1, 0, 0, 0, 1, 0), null);
        LinearDelta plusOne = (y, x, n) -> { for (int i = 0; i < n * 2; i++) y[i] += 1; };
        LinearDelta timesX2 = (y, x, n) -> { for (int r = 0; r < n; r++) y[r * 2 + 1] += 100 * x[r * 3 + 2]; };
        float[] x = {3, 4, 5};
        float[] y = new float[2];
        lin.attach(plusOne);
        lin.attach(timesX2);
        lin.attach(plusOne);               // attaching twice is a no-op
        lin.forward(y, x, 1);
        assertArrayEquals(new float[]{4, 505}, y);
        assertEquals(2, lin.deltas().size());
        assertTrue(lin.detach(plusOne));
        assertFalse(lin.detach(plusOne));
        lin.forward(y, x, 1);
        assertArrayEquals(new float[]{3, 504}, y);
        lin.clearDeltas();
        lin.forward(y, x, 1);
        assertArrayEquals(new float[]{3, 4}, y);
    }

    @Test
    void replaceWeightChecksTheShape() {
        Linear lin = new Linear("p", w(1, 0, 0, 0, 1, 0), null);
        lin.replaceWeight(w(0, 0, 1, 1, 0, 0));
        float[] y = new float[2];
        lin.forward(y, new float[]{3, 4, 5}, 1);
        assertArrayEquals(new float[]{5, 3}, y);
        assertThrows(IllegalArgumentException.class, () -> lin.replaceWeight(Weight.of(Tensor.of(new float[6], 3, 2))));
    }
}
