package org.lori4j.model;

/**
 * The deltas one sequence of a batched step adds to the projections, on its own rows only: a request's adapter
 * when requests for different adapters share a batch (the base projections run once for every row, then each
 * row adds its own adapter's delta, as Punica, S-LoRA and LoRAX batch LoRA). Implementations are immutable, so
 * a set can be shared by any number of sequences and steps.
 */
@FunctionalInterface
public interface DeltaSet {
    /**
     * The delta of projection {@code proj} (an index into {@link LlamaModel#PROJECTIONS}) of layer {@code layer},
     * or null when this set leaves that projection alone.
     */
    LinearDelta delta(int layer, int proj);
}
