package org.lori4j.model;

/**
 * An additive change to a projection's output, attached to a {@link Linear} without touching its
 * base weight: a LoRA/LoRI adapter adds {@code s * (x A^T) B^T}.
 */
@FunctionalInterface
public interface LinearDelta {
    /** Adds this delta's contribution for the rows x[n, in] into y[n, out]. */
    void forward(float[] y, float[] x, int n);

    /**
     * Adds this delta for some rows of a step only: y[rows[i], out] += delta(x[rows[i], in]) for i < count (a
     * {@link DeltaSet}'s rows in a batch of mixed adapters). The rows are gathered, run through
     * {@link #forward} as one block, and the result added to theirs; when they are the first {@code count} rows in
     * order, {@link #forward} runs on them in place.
     */
    default void forwardRows(float[] y, int out, float[] x, int in, int[] rows, int count) {
        boolean leading = true;
        for (int i = 0; i < count && leading; i++) leading = rows[i] == i;
        if (leading) {
            forward(y, x, count);
            return;
        }
        float[] xs = new float[count * in], ys = new float[count * out];
        for (int i = 0; i < count; i++) System.arraycopy(x, rows[i] * in, xs, i * in, in);
        forward(ys, xs, count);
        for (int i = 0; i < count; i++) {
            int o = rows[i] * out, s = i * out;
            for (int j = 0; j < out; j++) y[o + j] += ys[s + j];
        }
    }
}
