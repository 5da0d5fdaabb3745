package org.lori4j.model;

import org.lori4j.io.LlamaConfig;
import org.lori4j.io.LoriException;
import org.lori4j.io.TensorStore;
import org.lori4j.tensor.Convert;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.MatMul;
import org.lori4j.tensor.Parallel;
import org.lori4j.tensor.Tensor;
import org.lori4j.tensor.Vec;
import org.lori4j.tensor.Weight;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A Llama-family decoder (Llama 1/2/3, Mistral, Qwen2) loaded from a Hugging Face folder with
 * its weights in their stored dtype (projections repacked by {@link Weight}, the embedding copied as is; the
 * mapped files are closed once loaded), and its inference forward pass: full-sequence
 * logits and a {@link KvCache} session API for batched generation where every sequence keeps its
 * own positions (no padding). Forward passes on distinct caches may run concurrently; all per-step
 * state lives in the cache.
 *
 * <p>Legend: N = token rows processed together (all sequences of a step), C = hidden size,
 * H/KV = query/key-value heads, D = head_dim, F = MLP width, V = vocab.
 * One decoder layer: x += o(attn(rope(q(n1)), rope(k(n1)), v(n1))), n1 = rmsnorm(x);
 * x += down(silu(gate(n2)) * up(n2)), n2 = rmsnorm(x); logits = lm_head(rmsnorm(x)).
 */
public final class LlamaModel implements AutoCloseable {
    /** Default for the most token rows one step runs through the layers (bounds activation memory). */
    private static final int MAX_ROWS_PER_STEP = 512;

    /** The names of the seven projections of a layer, as in HF tensor names and PEFT target_modules. */
    public static final List<String> PROJECTIONS =
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    /**
     * The weights of one decoder layer.
     *
     * @param inputNorm         input_layernorm [C]
     * @param postAttentionNorm post_attention_layernorm [C]
     */
    public record Layer(float[] inputNorm, Linear q, Linear k, Linear v, Linear o,
                        float[] postAttentionNorm, Linear gate, Linear up, Linear down) {
        /** The projection called {@code proj} (q_proj ... down_proj). */
        public Linear linear(String proj) {
            return switch (proj) {
                case "q_proj" -> q;
                case "k_proj" -> k;
                case "v_proj" -> v;
                case "o_proj" -> o;
                case "gate_proj" -> gate;
                case "up_proj" -> up;
                case "down_proj" -> down;
                default -> throw new IllegalArgumentException("unknown projection '" + proj + "' (expected one of " + PROJECTIONS + ")");
            };
        }
    }

    private final Layer[] layers;
    private final float[] finalNorm;          // model.norm [C]
    private final RopeFrequencies rope;
    private final boolean loadedTied;         // tie_word_embeddings as loaded: replaceEmbeddings(e, null) re-ties
    private volatile LlamaConfig config;
    private volatile Tensor embedTokens;      // [V, C] in its stored dtype, widened row by row for the lookup
    private volatile Weight lmHead;           // [V, C]; a packed copy of the embedding when tied
    private int maxRowsPerStep = MAX_ROWS_PER_STEP;  // longer inputs run in chunks, exactly as if fed piecewise

    private LlamaModel(LlamaConfig config, Map<String, Tensor> t, boolean copyEmbedding) {
        this.config = config;
        this.rope = RopeFrequencies.of(config);
        this.loadedTied = config.tieWordEmbeddings();
        this.layers = new Layer[config.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            String p = "model.layers." + l + ".";
            layers[l] = new Layer(
                    floats(t, p + "input_layernorm.weight"),
                    linear(t, p + "self_attn.q_proj"), linear(t, p + "self_attn.k_proj"),
                    linear(t, p + "self_attn.v_proj"), linear(t, p + "self_attn.o_proj"),
                    floats(t, p + "post_attention_layernorm.weight"),
                    linear(t, p + "mlp.gate_proj"), linear(t, p + "mlp.up_proj"), linear(t, p + "mlp.down_proj"));
        }
        this.finalNorm = floats(t, "model.norm.weight");
        Tensor embed = t.get("model.embed_tokens.weight");
        this.embedTokens = copyEmbedding ? copyOf(embed) : embed;
        this.lmHead = Weight.of(config.tieWordEmbeddings() ? embedTokens : t.get("lm_head.weight"));
    }

