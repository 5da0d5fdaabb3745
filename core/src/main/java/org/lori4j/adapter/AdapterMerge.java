package org.lori4j.adapter;

import org.lori4j.io.LoriException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Merges several LoRA adapters into one, with the semantics of PEFT's {@code add_weighted_adapter}
 * (tuners/lora/model.py and utils/merge_utils.py of PEFT 0.19+): {@code cat} stacks the scaled A's and
 * the B's so that B'A' = sum_i w_i s_i B_i A_i exactly; {@code linear}, {@code ties}, {@code dare_linear},
 * {@code dare_ties} and {@code magnitude_prune} combine A's and B's separately with weights
 * sign(w_i s_i) sqrt(|w_i s_i|) (sign on A only) and sqrt(|w_i s_i|). The merged config copies the first
 * adapter's with r = lora_alpha = r' and no rank/alpha patterns.
 */
public final class AdapterMerge {
    private AdapterMerge() {}

    /**
     * PEFT's combination types: on A and B directly (cat, linear, ties, dare_*, magnitude_prune), and on the full
     * deltas followed by a truncated SVD (svd = task arithmetic, and the *_svd forms of the pruning methods).
     */
    public enum Method {
        CAT, LINEAR, TIES, DARE_LINEAR, DARE_TIES, MAGNITUDE_PRUNE,
        SVD, TIES_SVD, DARE_LINEAR_SVD, DARE_TIES_SVD, MAGNITUDE_PRUNE_SVD;

