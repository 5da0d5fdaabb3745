package org.lori4j.train;

import org.lori4j.io.LoriException;

/**
 * The hyper-parameters of one training run. {@link #lori(Method)} gives LoRI's reference settings
 * (AdamW 0.9/0.999/1e-8, no weight decay, per-tensor "even" clipping at 1.0, no warm-up, batch 32).
 *
 * @param method         which tensors train: LoRI-D/LoRI-S train B only (LoRI-S under a mask), LoRA trains A and B
 * @param lr             peak learning rate
 * @param epochs         passes over the data (an upper bound when maxSteps is set)
 * @param maxSteps       stop after this many batches, or -1 for all epochs
 * @param batchSize      sequences per optimiser step (B)
 * @param microBatchSize sequences per forward/backward (B / M, M = gradient-accumulation steps)
 * @param warmupSteps    linear warm-up length in optimiser steps
 * @param maxGradNorm    clipping threshold (<= 0: no clipping)
 * @param clip           which gradients share a norm
 * @param accumulation   standard (sum M micro-batch gradients, one step) or reference (a step per micro-batch)
 * @param adam           AdamW hyper-parameters
 * @param seed           seed of the data order (and of a fresh adapter's A, which the caller makes)
 * @param shuffle        reference shuffling, or file order every epoch
 * @param saveEvery      write a resumable checkpoint every this many batches (0: only at the end)
 * @param stopAfter      stop (with a checkpoint) after this many batches in all, as if killed there; -1: never
 */
public record TrainConfig(Method method, double lr, int epochs, long maxSteps, int batchSize, int microBatchSize,
                          int warmupSteps, double maxGradNorm, GradClip.Strategy clip, Accumulation accumulation,
                          AdamW.Config adam, long seed, boolean shuffle, int saveEvery, long stopAfter)
        implements java.io.Serializable {

    /** What trains. */
    public enum Method {
        LORI_D("lori-d"), LORI_S("lori-s"), LORA("lora");

        private final String id;

        Method(String id) { this.id = id; }

        public String id() { return id; }

        public boolean trainsA() { return this == LORA; }

        public static Method parse(String s) {
            for (Method m : values()) if (m.id.equalsIgnoreCase(s)) return m;
            throw new LoriException("--method: unknown method '" + s + "' (lori-d, lori-s, lora)");
        }
    }

    /** How M micro-batches make an optimiser step. */
    public enum Accumulation {
        /** Sum the gradients of loss/M over the micro-batches, then one optimiser step (the usual meaning). */
        STANDARD,
        /** What LoRI's trainer does (optimisers stepped inside backward): M steps per batch, each on loss/M. */
        REFERENCE;

        public static Accumulation parse(String s) {
            return switch (s.toLowerCase(java.util.Locale.ROOT)) {
                case "standard" -> STANDARD;
                case "reference" -> REFERENCE;
                default -> throw new LoriException("--accumulation: unknown mode '" + s + "' (standard, reference)");
            };
        }
    }

    public TrainConfig {
        if (!(lr > 0) || Double.isInfinite(lr)) throw new LoriException("--lr must be positive, got " + lr);
        if (epochs < 1) throw new LoriException("--epochs must be >= 1, got " + epochs);
        if (maxSteps == 0 || maxSteps < -1) throw new LoriException("--steps must be >= 1, got " + maxSteps);
        if (batchSize < 1) throw new LoriException("--batch-size must be >= 1, got " + batchSize);
        if (microBatchSize < 1 || microBatchSize > batchSize || batchSize % microBatchSize != 0)
            throw new LoriException("--micro-batch-size " + microBatchSize + " must divide --batch-size " + batchSize);
        if (warmupSteps < 0) throw new LoriException("--warmup must be >= 0, got " + warmupSteps);
        if (Double.isNaN(maxGradNorm)) throw new LoriException("--max-grad-norm must be a number");
        if (saveEvery < 0) throw new LoriException("--save-every must be >= 0, got " + saveEvery);
        if (seed < 0 || seed > 0xFFFFFFFFL) throw new LoriException("--seed must be in [0, 2^32), got " + seed);
    }

    /** LoRI's reference settings for a method at a learning rate. */
    public static TrainConfig lori(Method method, double lr) {
        return new TrainConfig(method, lr, 1, -1, 32, 32, 0, 1.0, GradClip.Strategy.EVEN, Accumulation.STANDARD,
                AdamW.Config.lori(), 0, true, 0, -1);
    }

    /** Gradient-accumulation steps M. */
    public int microBatches() { return batchSize / microBatchSize; }

    public TrainConfig withSteps(long steps) {
        return new TrainConfig(method, lr, epochs, steps, batchSize, microBatchSize, warmupSteps, maxGradNorm, clip, accumulation, adam, seed, shuffle, saveEvery, stopAfter);
    }

    public TrainConfig withEpochs(int e) {
        return new TrainConfig(method, lr, e, maxSteps, batchSize, microBatchSize, warmupSteps, maxGradNorm, clip, accumulation, adam, seed, shuffle, saveEvery, stopAfter);
    }

    public TrainConfig withBatch(int batch, int micro) {
        return new TrainConfig(method, lr, epochs, maxSteps, batch, micro, warmupSteps, maxGradNorm, clip, accumulation, adam, seed, shuffle, saveEvery, stopAfter);
    }

    public TrainConfig withOptimizer(int warmup, double maxNorm, GradClip.Strategy c, Accumulation acc, AdamW.Config a) {
        return new TrainConfig(method, lr, epochs, maxSteps, batchSize, microBatchSize, warmup, maxNorm, c, acc, a, seed, shuffle, saveEvery, stopAfter);
    }

    public TrainConfig withData(long s, boolean sh) {
        return new TrainConfig(method, lr, epochs, maxSteps, batchSize, microBatchSize, warmupSteps, maxGradNorm, clip, accumulation, adam, s, sh, saveEvery, stopAfter);
    }

    public TrainConfig withCheckpoints(int every, long stop) {
        return new TrainConfig(method, lr, epochs, maxSteps, batchSize, microBatchSize, warmupSteps, maxGradNorm, clip, accumulation, adam, seed, shuffle, every, stop);
    }
}
