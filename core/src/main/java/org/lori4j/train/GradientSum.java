package org.lori4j.train;

/**
 * The one summation order of a step's micro-batch gradients: micro-batch 0's gradient as it is, then each later one
 * added element by element in micro-batch order. Floating-point addition is not associative, so this fixed order is
 * what makes a data-parallel step (whoever computed which micro-batch) equal the one-process step bit for bit.
 */
public final class GradientSum {
    private float[] total;
    private int next;

    /** Adds micro-batch {@code index}'s packed gradient (left unchanged); indices must come as 0, 1, 2, ... */
    public void add(int index, float[] gradient) {
        if (index != next) throw new IllegalStateException("micro-batch " + index + " added out of order (expected " + next + ")");
        if (total == null) {
            total = gradient.clone();
        } else {
            if (gradient.length != total.length)
                throw new IllegalStateException("micro-batch " + index + " has " + gradient.length + " gradient values, the first " + total.length);
            for (int j = 0; j < total.length; j++) total[j] += gradient[j];
        }
        next++;
    }

    /** Micro-batches added so far. */
    public int count() { return next; }

    /** The sum of everything added (null when nothing was). */
    public float[] total() { return total; }
}
