package org.lori4j.eval;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PassAtKTest {

    private static BigInteger choose(int n, int k) {
        if (k < 0 || k > n) return BigInteger.ZERO;
        BigInteger r = BigInteger.ONE;
        for (int i = 0; i < k; i++) r = r.multiply(BigInteger.valueOf(n - i)).divide(BigInteger.valueOf(i + 1));
        return r;
    }

    /** The definition with exact binomials: 1 - C(n-c, k) / C(n, k). */
    private static double exact(int n, int c, int k) {
        BigDecimal ratio = new BigDecimal(choose(n - c, k)).divide(new BigDecimal(choose(n, k)), MathContext.DECIMAL128);
        return BigDecimal.ONE.subtract(ratio).doubleValue();
    }

    @Test
    void stableProductEqualsExactBinomialsForAllSmallCases() {
        for (int n = 1; n <= 30; n++)
            for (int c = 0; c <= n; c++)
                for (int k = 1; k <= n; k++)
                    assertEquals(exact(n, c, k), PassAtK.estimate(n, c, k), 1e-12, "n=" + n + " c=" + c + " k=" + k);
    }

    @Test
    void handComputedValues() {
        assertEquals(0.5, PassAtK.estimate(2, 1, 1), 1e-15);      // the code_eval docstring example
        assertEquals(1.0, PassAtK.estimate(2, 1, 2), 1e-15);
        assertEquals(0.15, PassAtK.estimate(20, 3, 1), 1e-12);    // pass@1 = c/n
        assertEquals(0.0, PassAtK.estimate(20, 0, 10), 0.0);
        assertEquals(1.0 - 17.0 * 16 / (20.0 * 19), PassAtK.estimate(20, 3, 2), 1e-12);
    }

    @Test
    void largeNDoesNotOverflow() {
        double v = PassAtK.estimate(1000, 7, 100);
        assertEquals(exact(1000, 7, 100), v, 1e-12);
        assertTrue(v > 0 && v < 1);
    }

    @Test
    void meanOmitsKLargerThanSomeSampleCount() {
        assertEquals(0.75, PassAtK.mean(new int[]{2, 2}, new int[]{1, 2}, 1), 1e-15);
        assertTrue(Double.isNaN(PassAtK.mean(new int[]{2, 1}, new int[]{1, 1}, 2)));
    }
}
