package org.lori4j.model;

import org.lori4j.io.LlamaConfig;

/**
 * The rotary-embedding frequencies of a model, {@code inv_freq[i] = 1 / theta^(2i/d)} for
 * i in [0, d/2), with Hugging Face's "linear" and "llama3" rope_scaling applied, computed in f32
 * as transformers does (modeling_rope_utils), and the cos/sin tables for given positions.
 */
public final class RopeFrequencies {
    private final float[] invFreq;   // [headDim / 2]

    private RopeFrequencies(float[] invFreq) {
        this.invFreq = invFreq;
    }

    /** Frequencies for {@code headDim} channels with base {@code theta} and optional scaling (null: none). */
    public static RopeFrequencies of(int headDim, double theta, LlamaConfig.RopeScaling scaling) {
        if (headDim <= 0 || headDim % 2 != 0) throw new IllegalArgumentException("head_dim must be even: " + headDim);
        int half = headDim / 2;
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / (float) headDim;          // arange(0, d, 2).float() / d in f32
            inv[i] = 1.0f / (float) Math.pow((float) theta, exponent);   // base ** x and 1 / y, both f32 upstream
        }
        if (scaling != null) {
            switch (scaling.type()) {
                case "linear" -> {
                    float f = (float) scaling.factor();
                    for (int i = 0; i < half; i++) inv[i] = inv[i] / f;
                }
                case "llama3" -> llama3(inv, scaling);
                default -> throw new IllegalArgumentException("unsupported rope_scaling type " + scaling.type());
            }
        }
        return new RopeFrequencies(inv);
    }

    /** Frequencies of a model configuration. */
    public static RopeFrequencies of(LlamaConfig config) {
        return of(config.headDim(), config.ropeTheta(), config.ropeScaling());
    }

    /**
     * Llama 3.1 band scaling: wavelengths shorter than original/high_freq_factor keep their
     * frequency, longer than original/low_freq_factor are divided by factor, and the band between
     * is interpolated with a smooth factor.
     */
    private static void llama3(float[] inv, LlamaConfig.RopeScaling s) {
        float factor = (float) s.factor();
        float lo = (float) s.lowFreqFactor(), hi = (float) s.highFreqFactor();
        float old = s.originalMaxPositionEmbeddings();
        float loWavelen = (float) ((double) old / lo), hiWavelen = (float) ((double) old / hi);
        for (int i = 0; i < inv.length; i++) {
            float f = inv[i];
            float wavelen = (1.0f / f) * (float) (2 * Math.PI);   // upstream: 2*pi / inv_freq on an f32 tensor
            if (wavelen < hiWavelen) continue;                     // high frequency: unchanged
            if (wavelen > loWavelen) { inv[i] = f / factor; continue; }
            float smooth = (old / wavelen - lo) / (hi - lo);        // medium band: interpolate
            inv[i] = (1 - smooth) * f / factor + smooth * f;
        }
    }

    /** Number of frequencies (head_dim / 2). */
    public int size() { return invFreq.length; }

    /** A copy of inv_freq. */
    public float[] invFreq() { return invFreq.clone(); }

    /**
     * cos[N, d/2] and sin[N, d/2] of the angles positions[n] * inv_freq[i], the angle rounded to
     * f32 first as Hugging Face's f32 outer product does.
     */
    public void cosSin(int[] positions, int N, float[] cos, float[] sin) {
        int half = invFreq.length;
        for (int n = 0; n < N; n++) {
            float p = positions[n];
            for (int i = 0; i < half; i++) {
                float angle = p * invFreq[i];
                cos[n * half + i] = (float) Math.cos(angle);
                sin[n * half + i] = (float) Math.sin(angle);
            }
        }
    }
}