        public static Method parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new LoriException("unknown merge method '" + s + "' (cat, linear, ties, dare_linear, dare_ties, magnitude_prune,"
                        + " svd, ties_svd, dare_linear_svd, dare_ties_svd, magnitude_prune_svd)");
            }
        }

        public String peftName() { return name().toLowerCase(Locale.ROOT); }

        boolean usesDensity() { return this != CAT && this != LINEAR && this != SVD; }

        /** Whether the result is a truncated SVD of the combined full deltas. */
        public boolean isSvd() { return name().endsWith("SVD"); }

        /** The method applied to the full deltas before the SVD (LINEAR for svd's task arithmetic). */
        Method pruning() {
            return switch (this) {
                case SVD -> LINEAR;
                case TIES_SVD -> TIES;
                case DARE_LINEAR_SVD -> DARE_LINEAR;
                case DARE_TIES_SVD -> DARE_TIES;
                case MAGNITUDE_PRUNE_SVD -> MAGNITUDE_PRUNE;
                default -> this;
            };
        }
    }

    /**
     * Options of a merge.
     *
     * @param method             combination type
     * @param density            fraction of entries kept by the pruning methods (null for cat / linear)
     * @param majoritySignMethod "total" or "frequency" (ties and dare_ties)
     * @param seed               seed of DARE's random pruning (torch's RNG stream cannot be reproduced)
     * @param dareRescale        divide DARE survivors by density (PEFT 0.19+); PEFT 0.12-0.18 did not
     * @param rsloraFix          write use_rslora = false so that the merged scaling is 1 (PEFT keeps
     *                           rsLoRA and scales by sqrt(r'))
     * @param svdRank            svd: rank of the result (null: the largest adapter rank, as PEFT)
     * @param svdClamp           svd: clamp both factors to the q-quantile of their values (PEFT's svd_clamp), or null
     */
    public record Options(Method method, Double density, String majoritySignMethod, long seed, boolean dareRescale,
                          boolean rsloraFix, Integer svdRank, Double svdClamp) {
        public Options {
            if (majoritySignMethod == null) majoritySignMethod = "total";
            if (!majoritySignMethod.equals("total") && !majoritySignMethod.equals("frequency"))
                throw new LoriException("majority sign method must be total or frequency, got " + majoritySignMethod);
            if (svdRank != null && svdRank < 1) throw new LoriException("svd rank must be at least 1, got " + svdRank);
            if (svdClamp != null && !(svdClamp >= 0 && svdClamp <= 1))
                throw new LoriException("svd clamp must be a quantile within [0, 1], got " + svdClamp);
        }

        public Options(Method method, Double density, String majoritySignMethod, long seed, boolean dareRescale, boolean rsloraFix) {
            this(method, density, majoritySignMethod, seed, dareRescale, rsloraFix, null, null);
        }

        public static Options of(Method m) { return new Options(m, null, "total", 0, true, false, null, null); }
    }

    /** Merges the adapters with the given weights; warnings (e.g. the rsLoRA quirk) go to {@code warn}. */
    public static LoraAdapter merge(List<LoraAdapter> adapters, double[] weights, Options opt, Consumer<String> warn) {
        if (adapters.isEmpty()) throw new LoriException("merge needs at least one adapter");
        if (weights.length != adapters.size()) throw new IllegalArgumentException("one weight per adapter");
        Method method = adapters.size() == 1 ? Method.LINEAR : opt.method;
        if (adapters.size() == 1 && opt.method != Method.LINEAR)
            warn.accept("a single adapter is always merged with 'linear' (as PEFT does)");
        if (method.usesDensity()) {
            if (opt.density == null) throw new LoriException(method.peftName() + " needs --density");
            if (!(opt.density >= 0 && opt.density <= 1))
                throw new LoriException("density must be within [0, 1], got " + opt.density);
        }

        // new rank: PEFT takes each adapter's largest possible rank (r or any rank_pattern value)
        int[] ranks = adapters.stream().mapToInt(a -> a.config().maxRank()).toArray();
        int newRank;
        if (method == Method.CAT) {
            newRank = Arrays.stream(ranks).sum();
        } else if (method.isSvd()) {
            newRank = opt.svdRank != null ? opt.svdRank : Arrays.stream(ranks).max().orElseThrow();
        } else {
            for (int i = 1; i < ranks.length; i++)
                if (ranks[i] != ranks[0])
                    throw new LoriException("ranks cannot be linearly merged: " + adapters.get(0).label() + " has r = "
                            + ranks[0] + ", " + adapters.get(i).label() + " has r = " + ranks[i]
                            + " (" + method.peftName() + " needs equal ranks; use cat)");
            newRank = ranks[0];
        }

        AdapterConfig first = adapters.get(0).config();
        List<String> targets = null;
        String regex = null;
        boolean anyRegex = adapters.stream().anyMatch(a -> a.config().targetModulesRegex() != null);
        boolean anyList = adapters.stream().anyMatch(a -> a.config().targetModules() != null);
        if (anyRegex && anyList)
            throw new LoriException("cannot merge adapters whose target_modules mix a list and a regex string (PEFT refuses too)");
        if (anyRegex) {
            StringBuilder sb = new StringBuilder();
            for (LoraAdapter a : adapters) {
                if (!sb.isEmpty()) sb.append('|');
                sb.append('(').append(a.config().targetModulesRegex()).append(')');
            }
            regex = sb.toString();
        } else {
            LinkedHashSet<String> union = new LinkedHashSet<>();
            for (LoraAdapter a : adapters) union.addAll(a.config().targetModules());
            targets = List.copyOf(union);
        }
        boolean rslora = first.useRslora();
        if (rslora) {
            if (opt.rsloraFix) {
                warn.accept("the first adapter uses rsLoRA; writing use_rslora = false so that the merged scaling is 1");
                rslora = false;
            } else {
                warn.accept("the first adapter uses rsLoRA: the merged adapter keeps use_rslora = true with lora_alpha = r' = "
                        + newRank + ", so PEFT scales it by sqrt(r') = " + String.format(Locale.ROOT, "%.4g", Math.sqrt(newRank))
                        + " instead of 1 (PEFT's behaviour, reproduced; --rslora-fix writes use_rslora = false)");
            }
        }
        AdapterConfig config = first.with(newRank, newRank, targets, regex, Map.of(), Map.of()).withRslora(rslora);
        double newScaling = AdapterConfig.scaling(newRank, newRank, rslora);

        // union of module names, in each adapter's order, where the merged config puts a LoRA layer: PEFT creates
        // the merged adapter from the first adapter's config, so its layers_to_transform (or exclude_modules) holds
        List<String> outside = new ArrayList<>();
        Map<String, List<Integer>> present = new LinkedHashMap<>();
        for (int i = 0; i < adapters.size(); i++)
            for (String name : adapters.get(i).modules().keySet()) {
                if (!config.targets(name)) {
                    if (!outside.contains(name)) outside.add(name);
                    continue;
                }
                present.computeIfAbsent(name, k -> new ArrayList<>()).add(i);
            }
        if (!outside.isEmpty())
            warn.accept(outside.size() + " module(s) (e.g. " + outside.getFirst() + ") are not merged: the merged config, copied from "
                    + adapters.getFirst().label() + " as PEFT does, does not target them (layers_to_transform "
                    + first.layersToTransform() + ", exclude_modules " + first.excludeModules() + ")");
        if (present.isEmpty()) throw new LoriException("no module is targeted by the merged config (copied from " + adapters.getFirst().label() + ")");

        List<LoraAdapter.Module> out = new ArrayList<>();
        for (var e : present.entrySet()) {
            String name = e.getKey();
            List<LoraAdapter.Module> mods = new ArrayList<>();
            List<Double> ws = new ArrayList<>(), raw = new ArrayList<>();
            for (int i : e.getValue()) {
                LoraAdapter.Module m = adapters.get(i).module(name);
                LoraAdapter.Module ref = adapters.get(e.getValue().getFirst()).module(name);
                if (m.in() != ref.in() || m.out() != ref.out())
                    throw new LoriException("cannot merge " + name + ": " + adapters.get(i).label() + " has [out " + m.out()
                            + ", in " + m.in() + "], another adapter [out " + ref.out() + ", in " + ref.in() + "]");
                mods.add(m);
                raw.add(weights[i]);
                ws.add(weights[i] * m.scaling());
            }
            LoraAdapter.Module m0 = mods.getFirst();
            if (method.isSvd() && newRank > Math.min(m0.in(), m0.out()))   // PEFT fails there too (Vh has min(out, in) rows)
                throw new LoriException("--svd-rank " + newRank + " exceeds the rank an SVD of " + name + " [" + m0.out() + " x "
                        + m0.in() + "] can have (" + Math.min(m0.in(), m0.out()) + ")");
            float[][] ab = method == Method.CAT ? cat(mods, weights, e.getValue(), adapters, newRank)
                    : method.isSvd() ? svd(name, mods, raw, ws, method, opt, newRank)
                    : combine(name, mods, ws, method, opt, newRank);
            out.add(new LoraAdapter.Module(name, m0.layer(), m0.proj(), newRank, m0.in(), m0.out(), newRank, newScaling, ab[0], ab[1]));
        }
        // embeddings carried by adapters (resized vocabulary): the last one wins, as with PEFT's load_adapter
        return new LoraAdapter(config, out, lastEmbed(adapters), lastHead(adapters), adapters.getFirst().dtype(), null);
    }

    private static org.lori4j.tensor.Tensor lastEmbed(List<LoraAdapter> as) {
        for (int i = as.size() - 1; i >= 0; i--) if (as.get(i).embedTokens() != null) return as.get(i).embedTokens();
        return null;
    }

    private static org.lori4j.tensor.Tensor lastHead(List<LoraAdapter> as) {
        for (int i = as.size() - 1; i >= 0; i--) if (as.get(i).lmHead() != null) return as.get(i).lmHead();
        return null;
    }

    /** cat: A' rows = the blocks (A_i * w_i) * s_i in f32 as torch computes them, B' columns = the B_i; zero-padded to r'. */
    private static float[][] cat(List<LoraAdapter.Module> mods, double[] weights, List<Integer> idx, List<LoraAdapter> adapters, int newRank) {
        LoraAdapter.Module m0 = mods.getFirst();
        int in = m0.in(), outF = m0.out();
        float[] a = new float[newRank * in];
        float[] b = new float[outF * newRank];
        int off = 0;
        for (int k = 0; k < mods.size(); k++) {
            LoraAdapter.Module m = mods.get(k);
            float w = (float) weights[idx.get(k)], s = (float) m.scaling();
            for (int i = 0; i < m.r() * in; i++) a[off * in + i] = (m.a()[i] * w) * s;
            for (int o = 0; o < outF; o++)
                System.arraycopy(m.b(), o * m.r(), b, o * newRank + off, m.r());
            off += m.r();
        }
        return new float[][]{a, b};
    }

    /**
     * The svd family: PEFT's _svd_generalized_task_arithmetic_weighted_adapter as PEFT 0.21.0 computes it (checked;
     * PEFT PR #3111): the deltas get_delta_weight_i = s_i B_i A_i (f32) are combined with the weights w_i by the
     * method's merge_utils function (task arithmetic for svd: D = sum_i w_i s_i B_i A_i, the product cat gives
     * exactly), and B' = U_k diag(S_k), A' = Vh_k of D's SVD (see {@link TruncatedSvd}; for svd itself without
     * forming D), then optionally both clamped to [-q, q] with q = the clamp-quantile of all their values.
     */
    private static float[][] svd(String name, List<LoraAdapter.Module> mods, List<Double> weights, List<Double> scaledWeights,
                                 Method method, Options opt, int newRank) {
        LoraAdapter.Module m0 = mods.getFirst();
        int n = mods.size(), out = m0.out(), in = m0.in();
        TruncatedSvd.Factors f;
        if (method == Method.SVD) {
            double[] coef = new double[n];
            int[] ranks = new int[n];
            for (int i = 0; i < n; i++) {
                coef[i] = scaledWeights.get(i);
                ranks[i] = mods.get(i).r();
            }
            f = TruncatedSvd.ofSum(mods.stream().map(LoraAdapter.Module::b).toList(),
                    mods.stream().map(LoraAdapter.Module::a).toList(), ranks, coef, out, in, newRank);
        } else {
            List<float[]> deltas = new ArrayList<>(n);
            float[] w = new float[n];
            for (int i = 0; i < n; i++) {
                deltas.add(delta(mods.get(i)));
                w[i] = (float) (double) weights.get(i);
            }
            float[] d = combineTensors(deltas, w, method.pruning(), opt, name + ".delta");
            f = TruncatedSvd.ofDense(d, out, in, newRank);
        }
        float[] a = f.a(), b = f.b();
        Double clamp = opt.svdClamp;
        if (clamp != null) {
            float[] all = new float[a.length + b.length];
            System.arraycopy(b, 0, all, 0, b.length);
            System.arraycopy(a, 0, all, b.length, a.length);
            float hi = TruncatedSvd.quantile(all, clamp), lo = -hi;
            for (int i = 0; i < a.length; i++) a[i] = Math.min(Math.max(a[i], lo), hi);
            for (int i = 0; i < b.length; i++) b[i] = Math.min(Math.max(b[i], lo), hi);
        }
        return new float[][]{a, b};
    }

    /** PEFT's get_delta_weight: s (B A) in f32, [out, in] (torch rounds B A before scaling: at most an ulp apart). */
    private static float[] delta(LoraAdapter.Module m) {
        float[] d = new float[m.out() * m.in()];
        org.lori4j.tensor.MatMul.gemm(d, m.b(), m.a(), m.out(), m.r(), m.in(), false, false, (float) m.scaling(), false);
        return d;
    }

    /** linear / ties / dare / magnitude_prune on A and on B separately. */
    private static float[][] combine(String name, List<LoraAdapter.Module> mods, List<Double> ws, Method method, Options opt, int newRank) {
        LoraAdapter.Module m0 = mods.getFirst();
        for (LoraAdapter.Module m : mods)
            if (m.r() != m0.r())
                throw new LoriException("ranks cannot be linearly merged: module " + name + " has ranks " + m0.r() + " and " + m.r());
        int n = mods.size();
        float[] wA = new float[n], wB = new float[n];
        for (int i = 0; i < n; i++) {
            double ws_ = ws.get(i);
            double root = Math.sqrt(Math.abs(ws_));
            wA[i] = (float) (ws_ >= 0 ? root : -root);
            wB[i] = (float) root;
        }
        List<float[]> as = mods.stream().map(LoraAdapter.Module::a).toList();
        List<float[]> bs = mods.stream().map(LoraAdapter.Module::b).toList();
        float[] a = combineTensors(as, wA, method, opt, name + ".lora_A");
        float[] b = combineTensors(bs, wB, method, opt, name + ".lora_B");
        int r = m0.r();
        if (r == newRank) return new float[][]{a, b};
        // a module with a smaller (rank_pattern) rank: pad A with zero rows, B with zero columns
        float[] pa = Arrays.copyOf(a, newRank * m0.in());
        float[] pb = new float[m0.out() * newRank];
        for (int o = 0; o < m0.out(); o++) System.arraycopy(b, o * r, pb, o * newRank, r);
        return new float[][]{pa, pb};
    }

    /** merge_utils on one list of same-shaped task tensors. */
    static float[] combineTensors(List<float[]> tensors, float[] w, Method method, Options opt, String what) {
        int n = tensors.size(), len = tensors.getFirst().length;
        List<float[]> t = new ArrayList<>(tensors);
        switch (method) {
            case MAGNITUDE_PRUNE, TIES -> t.replaceAll(x -> magnitudePrune(x, opt.density));
            case DARE_LINEAR, DARE_TIES -> {
                for (int i = 0; i < n; i++) {
                    SplittableRandom rng = new SplittableRandom(LoraAdapter.moduleSeed(opt.seed, what + "#" + i));
                    t.set(i, randomPrune(t.get(i), opt.density, opt.dareRescale, rng));
                }
            }
            default -> { }
        }
        float[] out = new float[len];
        if (method == Method.TIES || method == Method.DARE_TIES) {
            boolean total = opt.majoritySignMethod.equals("total");
            for (int j = 0; j < len; j++) {
                float mag = 0;
                for (int i = 0; i < n; i++) mag += total ? t.get(i)[j] : Math.signum(t.get(i)[j]);
                float majority = mag >= 0 ? 1f : -1f;
                float sum = 0, kept = 0;
                for (int i = 0; i < n; i++) {
                    float x = t.get(i)[j];
                    if (Math.signum(x) == majority) { sum += x * w[i]; kept += 1; }
                }
                out[j] = sum / Math.max(kept, 1f);
            }
        } else {
            for (int j = 0; j < len; j++) {
                float sum = 0;
                for (int i = 0; i < n; i++) sum += t.get(i)[j] * w[i];
                out[j] = sum;
            }
        }
        return out;
    }

    /**
     * PEFT's magnitude_based_pruning: keeps exactly k = int(density * n) entries of largest |x| (ties at
     * the k-th value resolved by lower index first; torch.topk leaves that order unspecified); density >= 1
     * keeps everything.
     */
    static float[] magnitudePrune(float[] x, double density) {
        if (density >= 1) return x.clone();
        int k = (int) (density * x.length);
        float[] out = new float[x.length];
        if (k <= 0) return out;
        int[] bits = new int[x.length];
        for (int i = 0; i < x.length; i++) bits[i] = Float.floatToRawIntBits(x[i]) & 0x7fffffff;
        int[] sorted = bits.clone();
        Arrays.sort(sorted);
        int thr = sorted[x.length - k];
        int above = 0;
        for (int v : bits) if (v > thr) above++;
        int tiesLeft = k - above;
        for (int i = 0; i < x.length; i++) {
            if (bits[i] > thr) out[i] = x[i];
            else if (bits[i] == thr && tiesLeft > 0) { out[i] = x[i]; tiesLeft--; }
        }
        return out;
    }

    /** DARE: keep each entry with probability density (Bernoulli), optionally divide survivors by density. */
    static float[] randomPrune(float[] x, double density, boolean rescale, SplittableRandom rng) {
        if (density >= 1) return x.clone();
        float[] out = new float[x.length];
        float d = (float) density;
        for (int i = 0; i < x.length; i++) {
            if (rng.nextDouble() < density) out[i] = rescale ? x[i] / d : x[i];
        }
        return out;
    }
}