    /** Loads config.json and the safetensors weights of a Hugging Face model folder; shapes are checked. */
    public static LlamaModel load(Path dir) {
        LlamaConfig config = LlamaConfig.load(dir);
        // Everything the model keeps is copied out of the mapping (packed weights, the embedding, norms and biases
        // as floats), so the files are unmapped here and resident memory holds the weights once.
        try (TensorStore store = TensorStore.openModelDir(dir)) {
            config.checkShapes(store);
            return new LlamaModel(config, store.tensors(), true);
        }
    }

    /** A model over tensors already in memory (named as in HF checkpoints); shapes are checked. */
    public static LlamaModel of(LlamaConfig config, Map<String, Tensor> tensors) {
        for (Map.Entry<String, long[]> e : config.expectedShapes().entrySet()) {
            Tensor t = tensors.get(e.getKey());
            if (t == null) throw new LoriException("tensor " + e.getKey() + " is missing");
            if (!Arrays.equals(t.shape(), e.getValue()))
                throw new LoriException("tensor " + e.getKey() + " has shape " + Arrays.toString(t.shape())
                        + ", expected " + Arrays.toString(e.getValue()));
        }
        return new LlamaModel(config, tensors, false);
    }

    /** The same tensor in fresh off-heap memory (GC-managed), so that the source mapping can be closed. */
    private static Tensor copyOf(Tensor t) {
        Tensor c = Tensor.zeros(t.dtype(), t.shape());
        MemorySegment.copy(t.data(), 0, c.data(), 0, t.byteSize());
        if (t.data().isMapped()) t.data().unload(); // held once: drop the mapped pages (see Weight.of)
        return c;
    }

    private static float[] floats(Map<String, Tensor> t, String name) {
        return t.get(name).toFloatArray();
    }

    private static Linear linear(Map<String, Tensor> t, String name) {
        Tensor b = t.get(name + ".bias");
        return new Linear(name, Weight.of(t.get(name + ".weight")), b == null ? null : b.toFloatArray());
    }

    public LlamaConfig config() { return config; }

    /** Number of decoder layers. */
    public int numLayers() { return layers.length; }

    /** The weights of decoder layer {@code l}. */
    public Layer layer(int l) { return layers[l]; }

    /** The projection {@code proj} (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj) of layer {@code l}. */
    public Linear linear(int l, String proj) {
        if (l < 0 || l >= layers.length) throw new IllegalArgumentException("layer " + l + " out of range [0, " + layers.length + ")");
        return layers[l].linear(proj);
    }

    /** The final norm weight [C] (not a copy). */
    public float[] finalNorm() { return finalNorm; }

    /** model.embed_tokens.weight [V, C]. */
    public Tensor embedTokens() { return embedTokens; }

    /** The output projection [V, C] (the embedding itself when tied). */
    public Weight lmHead() { return lmHead; }

    public RopeFrequencies rope() { return rope; }

