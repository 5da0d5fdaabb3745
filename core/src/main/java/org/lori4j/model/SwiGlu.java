package org.lori4j.model;

import org.lori4j.tensor.Parallel;
import org.lori4j.tensor.Vec;

/**
 * The gated activation of the Llama MLP, {@code silu(gate) * up}; the MLP is
 * {@code down(silu(gate(x)) * up(x))} with the three projections done by {@link Linear}.
 *
 * <p>Legend: N = rows (tokens), F = MLP width (intermediate_size).
 */
public final class SwiGlu {
    private SwiGlu() {}

    /** out[N, F] = silu(gate[N, F]) * up[N, F], silu(g) = g / (1 + e^-g), in f32. out may alias gate or up. */
    public static void forward(float[] out, float[] gate, float[] up, int N, int F) {
        Parallel.forRange(N, Math.max(1, 16384 / F), (n0, n1) ->
                Vec.siluMul(out, n0 * F, gate, n0 * F, up, n0 * F, (n1 - n0) * F));
    }

    /** The plain-loop reference of {@link #forward}, for tests. */
    static void forwardReference(float[] out, float[] gate, float[] up, int N, int F) {
        int n = N * F;
        for (int i = 0; i < n; i++) {
            float g = gate[i];
            out[i] = g / (1.0f + (float) Math.exp(-g)) * up[i];
        }
    }

    /**
     * Backward of {@link #forward}: with sig = sigmoid(g), {@code dup = dout * g * sig} and
     * {@code dgate = dout * up * sig * (1 + g * (1 - sig))}. dgate/dup [N, F] are overwritten; they may
     * alias gate/up (each index is read before it is written).
     */
    public static void backward(float[] dgate, float[] dup, float[] dout, float[] gate, float[] up, int N, int F) {
        Parallel.forRange(N, Math.max(1, 16384 / F), (n0, n1) ->
                Vec.siluMulBackward(dgate, n0 * F, dup, n0 * F, dout, n0 * F, gate, n0 * F, up, n0 * F, (n1 - n0) * F));
    }

    /** The plain-loop reference of {@link #backward}, for tests. */
    static void backwardReference(float[] dgate, float[] dup, float[] dout, float[] gate, float[] up, int N, int F) {
        int n = N * F;
        for (int i = 0; i < n; i++) {
            float g = gate[i], u = up[i], d = dout[i];
            float sig = 1.0f / (1.0f + (float) Math.exp(-g));
            dgate[i] = d * u * sig * (1.0f + g * (1.0f - sig));
            dup[i] = d * g * sig;
        }
    }
}
