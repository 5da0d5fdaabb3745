package org.lori4j.train;

/**
 * Rotary position embedding in Hugging Face's "rotate half" layout: within each head of size d,
 * entry i pairs with i + d/2. The backward of a rotation by theta is the rotation by -theta.
 * Tables cos/sin are [maxPos, d/2]; rows of x are [n, heads*d] with positions pos[n].
 */
public final class RopeOp {
    private RopeOp() {}

    /** Rotates x in place: (a, b) -> (a cos - b sin, b cos + a sin). */
    public static void forward(float[] x, int n, int heads, int headDim, int[] pos, float[] cos, float[] sin) {
        rotate(x, n, heads, headDim, pos, cos, sin, 1f);
    }

    /** Rotates the gradient back in place: (da, db) -> (da cos + db sin, db cos - da sin). */
    public static void backward(float[] dx, int n, int heads, int headDim, int[] pos, float[] cos, float[] sin) {
        rotate(dx, n, heads, headDim, pos, cos, sin, -1f);
    }

    private static void rotate(float[] x, int n, int heads, int headDim, int[] pos, float[] cos, float[] sin, float sign) {
        int half = headDim / 2;
        int width = heads * headDim;
        for (int t = 0; t < n; t++) {
            int tab = pos[t] * half;
            for (int h = 0; h < heads; h++) {
                int o = t * width + h * headDim;
                for (int i = 0; i < half; i++) {
                    float c = cos[tab + i], s = sign * sin[tab + i];
                    float a = x[o + i], b = x[o + i + half];
                    x[o + i] = a * c - b * s;
                    x[o + i + half] = b * c + a * s;
                }
            }
        }
    }

    /** Plain Llama tables (no scaling): inv_freq_i = theta^(-2i/d), angle = pos * inv_freq, as HF in f32. */
    public static float[][] tables(int maxPos, int headDim, double theta) {
        int half = headDim / 2;
        float[] cos = new float[maxPos * half], sin = new float[maxPos * half];
        for (int i = 0; i < half; i++) {
            float invFreq = (float) (1.0 / Math.pow(theta, (2.0 * i) / headDim));
            for (int p = 0; p < maxPos; p++) {
                float angle = (float) p * invFreq;
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        }
        return new float[][]{cos, sin};
    }
}
