package org.lori4j.train;

import org.lori4j.adapter.LoraOp;
import org.lori4j.io.LlamaConfig;
import org.lori4j.io.LoriException;
import org.lori4j.model.Attention;
import org.lori4j.model.Linear;
import org.lori4j.model.LlamaModel;
import org.lori4j.model.RmsNorm;
import org.lori4j.model.Rope;
import org.lori4j.model.SwiGlu;
import org.lori4j.tensor.MatMul;
import org.lori4j.tensor.Parallel;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Tensor;
import org.lori4j.tensor.Weight;

import java.lang.foreign.MemorySegment;

import java.util.ArrayList;
import java.util.List;

/**
 * The training-time Llama: forward and backward over a packed micro-batch with the base frozen and
 * LoRA tensors trainable. Gradients flow through the frozen weights to the activations only; the only
 * parameter gradients computed are those of the LoRA tensors. Memory is bounded by activation
 * checkpointing: the forward keeps each decoder layer's input residual, and the backward recomputes
 * one layer's forward from it before backpropagating through that layer.
 *
 * <p>Legend: N = rows of the packed micro-batch, C = hidden size, Q = heads * headDim,
 * KV = kvHeads * headDim, F = intermediate size, V = vocab, r = LoRA rank.
 */
public final class TrainModel {
    private final LlamaModel base;
    private final LlamaConfig cfg;
    private final LoraSlot[][] lora;     // [layer][Proj.ordinal()], null where not adapted
    private final float eps;

    public TrainModel(LlamaModel base) {
        this.base = base;
        this.cfg = base.config();
        this.lora = new LoraSlot[cfg.numLayers()][Proj.values().length];
        this.eps = (float) cfg.rmsNormEps();
    }

    public LlamaConfig config() { return cfg; }

    public LlamaModel base() { return base; }

    /** Attaches LoRA tensors to one projection (replacing any there). */
    public void attach(LoraSlot slot) {
        if (slot.in != slot.proj.in(cfg) || slot.out != slot.proj.out(cfg))
            throw new LoriException(slot.proj.module(slot.layer) + ": LoRA shapes [" + slot.r + "," + slot.in + "]/[" + slot.out + ","
                    + slot.r + "] do not fit the model's [" + slot.proj.out(cfg) + "," + slot.proj.in(cfg) + "] weight");
        lora[slot.layer][slot.proj.ordinal()] = slot;
    }

    /** Every attached slot, layer by layer in projection order. */
    public List<LoraSlot> slots() {
        List<LoraSlot> out = new ArrayList<>();
        for (LoraSlot[] row : lora) for (LoraSlot s : row) if (s != null) out.add(s);
        return out;
    }

    /** Per-sequence summed next-token NLL (forward only). */
    public double[] loss(PackedBatch mb) {
        return run(mb, 0f, false);
    }

    /**
     * Forward and backward of one micro-batch: adds {@code dLossPerSeq} times the gradient of each
     * sequence's summed NLL to the LoRA gradients, and returns the per-sequence summed NLLs.
     */
    public double[] forwardBackward(PackedBatch mb, float dLossPerSeq) {
        return run(mb, dLossPerSeq, true);
    }

    // ------------------------------------------------------------------ the pass

    /** Whether the backward recomputes each layer's forward (bounded memory) or keeps every layer's activations. */
    public enum Checkpointing {
        /** keep all activations when they take at most a quarter of the heap, else recompute */
        AUTO,
        /** always recompute: memory for one layer's activations only */
        ALWAYS,
        /** never recompute: fastest, memory grows with layers x rows */
        NEVER
    }

    private Checkpointing checkpointing = Checkpointing.AUTO;
    private LayerActs[] kept = new LayerActs[0];   // reused across calls, grown on demand
    private Scratch scratch;

    public void setCheckpointing(Checkpointing c) { this.checkpointing = c; }

