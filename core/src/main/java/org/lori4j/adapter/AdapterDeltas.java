package org.lori4j.adapter;

import org.lori4j.io.LoriException;
import org.lori4j.model.DeltaSet;
import org.lori4j.model.LinearDelta;
import org.lori4j.model.LlamaModel;

/**
 * An adapter as a {@link DeltaSet}: applied to the rows of the sequences that ask for it, in a batch where other
 * sequences use other adapters or none (the model's projections stay untouched). Each adapted projection is a
 * {@link LoraDelta} of the chosen {@link ActiveAdapters.Mode} (LoRI-S adapters get their sparse B under AUTO), so
 * a sequence computes what the same adapter attached with {@link ActiveAdapters} computes. Adapters that carry
 * their own embed_tokens / lm_head change the vocabulary for every row and are refused.
 */
public final class AdapterDeltas implements DeltaSet {
    private final LoraAdapter adapter;
    private final double weight;
    private final LinearDelta[][] deltas;   // [layer][projection index], null where not adapted
    private final int sparse;

    public AdapterDeltas(LlamaModel model, LoraAdapter adapter, double weight, ActiveAdapters.Mode mode) {
        adapter.checkAgainst(model.config());
        if (adapter.embedTokens() != null || adapter.lmHead() != null)
            throw new LoriException(adapter.label() + ": carries embed_tokens / lm_head, which cannot differ between the requests"
                    + " of one batch; merge it into the model (lori merge) and serve that");
        this.adapter = adapter;
        this.weight = weight;
        this.deltas = new LinearDelta[model.numLayers()][LlamaModel.PROJECTIONS.size()];
        int sp = 0;
        for (LoraAdapter.Module m : adapter.modules().values()) {
            LoraDelta d = LoraDelta.of(m, weight, mode);
            if (d.isSparse()) sp++;
            deltas[m.layer()][LlamaModel.PROJECTIONS.indexOf(m.proj())] = new LinearDelta() {
                @Override
                public void forward(float[] y, float[] x, int n) { d.forward(y, x, n); }

                @Override
                public void forwardRows(float[] y, int out, float[] x, int in, int[] rows, int count) { d.forwardRows(y, x, rows, count); }
            };
        }
        this.sparse = sp;
    }

    @Override
    public LinearDelta delta(int layer, int proj) { return deltas[layer][proj]; }

    public LoraAdapter adapter() { return adapter; }

    public double weight() { return weight; }

    /** How many of the adapted projections use the sparse (CSR) form of B. */
    public int sparseModules() { return sparse; }

    @Override
    public String toString() { return "AdapterDeltas[" + adapter.label() + " x" + weight + ", " + adapter.modules().size() + " modules]"; }
}
