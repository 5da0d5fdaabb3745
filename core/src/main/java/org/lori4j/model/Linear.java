package org.lori4j.model;

import org.lori4j.tensor.MatMul;
import org.lori4j.tensor.Weight;

import java.util.Arrays;
import java.util.List;

/**
 * One projection of the model, {@code y = x W^T + b + sum of deltas(x)}: a frozen base
 * {@link Weight} [out, in], an optional bias [out] (Qwen2's q/k/v, Llama's attention_bias) and
 * the {@link LinearDelta}s attached to it (adapters). Attaching, detaching and replacing the
 * weight are atomic with respect to {@link #forward}, which reads one consistent snapshot; they
 * must not race with each other across threads (they are synchronized).
 */
public final class Linear {
    private static final LinearDelta[] NONE = new LinearDelta[0];

    private final String name;
    private final float[] bias;                    // [out] or null
    private volatile Weight weight;                // [out, in]
    private volatile LinearDelta[] deltas = NONE;  // copy-on-write

    public Linear(String name, Weight weight, float[] bias) {
        if (bias != null && bias.length != weight.rows())
            throw new IllegalArgumentException(name + ": bias has " + bias.length + " entries, weight has " + weight.rows() + " rows");
        this.name = name;
        this.weight = weight;
        this.bias = bias;
    }

    /** y[n, out] = x[n, in] W^T (+ bias) (+ every attached delta). y is overwritten. */
    public void forward(float[] y, float[] x, int n) {
        Weight w = weight;
        LinearDelta[] ds = deltas;
        MatMul.forward(y, x, n, w);
        if (bias != null) {
            int out = w.rows();
            for (int r = 0; r < n; r++) {
                int o = r * out;
                for (int j = 0; j < out; j++) y[o + j] += bias[j];
            }
        }
        for (LinearDelta d : ds) d.forward(y, x, n);
    }

    /** The tensor-name prefix of this projection, e.g. "model.layers.3.self_attn.q_proj". */
    public String name() { return name; }

    public Weight weight() { return weight; }

    /** The bias (not a copy), or null. */
    public float[] bias() { return bias; }

    public int inFeatures() { return weight.cols(); }

    public int outFeatures() { return weight.rows(); }

    /** Adds a delta (no effect if this exact instance is already attached). */
    public synchronized void attach(LinearDelta delta) {
        for (LinearDelta d : deltas) if (d == delta) return;
        LinearDelta[] next = Arrays.copyOf(deltas, deltas.length + 1);
        next[deltas.length] = delta;
        deltas = next;
    }

    /** Removes a delta; returns whether it was attached. */
    public synchronized boolean detach(LinearDelta delta) {
        for (int i = 0; i < deltas.length; i++) {
            if (deltas[i] == delta) {
                LinearDelta[] next = new LinearDelta[deltas.length - 1];
                System.arraycopy(deltas, 0, next, 0, i);
                System.arraycopy(deltas, i + 1, next, i, deltas.length - i - 1);
                deltas = next;
                return true;
            }
        }
        return false;
    }

    /** Removes every delta. */
    public synchronized void clearDeltas() { deltas = NONE; }

    /** The attached deltas in attachment order. */
    public List<LinearDelta> deltas() { return List.of(deltas); }

    /** Replaces the base weight (e.g. with W + s B A after merging an adapter); the shape must match. */
    public synchronized void replaceWeight(Weight w) {
        Weight old = weight;
        if (w.rows() != old.rows() || w.cols() != old.cols())
            throw new IllegalArgumentException(name + ": replacement weight is " + w.rows() + "x" + w.cols()
                    + ", expected " + old.rows() + "x" + old.cols());
        weight = w;
    }

    @Override
    public String toString() { return "Linear[" + name + " " + weight + (bias != null ? " +bias" : "") + ", " + deltas.length + " deltas]"; }
}
