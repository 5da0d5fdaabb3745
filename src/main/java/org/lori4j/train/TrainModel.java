package org.lori4j.train;

import org.lori4j.io.LoriException;
import org.lori4j.io.TensorStore;
import org.lori4j.model.LlamaConfig;
import org.lori4j.tensor.MatMul;
import org.lori4j.tensor.Parallel;
import org.lori4j.tensor.Tensor;
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
    /** Frozen weights of one decoder layer. */
    record Layer(float[] attnNorm, float[] mlpNorm, Weight[] w, float[][] bias) {}

    private final LlamaConfig cfg;
    private final Weight embed;          // [V, C]
    private final Layer[] layers;
    private final float[] finalNorm;     // [C]
    private final Weight lmHead;         // [V, C]
    private final LoraSlot[][] lora;     // [layer][Proj.ordinal()], null where not adapted
    private final AttentionOp.Dims dims;
    private final float eps;
    private float[] cos = new float[0], sin = new float[0]; // [maxPos, headDim/2], grown on demand
    private int ropeLen;

    private TrainModel(LlamaConfig cfg, Weight embed, Layer[] layers, float[] finalNorm, Weight lmHead) {
        this.cfg = cfg;
        this.embed = embed;
        this.layers = layers;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.lora = new LoraSlot[cfg.numLayers()][Proj.values().length];
        this.dims = new AttentionOp.Dims(cfg.numHeads(), cfg.numKvHeads(), cfg.headDim());
        this.eps = (float) cfg.rmsNormEps();
    }

    /** The frozen base from an opened checkpoint (weights stay in their stored dtype, memory-mapped). */
    public static TrainModel load(LlamaConfig cfg, TensorStore store) {
        cfg.checkShapes(store);
        Layer[] layers = new Layer[cfg.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            Weight[] w = new Weight[Proj.values().length];
            float[][] bias = new float[Proj.values().length][];
            for (Proj p : Proj.values()) {
                w[p.ordinal()] = Weight.of(store.get(p.module(l) + ".weight"));
                if (store.has(p.module(l) + ".bias")) bias[p.ordinal()] = store.get(p.module(l) + ".bias").toFloatArray();
            }
            layers[l] = new Layer(store.get("model.layers." + l + ".input_layernorm.weight").toFloatArray(),
                    store.get("model.layers." + l + ".post_attention_layernorm.weight").toFloatArray(), w, bias);
        }
        Weight embed = Weight.of(store.get("model.embed_tokens.weight"));
        Weight head = cfg.tieWordEmbeddings() ? embed : Weight.of(store.get("lm_head.weight"));
        return new TrainModel(cfg, embed, layers, store.get("model.norm.weight").toFloatArray(), head);
    }

    public LlamaConfig config() { return cfg; }

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
        int n = mb.n(), c = cfg.hiddenSize(), nl = layers.length;
        ensureRope(mb.maxLen());
        for (int t = 0; t < n; t++)
            if (mb.tokens()[t] < 0 || mb.tokens()[t] >= cfg.vocabSize())
                throw new LoriException("token id " + mb.tokens()[t] + " is outside the vocabulary [0, " + cfg.vocabSize() + ")");
        Acts acts = new Acts(n);
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

    /** Activations of one decoder layer for N rows, reused by every layer. */
    private final class Acts {
        final float[] xn1, q, k, v, att, lse, x2, xn2, g, u, h, tmp;
        final float[] dxn, dq, dk, dv, datt, dh, dg, du, dlora;
        final float[][] loraU = new float[Proj.values().length][];

        Acts(int n) {
            int c = cfg.hiddenSize(), qd = cfg.qDim(), kd = cfg.kvDim(), f = cfg.intermediateSize();
            xn1 = new float[n * c]; q = new float[n * qd]; k = new float[n * kd]; v = new float[n * kd];
            att = new float[n * qd]; lse = new float[n * cfg.numHeads()]; x2 = new float[n * c]; xn2 = new float[n * c];
            g = new float[n * f]; u = new float[n * f]; h = new float[n * f]; tmp = new float[n * c];
            dxn = new float[n * c]; dq = new float[n * qd]; dk = new float[n * kd]; dv = new float[n * kd];
            datt = new float[n * qd]; dh = new float[n * f]; dg = new float[n * f]; du = new float[n * f];
            int rmax = 0;
            for (LoraSlot s : slots()) rmax = Math.max(rmax, s.r);
            for (Proj p : Proj.values()) {
                int r = 0;
                for (LoraSlot[] row : lora) if (row[p.ordinal()] != null) r = Math.max(r, row[p.ordinal()].r);
                loraU[p.ordinal()] = new float[n * r];
            }
            dlora = new float[n * rmax];
        }
    }

    private void layerForward(int l, float[] x, float[] out, PackedBatch mb, Acts a) {
        Layer ly = layers[l];
        int n = mb.n(), c = cfg.hiddenSize();
        rmsnorm(a.xn1, x, ly.attnNorm, n);
        linear(l, Proj.Q, a.xn1, a.q, n, a);
        linear(l, Proj.K, a.xn1, a.k, n, a);
        linear(l, Proj.V, a.xn1, a.v, n, a);
        Parallel.forRange(n, 16, (f, t) -> {
            RopeOp.forward(a.q, f, t, cfg.numHeads(), cfg.headDim(), mb.pos(), cos, sin);
            RopeOp.forward(a.k, f, t, cfg.numKvHeads(), cfg.headDim(), mb.pos(), cos, sin);
        });
        int heads = cfg.numHeads(), seqs = mb.sequences();
        Parallel.forRange(seqs * heads, 1, (f, t) -> {
            float[] p = new float[mb.maxLen()];
            for (int i = f; i < t; i++) {
                int s = i / heads;
                AttentionOp.forwardHead(a.att, a.lse, a.q, a.k, a.v, mb.start()[s], mb.len()[s], i % heads, dims, p);
            }
        });
        linear(l, Proj.O, a.att, a.tmp, n, a);
        Parallel.forRange(n * c, 4096, (f, t) -> { for (int i = f; i < t; i++) a.x2[i] = x[i] + a.tmp[i]; });
        rmsnorm(a.xn2, a.x2, ly.mlpNorm, n);
        linear(l, Proj.GATE, a.xn2, a.g, n, a);
        linear(l, Proj.UP, a.xn2, a.u, n, a);
        Parallel.forRange(n * cfg.intermediateSize(), 4096, (f, t) -> SwiGluOp.forward(a.h, a.g, a.u, f, t));
        linear(l, Proj.DOWN, a.h, a.tmp, n, a);
        Parallel.forRange(n * c, 4096, (f, t) -> { for (int i = f; i < t; i++) out[i] = a.x2[i] + a.tmp[i]; });
    }

    /** dx holds the gradient w.r.t. the layer's output on entry and w.r.t. its input on exit (when needDx). */
    private void layerBackward(int l, float[] x, float[] dx, PackedBatch mb, Acts a, boolean needDx) {
        Layer ly = layers[l];
        int n = mb.n();
        // MLP: out = x2 + down(silu(gate(xn2)) * up(xn2)), xn2 = norm(x2)
        linearBackward(l, Proj.DOWN, dx, a.h, a.dh, false, true, n, a);
        Parallel.forRange(n * cfg.intermediateSize(), 4096, (f, t) -> SwiGluOp.backward(a.dg, a.du, a.dh, a.g, a.u, f, t));
        linearBackward(l, Proj.GATE, a.dg, a.xn2, a.dxn, false, true, n, a);
        linearBackward(l, Proj.UP, a.du, a.xn2, a.dxn, true, true, n, a);
        Parallel.forRange(n, 16, (f, t) -> RmsNormOp.backward(dx, a.dxn, a.x2, ly.mlpNorm, cfg.hiddenSize(), eps, true, f, t));
        // attention: x2 = x + o(attn(rope(q(xn1)), rope(k(xn1)), v(xn1))), xn1 = norm(x)
        linearBackward(l, Proj.O, dx, a.att, a.datt, false, true, n, a);
        int kvh = cfg.numKvHeads(), seqs = mb.sequences();
        Parallel.forRange(seqs * kvh, 1, (f, t) -> {
            for (int i = f; i < t; i++) {
                int s = i / kvh;
                AttentionOp.backwardGroup(a.dq, a.dk, a.dv, a.datt, a.q, a.k, a.v, a.att, a.lse, mb.start()[s], mb.len()[s], i % kvh, dims);
            }
        });
        Parallel.forRange(n, 16, (f, t) -> {
            RopeOp.backward(a.dq, f, t, cfg.numHeads(), cfg.headDim(), mb.pos(), cos, sin);
            RopeOp.backward(a.dk, f, t, cfg.numKvHeads(), cfg.headDim(), mb.pos(), cos, sin);
        });
        // q/k were rotated in place by the forward; the LoRA backward needs only xn1 and u, which are unrotated
        linearBackward(l, Proj.Q, a.dq, a.xn1, a.dxn, false, needDx, n, a);
        linearBackward(l, Proj.K, a.dk, a.xn1, a.dxn, true, needDx, n, a);
        linearBackward(l, Proj.V, a.dv, a.xn1, a.dxn, true, needDx, n, a);
        if (needDx)
            Parallel.forRange(n, 16, (f, t) -> RmsNormOp.backward(dx, a.dxn, x, ly.attnNorm, cfg.hiddenSize(), eps, true, f, t));
    }

    /** y[n, out] = x W^T (+ bias) (+ s * (x A^T) B^T). */
    private void linear(int l, Proj p, float[] x, float[] y, int n, Acts a) {
        Weight w = layers[l].w[p.ordinal()];
        MatMul.forward(y, x, n, w);
        float[] bias = layers[l].bias[p.ordinal()];
        if (bias != null) {
            int out = w.rows();
            for (int t = 0; t < n; t++) for (int o = 0; o < out; o++) y[t * out + o] += bias[o];
        }
        LoraSlot s = lora[l][p.ordinal()];
        if (s != null) LoraOp.forward(y, a.loraU[p.ordinal()], x, s.a, s.b, n, s.in, s.out, s.r, s.scale);
    }

    /** dx (+)= dy W + LoRA's input gradient (when needDx); accumulates the slot's gradients. */
    private void linearBackward(int l, Proj p, float[] dy, float[] x, float[] dx, boolean accumulate, boolean needDx, int n, Acts a) {
        if (needDx) MatMul.backwardInput(dx, dy, n, layers[l].w[p.ordinal()], accumulate);
        LoraSlot s = lora[l][p.ordinal()];
        if (s == null || (!needDx && s.gradA == null && s.gradB == null)) return;
        float[] gb = s.gradB != null ? s.gradB : new float[s.b.length];
        LoraOp.backward(needDx ? dx : null, s.gradA, gb, a.dlora, dy, x, a.loraU[p.ordinal()], s.a, s.b, n, s.in, s.out, s.r, s.scale);
    }

    private void rmsnorm(float[] out, float[] x, float[] w, int n) {
        Parallel.forRange(n, 16, (f, t) -> RmsNormOp.forward(out, x, w, cfg.hiddenSize(), eps, f, t));
    }

    /**
     * Final norm, lm_head and NLL on the scored rows only (prompt rows need no logits), in chunks of rows
     * so that [rows, V] logits stay small; writes d loss / d xL into dx when it is non-null.
     */
    private double[] head(float[] xL, float[] dx, PackedBatch mb, float dnll) {
        int c = cfg.hiddenSize(), vocab = cfg.vocabSize();
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
        int chunk = Math.max(1, Math.min(rows.length, (4 << 20) / vocab));
        float[] xf = new float[chunk * c], logits = new float[chunk * vocab], dxf = new float[chunk * c];
        double[] rowLoss = new double[chunk];
        for (int r0 = 0; r0 < rows.length; r0 += chunk) {
            int m = Math.min(chunk, rows.length - r0), base = r0;
            Parallel.forRange(m, 8, (f, t) -> {
                for (int i = f; i < t; i++) {
                    System.arraycopy(xL, rows[base + i] * c, xf, i * c, c);
                    RmsNormOp.forward(xf, xf, finalNorm, c, eps, i, i + 1);
                }
            });
            MatMul.forward(logits, xf, m, lmHead);
            Parallel.forRange(m, 4, (f, t) -> {
                for (int i = f; i < t; i++) {
                    int tg = mb.targets()[rows[base + i]];
                    rowLoss[i] = dx != null ? CrossEntropy.forwardBackwardInPlace(logits, i * vocab, vocab, tg, dnll)
                            : CrossEntropy.forward(logits, i * vocab, vocab, tg);
                }
            });
            for (int i = 0; i < m; i++) seqLoss[seqOf[rows[base + i]]] += rowLoss[i];
            if (dx == null) continue;
            MatMul.backwardInput(dxf, logits, m, lmHead, false);
            Parallel.forRange(m, 8, (f, t) -> {
                for (int i = f; i < t; i++) {
                    int row = rows[base + i];
                    RmsNormOp.backwardRow(dx, row * c, dxf, i * c, xL, row * c, finalNorm, c, eps);
                }
            });
        }
        return seqLoss;
    }

    private void ensureRope(int len) {
        if (len <= ropeLen) return;
        int want = Math.max(len, Math.min(2 * ropeLen, Math.max(len, cfg.maxPositionEmbeddings())));
        float[][] tab = RopeOp.tables(want, cfg.headDim(), cfg.ropeTheta(), cfg.ropeScaling());
        cos = tab[0];
        sin = tab[1];
        ropeLen = want;
    }

    @Override
    public String toString() {
        return "TrainModel[" + cfg.numLayers() + " layers, C=" + cfg.hiddenSize() + ", " + slots().size() + " LoRA slots]";
    }
}
