package org.lori4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** KernelBench on tiny shapes: it runs, and its statistics are well-formed (no timing asserts). */
class KernelBenchTest {
    private static void assertWellFormed(KernelBench.Stats s, int samples) {
        assertEquals(samples, s.samples());
        assertTrue(s.min() > 0 && s.min() <= s.median() && s.median() <= s.max(), s.toString());
    }

    @Test
    void benchmarksReportOrderedPositiveRates() {
        assertWellFormed(KernelBench.gemv(DType.BF16, 64, 96, 100_000, 3), 3);
        assertWellFormed(KernelBench.forward(DType.F16, 9, 40, 33, 3), 3);
        assertWellFormed(KernelBench.backwardInput(DType.F32, 9, 40, 33, 2), 2);
        assertWellFormed(KernelBench.gemm(20, 30, 16, false, true, 2), 2);
        KernelBench.Shape tiny = new KernelBench.Shape("tiny", 64, 32, 172, 512, 2);
        assertWellFormed(KernelBench.decode(tiny, DType.BF16, 2), 2);
    }

    @Test
    void randomWeightsAreDeterministicAndSmall() {
        Weight a = KernelBench.randomWeight(DType.BF16, 33, 17, 5), b = KernelBench.randomWeight(DType.BF16, 33, 17, 5);
        for (int r = 0; r < 33; r++)
            for (int c = 0; c < 17; c++) {
                assertEquals(a.get(r, c), b.get(r, c));
                assertTrue(Math.abs(a.get(r, c)) <= 0.05f);
            }
    }
}
