package org.lori4j.train;

/** LoRI's learning-rate schedule: linear warm-up then constant, {@code lr * min(1, (step + 1) / (warmup + 1))}. */
public record LrSchedule(double lr, int warmupSteps) {
    public LrSchedule {
        if (!(lr > 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("learning rate must be positive: " + lr);
        if (warmupSteps < 0) throw new IllegalArgumentException("warmup steps must be >= 0: " + warmupSteps);
    }

    /** The rate for optimiser step {@code step} (0-based: the first update uses step 0). */
    public double at(long step) {
        return lr * Math.min(1.0, (double) (step + 1) / (warmupSteps + 1));
    }
}
