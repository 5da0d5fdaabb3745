package org.lori4j.eval;

/**
 * The unbiased pass@k estimator of the Codex paper (Chen et al. 2021), as the bigcode harness computes it:
 * {@code 1 - C(n-c, k) / C(n, k)} evaluated as {@code 1 - prod_{i=n-c+1..n} (1 - k/i)} so that no
 * binomial coefficient overflows.
 */
public final class PassAtK {
    private PassAtK() {}

    /** pass@k of one problem with n samples of which c passed; needs 0 <= c <= n and 1 <= k <= n. */
    public static double estimate(int n, int c, int k) {
        if (c < 0 || c > n || k < 1 || k > n) throw new IllegalArgumentException("n=" + n + " c=" + c + " k=" + k);
        if (n - c < k) return 1.0;
        double prod = 1.0;
        for (int i = n - c + 1; i <= n; i++) prod *= 1.0 - (double) k / i;
        return 1.0 - prod;
    }

    /** Mean pass@k over problems; NaN when some problem has fewer than k samples (the harness then omits k). */
    public static double mean(int[] n, int[] c, int k) {
        if (n.length != c.length) throw new IllegalArgumentException("n and c differ in length");
        double sum = 0;
        for (int i = 0; i < n.length; i++) {
            if (n[i] < k) return Double.NaN;
            sum += estimate(n[i], c[i], k);
        }
        return n.length == 0 ? Double.NaN : sum / n.length;
    }
}
