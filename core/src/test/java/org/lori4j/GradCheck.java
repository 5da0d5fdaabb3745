package org.lori4j;

import java.util.Random;
import java.util.function.DoubleSupplier;

import static org.junit.jupiter.api.Assertions.fail;

/** Central finite differences of an f32 computation, compared with an analytic gradient. */
public final class GradCheck {
    private GradCheck() {}

    public static float[] random(Random rnd, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (rnd.nextGaussian() * scale);
        return a;
    }

    /** Sum of w[i] * y[i] in double: a scalar objective whose gradient w.r.t. y is w. */
    public static double weighted(float[] y, float[] w) {
        double s = 0;
        for (int i = 0; i < w.length; i++) s += (double) y[i] * w[i];
        return s;
    }

    /**
     * Checks analytic[i] against (f(p+h) - f(p-h)) / (actual step) for every entry of param;
     * the error must stay under tol times the largest analytic entry (plus a small absolute floor).
     */
    public static void check(String name, float[] param, float[] analytic, DoubleSupplier objective, float h, double tol) {
        int[] all = new int[param.length];
        for (int i = 0; i < all.length; i++) all[i] = i;
        check(name, param, analytic, objective, h, tol, all);
    }

    /** As {@link #check(String, float[], float[], DoubleSupplier, float, double)} on the given entries only. */
    public static void check(String name, float[] param, float[] analytic, DoubleSupplier objective, float h, double tol, int[] entries) {
        double maxAbs = 0;
        for (float a : analytic) maxAbs = Math.max(maxAbs, Math.abs(a));
        double worst = 0;
        int worstAt = -1;
        double worstFd = 0;
        for (int i : entries) {
            float orig = param[i];
            float up = orig + h, down = orig - h;
            param[i] = up;
            double fp = objective.getAsDouble();
            param[i] = down;
            double fm = objective.getAsDouble();
            param[i] = orig;
            double fd = (fp - fm) / ((double) up - down);
            double err = Math.abs(fd - analytic[i]);
            if (err > worst) { worst = err; worstAt = i; worstFd = fd; }
        }
        if (maxAbs == 0) fail(name + ": analytic gradient is all zero, the check would be vacuous");
        if (worst > tol * maxAbs + 1e-6)
            fail(String.format("%s: entry %d analytic %.6g vs finite difference %.6g (max |grad| %.3g, rel err %.3g)",
                    name, worstAt, analytic[worstAt], worstFd, maxAbs, worst / maxAbs));
    }
}
