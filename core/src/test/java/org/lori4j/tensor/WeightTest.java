package org.lori4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.lori4j.io.LoriException;

class WeightTest {
    private final SplittableRandom rnd = new SplittableRandom(7);

    @Test
    void elementsRowsAndTensorRoundTripInEveryDtype() {
        for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            for (int[] shape : new int[][] {{1, 1}, {3, 5}, {33, 17}, {70, 129}, {64, 64}}) {
                int rows = shape[0], cols = shape[1];
                float[] v = KernelTesting.randn(rnd, rows * cols);
                Tensor t = Tensor.fromFloats(dt, v, rows, cols);
                float[] stored = t.toFloatArray();
                Weight w = Weight.of(t);
                assertEquals(rows, w.rows());
                assertEquals(cols, w.cols());
                assertEquals(dt, w.dtype());
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < cols; c++) assertEquals(stored[r * cols + c], w.get(r, c));
                float[] row = new float[cols + 2];
                for (int r = 0; r < rows; r++) {
                    w.rowTo(r, row, 2);
                    for (int c = 0; c < cols; c++) assertEquals(stored[r * cols + c], row[c + 2]);
                }
                Tensor back = w.toTensor();
                assertEquals(dt, back.dtype());
                assertArrayEquals(new long[] {rows, cols}, back.shape());
                assertArrayEquals(stored, back.toFloatArray());
            }
        }
    }

    @Test
    void rejectsNonMatricesAndIntegerTypes() {
        assertThrows(LoriException.class, () -> Weight.of(Tensor.zeros(DType.F32, 4)));
        assertThrows(LoriException.class, () -> Weight.of(Tensor.zeros(DType.I32, 2, 2)));
    }
}
