package org.lori4j.train;

/** The SwiGLU gate of the Llama MLP, {@code h = silu(gate) * up}, and its backward. Buffers of equal length. */
public final class SwiGluOp {
    private SwiGluOp() {}

    public static void forward(float[] h, float[] gate, float[] up, int len) {
        forward(h, gate, up, 0, len);
    }

    /** The forward on entries [from, to) only. */
    public static void forward(float[] h, float[] gate, float[] up, int from, int to) {
        for (int i = from; i < to; i++) {
            float g = gate[i];
            h[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
    }

    /**
     * With sig = sigmoid(g): dup = dh * g * sig; dgate = dh * up * sig * (1 + g * (1 - sig)).
     * Outputs may alias nothing but each other's inputs are read before being written per index.
     */
    public static void backward(float[] dgate, float[] dup, float[] dh, float[] gate, float[] up, int len) {
        backward(dgate, dup, dh, gate, up, 0, len);
    }

    /** The backward on entries [from, to) only. */
    public static void backward(float[] dgate, float[] dup, float[] dh, float[] gate, float[] up, int from, int to) {
        for (int i = from; i < to; i++) {
            float g = gate[i], u = up[i], d = dh[i];
            float sig = 1f / (1f + (float) Math.exp(-g));
            float silu = g * sig;
            dgate[i] = d * u * sig * (1f + g * (1f - sig));
            dup[i] = d * silu;
        }
    }
}
