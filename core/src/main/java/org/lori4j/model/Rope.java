package org.lori4j.model;

/**
 * Rotary position embedding in Hugging Face's rotate-half layout: within each head, channel i
 * is rotated together with channel i + d/2 (llama2.c pairs adjacent channels instead; HF
 * checkpoints have their q/k rows permuted so that both give the same model).
 *
 * <p>Legend: N = rows (tokens), H = heads in the buffer, D = head_dim; a row holds H*D channels.
 */
public final class Rope {
    private Rope() {}

    /**
     * Rotates x[N, H*D] in place by the angles whose cos/sin are given per row, cos/sin[N, D/2]
     * (from {@link RopeFrequencies#cosSin}): (a, b) -> (a cos - b sin, b cos + a sin).
     */
    public static void forward(float[] x, float[] cos, float[] sin, int N, int H, int D) {
        int half = D / 2;
        for (int n = 0; n < N; n++) {
            int cs = n * half;
            for (int h = 0; h < H; h++) {
                int o = (n * H + h) * D;
                for (int i = 0; i < half; i++) {
                    float c = cos[cs + i], s = sin[cs + i];
                    float a = x[o + i], b = x[o + i + half];
                    x[o + i] = a * c - b * s;
                    x[o + i + half] = b * c + a * s;
                }
            }
        }
    }

    /**
     * Backward of {@link #forward} in place: the transpose of a rotation by theta is the rotation by
     * -theta, (da, db) -> (da cos + db sin, db cos - da sin).
     */
    public static void backward(float[] dx, float[] cos, float[] sin, int N, int H, int D) {
        int half = D / 2;
        for (int n = 0; n < N; n++) {
            int cs = n * half;
            for (int h = 0; h < H; h++) {
                int o = (n * H + h) * D;
                for (int i = 0; i < half; i++) {
                    float c = cos[cs + i], s = sin[cs + i];
                    float a = dx[o + i], b = dx[o + i + half];
                    dx[o + i] = a * c + b * s;
                    dx[o + i + half] = b * c - a * s;
                }
            }
        }
    }
}