    /**
     * Replaces the token embedding and, if given, the output projection (adapters that train
     * embed_tokens / lm_head, possibly with added tokens). With {@code lmHeadOrNull} null a model
     * loaded with tied embeddings shares the new embedding again, and an untied one keeps its
     * current lm_head, which then must match the new vocabulary size. Not to be called while a
     * forward pass runs.
     */
    public synchronized void replaceEmbeddings(Tensor embed, Tensor lmHeadOrNull) {
        LlamaConfig c = config;
        if (embed.rank() != 2 || embed.dim(1) != c.hiddenSize())
            throw new LoriException("embed_tokens: shape " + Arrays.toString(embed.shape()) + " does not match hidden size " + c.hiddenSize());
        int vocab = (int) embed.dim(0);
        Weight head;
        if (lmHeadOrNull != null) {
            if (!Arrays.equals(lmHeadOrNull.shape(), embed.shape()))
                throw new LoriException("lm_head: shape " + Arrays.toString(lmHeadOrNull.shape()) + " differs from embed_tokens "
                        + Arrays.toString(embed.shape()));
            head = Weight.of(lmHeadOrNull);
        } else if (loadedTied) {
            head = null;
        } else {
            if (lmHead.rows() != vocab)
                throw new LoriException("embed_tokens has " + vocab + " rows but the untied lm_head has " + lmHead.rows()
                        + "; the adapter must ship lm_head too");
            head = lmHead;
        }
        Weight tied = head == null ? Weight.of(embed) : null;
        embedTokens = embed;
        lmHead = head == null ? tied : head;
        config = new LlamaConfig(c.modelType(), c.hiddenSize(), c.intermediateSize(), c.numLayers(), c.numHeads(),
                c.numKvHeads(), c.headDim(), vocab, c.rmsNormEps(), c.ropeTheta(), c.ropeScaling(),
                c.maxPositionEmbeddings(), loadedTied && lmHeadOrNull == null, c.bosTokenId(),
                c.eosTokenIds(), c.torchDtype(), c.attentionBias(), c.slidingWindow(), c.slidingWindowFromLayer());
    }

    /** Sets the chunk size of long inputs (tests use small ones; results do not depend on it beyond rounding). */
    void setMaxRowsPerStep(int rows) {
        if (rows <= 0) throw new IllegalArgumentException("rows must be positive");
        maxRowsPerStep = rows;
    }

    /** A fresh cache for {@code batch} sequences of at most {@code maxLen} positions each. */
    public KvCache newCache(int batch, int maxLen) {
        return new KvCache(layers.length, config.kvDim(), batch, maxLen);
    }

    /** Logits [n, V] of every position of one sequence (no BOS is added). */
    public float[] logits(int[] tokens) {
        if (tokens.length == 0) return new float[0];
        return logitsAll(new int[][]{tokens}, newCache(1, tokens.length));
    }

    /**
     * Appends tokens[b] to sequence b of the cache and returns the logits of the last new token
     * of each sequence, [batch, V]; a sequence given no tokens (or null) is left as it is and its
     * row is zero.
     */
    public float[] forward(int[][] tokens, KvCache cache) {
        return forward(tokens, cache, null);
    }

    /**
     * As {@link #forward(int[][], KvCache)}, with sequence b's rows also adding {@code deltas[b]} (null, or a null
     * entry: none) to the projections: requests for different adapters in one batch, each projection's base product
     * computed once for all rows. Deltas attached to the projections themselves apply to every row as before.
     */
    public float[] forward(int[][] tokens, KvCache cache, DeltaSet[] deltas) {
        if (deltas != null && deltas.length != tokens.length)
            throw new IllegalArgumentException(deltas.length + " delta sets for " + tokens.length + " sequences");
        float[] out = new float[tokens.length * config.vocabSize()];
        run(tokens, cache, out, false, deltas);
        return out;
    }

    /** As {@link #forward(int[][], KvCache)} but returns the logits of every new token, [sum of lengths, V] in sequence order. */
    public float[] logitsAll(int[][] tokens, KvCache cache) {
        long rows = 0;
        for (int[] t : tokens) rows += t == null ? 0 : t.length;
        long n = rows * config.vocabSize();
        if (n > Integer.MAX_VALUE - 8) throw new LoriException("logits of " + rows + " tokens x " + config.vocabSize() + " vocab do not fit one array");
        float[] out = new float[(int) n];
        run(tokens, cache, out, true, null);
        return out;
    }

