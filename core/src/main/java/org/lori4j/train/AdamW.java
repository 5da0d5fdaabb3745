package org.lori4j.train;

/**
 * AdamW for one trainable tensor, step for step the formula of {@code torch.optim.AdamW}
 * (single-tensor path): decoupled decay {@code p -= lr*wd*p}, moment updates, then
 * {@code p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)}. LoRI keeps one optimiser per tensor.
 */
public final class AdamW {
    /** Hyper-parameters shared by all tensors of a run. */
    public record Config(double beta1, double beta2, double eps, double weightDecay) implements java.io.Serializable {
        /** LoRI's (and PyTorch's) betas and eps with no weight decay. */
        public static Config lori() { return new Config(0.9, 0.999, 1e-8, 0.0); }
    }

    private final Config config;
    private final float[] m; // first moment, same length as the parameter
    private final float[] v; // second moment
    private long step;       // optimiser steps taken so far

    public AdamW(Config config, int size) {
        this.config = config;
        this.m = new float[size];
        this.v = new float[size];
    }

    /** Restores a saved state (moments are copied). */
    public AdamW(Config config, float[] m, float[] v, long step) {
        if (m.length != v.length) throw new IllegalArgumentException("moment sizes differ: " + m.length + " vs " + v.length);
        this.config = config;
        this.m = m.clone();
        this.v = v.clone();
        this.step = step;
    }

    public long step() { return step; }
    public float[] m() { return m; }
    public float[] v() { return v; }
    public int size() { return m.length; }

    /**
     * One update of {@code param} with {@code grad} at learning rate {@code lr}. When {@code mask}
     * is non-null only its true entries receive weight decay (entries outside it have zero gradient
     * and keep their value bit for bit).
     */
    public void update(float[] param, float[] grad, double lr, boolean[] mask) {
        if (param.length != m.length || grad.length != m.length)
            throw new IllegalArgumentException("AdamW of size " + m.length + " got param " + param.length + ", grad " + grad.length);
        step++;
        float b1 = (float) config.beta1(), b2 = (float) config.beta2();
        float oneMinusB1 = (float) (1 - config.beta1()), oneMinusB2 = (float) (1 - config.beta2());
        // torch computes the bias corrections and step size in Python double, then applies them as f32 scalars.
        double bc1 = 1 - Math.pow(config.beta1(), step);
        double bc2 = 1 - Math.pow(config.beta2(), step);
        float stepSize = (float) (lr / bc1);
        float bc2Sqrt = (float) Math.sqrt(bc2);
        float eps = (float) config.eps();
        float decay = (float) (1 - lr * config.weightDecay());
        boolean decays = config.weightDecay() != 0;
        for (int i = 0; i < param.length; i++) {
            float p = param[i];
            if (decays && (mask == null || mask[i])) p *= decay;
            float g = grad[i];
            float mi = m[i] * b1 + g * oneMinusB1;
            float vi = v[i] * b2 + g * g * oneMinusB2;
            m[i] = mi;
            v[i] = vi;
            float denom = (float) Math.sqrt(vi) / bc2Sqrt + eps;
            param[i] = p - stepSize * (mi / denom);
        }
    }
}
