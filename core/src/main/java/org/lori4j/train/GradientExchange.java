package org.lori4j.train;

import java.util.List;

/**
 * How the micro-batches of one optimiser step are spread over data-parallel workers, and how their gradients
 * meet. Worker {@code rank} of {@code workers} computes the contiguous micro-batches
 * {@code [first(M), first(M) + count(M))} of each step; {@link #allGather} hands every worker the results of all M
 * micro-batches in micro-batch order. Every worker then sums the gradients in that one order,
 * {@code ((g0 + g1) + g2) + ...} ({@link GradientSum}), clips and takes the same AdamW step, so the parameters are
 * bit for bit those of one process running the whole batch, whatever the number of workers.
 *
 * <p>{@link #LOCAL} is the one-process case; the Spark module exchanges through Spark's barrier stage.
 */
public interface GradientExchange {
    /** This worker's position, 0-based. */
    int rank();

    /** Number of workers taking part (at least 1). */
    int workers();

    /**
     * Exchanges this worker's micro-batch results of step {@code step} (in micro-batch order) and returns those
     * of every worker, ordered by micro-batch. Every worker calls it once per step.
     */
    List<MicroResult> allGather(long step, List<MicroResult> mine);

    /** The first micro-batch of a step of {@code microBatches} that this worker computes. */
    default int first(int microBatches) {
        return (int) ((long) microBatches * rank() / workers());
    }

    /** How many micro-batches of a step of {@code microBatches} this worker computes (0 when there are more workers). */
    default int count(int microBatches) {
        return (int) ((long) microBatches * (rank() + 1) / workers()) - first(microBatches);
    }

    /**
     * One micro-batch's contribution to a step: its mean sequence loss, its token counts and the gradient of the step
     * loss restricted to it, packed (every trainable entry in tensor order; under a LoRI-S mask only the mask's
     * entries), or null once it has been folded into a sum.
     */
    record MicroResult(int index, double loss, long tokens, long scoredTokens, float[] gradient) {
        public MicroResult withoutGradient() { return new MicroResult(index, loss, tokens, scoredTokens, null); }
    }

    /** One process computes every micro-batch. */
    GradientExchange LOCAL = new GradientExchange() {
        @Override public int rank() { return 0; }
        @Override public int workers() { return 1; }
        @Override public List<MicroResult> allGather(long step, List<MicroResult> mine) { return mine; }
    };
}