    /** A contiguous run of new tokens of one sequence processed in a step. */
    private record Segment(int seq, int[] tokens, int from, int count, int outRow, boolean last, DeltaSet deltas) {}

    private void run(int[][] tokens, KvCache cache, float[] out, boolean all, DeltaSet[] deltas) {
        if (tokens.length != cache.batch())
            throw new IllegalArgumentException(tokens.length + " token lists for a cache of batch " + cache.batch());
        int V = config.vocabSize();
        int[] done = new int[tokens.length];
        int[] outBase = new int[tokens.length];
        int rowsSoFar = 0;
        for (int b = 0; b < tokens.length; b++) {
            int len = tokens[b] == null ? 0 : tokens[b].length;
            if (cache.length(b) + len > cache.maxLen())
                throw new LoriException("sequence " + b + " would reach " + (cache.length(b) + len) + " positions; the cache holds " + cache.maxLen());
            for (int i = 0; i < len; i++) {
                int id = tokens[b][i];
                if (id < 0 || id >= V) throw new LoriException("token id " + id + " is outside the vocabulary [0, " + V + ")");
            }
            outBase[b] = all ? rowsSoFar : b;
            rowsSoFar += len;
        }
        while (true) {
            var segs = new ArrayList<Segment>();
            int budget = maxRowsPerStep;
            for (int b = 0; b < tokens.length && budget > 0; b++) {
                int len = tokens[b] == null ? 0 : tokens[b].length;
                int take = Math.min(len - done[b], budget);
                if (take <= 0) continue;
                segs.add(new Segment(b, tokens[b], done[b], take, outBase[b] + (all ? done[b] : 0), done[b] + take == len,
                        deltas == null ? null : deltas[b]));
                done[b] += take;
                budget -= take;
            }
            if (segs.isEmpty()) break;
            step(segs, cache, out, all, V);
        }
    }

    /**
     * A step of several sequences with at most this many projection multiply-adds per layer runs as independent
     * groups of sequences, one per thread, instead of splitting every operation: a small model's decode step
     * (stories260K: 45K per row) is a few dozen operations far below {@link Parallel#GRAIN} each, whose
     * synchronisations would cost more than their work. Large models (TinyLlama: 44M per row) always split
     * operations, so that the cores share the weight streaming.
     */
    private static final long SEQUENCE_PARALLEL_MAX_WORK = 1L << 20;

    /** Runs the segments' tokens through every layer, appends their keys/values, writes logits. */
    private void step(List<Segment> segs, KvCache cache, float[] out, boolean all, int V) {
        LlamaConfig c = config;
        int N = 0;
        for (Segment s : segs) N += s.count();
        long perRow = (long) c.hiddenSize() * (2L * c.qDim() + 2L * c.kvDim() + 3L * c.intermediateSize());
        int groups = Math.min(Parallel.threads(), segs.size());
        if (groups < 2 || N * perRow > SEQUENCE_PARALLEL_MAX_WORK) {
            stepOn(segs, cache, cache.workspace(0), out, all, V);
            return;
        }
        // consecutive runs of segments with about N / groups rows each, at least one segment per group
        List<List<Segment>> parts = new ArrayList<>(groups);
        for (int g = 0, from = 0, rows = 0; g < groups; g++) {
            int to = from + 1;
            rows += segs.get(from).count();
            long goal = (long) N * (g + 1) / groups;
            while (to < segs.size() - (groups - g - 1) && rows + segs.get(to).count() <= goal) rows += segs.get(to++).count();
            if (g == groups - 1) to = segs.size();
            parts.add(segs.subList(from, to));
            from = to;
        }
        cache.workspaces(groups);
        Parallel.forEachIsolated(groups, g -> stepOn(parts.get(g), cache, cache.workspace(g), out, all, V));
    }

