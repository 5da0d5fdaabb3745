package org.lori4j.train;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Cuts a {@link TrainingData} into optimiser steps: each epoch visits the examples in an order, takes them
 * B at a time (a partial last batch is dropped unless keepLast, as the reference drops it) and splits each
 * batch into M contiguous micro-batches of B/M sequences (as the reference's slice_and_move_batch_for_device).
 *
 * <p>Order: with shuffling, the reference's exactly (juzhengz/LoRI get_batch_iterator): numpy's MT19937 seeded
 * with {@code seed} gives one 32-bit seed per epoch; before epoch e, CPython's {@code random} seeded with it
 * shuffles epoch e-1's order in place (so shuffles compound; epoch 0 shuffles file order). Upstream always
 * passes seed 0. Without shuffling every epoch is in file order. Everything depends only on (seed, epoch,
 * step), so a run resumed at (epoch, step) sees the same batches as an uninterrupted one.
 */
public final class Batcher {
    /** One optimiser step: its position and its micro-batches (together {@link #sequences()} sequences). */
    public record Step(int epoch, int step, long globalStep, List<Batch> microBatches) {
        public int sequences() {
            int n = 0;
            for (Batch b : microBatches) n += b.b();
            return n;
        }
    }

    private final TrainingData data;
    private final int batchSize, microBatches;
    private final boolean shuffle, keepLast;
    private final long seed;

    /**
     * @param batchSize    sequences per optimiser step (B)
     * @param microBatches gradient-accumulation micro-batches per step (M); must divide B
     * @param shuffle      reference shuffling (true) or file order every epoch (false)
     * @param seed         shuffling seed in [0, 2^32); the reference uses 0
     * @param keepLast     also yield the final partial batch of an epoch (the reference drops it)
     */
    public Batcher(TrainingData data, int batchSize, int microBatches, boolean shuffle, long seed, boolean keepLast) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1: " + batchSize);
        if (microBatches < 1 || batchSize % microBatches != 0)
            throw new IllegalArgumentException("gradient accumulation steps (" + microBatches
                    + ") must divide the batch size (" + batchSize + ")");
        if (seed < 0 || seed > 0xFFFFFFFFL) throw new IllegalArgumentException("seed must be in [0, 2^32): " + seed);
        this.data = data;
        this.batchSize = batchSize;
        this.microBatches = microBatches;
        this.shuffle = shuffle;
        this.seed = seed;
        this.keepLast = keepLast;
    }

    public int batchSize() { return batchSize; }
    public int microBatches() { return microBatches; }

    /** Optimiser steps per epoch. */
    public int stepsPerEpoch() {
        int n = data.size();
        return keepLast ? (n + batchSize - 1) / batchSize : n / batchSize;
    }

    /** The order of example indices in EPOCH (0-based). Costs O(epoch * n). */
    public int[] order(int epoch) {
        if (epoch < 0) throw new IllegalArgumentException("epoch must be >= 0: " + epoch);
        int[] order = identity(data.size());
        if (!shuffle) return order;
        PythonRandom epochSeeds = PythonRandom.numpySeeded(seed);
        for (int e = 0; e <= epoch; e++) PythonRandom.pythonSeeded(epochSeeds.nextUint32()).shuffle(order);
        return order;
    }

    /** The micro-batches of step STEP of an epoch whose order is ORDER. */
    public Step step(int epoch, int step, int[] order) {
        int steps = stepsPerEpoch();
        if (step < 0 || step >= steps)
            throw new IllegalArgumentException("step " + step + " outside epoch of " + steps + " steps");
        int start = step * batchSize;
        int size = Math.min(batchSize, order.length - start);
        // contiguous micro-batches of B/M; a short last batch (keepLast) is split as evenly as possible
        List<Batch> micro = new ArrayList<>(microBatches);
        int from = start;
        for (int m = 0; m < microBatches; m++) {
            int len = size / microBatches + (m < size % microBatches ? 1 : 0);
            if (len == 0) continue;
            Example[] ex = new Example[len];
            int[] idx = new int[len];
            for (int i = 0; i < len; i++) {
                idx[i] = order[from + i];
                ex[i] = data.get(idx[i]);
            }
            micro.add(Batch.of(ex, idx));
            from += len;
        }
        return new Step(epoch, step, (long) epoch * steps + step, List.copyOf(micro));
    }

    /**
     * Steps from (startEpoch, startStep) to the end of epoch {@code epochs - 1}, in order (none when startEpoch
     * >= epochs). Resuming at the step after the last completed one reproduces the rest of an uninterrupted run.
     */
    public Iterator<Step> iterator(int epochs, int startEpoch, int startStep) {
        int steps = stepsPerEpoch();
        if (steps == 0)
            throw new org.lori4j.io.LoriException(data.size() + " examples make no full batch of " + batchSize
                    + "; lower the batch size");
        if (startEpoch < 0 || startStep < 0 || startStep >= steps)
            throw new IllegalArgumentException("cannot start at epoch " + startEpoch + " step " + startStep
                    + " (" + steps + " steps per epoch)");
        return new Iterator<>() {
            int epoch = startEpoch;
            int next = startStep;
            int[] order = epoch < epochs ? order(epoch) : null;

            @Override public boolean hasNext() { return epoch < epochs; }

            @Override public Step next() {
                if (!hasNext()) throw new NoSuchElementException();
                Step s = step(epoch, next, order);
                if (++next == steps) {
                    next = 0;
                    epoch++;
                    if (epoch < epochs) order = advance(order, epoch);
                }
                return s;
            }
        };
    }

    /** Epoch E's order from epoch e-1's (one more in-place shuffle), without replaying all earlier epochs. */
    private int[] advance(int[] previous, int epoch) {
        if (!shuffle) return previous;
        PythonRandom epochSeeds = PythonRandom.numpySeeded(seed);
        long s = 0;
        for (int e = 0; e <= epoch; e++) s = epochSeeds.nextUint32();
        int[] order = previous.clone();
        PythonRandom.pythonSeeded(s).shuffle(order);
        return order;
    }

    private static int[] identity(int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = i;
        return a;
    }
}
