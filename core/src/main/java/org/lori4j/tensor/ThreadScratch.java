package org.lori4j.tensor;

/**
 * A float buffer per thread, grown on demand and reused, never zeroed: for kernels called many times per step
 * whose scratch would otherwise be allocated (and zeroed) on every call. A buffer is only valid until its thread
 * asks the same ThreadScratch again; it may be handed to other threads for the duration of a
 * {@link Parallel#forRange} the owner waits on.
 */
public final class ThreadScratch {
    private final ThreadLocal<float[][]> holder = ThreadLocal.withInitial(() -> new float[1][0]);

    /** This thread's buffer, at least {@code size} floats long, with whatever an earlier use left in it. */
    public float[] get(int size) {
        float[][] h = holder.get();
        if (h[0].length < size) h[0] = new float[size];
        return h[0];
    }
}
