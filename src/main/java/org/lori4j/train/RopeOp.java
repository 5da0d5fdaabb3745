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
        rotate(x, 0, n, heads, headDim, pos, cos, sin, 1f);
    }

    /** The forward on rows [from, to) only. */
    public static void forward(float[] x, int from, int to, int heads, int headDim, int[] pos, float[] cos, float[] sin) {
        rotate(x, from, to, heads, headDim, pos, cos, sin, 1f);
    }

    /** Rotates the gradient back in place: (da, db) -> (da cos + db sin, db cos - da sin). */
    public static void backward(float[] dx, int n, int heads, int headDim, int[] pos, float[] cos, float[] sin) {
        rotate(dx, 0, n, heads, headDim, pos, cos, sin, -1f);
    }

    /** The backward on rows [from, to) only. */
    public static void backward(float[] dx, int from, int to, int heads, int headDim, int[] pos, float[] cos, float[] sin) {
        rotate(dx, from, to, heads, headDim, pos, cos, sin, -1f);
    }

    private static void rotate(float[] x, int from, int to, int heads, int headDim, int[] pos, float[] cos, float[] sin, float sign) {
        int half = headDim / 2;
        int width = heads * headDim;
        for (int t = from; t < to; t++) {
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

    /**
     * cos/sin tables [maxPos, d/2] as HF computes them in f32: inv_freq_i = theta^(-2i/d), adjusted by the
     * rope scaling ("linear": divided by factor; "llama3": the frequency-band rule of Llama 3.1), angle = pos * inv_freq.
     */
    public static float[][] tables(int maxPos, int headDim, double theta, org.lori4j.model.LlamaConfig.RopeScaling scaling) {
        int half = headDim / 2;
        float[] cos = new float[maxPos * half], sin = new float[maxPos * half];
        for (int i = 0; i < half; i++) {
            double invFreq = (float) (1.0 / Math.pow(theta, (float) (2.0 * i) / headDim));
            if (scaling != null && scaling.type().equals("linear")) invFreq /= scaling.factor();
            else if (scaling != null && scaling.type().equals("llama3")) invFreq = llama3(invFreq, scaling);
            float f = (float) invFreq;
            for (int p = 0; p < maxPos; p++) {
                float angle = (float) p * f;
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        }
        return new float[][]{cos, sin};
    }

    /** Plain Llama tables (no scaling). */
    public static float[][] tables(int maxPos, int headDim, double theta) {
        return tables(maxPos, headDim, theta, null);
    }

    private static double llama3(double invFreq, org.lori4j.model.LlamaConfig.RopeScaling sc) {
        double old = sc.originalMaxPositionEmbeddings();
        double lowWavelen = old / sc.lowFreqFactor(), highWavelen = old / sc.highFreqFactor();
        double wavelen = 2 * Math.PI / invFreq;
        if (wavelen < highWavelen) return invFreq;
        if (wavelen > lowWavelen) return invFreq / sc.factor();
        double smooth = (old / wavelen - sc.lowFreqFactor()) / (sc.highFreqFactor() - sc.lowFreqFactor());
        return (1 - smooth) * invFreq / sc.factor() + smooth * invFreq;
    }
}