    private double[] run(PackedBatch mb, float dnll, boolean backward) {
        int n = mb.n(), c = cfg.hiddenSize(), nl = cfg.numLayers();
        Tensor embed = base.embedTokens();
        int vocab = (int) embed.dim(0);
        for (int t = 0; t < n; t++)
            if (mb.tokens()[t] < 0 || mb.tokens()[t] >= vocab)
                throw new LoriException("token id " + mb.tokens()[t] + " is outside the vocabulary [0, " + vocab + ")");
        long probs = 0;
        for (int s = 0; s < mb.sequences(); s++) probs += (long) cfg.numHeads() * mb.len()[s] * mb.len()[s];
        if (probs > Integer.MAX_VALUE - 8)
            throw new LoriException("micro-batch too large for the attention buffer; lower --micro-batch-size or --max-length");
        boolean keepAll = backward && switch (checkpointing) {
            case NEVER -> true;
            case ALWAYS -> false;
            case AUTO -> (double) nl * LayerActs.bytes(cfg, n, probs, lora) <= Runtime.getRuntime().maxMemory() / 4.0;
        };
        int actsNeeded = keepAll ? nl : 1;
        if (kept.length < actsNeeded) kept = java.util.Arrays.copyOf(kept, actsNeeded);
        for (int i = 0; i < actsNeeded; i++) {
            if (kept[i] == null || !kept[i].fits(n, probs)) kept[i] = new LayerActs(n, probs);
        }
        if (!keepAll) for (int i = 1; i < kept.length; i++) kept[i] = null;   // release memory of an earlier keep-all call
        if (scratch == null || !scratch.fits(n)) scratch = new Scratch(n);
        Scratch sc = scratch;
        sc.prepare(mb);
        // residual stream at the input of every layer, plus the final one: (L+1) x [N, C]
        float[][] xs = new float[nl + 1][];
        xs[0] = new float[n * c];
        for (int t = 0; t < n; t++) embedRow(embed, mb.tokens()[t], xs[0], t * c);
        for (int l = 0; l < nl; l++) {
            xs[l + 1] = new float[n * c];
            layerForward(l, xs[l], xs[l + 1], mb, kept[keepAll ? l : 0], sc);
        }
        float[] dx = backward ? new float[n * c] : null;
        double[] seqLoss = head(xs[nl], dx, mb, dnll);
        if (!backward) return seqLoss;
        for (int l = nl - 1; l >= 0; l--) {
            LayerActs a = kept[keepAll ? l : 0];
            if (!keepAll && l < nl - 1) layerForward(l, xs[l], xs[l + 1], mb, a, sc);   // recompute (the last layer's are there)
            xs[l + 1] = null;
            layerBackward(l, xs[l], dx, mb, a, sc, l > 0);
        }
        return seqLoss;
    }

    /** The forward activations of one decoder layer that its backward reads (capacity for N rows). */
    private final class LayerActs {
        final int rows;
        final long probsCap;
        final float[] xn1, rstd1, q, k, v, att, probs, x2, xn2, rstd2, g, u, h;
        final float[][] loraU = new float[Proj.values().length][];

        LayerActs(int n, long probsNeeded) {
            rows = n;
            probsCap = probsNeeded;
            int c = cfg.hiddenSize(), qd = cfg.qDim(), kd = cfg.kvDim(), f = cfg.intermediateSize();
            xn1 = new float[n * c]; rstd1 = new float[n]; q = new float[n * qd]; k = new float[n * kd]; v = new float[n * kd];
            att = new float[n * qd]; x2 = new float[n * c]; xn2 = new float[n * c]; rstd2 = new float[n];
            g = new float[n * f]; u = new float[n * f]; h = new float[n * f];
            probs = new float[(int) probsNeeded];
            for (Proj pr : Proj.values()) loraU[pr.ordinal()] = new float[n * maxRank(lora, pr)];
        }

        boolean fits(int n, long p) {
            if (n > rows || p > probsCap) return false;
            for (Proj pr : Proj.values()) if (loraU[pr.ordinal()].length < n * maxRank(lora, pr)) return false;
            return true;
        }