    /** {@link #step} for one group of segments with its own activation buffers. */
    private void stepOn(List<Segment> segs, KvCache cache, Workspace ws, float[] out, boolean all, int V) {
        LlamaConfig c = config;
        int C = c.hiddenSize(), H = c.numHeads(), KV = c.numKvHeads(), D = c.headDim(), F = c.intermediateSize();
        int kvDim = KV * D;
        float eps = (float) c.rmsNormEps();
        int N = 0;
        for (Segment s : segs) N += s.count();

        ws.ensure(N, c);
        int[] pos = ws.pos;
        float[] x = ws.x, h = ws.h, q = ws.q, k = ws.k, v = ws.v, att = ws.att, proj = ws.proj, gate = ws.gate, up = ws.up;
        float[] cos = ws.cos, sin = ws.sin;
        Tensor emb = embedTokens;
        int r = 0;
        for (Segment s : segs) {
            int p0 = cache.length(s.seq());
            cache.ensureCapacity(s.seq(), p0 + s.count());
            for (int i = 0; i < s.count(); i++, r++) {
                pos[r] = p0 + i;
                Convert.toF32(emb, (long) s.tokens()[s.from() + i] * C, x, r * C, C);
            }
        }
        rope.cosSin(pos, N, cos, sin);
        // Per segment: first row in the step, new rows, cached positions before them, cache row stride.
        int nSeg = segs.size();
        int[] rows = new int[nSeg], counts = new int[nSeg], cached = new int[nSeg], caps = new int[nSeg];
        for (int i = 0, row = 0; i < nSeg; i++) {
            Segment s = segs.get(i);
            rows[i] = row;
            counts[i] = s.count();
            cached[i] = cache.length(s.seq());
            caps[i] = cache.capacity(s.seq());
            row += s.count();
        }
        float[][] kcs = new float[nSeg][], vcs = new float[nSeg][];
        RowDeltas rd = RowDeltas.of(segs, rows);
        int qDim = H * D;

        for (int l = 0; l < layers.length; l++) {
            Layer L = layers[l];
            RmsNorm.forward(h, null, x, L.inputNorm(), N, C, eps);
            L.q().forward(q, h, N);
            L.k().forward(k, h, N);
            L.v().forward(v, h, N);
            if (rd != null) {
                rd.add(l, 0, q, qDim, h, C);
                rd.add(l, 1, k, kvDim, h, C);
                rd.add(l, 2, v, kvDim, h, C);
            }
            Rope.forward(q, cos, sin, N, H, D);
            Rope.forward(k, cos, sin, N, KV, D);
            // Append every segment's keys/values, then all sequences' attention in one parallel pass.
            for (int i = 0; i < nSeg; i++) {
                int seq = segs.get(i).seq();
                cache.put(l, seq, k, rows[i] * kvDim, v, rows[i] * kvDim, counts[i]);
                kcs[i] = cache.keys(l, seq);
                vcs[i] = cache.values(l, seq);
            }
            Attention.forwardCached(att, q, rows, kcs, vcs, caps, counts, cached, H, KV, D, c.window(l));
            L.o().forward(proj, att, N);
            if (rd != null) rd.add(l, 3, proj, C, att, qDim);
            Vec.add(x, 0, x, 0, proj, 0, N * C);
            RmsNorm.forward(h, null, x, L.postAttentionNorm(), N, C, eps);
            L.gate().forward(gate, h, N);
            L.up().forward(up, h, N);
            if (rd != null) {
                rd.add(l, 4, gate, F, h, C);
                rd.add(l, 5, up, F, h, C);
            }
            SwiGlu.forward(gate, gate, up, N, F);
            L.down().forward(proj, gate, N);
            if (rd != null) rd.add(l, 6, proj, C, gate, F);
            Vec.add(x, 0, x, 0, proj, 0, N * C);
        }
        for (Segment s : segs) cache.advance(s.seq(), s.count());

        // Final norm and lm_head, only on the rows whose logits are wanted.
        Weight head = lmHead;
        if (all) {
            // A step's segments are consecutive rows of the output: a segment cut short by the row budget is the
            // step's last, and every other one ends its sequence, so the next starts the following sequence.
            RmsNorm.forward(h, null, x, finalNorm, N, C, eps);
            MatMul.forward(out, segs.getFirst().outRow() * V, h, 0, N, head);
        } else {
            int M = 0;
            for (Segment s : segs) if (s.last()) M++;
            if (M == 0) return;
            float[] last = new float[M * C];
            int[] rowOf = new int[M];
            int m = 0;
            r = 0;
            for (Segment s : segs) {
                r += s.count();
                if (s.last()) {
                    System.arraycopy(x, (r - 1) * C, last, m * C, C);
                    rowOf[m++] = s.outRow();
                }
            }
            RmsNorm.forward(last, null, last, finalNorm, M, C, eps);
            boolean inOrder = true;   // the usual decode step: row i of the result is sequence i
            for (int i = 0; i < M; i++) inOrder &= rowOf[i] == i;
            if (inOrder) {
                MatMul.forward(out, last, M, head);
            } else {
                float[] logits = new float[M * V];
                MatMul.forward(logits, last, M, head);
                for (int i = 0; i < M; i++) System.arraycopy(logits, i * V, out, rowOf[i] * V, V);
            }
        }
    }

