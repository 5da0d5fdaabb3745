package org.lori4j.adapter;

import org.lori4j.model.KvCache;
import org.lori4j.model.LlamaConfig;
import org.lori4j.model.LlamaModel;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Tensor;

import java.util.ArrayList;
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
 *   -cp target/lori4j.jar:target/test-classes org.lori4j.adapter.UnmergedCostBench [layers] [rank]</pre>
 *
 * (after ./mvnw -q -B -o -DskipTests package).
 */
public final class UnmergedCostBench {
    public static void main(String[] args) {
        int layers = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int rank = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int hidden = 4096, ffn = 14336, heads = 32, kv = 8, vocab = 2048;
        LlamaConfig c = new LlamaConfig("llama", hidden, ffn, layers, heads, kv, hidden / heads, vocab, 1e-5, 500000,
                null, 8192, false, 1, List.of(2), DType.BF16, false);
        SplittableRandom rng = new SplittableRandom(1);
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (var e : c.expectedShapes().entrySet()) {
            long n = Tensor.numel(e.getValue());
            Tensor x = Tensor.zeros(DType.BF16, e.getValue());
            boolean norm = e.getKey().contains("norm");
            float scale = (float) (1 / Math.sqrt(e.getValue()[e.getValue().length - 1]));
            for (long i = 0; i < n; i++) x.setFloat(i, norm ? 1f : (float) (rng.nextDouble() * 2 - 1) * scale);
            t.put(e.getKey(), x);
        }
        LlamaModel model = LlamaModel.of(c, t);
        LoraAdapter dense = LoraAdapter.createLoRI(c, rank, 2 * rank, AdapterConfig.LLAMA_PROJECTIONS, 1, false);
        for (LoraAdapter.Module m : dense.modules().values())
            for (int i = 0; i < m.b().length; i++) m.b()[i] = (float) rng.nextGaussian() * 0.01f;
        LoraAdapter sparse = LoraAdapter.createLoRI(c, rank, 2 * rank, AdapterConfig.LLAMA_PROJECTIONS, 2, false);
        for (LoraAdapter.Module m : sparse.modules().values())
            for (int i = 0; i < m.b().length; i++) m.b()[i] = rng.nextDouble() < 0.9 ? 0f : (float) rng.nextGaussian() * 0.01f;

        ActiveAdapters active = new ActiveAdapters(model, ActiveAdapters.Mode.AUTO);
        String[] names = {"base", "dense B", "sparse B (90% zeros), CSR", "sparse B applied dense"};
        int prefill = 128, decodeSteps = 16, reps = 5;
        Map<String, List<Double>> decode = new LinkedHashMap<>(), pre = new LinkedHashMap<>();
        for (String n : names) { decode.put(n, new ArrayList<>()); pre.put(n, new ArrayList<>()); }
        int[] prompt = new int[prefill];
        for (int i = 0; i < prefill; i++) prompt[i] = 3 + i % (vocab - 3);
        for (int rep = 0; rep < reps + 1; rep++) {           // rep 0 warms up
            for (String n : names) {
                active.clear();
                ActiveAdapters a = n.equals("sparse B applied dense") ? new ActiveAdapters(model, ActiveAdapters.Mode.DENSE) : active;
                ActiveAdapters.Handle h = switch (n) {
                    case "dense B" -> a.add(dense, 1);
                    case "base" -> null;
                    default -> a.add(sparse, 1);
                };
                KvCache cache = model.newCache(1, prefill + decodeSteps + 1);
                long t0 = System.nanoTime();
                model.forward(new int[][]{prompt}, cache);
                long t1 = System.nanoTime();
                for (int s = 0; s < decodeSteps; s++) model.forward(new int[][]{{5 + s}}, cache);
                long t2 = System.nanoTime();
                if (rep > 0) {
                    pre.get(n).add((t1 - t0) / 1e6);
                    decode.get(n).add((t2 - t1) / 1e6 / decodeSteps);
                }
                if (h != null) a.remove(h);
            }
        }
        System.out.printf(Locale.ROOT, "Llama-3-8B layer shape, %d layers, bf16 weights, LoRA r=%d on all 7 projections, %d threads%n",
                layers, rank, org.lori4j.tensor.Parallel.threads());
        report("prefill " + prefill + " tokens (ms)", pre);
        report("decode, ms per token", decode);
    }

    private static void report(String title, Map<String, List<Double>> m) {
        System.out.println(title + ": min / median / max, and median relative to base");
        double baseMed = median(m.get("base"));
        for (var e : m.entrySet()) {
            double[] v = e.getValue().stream().mapToDouble(Double::doubleValue).sorted().toArray();
            System.out.printf(Locale.ROOT, "  %-28s %8.2f %8.2f %8.2f   x%.3f%n", e.getKey(), v[0], median(e.getValue()), v[v.length - 1],
                    median(e.getValue()) / baseMed);
        }
    }

    private static double median(List<Double> l) {
        double[] v = l.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private UnmergedCostBench() {}

}
