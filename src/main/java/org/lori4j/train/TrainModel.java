package org.lori4j.train;

import org.lori4j.io.LoriException;
import org.lori4j.model.Attention;
import org.lori4j.model.Linear;
import org.lori4j.model.LlamaConfig;
import org.lori4j.model.LlamaModel;
import org.lori4j.model.RmsNorm;
import org.lori4j.model.Rope;
import org.lori4j.model.SwiGlu;
import org.lori4j.tensor.MatMul;
import org.lori4j.tensor.Parallel;
import org.lori4j.tensor.Weight;

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

    private double[] run(PackedBatch mb, float dnll, boolean backward) {
        int n = mb.n(), c = cfg.hiddenSize(), nl = cfg.numLayers();
        Weight embed = Weight.of(base.embedTokens());
        for (int t = 0; t < n; t++)
            if (mb.tokens()[t] < 0 || mb.tokens()[t] >= embed.rows())
                throw new LoriException("token id " + mb.tokens()[t] + " is outside the vocabulary [0, " + embed.rows() + ")");
        Acts acts = new Acts(mb);
        // residual stream at the input of every layer, plus the final one: (L+1) x [N, C]
        float[][] xs = new float[nl + 1][];
        xs[0] = new float[n * c];
        for (int t = 0; t < n; t++) embed.rowTo(mb.tokens()[t], xs[0], t * c);
        for (int l = 0; l < nl; l++) {
            xs[l + 1] = new float[n * c];
            layerForward(l, xs[l], xs[l + 1], mb, acts);
        }
        float[] dx = backward ? new float[n * c] : null;
        double[] seqLoss = head(xs[nl], dx, mb, dnll);
        if (!backward) return seqLoss;
        for (int l = nl - 1; l >= 0; l--) {
            if (l < nl - 1) layerForward(l, xs[l], xs[l + 1], mb, acts);   // recompute (the last layer's acts are still there)
            xs[l + 1] = null;
            layerBackward(l, xs[l], dx, mb, acts, l > 0);
        }
        return seqLoss;
    }

    /** Activations and gradient scratch of one decoder layer for N rows, reused by every layer. */
    private final class Acts {
        final float[] xn1, rstd1, q, k, v, att, probs, x2, xn2, rstd2, g, u, h, tmp, cos, sin;
        final float[] dxn, dq, dk, dv, datt, dh, dg, du, dlora;
        final float[][] loraU = new float[Proj.values().length][];
        final int[] probsOff;   // per sequence: offset of its [H, T, T] probabilities

        Acts(PackedBatch mb) {
            int n = mb.n(), c = cfg.hiddenSize(), qd = cfg.qDim(), kd = cfg.kvDim(), f = cfg.intermediateSize();
            xn1 = new float[n * c]; rstd1 = new float[n]; q = new float[n * qd]; k = new float[n * kd]; v = new float[n * kd];
            att = new float[n * qd]; x2 = new float[n * c]; xn2 = new float[n * c]; rstd2 = new float[n];
            g = new float[n * f]; u = new float[n * f]; h = new float[n * f]; tmp = new float[n * c];
            dxn = new float[n * c]; dq = new float[n * qd]; dk = new float[n * kd]; dv = new float[n * kd];
            datt = new float[n * qd]; dh = new float[n * f]; dg = new float[n * f]; du = new float[n * f];
            probsOff = new int[mb.sequences()];
            long p = 0;
            for (int s = 0; s < mb.sequences(); s++) {
                probsOff[s] = (int) p;
                p += (long) cfg.numHeads() * mb.len()[s] * mb.len()[s];
            }
            if (p > Integer.MAX_VALUE - 8)
                throw new LoriException("micro-batch too large for the attention buffer; lower --micro-batch-size or --max-length");
            probs = new float[(int) p];
            cos = new float[n * cfg.headDim() / 2];
            sin = new float[n * cfg.headDim() / 2];
            base.rope().cosSin(mb.pos(), n, cos, sin);
            int rmax = 0;
            for (Proj pr : Proj.values()) {
                int r = 0;
                for (LoraSlot[] row : lora) if (row[pr.ordinal()] != null) r = Math.max(r, row[pr.ordinal()].r);
                loraU[pr.ordinal()] = new float[n * r];
                rmax = Math.max(rmax, r);
            }
            dlora = new float[n * rmax];
        }
    }

    private void layerForward(int l, float[] x, float[] out, PackedBatch mb, Acts a) {
        LlamaModel.Layer ly = base.layer(l);
        int n = mb.n(), c = cfg.hiddenSize();
        int heads = cfg.numHeads(), kvh = cfg.numKvHeads(), d = cfg.headDim();
        RmsNorm.forward(a.xn1, a.rstd1, x, ly.inputNorm(), n, c, eps);
        linear(l, Proj.Q, a.xn1, a.q, n, a);
        linear(l, Proj.K, a.xn1, a.k, n, a);
        linear(l, Proj.V, a.xn1, a.v, n, a);
        Rope.forward(a.q, a.cos, a.sin, n, heads, d);
        Rope.forward(a.k, a.cos, a.sin, n, kvh, d);
        for (int s = 0; s < mb.sequences(); s++) {
            int r0 = mb.start()[s];
            Attention.forward(a.att, r0 * cfg.qDim(), a.probs, a.probsOff[s], a.q, r0 * cfg.qDim(), a.k, r0 * cfg.kvDim(),
                    a.v, r0 * cfg.kvDim(), mb.len()[s], 0, heads, kvh, d);
        }
        linear(l, Proj.O, a.att, a.tmp, n, a);
        add(a.x2, x, a.tmp, n * c);
        RmsNorm.forward(a.xn2, a.rstd2, a.x2, ly.postAttentionNorm(), n, c, eps);
        linear(l, Proj.GATE, a.xn2, a.g, n, a);
        linear(l, Proj.UP, a.xn2, a.u, n, a);
        SwiGlu.forward(a.h, a.g, a.u, n, cfg.intermediateSize());
        linear(l, Proj.DOWN, a.h, a.tmp, n, a);
        add(out, a.x2, a.tmp, n * c);
    }

    /** dx holds the gradient w.r.t. the layer's output on entry and w.r.t. its input on exit (when needDx). */
    private void layerBackward(int l, float[] x, float[] dx, PackedBatch mb, Acts a, boolean needDx) {
        LlamaModel.Layer ly = base.layer(l);
        int n = mb.n(), c = cfg.hiddenSize();
        int heads = cfg.numHeads(), kvh = cfg.numKvHeads(), d = cfg.headDim();
        // MLP: out = x2 + down(silu(gate(xn2)) * up(xn2)), xn2 = norm(x2)
        linearBackward(l, Proj.DOWN, dx, a.h, a.dh, false, true, n, a);
        SwiGlu.backward(a.dg, a.du, a.dh, a.g, a.u, n, cfg.intermediateSize());
        linearBackward(l, Proj.GATE, a.dg, a.xn2, a.dxn, false, true, n, a);
        linearBackward(l, Proj.UP, a.du, a.xn2, a.dxn, true, true, n, a);
        RmsNorm.backward(dx, a.dxn, a.x2, ly.postAttentionNorm(), a.rstd2, n, c, true);
        // attention: x2 = x + o(attn(rope(q(xn1)), rope(k(xn1)), v(xn1))), xn1 = norm(x)
        linearBackward(l, Proj.O, dx, a.att, a.datt, false, true, n, a);
        for (int s = 0; s < mb.sequences(); s++) {
            int r0 = mb.start()[s];
            Attention.backward(a.dq, r0 * cfg.qDim(), a.dk, r0 * cfg.kvDim(), a.dv, r0 * cfg.kvDim(), a.datt, r0 * cfg.qDim(),
                    a.probs, a.probsOff[s], a.q, r0 * cfg.qDim(), a.k, r0 * cfg.kvDim(), a.v, r0 * cfg.kvDim(),
                    mb.len()[s], 0, heads, kvh, d);
        }
        Rope.backward(a.dq, a.cos, a.sin, n, heads, d);
        Rope.backward(a.dk, a.cos, a.sin, n, kvh, d);
        // the LoRA backward of q/k/v needs only xn1 and u, which the in-place rotation did not touch
        linearBackward(l, Proj.Q, a.dq, a.xn1, a.dxn, false, needDx, n, a);
        linearBackward(l, Proj.K, a.dk, a.xn1, a.dxn, true, needDx, n, a);
        linearBackward(l, Proj.V, a.dv, a.xn1, a.dxn, true, needDx, n, a);
        if (needDx) RmsNorm.backward(dx, a.dxn, x, ly.inputNorm(), a.rstd1, n, c, true);
    }

    /** y[n, out] = x W^T (+ bias) (+ s * (x A^T) B^T). */
    private void linear(int l, Proj p, float[] x, float[] y, int n, Acts a) {
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
    private void linearBackward(int l, Proj p, float[] dy, float[] x, float[] dx, boolean accumulate, boolean needDx, int n, Acts a) {
        if (needDx) MatMul.backwardInput(dx, dy, n, base.layer(l).linear(p.shortName()).weight(), accumulate);
        LoraSlot s = lora[l][p.ordinal()];
        if (s == null || (!needDx && s.gradA == null && s.gradB == null)) return;
        float[] gb = s.gradB != null ? s.gradB : new float[s.b.length];
        LoraOp.backward(needDx ? dx : null, s.gradA, gb, a.dlora, dy, x, a.loraU[p.ordinal()], s.a, s.b, n, s.in, s.out, s.r, s.scale);
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