        static long bytes(LlamaConfig cfg, int n, long probs, LoraSlot[][] lora) {
            // per row: xn1, x2, xn2 [C]; q, att [Q]; k, v [KV]; g, u, h [F]; two rstd; the LoRA u of each projection
            long per = 3L * cfg.hiddenSize() + 2L * cfg.qDim() + 2L * cfg.kvDim() + 3L * cfg.intermediateSize() + 2;
            for (Proj pr : Proj.values()) per += maxRank(lora, pr);
            return 4 * (per * n + probs);
        }
    }

    private static int maxRank(LoraSlot[][] lora, Proj p) {
        int r = 0;
        for (LoraSlot[] row : lora) if (row[p.ordinal()] != null) r = Math.max(r, row[p.ordinal()].r);
        return r;
    }

    /** Gradient and temporary buffers shared by all layers, and the per-call rope tables and attention offsets. */
    private final class Scratch {
        final int rows;
        final float[] tmp, dxn, dq, dk, dv, datt, dh, dg, du, dlora, cos, sin;
        int[] probsOff = new int[0];

        Scratch(int n) {
            rows = n;
            int c = cfg.hiddenSize(), qd = cfg.qDim(), kd = cfg.kvDim(), f = cfg.intermediateSize();
            tmp = new float[n * c]; dxn = new float[n * c]; dq = new float[n * qd]; dk = new float[n * kd]; dv = new float[n * kd];
            datt = new float[n * qd]; dh = new float[n * f]; dg = new float[n * f]; du = new float[n * f];
            int rmax = 0;
            for (Proj pr : Proj.values()) rmax = Math.max(rmax, maxRank(lora, pr));
            dlora = new float[n * rmax];
            cos = new float[n * cfg.headDim() / 2];
            sin = new float[n * cfg.headDim() / 2];
        }

        boolean fits(int n) {
            int rmax = 0;
            for (Proj pr : Proj.values()) rmax = Math.max(rmax, maxRank(lora, pr));
            return n <= rows && dlora.length >= n * rmax;
        }

        void prepare(PackedBatch mb) {
            base.rope().cosSin(mb.pos(), mb.n(), cos, sin);
            probsOff = new int[mb.sequences()];
            long p = 0;
            for (int s = 0; s < mb.sequences(); s++) {
                probsOff[s] = (int) p;
                p += (long) cfg.numHeads() * mb.len()[s] * mb.len()[s];
            }
        }
    }

    private void layerForward(int l, float[] x, float[] out, PackedBatch mb, LayerActs a, Scratch sc) {
        LlamaModel.Layer ly = base.layer(l);
        int n = mb.n(), c = cfg.hiddenSize();
        int heads = cfg.numHeads(), kvh = cfg.numKvHeads(), d = cfg.headDim();
        RmsNorm.forward(a.xn1, a.rstd1, x, ly.inputNorm(), n, c, eps);
        linear(l, Proj.Q, a.xn1, a.q, n, a);
        linear(l, Proj.K, a.xn1, a.k, n, a);
        linear(l, Proj.V, a.xn1, a.v, n, a);
        Rope.forward(a.q, sc.cos, sc.sin, n, heads, d);
        Rope.forward(a.k, sc.cos, sc.sin, n, kvh, d);
        for (int s = 0; s < mb.sequences(); s++) {
            int r0 = mb.start()[s];
            Attention.forwardSequence(a.att, r0 * cfg.qDim(), a.probs, sc.probsOff[s], a.q, r0 * cfg.qDim(), a.k, r0 * cfg.kvDim(),
                    a.v, r0 * cfg.kvDim(), mb.len()[s], heads, kvh, d, cfg.window(l));
        }
        linear(l, Proj.O, a.att, sc.tmp, n, a);
        add(a.x2, x, sc.tmp, n * c);
        RmsNorm.forward(a.xn2, a.rstd2, a.x2, ly.postAttentionNorm(), n, c, eps);
        linear(l, Proj.GATE, a.xn2, a.g, n, a);
        linear(l, Proj.UP, a.xn2, a.u, n, a);
        SwiGlu.forward(a.h, a.g, a.u, n, cfg.intermediateSize());
        linear(l, Proj.DOWN, a.h, sc.tmp, n, a);
        add(out, a.x2, sc.tmp, n * c);
    }

