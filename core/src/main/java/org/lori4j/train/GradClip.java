package org.lori4j.train;

import java.util.List;

/**
 * Gradient-norm clipping as {@code torch.nn.utils.clip_grad_norm_} does it: with {@code norm} the
 * L2 norm, {@code coef = max_norm / (norm + 1e-6)}, gradients are scaled by {@code coef} when it is
 * below 1. The strategies decide which gradients share one norm.
 */
public final class GradClip {
    private GradClip() {}

    /** Which gradients are clipped together. */
    public enum Strategy {
        /** LoRI's default: every trainable tensor is clipped to max_norm on its own. */
        EVEN,
        /**
         * Every tensor on its own to {@code max_norm / sqrt(n)}, n = number of trainable tensors, so
         * the global norm stays within max_norm. Upstream meant this (it divides by the square root of
         * the parameter count) but its version registers no optimiser at all and never trains.
         */
        PROPORTIONAL,
        /** One global norm over all trainable tensors (the usual single-optimiser clipping). */
        GLOBAL;

        public static Strategy parse(String s) {
            return switch (s.toLowerCase(java.util.Locale.ROOT)) {
                case "even" -> EVEN;
                case "proportional" -> PROPORTIONAL;
                case "global" -> GLOBAL;
                default -> throw new org.lori4j.io.LoriException("--clip: unknown strategy '" + s + "' (even, proportional, global)");
            };
        }
    }

    /** L2 norm accumulated in double, rounded to f32 as torch returns it for f32 gradients. */
    public static float norm(float[] g) {
        double s = 0;
        for (float x : g) s += (double) x * x;
        return (float) Math.sqrt(s);
    }

    /** The scale torch applies for a norm and a max norm, in f32 arithmetic like torch; 1 when no clipping. */
    public static float coefficient(float norm, float maxNorm) {
        float coef = maxNorm / (norm + 1e-6f);
        return coef < 1f ? coef : 1f;
    }

    /** Scales {@code g} in place by the coefficient for its own norm; returns the norm before clipping. */
    public static float clip(float[] g, float maxNorm) {
        float n = norm(g);
        scale(g, coefficient(n, maxNorm));
        return n;
    }

    /**
     * Clips a set of gradients with a strategy and returns the norm of each before clipping.
     * {@code maxNorm <= 0} or infinite disables clipping (norms are still reported).
     */
    public static float[] clip(List<float[]> grads, Strategy strategy, double maxNorm) {
        float[] norms = new float[grads.size()];
        for (int i = 0; i < norms.length; i++) norms[i] = norm(grads.get(i));
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) return norms;
        switch (strategy) {
            case EVEN -> {
                for (int i = 0; i < norms.length; i++) scale(grads.get(i), coefficient(norms[i], (float) maxNorm));
            }
            case PROPORTIONAL -> {
                float each = (float) (maxNorm / Math.sqrt(Math.max(1, grads.size())));
                for (int i = 0; i < norms.length; i++) scale(grads.get(i), coefficient(norms[i], each));
            }
            case GLOBAL -> {
                float total = globalNorm(norms);
                float coef = coefficient(total, (float) maxNorm);
                for (float[] g : grads) scale(g, coef);
            }
        }
        return norms;
    }

    /** The norm of the per-tensor norms, as torch stacks them. */
    public static float globalNorm(float[] norms) {
        double s = 0;
        for (float n : norms) s += (double) n * n;
        return (float) Math.sqrt(s);
    }

    private static void scale(float[] g, float coef) {
        if (coef == 1f) return;
        for (int i = 0; i < g.length; i++) g[i] *= coef;
    }
}
