package org.lori4j.adapter;

import org.lori4j.io.LlamaConfig;
import org.lori4j.model.KvCache;
import org.lori4j.model.LlamaModel;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Measures the cost of applying a LoRA adapter unmerged (dense B, and sparse B at 90% zeros as
 * LoRI-S) relative to the base forward, on random weights of a Llama-3-8B layer shape (hidden 4096,
 * MLP 14336, 32/8 heads; few layers, small vocab so the layers dominate). Not a unit test: run
 *
 * <pre>./mvnw -q -B -o test-compile && java --add-modules jdk.incubator.vector -Xmx8g \
 *   -cp target/lori4j.jar:core/target/test-classes org.lori4j.adapter.UnmergedCostBench [layers] [rank]</pre>
 *
 * (after ./mvnw -q -B -o -DskipTests package).
 */
public final class UnmergedCostBench {
    public static void main(String[] args) {
        int layers = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int rank = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int hidden = 4096, ffn = 14336, heads = 32, kv = 8, vocab = 2048;
        LlamaConfig cfg = new LlamaConfig("llama", hidden, ffn, layers, heads, kv, hidden / heads, vocab, 1e-5, 500000,
                null, 8192, false, 1, List.of(2), DType.BF16, false);
        SplittableRandom rng = new SplittableRandom(1);
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (var e : cfg.expectedShapes().entrySet()) {
            long n = Tensor.numel(e.getValue());
            Tensor x = Tensor.zeros(DType.BF16, e.getValue());
            boolean norm = e.getKey().contains("norm");
            float scale = (float) (1 / Math.sqrt(e.getValue()[e.getValue().length - 1]));
            for (long i = 0; i < n; i++) x.setFloat(i, norm ? 1f : (float) (rng.nextDouble() * 2 - 1) * scale);
            t.put(e.getKey(), x);
        }
        LlamaModel model = LlamaModel.of(cfg, t);
        LoraAdapter dense = LoraAdapter.createLoRI(cfg, rank, 2 * rank, AdapterConfig.LLAMA_PROJECTIONS, 1, false);
        for (LoraAdapter.Module m : dense.modules().values())
            for (int i = 0; i < m.b().length; i++) m.b()[i] = (float) rng.nextGaussian() * 0.01f;
        LoraAdapter sparse = LoraAdapter.createLoRI(cfg, rank, 2 * rank, AdapterConfig.LLAMA_PROJECTIONS, 2, false);
        for (LoraAdapter.Module m : sparse.modules().values())
            for (int i = 0; i < m.b().length; i++) m.b()[i] = rng.nextDouble() < 0.9 ? 0f : (float) rng.nextGaussian() * 0.01f;

        // configurations, interleaved call by call so that machine noise hits all of them alike
        String[] names = {"base", "dense B", "LoRI-S B, CSR", "LoRI-S B, auto", "LoRI-S B, dense"};
        ActiveAdapters[] sets = {null, new ActiveAdapters(model, ActiveAdapters.Mode.DENSE),
                new ActiveAdapters(model, ActiveAdapters.Mode.SPARSE), new ActiveAdapters(model, ActiveAdapters.Mode.AUTO),
                new ActiveAdapters(model, ActiveAdapters.Mode.DENSE)};
        LoraAdapter[] ads = {null, dense, sparse, sparse, sparse};
        int prefill = 128, decodeSteps = 24, prefillReps = 4, context = 64;
        Map<String, List<Double>> decode = new LinkedHashMap<>(), pre = new LinkedHashMap<>();
        for (String n : names) { decode.put(n, new ArrayList<>()); pre.put(n, new ArrayList<>()); }
        int[] prompt = new int[prefill];
        for (int i = 0; i < prefill; i++) prompt[i] = 3 + i % (vocab - 3);
        KvCache[] caches = new KvCache[names.length];
        for (int c = 0; c < names.length; c++) {
            caches[c] = model.newCache(1, context + decodeSteps + 2);
            model.forward(new int[][]{Arrays.copyOf(prompt, context)}, caches[c]);
        }
        for (int step = -2; step < decodeSteps; step++) {      // two warm-up steps
            for (int c = 0; c < names.length; c++) {
                ActiveAdapters.Handle h = sets[c] == null ? null : sets[c].add(ads[c], 1);
                long t0 = System.nanoTime();
                model.forward(new int[][]{{5 + (step + 2)}}, caches[c]);
                long t1 = System.nanoTime();
                if (h != null) sets[c].remove(h);
                if (step >= 0) decode.get(names[c]).add((t1 - t0) / 1e6);
            }
        }
        for (int rep = -1; rep < prefillReps; rep++) {
            for (int c = 0; c < names.length; c++) {
                ActiveAdapters.Handle h = sets[c] == null ? null : sets[c].add(ads[c], 1);
                KvCache cache = model.newCache(1, prefill);
                long t0 = System.nanoTime();
                model.forward(new int[][]{prompt}, cache);
                long t1 = System.nanoTime();
                if (h != null) sets[c].remove(h);
                if (rep >= 0) pre.get(names[c]).add((t1 - t0) / 1e6);
            }
        }
        // component view: the 7 base projections of layer 0 vs the 7 LoRA deltas alone (min over many calls)
        Map<String, List<Double>> comp1 = new LinkedHashMap<>(), comp128 = new LinkedHashMap<>();
        String[] cnames = {"base projections", "dense B deltas", "LoRI-S CSR deltas", "LoRI-S dense deltas"};
        for (String n : cnames) { comp1.put(n, new ArrayList<>()); comp128.put(n, new ArrayList<>()); }
        List<List<LoraDelta>> deltaSets = List.of(
                dense.modules().values().stream().filter(m -> m.layer() == 0).map(m -> LoraDelta.dense(m, 1)).toList(),
                sparse.modules().values().stream().filter(m -> m.layer() == 0).map(m -> LoraDelta.sparse(m, 1)).toList(),
                sparse.modules().values().stream().filter(m -> m.layer() == 0).map(m -> LoraDelta.dense(m, 1)).toList());
        for (int n : new int[]{1, 128}) {
            float[] x = new float[n * ffn], y = new float[n * ffn];
            for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
            int reps = n == 1 ? 60 : 8;
            Map<String, List<Double>> comp = n == 1 ? comp1 : comp128;
            for (int rep = -2; rep < reps; rep++) {
                long t0 = System.nanoTime();
                for (String p : LlamaModel.PROJECTIONS) model.linear(0, p).forward(y, x, n);
                long t1 = System.nanoTime();
                if (rep >= 0) comp.get(cnames[0]).add((t1 - t0) / 1e6);
                for (int k = 0; k < 3; k++) {
                    long u0 = System.nanoTime();
                    for (LoraDelta d : deltaSets.get(k)) d.forward(y, x, n);
                    long u1 = System.nanoTime();
                    if (rep >= 0) comp.get(cnames[k + 1]).add((u1 - u0) / 1e6);
                }
            }
        }
        System.out.printf(Locale.ROOT, "Llama-3-8B layer shape, %d layer(s), bf16 weights, vocab %d, LoRA r=%d on all 7 projections"
                + " (LoRI-S: 90%% of B zero), %d threads%n", layers, vocab, rank, org.lori4j.tensor.Parallel.threads());
        report("prefill " + prefill + " tokens, ms", pre);
        report("decode at context " + context + ", ms per token", decode);
        report("layer 0, 1 row (decode): the 7 projections vs the 7 deltas alone, ms", comp1);
        report("layer 0, 128 rows (prefill): the 7 projections vs the 7 deltas alone, ms", comp128);
    }

    private static void report(String title, Map<String, List<Double>> m) {
        System.out.println(title + ": min / median / max; min and median relative to base");
        List<Double> b0 = m.values().iterator().next();
        double baseMed = median(b0), baseMin = b0.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
        for (var e : m.entrySet()) {
            double[] v = e.getValue().stream().mapToDouble(Double::doubleValue).sorted().toArray();
            System.out.printf(Locale.ROOT, "  %-18s %8.2f %8.2f %8.2f   x%.3f  x%.3f%n", e.getKey(), v[0], median(e.getValue()), v[v.length - 1],
                    v[0] / baseMin, median(e.getValue()) / baseMed);
        }
    }

    private static double median(List<Double> l) {
        double[] v = l.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private UnmergedCostBench() {}

}
