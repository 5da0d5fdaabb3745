package org.lori4j.adapter;

import org.lori4j.io.LoriException;
import org.lori4j.model.Linear;
import org.lori4j.model.LinearDelta;
import org.lori4j.model.LlamaModel;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Tensor;
import org.lori4j.tensor.Weight;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The adapters applied to one loaded model. Unmerged: each adapter attaches a {@link LoraDelta} per
 * adapted projection (y = x W^T + sum_i w_i s_i (x A_i^T) B_i^T); adapters can be added, re-weighted
 * and removed without reloading the base, several at once. Merged: {@link #mergeInto} replaces the
 * projection weights with W + w s B A (irreversible for that model instance). Adapters that carry full
 * embed_tokens / lm_head replace the model's (the last one added wins; removing it restores the base).
 */
public final class ActiveAdapters {

    /** One applied adapter: its deltas by projection. */
    public static final class Handle {
        private final LoraAdapter adapter;
        private double weight;
        private final Map<Linear, LinearDelta> deltas = new LinkedHashMap<>();

        private Handle(LoraAdapter adapter, double weight) {
            this.adapter = adapter;
            this.weight = weight;
        }

        public LoraAdapter adapter() { return adapter; }
        public double weight() { return weight; }

        /** How many deltas use the sparse-B form. */
        public long sparseModules() {
            return deltas.values().stream().filter(d -> d instanceof Attached a && a.delta.isSparse()).count();
        }
    }

    /** Adapts a {@link LoraDelta} to the model's delta interface. */
    private record Attached(LoraDelta delta) implements LinearDelta {
        @Override
        public void forward(float[] y, float[] x, int n) { delta.forward(y, x, n); }
    }

    /** How B is represented when applied unmerged. */
    public enum Mode { AUTO, DENSE, SPARSE }

    private final LlamaModel model;
    private final Mode mode;
    private final List<Handle> handles = new ArrayList<>();
    private Tensor baseEmbed;       // the model's own embeddings, kept while an adapter's replace them
    private Tensor baseLmHead;      // null when tied
    private Handle embedOwner;

    public ActiveAdapters(LlamaModel model, Mode mode) {
        this.model = model;
        this.mode = mode;
    }

    public List<Handle> handles() { return List.copyOf(handles); }

    /** Applies an adapter unmerged with weight w. */
    public synchronized Handle add(LoraAdapter adapter, double w) {
        adapter.checkAgainst(model.config());
        Handle h = new Handle(adapter, w);
        attach(h);
        handles.add(h);
        if (adapter.embedTokens() != null || adapter.lmHead() != null) useEmbeddings(h);
        return h;
    }

    private void attach(Handle h) {
        for (LoraAdapter.Module m : h.adapter.modules().values()) {
            LoraDelta d = LoraDelta.of(m, h.weight, mode);
            Linear lin = model.linear(m.layer(), m.proj());
            Attached a = new Attached(d);
            lin.attach(a);
            h.deltas.put(lin, a);
        }
    }

    private void detach(Handle h) {
        h.deltas.forEach(Linear::detach);
        h.deltas.clear();
    }

    /** Changes the weight of an applied adapter. */
    public synchronized void setWeight(Handle h, double w) {
        if (!handles.contains(h)) throw new IllegalArgumentException("adapter not applied");
        detach(h);
        h.weight = w;
        attach(h);
    }

    /** Removes an adapter; the model computes as if it had never been applied. */
    public synchronized void remove(Handle h) {
        if (!handles.remove(h)) return;
        detach(h);
        if (embedOwner == h) {
            Handle next = null;
            for (Handle o : handles) if (o.adapter.embedTokens() != null || o.adapter.lmHead() != null) next = o;
            if (next != null) useEmbeddings(next);
            else {
                model.replaceEmbeddings(baseEmbed, baseLmHead);
                embedOwner = null;
            }
        }
    }

    /** Removes every adapter. */
    public synchronized void clear() {
        for (Handle h : List.copyOf(handles)) remove(h);
    }

    private void useEmbeddings(Handle h) {
        if (embedOwner == null) {
            baseEmbed = model.embedTokens();
            baseLmHead = model.config().tieWordEmbeddings() ? null : model.lmHead().toTensor();
        }
        Tensor embed = h.adapter.embedTokens() != null ? h.adapter.embedTokens() : baseEmbed;
        Tensor head = h.adapter.lmHead() != null ? h.adapter.lmHead() : baseLmHead;
        if (head != null && embed.dim(0) != head.dim(0))
            throw new LoriException(h.adapter.label() + ": carries only one of embed_tokens / lm_head, with "
                    + embed.dim(0) + " rows against " + head.dim(0) + " in the base model");
        model.replaceEmbeddings(embed, head);
        embedOwner = h;
    }

    /**
     * Merges adapters into the model's projection weights: W' = round_D(W + w s B A) per adapter (sum in f32),
     * in the weight's stored dtype D (PEFT's merge order), and applies carried embeddings.
     */
    public static void mergeInto(LlamaModel model, List<LoraAdapter> adapters, double[] weights) {
        for (LoraAdapter a : adapters) a.checkAgainst(model.config());
        Map<String, List<Integer>> byModule = new LinkedHashMap<>();
        for (int i = 0; i < adapters.size(); i++)
            for (String name : adapters.get(i).modules().keySet()) byModule.computeIfAbsent(name, k -> new ArrayList<>()).add(i);
        for (var e : byModule.entrySet()) {
            LoraAdapter.Module m0 = adapters.get(e.getValue().getFirst()).module(e.getKey());
            Linear lin = model.linear(m0.layer(), m0.proj());
            Weight w = lin.weight();
            int out = w.rows(), in = w.cols();
            DType d = w.dtype();
            List<LoraAdapter.Module> mods = new ArrayList<>();
            List<Double> ws = new ArrayList<>();
            for (int i : e.getValue()) { mods.add(adapters.get(i).module(e.getKey())); ws.add(weights[i]); }
            Tensor merged = Tensor.zeros(d, out, in);
            try {
                byte[][] buf = {new byte[0]};
                Export.mergeRows((o0, nr, dst) -> { for (int r = 0; r < nr; r++) w.rowTo(o0 + r, dst, r * in); }, d, out, in,
                        mods, ws, d, (o0, nr, values) -> {
                            int len = nr * in;
                            if (buf[0].length < len * d.bytes()) buf[0] = new byte[len * d.bytes()];
                            int n = Export.encode(values, len, d, buf[0]);
                            MemorySegment.copy(buf[0], 0, merged.data(), ValueLayout.JAVA_BYTE, (long) o0 * in * d.bytes(), n);
                        });
            } catch (java.io.IOException ex) {
                throw new java.io.UncheckedIOException(ex);
            }
            lin.replaceWeight(Weight.of(merged));
        }
        Tensor embed = null, head = null;
        for (LoraAdapter a : adapters) {
            if (a.embedTokens() != null || a.lmHead() != null) { embed = a.embedTokens(); head = a.lmHead(); }
        }
        if (embed != null || head != null) {
            Tensor e = embed != null ? embed : model.embedTokens();
            model.replaceEmbeddings(e, head);
        }
    }
}