    /** dx holds the gradient w.r.t. the layer's output on entry and w.r.t. its input on exit (when needDx). */
    private void layerBackward(int l, float[] x, float[] dx, PackedBatch mb, LayerActs a, Scratch sc, boolean needDx) {
        LlamaModel.Layer ly = base.layer(l);
        int n = mb.n(), c = cfg.hiddenSize();
        int heads = cfg.numHeads(), kvh = cfg.numKvHeads(), d = cfg.headDim();
        // MLP: out = x2 + down(silu(gate(xn2)) * up(xn2)), xn2 = norm(x2)
        linearBackward(l, Proj.DOWN, dx, a.h, sc.dh, false, true, n, a, sc);
        SwiGlu.backward(sc.dg, sc.du, sc.dh, a.g, a.u, n, cfg.intermediateSize());
        linearBackward(l, Proj.GATE, sc.dg, a.xn2, sc.dxn, false, true, n, a, sc);
        linearBackward(l, Proj.UP, sc.du, a.xn2, sc.dxn, true, true, n, a, sc);
        RmsNorm.backward(dx, sc.dxn, a.x2, ly.postAttentionNorm(), a.rstd2, n, c, true);
        // attention: x2 = x + o(attn(rope(q(xn1)), rope(k(xn1)), v(xn1))), xn1 = norm(x)
        linearBackward(l, Proj.O, dx, a.att, sc.datt, false, true, n, a, sc);
        for (int s = 0; s < mb.sequences(); s++) {
            int r0 = mb.start()[s];
            Attention.backward(sc.dq, r0 * cfg.qDim(), sc.dk, r0 * cfg.kvDim(), sc.dv, r0 * cfg.kvDim(), sc.datt, r0 * cfg.qDim(),
                    a.probs, sc.probsOff[s], a.q, r0 * cfg.qDim(), a.k, r0 * cfg.kvDim(), a.v, r0 * cfg.kvDim(),
                    mb.len()[s], 0, heads, kvh, d);
        }
        Rope.backward(sc.dq, sc.cos, sc.sin, n, heads, d);
        Rope.backward(sc.dk, sc.cos, sc.sin, n, kvh, d);
        // the LoRA backward of q/k/v needs only xn1 and u, which the in-place rotation did not touch
        linearBackward(l, Proj.Q, sc.dq, a.xn1, sc.dxn, false, needDx, n, a, sc);
        linearBackward(l, Proj.K, sc.dk, a.xn1, sc.dxn, true, needDx, n, a, sc);
        linearBackward(l, Proj.V, sc.dv, a.xn1, sc.dxn, true, needDx, n, a, sc);
        if (needDx) RmsNorm.backward(dx, sc.dxn, x, ly.inputNorm(), a.rstd1, n, c, true);
    }

    /** y[n, out] = x W^T (+ bias) (+ s * (x A^T) B^T). */
    private void linear(int l, Proj p, float[] x, float[] y, int n, LayerActs a) {
        Linear lin = base.layer(l).linear(p.shortName());
        MatMul.forward(y, x, n, lin.weight());
        float[] bias = lin.bias();
        if (bias != null) {
            int out = bias.length;
            for (int t = 0; t < n; t++) for (int o = 0; o < out; o++) y[t * out + o] += bias[o];
        }
        LoraSlot s = lora[l][p.ordinal()];
        if (s != null) LoraOp.forward(y, a.loraU[p.ordinal()], x, s.a, s.b, n, s.in, s.out, s.r, s.scale);
    }

    /** dx (+)= dy W + the LoRA path's input gradient (when needDx); accumulates the slot's gradients. */
    private void linearBackward(int l, Proj p, float[] dy, float[] x, float[] dx, boolean accumulate, boolean needDx, int n,
                                LayerActs a, Scratch sc) {
        if (needDx) MatMul.backwardInput(dx, dy, n, base.layer(l).linear(p.shortName()).weight(), accumulate);
        LoraSlot s = lora[l][p.ordinal()];
        if (s == null || (!needDx && s.gradA == null && s.gradB == null)) return;
        float[] gb = s.gradB != null ? s.gradB : new float[s.b.length];
        LoraOp.backward(needDx ? dx : null, s.gradA, gb, sc.dlora, dy, x, a.loraU[p.ordinal()], s.a, s.b, n, s.in, s.out, s.r, s.scale);
    }

