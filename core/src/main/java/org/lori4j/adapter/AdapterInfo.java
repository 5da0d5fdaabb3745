package org.lori4j.adapter;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What {@code lori info --adapter} reports: ranks, alphas and scalings, targets, parameter counts,
 * B sparsity (overall, per layer, per projection) and statistics of A (LoRI's A is the frozen random
 * projection: max |A| * sqrt(in) <= 1 when it is PEFT's kaiming-uniform initialisation).
 */
public record AdapterInfo(
        String path,
        int r,
        double loraAlpha,
        boolean useRslora,
        Set<Integer> ranks,
        Set<Double> scalings,
        List<String> targets,
        int modules,
        String dtype,
        long paramsA,
        long paramsB,
        long nonzeroB,
        double sparsityB,
        Map<String, Double> sparsityByLayer,
        Map<String, Double> sparsityByProjection,
        Stats statsA,
        double maxAbsATimesSqrtIn,
        Long embedRows) {

    /** Mean, standard deviation, minimum and maximum of a set of values. */
    public record Stats(double mean, double std, double min, double max) {}

    public static AdapterInfo of(LoraAdapter ad) {
        AdapterConfig c = ad.config();
        Set<Integer> ranks = new LinkedHashSet<>();
        Set<Double> scalings = new LinkedHashSet<>();
        Set<String> projs = new LinkedHashSet<>();
        long pa = 0, pb = 0, nz = 0;
        Map<Integer, long[]> byLayer = new TreeMap<>();
        Map<String, long[]> byProj = new LinkedHashMap<>();
        double sum = 0, sq = 0, min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY, bound = 0;
        for (LoraAdapter.Module m : ad.modules().values()) {
            ranks.add(m.r());
            scalings.add(m.scaling());
            projs.add(m.proj());
            pa += m.a().length;
            pb += m.b().length;
            long z = m.zerosB();
            nz += m.b().length - z;
            long[] l = byLayer.computeIfAbsent(m.layer(), k -> new long[2]);
            l[0] += z; l[1] += m.b().length;
            long[] p = byProj.computeIfAbsent(m.proj(), k -> new long[2]);
            p[0] += z; p[1] += m.b().length;
            double amax = 0;
            for (float v : m.a()) {
                sum += v; sq += (double) v * v;
                min = Math.min(min, v); max = Math.max(max, v);
                amax = Math.max(amax, Math.abs(v));
            }
            bound = Math.max(bound, amax * Math.sqrt(m.in()));
        }
        double mean = pa == 0 ? 0 : sum / pa;
        double std = pa == 0 ? 0 : Math.sqrt(Math.max(0, sq / pa - mean * mean));
        Map<String, Double> sl = new LinkedHashMap<>();
        byLayer.forEach((k, v) -> sl.put(String.valueOf(k), (double) v[0] / v[1]));
        Map<String, Double> sp = new LinkedHashMap<>();
        for (String proj : AdapterConfig.LLAMA_PROJECTIONS)
            if (byProj.containsKey(proj)) sp.put(proj, (double) byProj.get(proj)[0] / byProj.get(proj)[1]);
        List<String> targets = c.targetModules() != null ? c.targetModules() : List.of(c.targetModulesRegex());
        return new AdapterInfo(ad.label(), c.r(), c.loraAlpha(), c.useRslora(), ranks, scalings, targets,
                ad.modules().size(), ad.dtype().safetensorsName(), pa, pb, nz, pb == 0 ? 0 : 1.0 - (double) nz / pb,
                sl, sp, new Stats(mean, std, pa == 0 ? 0 : min, pa == 0 ? 0 : max), bound,
                ad.embedTokens() != null ? Long.valueOf(ad.embedTokens().dim(0))
                        : ad.lmHead() != null ? Long.valueOf(ad.lmHead().dim(0)) : null);
    }

    /** LoRI-D trains B only (A frozen); LoRI-S trains the B entries of its mask (nonzero after training). */
    public long trainableLoRID() { return paramsB; }

    public ObjectNode toJson() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode o = f.objectNode();
        o.put("path", path);
        o.put("r", r);
        o.put("lora_alpha", loraAlpha);
        o.put("use_rslora", useRslora);
        var rk = o.putArray("ranks"); ranks.forEach(rk::add);
        var sc = o.putArray("scalings"); scalings.forEach(sc::add);
        var tg = o.putArray("target_modules"); targets.forEach(tg::add);
        o.put("modules", modules);
        o.put("dtype", dtype);
        ObjectNode p = o.putObject("parameters");
        p.put("lora_A", paramsA);
        p.put("lora_B", paramsB);
        p.put("total", paramsA + paramsB);
        p.put("trainable_lora", paramsA + paramsB);
        p.put("trainable_lori_d", paramsB);
        p.put("nonzero_B", nonzeroB);
        ObjectNode s = o.putObject("B_sparsity");
        s.put("overall", sparsityB);
        ObjectNode sl = s.putObject("per_layer"); sparsityByLayer.forEach(sl::put);
        ObjectNode sp = s.putObject("per_projection"); sparsityByProjection.forEach(sp::put);
        ObjectNode a = o.putObject("A");
        a.put("mean", statsA.mean); a.put("std", statsA.std); a.put("min", statsA.min); a.put("max", statsA.max);
        a.put("max_abs_times_sqrt_in", maxAbsATimesSqrtIn);
        if (embedRows != null) o.put("embedding_rows", embedRows);
        return o;
    }

    /** The human-readable report. */
    public String toText() {
        StringBuilder sb = new StringBuilder();
        sb.append("adapter      ").append(path).append('\n');
        sb.append("rank         r = ").append(r).append(ranks.size() > 1 || !ranks.contains(r) ? "  (module ranks " + ranks + ")" : "").append('\n');
        sb.append("alpha        ").append(num(loraAlpha)).append(useRslora ? "  (rsLoRA: scaling = alpha / sqrt(r))" : "").append('\n');
        List<String> scs = new ArrayList<>();
        for (double d : scalings) scs.add(num(d));
        sb.append("scaling      ").append(String.join(", ", scs)).append('\n');
        sb.append("targets      ").append(String.join(", ", targets)).append("  (").append(modules).append(" modules, ").append(dtype).append(")\n");
        sb.append(String.format(Locale.ROOT, "parameters   A %,d + B %,d = %,d; trainable as LoRA %,d, as LoRI-D (B only) %,d,"
                + " as LoRI-S (nonzero B) %,d%n", paramsA, paramsB, paramsA + paramsB, paramsA + paramsB, paramsB, nonzeroB));
        sb.append(String.format(Locale.ROOT, "B sparsity   %.4f overall (%,d nonzero of %,d)%n", sparsityB, nonzeroB, paramsB));
        sb.append("  per projection:");
        sparsityByProjection.forEach((k, v) -> sb.append(String.format(Locale.ROOT, " %s %.4f", k, v)));
        sb.append('\n').append("  per layer:");
        sparsityByLayer.forEach((k, v) -> sb.append(String.format(Locale.ROOT, " %s:%.4f", k, v)));
        sb.append('\n');
        sb.append(String.format(Locale.ROOT, "A            mean %.3g, std %.4g, min %.4g, max %.4g; max|A|*sqrt(in) = %.4f%s%n",
                statsA.mean, statsA.std, statsA.min, statsA.max, maxAbsATimesSqrtIn,
                maxAbsATimesSqrtIn <= 1.0 + 1e-6 ? " (within PEFT's kaiming-uniform bound)" : ""));
        if (embedRows != null) sb.append("embeddings   full embed_tokens/lm_head with ").append(embedRows).append(" rows (resized vocabulary)\n");
        return sb.toString();
    }

    private static String num(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.format(Locale.ROOT, "%.6g", d);
    }
}