    /** The rows of one step grouped by the {@link DeltaSet} of their sequence (sequences without one left out). */
    private record RowDeltas(DeltaSet[] sets, int[][] rows, int[] counts) {
        /** Null when no segment has a delta set. */
        static RowDeltas of(List<Segment> segs, int[] firstRow) {
            List<DeltaSet> sets = new ArrayList<>();
            List<int[]> rowLists = new ArrayList<>();
            List<Integer> counts = new ArrayList<>();
            for (int i = 0; i < segs.size(); i++) {
                Segment s = segs.get(i);
                if (s.deltas() == null) continue;
                int g = sets.indexOf(s.deltas());
                if (g < 0) {
                    g = sets.size();
                    sets.add(s.deltas());
                    rowLists.add(new int[8]);
                    counts.add(0);
                }
                int[] r = rowLists.get(g);
                int c = counts.get(g);
                if (c + s.count() > r.length) r = Arrays.copyOf(r, Math.max(2 * r.length, c + s.count()));
                for (int j = 0; j < s.count(); j++) r[c + j] = firstRow[i] + j;
                rowLists.set(g, r);
                counts.set(g, c + s.count());
            }
            if (sets.isEmpty()) return null;
            return new RowDeltas(sets.toArray(DeltaSet[]::new), rowLists.toArray(int[][]::new),
                    counts.stream().mapToInt(Integer::intValue).toArray());
        }

        /**
         * y[r] += delta of projection proj of layer l (x[r]) for every row r of every group that has one; the groups (their
         * rows are distinct) run in parallel, each on one thread: one adapter's few rows are too little work to split.
         */
        void add(int l, int proj, float[] y, int out, float[] x, int in) {
            if (sets.length == 1) {
                LinearDelta d = sets[0].delta(l, proj);
                if (d != null) d.forwardRows(y, out, x, in, rows[0], counts[0]);
                return;
            }
            Parallel.forEachIsolated(sets.length, g -> {
                LinearDelta d = sets[g].delta(l, proj);
                if (d != null) d.forwardRows(y, out, x, in, rows[g], counts[g]);
            });
        }
    }

    /** Nothing to release explicitly (weights live in GC-managed memory); kept so models can be used in try-with-resources. */
    @Override
    public void close() {
    }

    @Override
    public String toString() {
        LlamaConfig c = config;
        return "LlamaModel[" + c.modelType() + " " + c.numLayers() + "x" + c.hiddenSize() + ", heads " + c.numHeads() + "/"
                + c.numKvHeads() + ", vocab " + c.vocabSize() + ", " + (embedTokens.dtype() == DType.F32 ? "f32" : embedTokens.dtype()) + "]";
    }
}