    /** Row {@code token} of the embedding [V, C] widened to f32 into dst[off, off + C). */
    private static void embedRow(Tensor embed, int token, float[] dst, int off) {
        int c = (int) embed.dim(1);
        if (embed.dtype() == DType.F32) {
            MemorySegment.copy(embed.data(), Tensor.F32_LE, (long) token * c * 4, dst, off, c);
        } else {
            long base = (long) token * c;
            for (int i = 0; i < c; i++) dst[off + i] = embed.getFloat(base + i);
        }
    }

    private static void add(float[] out, float[] a, float[] b, int len) {
        for (int i = 0; i < len; i++) out[i] = a[i] + b[i];
    }

    /**
     * Final norm, lm_head and NLL on the scored rows only (prompt rows need no logits), in chunks of rows
     * so that [rows, V] logits stay small; writes d loss / d xL into dx when it is non-null.
     */
    private double[] head(float[] xL, float[] dx, PackedBatch mb, float dnll) {
        int c = cfg.hiddenSize();
        Weight lmHead = base.lmHead();
        int vocab = lmHead.rows();
        int[] rows = new int[mb.scored()];
        int[] seqOf = new int[mb.n()];
        for (int s = 0, k = 0; s < mb.sequences(); s++)
            for (int t = mb.start()[s]; t < mb.start()[s] + mb.len()[s]; t++) {
                seqOf[t] = s;
                if (mb.targets()[t] != PackedBatch.IGNORE) {
                    int tg = mb.targets()[t];
                    if (tg < 0 || tg >= vocab) throw new LoriException("label id " + tg + " is outside the vocabulary [0, " + vocab + ")");
                    rows[k++] = t;
                }
            }
        double[] seqLoss = new double[mb.sequences()];
        if (rows.length == 0) return seqLoss;
        int chunk = Math.max(1, Math.min(rows.length, (4 << 20) / vocab));
        float[] xin = new float[chunk * c], xf = new float[chunk * c], rstd = new float[chunk];
        float[] logits = new float[chunk * vocab], dxf = new float[chunk * c], dxin = new float[chunk * c];
        double[] rowLoss = new double[chunk];
        for (int r0 = 0; r0 < rows.length; r0 += chunk) {
            int m = Math.min(chunk, rows.length - r0), first = r0;
            for (int i = 0; i < m; i++) System.arraycopy(xL, rows[first + i] * c, xin, i * c, c);
            RmsNorm.forward(xf, rstd, xin, base.finalNorm(), m, c, eps);
            MatMul.forward(logits, xf, m, lmHead);
            Parallel.forRange(m, 4, (f, t) -> {
                for (int i = f; i < t; i++) {
                    int tg = mb.targets()[rows[first + i]];
                    rowLoss[i] = dx != null ? CrossEntropy.forwardBackwardInPlace(logits, i * vocab, vocab, tg, dnll)
                            : CrossEntropy.forward(logits, i * vocab, vocab, tg);
                }
            });
            for (int i = 0; i < m; i++) seqLoss[seqOf[rows[first + i]]] += rowLoss[i];
            if (dx == null) continue;
            MatMul.backwardInput(dxf, logits, m, lmHead, false);
            RmsNorm.backward(dxin, dxf, xin, base.finalNorm(), rstd, m, c, false);
            for (int i = 0; i < m; i++) System.arraycopy(dxin, i * c, dx, rows[first + i] * c, c);
        }
        return seqLoss;
    }

    @Override
    public String toString() {
        return "TrainModel[" + cfg.numLayers() + " layers, C=" + cfg.hiddenSize() + ", " + slots().size() + " LoRA slots]";
    }
}
