package org.lori4j.model;

/**
 * An additive change to a projection's output, attached to a {@link Linear} without touching its
 * base weight: a LoRA/LoRI adapter adds {@code s * (x A^T) B^T}.
 */
@FunctionalInterface
public interface LinearDelta {
    /** Adds this delta's contribution for the rows x[n, in] into y[n, out]. */
    void forward(float[] y, float[] x, int n);
}
