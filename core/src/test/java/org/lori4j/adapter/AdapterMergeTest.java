package org.lori4j.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.lori4j.TestPaths;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Merges against PEFT add_weighted_adapter semantics re-implemented in torch (make_adapter_fixtures.py). */
class AdapterMergeTest {
    private static final Path FIX = TestPaths.fixture("adapter");

    private static LoraAdapter ad(String name) { return LoraAdapter.load(FIX.resolve(name)); }

    private static void assertClose(float[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++)
            assertEquals(expected[i], actual[i], tol * (1 + Math.abs(expected[i])), what + " [" + i + "]");
    }

    @Test
    void everyFixtureCaseMatchesTheReference() {
        JsonNode spec = Json.read(FIX.resolve("merges.json"));
        for (var it = spec.fields(); it.hasNext(); ) {
            var e = it.next();
            JsonNode c = e.getValue();
            List<LoraAdapter> ads = new ArrayList<>();
            for (JsonNode n : c.get("adapters")) ads.add(ad(n.asText()));
            double[] w = new double[c.get("weights").size()];
            for (int i = 0; i < w.length; i++) w[i] = c.get("weights").get(i).asDouble();
            AdapterMerge.Method m = AdapterMerge.Method.parse(c.get("method").asText());
            Double density = c.get("density").isNull() ? null : c.get("density").asDouble();
            List<String> warnings = new ArrayList<>();
            Integer svdRank = c.path("svd_rank").isNumber() ? c.get("svd_rank").asInt() : null;
            Double svdClamp = c.path("svd_clamp").isNumber() ? c.get("svd_clamp").asDouble() : null;
            LoraAdapter merged = AdapterMerge.merge(ads, w, new AdapterMerge.Options(m, density,
                    c.get("majority_sign_method").asText(), 0, true, false, svdRank, svdClamp), warnings::add);
            // svd: torch's f32 LAPACK SVD against lori4j's double one, so agreement to f32 rounding of the factors
            double tol = m.isSvd() ? 2e-5 : 1e-6;
            LoraAdapter expected = ad("merge_" + e.getKey());
            AdapterConfig ec = expected.config(), mc = merged.config();
            assertEquals(ec.r(), mc.r(), e.getKey());
            assertEquals(ec.loraAlpha(), mc.loraAlpha(), e.getKey());
            assertEquals(ec.targetModules(), mc.targetModules(), e.getKey());
            assertEquals(ec.targetModulesRegex(), mc.targetModulesRegex(), e.getKey());
            assertTrue(mc.rankPattern().isEmpty() && mc.alphaPattern().isEmpty());
            assertEquals(expected.modules().keySet(), merged.modules().keySet(), e.getKey());
            for (LoraAdapter.Module em : expected.modules().values()) {
                LoraAdapter.Module mm = merged.module(em.name());
                assertClose(em.a(), mm.a(), tol, e.getKey() + " " + em.keyA());
                assertClose(em.b(), mm.b(), tol, e.getKey() + " " + em.keyB());
                assertEquals(1.0, mm.scaling());
            }
        }
    }

    @Test
    void catProductEqualsTheWeightedSumExactly() {
        LoraAdapter a = ad("lora_a"), b = ad("lora_b"), c = ad("lora_r8");
        catMatchesTheWeightedSum(a, b, c);
        assertEquals(4 + 4 + 8, AdapterMerge.merge(List.of(a, b, c), new double[]{1, 1, 1},
                AdapterMerge.Options.of(AdapterMerge.Method.CAT), x -> { }).config().r());
        // the first adapter lacks most modules (other targets): each module's blocks must take the weights of the
        // adapters that hold it, not the first ones in the list
        List<LoraAdapter.Module> few = a.modules().values().stream()
                .filter(x -> x.proj().equals("q_proj") || x.proj().equals("v_proj")).toList();
        LoraAdapter partial = a.with(a.config().with(a.config().r(), a.config().loraAlpha(), List.of("q_proj", "v_proj"), null,
                a.config().rankPattern(), a.config().alphaPattern()), few);
        assertTrue(partial.modules().size() < b.modules().size());
        catMatchesTheWeightedSum(partial, b, c);
        catMatchesTheWeightedSum(c, partial, b);   // (b first would bring PEFT's rsLoRA quirk, tested below)
    }

    private static void catMatchesTheWeightedSum(LoraAdapter a, LoraAdapter b, LoraAdapter c) {
        double[] w = {0.7, -1.2, 0.3};
        LoraAdapter m = AdapterMerge.merge(List.of(a, b, c), w, AdapterMerge.Options.of(AdapterMerge.Method.CAT), x -> { });
        java.util.Set<String> union = new java.util.TreeSet<>(a.modules().keySet());
        union.addAll(b.modules().keySet());
        union.addAll(c.modules().keySet());
        assertEquals(union, new java.util.TreeSet<>(m.modules().keySet()));
        for (LoraAdapter.Module mm : m.modules().values()) {
            double[] expected = new double[mm.out() * mm.in()];
            LoraAdapter[] srcs = {a, b, c};
            for (int s = 0; s < 3; s++) {
                LoraAdapter.Module x = srcs[s].module(mm.name());
                if (x == null) continue;
                for (int o = 0; o < x.out(); o++)
                    for (int i = 0; i < x.in(); i++) {
                        double acc = 0;
                        for (int j = 0; j < x.r(); j++) acc += (double) x.b()[o * x.r() + j] * x.a()[j * x.in() + i];
                        expected[o * x.in() + i] += w[s] * x.scaling() * acc;
                    }
            }
            for (int o = 0; o < mm.out(); o++)
                for (int i = 0; i < mm.in(); i++) {
                    double acc = 0;
                    for (int j = 0; j < mm.r(); j++) acc += (double) mm.b()[o * mm.r() + j] * mm.a()[j * mm.in() + i];
                    assertEquals(expected[o * mm.in() + i], mm.scaling() * acc, 1e-6 * (1 + Math.abs(expected[o * mm.in() + i])), mm.name());
                }
        }
    }

    @Test
    void rsloraQuirkIsReproducedAndWarned() {
        List<String> warnings = new ArrayList<>();
        LoraAdapter m = AdapterMerge.merge(List.of(ad("lora_b"), ad("lora_a")), new double[]{1, 1},
                AdapterMerge.Options.of(AdapterMerge.Method.CAT), warnings::add);
        assertTrue(m.config().useRslora());
        assertEquals(8, m.config().loraAlpha());
        assertEquals(Math.sqrt(8), m.modules().values().iterator().next().scaling(), 1e-12);
        assertTrue(warnings.stream().anyMatch(s -> s.contains("sqrt(r')")), warnings.toString());
        LoraAdapter fixed = AdapterMerge.merge(List.of(ad("lora_b"), ad("lora_a")), new double[]{1, 1},
                new AdapterMerge.Options(AdapterMerge.Method.CAT, null, "total", 0, true, true), x -> { });
        assertFalse(fixed.config().useRslora());
        assertEquals(1.0, fixed.modules().values().iterator().next().scaling());
    }

    @Test
    void refusesWhatPeftRefuses() {
        LoriException e = assertThrows(LoriException.class, () -> AdapterMerge.merge(List.of(ad("lora_a"), ad("lora_r8")),
                new double[]{1, 1}, AdapterMerge.Options.of(AdapterMerge.Method.LINEAR), x -> { }));
        assertTrue(e.getMessage().contains("ranks cannot be linearly merged"), e.getMessage());
        e = assertThrows(LoriException.class, () -> AdapterMerge.merge(List.of(ad("lora_a"), ad("lora_c")),
                new double[]{1, 1}, AdapterMerge.Options.of(AdapterMerge.Method.CAT), x -> { }));
        assertTrue(e.getMessage().contains("mix a list and a regex"), e.getMessage());
        e = assertThrows(LoriException.class, () -> AdapterMerge.merge(List.of(ad("lora_a"), ad("lori_s")),
                new double[]{1, 1}, AdapterMerge.Options.of(AdapterMerge.Method.TIES), x -> { }));
        assertTrue(e.getMessage().contains("--density"), e.getMessage());
    }

    @Test
    void svdWithRankAtLeastTheDeltasRankReproducesPeftsWeightedSum() {
        // lora_a (r 4) and lora_r8 (r 8, q/v only): rank <= 12, so a rank-12 SVD loses nothing and
        // B'A' = sum_i w_i s_i B_i A_i (as PEFT 0.21.0; cat gives the same product exactly)
        LoraAdapter a = ad("lora_a"), b = ad("lora_r8");
        double[] w = {0.7, -1.1};
        LoraAdapter m = AdapterMerge.merge(List.of(a, b), w,
                new AdapterMerge.Options(AdapterMerge.Method.SVD, null, "total", 0, true, false, 12, null), x -> { });
        assertEquals(12, m.config().r());
        for (String name : List.of("model.layers.0.self_attn.q_proj", "model.layers.1.mlp.down_proj")) {
            LoraAdapter.Module mm = m.module(name);
            double[] expected = new double[mm.out() * mm.in()];
            int idx = 0;
            for (LoraAdapter ad : List.of(a, b)) {
                LoraAdapter.Module x = ad.module(name);
                double c = w[idx++];
                if (x == null) continue;
                c *= x.scaling();
                for (int o = 0; o < x.out(); o++)
                    for (int i = 0; i < x.in(); i++) {
                        double sum = 0;
                        for (int r = 0; r < x.r(); r++) sum += (double) x.b()[o * x.r() + r] * x.a()[r * x.in() + i];
                        expected[o * x.in() + i] += c * sum;
                    }
            }
            double max = 0;
            for (double v : expected) max = Math.max(max, Math.abs(v));
            for (int o = 0; o < mm.out(); o++)
                for (int i = 0; i < mm.in(); i++) {
                    double got = 0;
                    for (int r = 0; r < mm.r(); r++) got += (double) mm.b()[o * mm.r() + r] * mm.a()[r * mm.in() + i];
                    assertEquals(expected[o * mm.in() + i], got, 1e-6 * max, name + " [" + o + ", " + i + "]");
                }
            // A's rows are orthonormal or zero (components beyond the rank)
            for (int r1 = 0; r1 < mm.r(); r1++)
                for (int r2 = r1; r2 < mm.r(); r2++) {
                    double d = 0, n1 = 0;
                    for (int i = 0; i < mm.in(); i++) {
                        d += (double) mm.a()[r1 * mm.in() + i] * mm.a()[r2 * mm.in() + i];
                        n1 += (double) mm.a()[r1 * mm.in() + i] * mm.a()[r1 * mm.in() + i];
                    }
                    assertEquals(r1 == r2 ? (n1 > 0.5 ? 1 : 0) : 0, d, 1e-6, name + " A rows " + r1 + "," + r2);
                }
        }
        assertTrue(assertThrows(LoriException.class, () -> AdapterMerge.Method.parse("svd_ties")).getMessage()
                .startsWith("unknown merge method 'svd_ties'"));
        assertThrows(LoriException.class, () -> new AdapterMerge.Options(AdapterMerge.Method.SVD, null, "total", 0, true, false, 0, null));
        assertThrows(LoriException.class, () -> new AdapterMerge.Options(AdapterMerge.Method.SVD, null, "total", 0, true, false, null, 1.5));
    }

    @Test
    void dareSvdIsReproducibleAndAtDensityOneIsSvd() {
        List<LoraAdapter> ads = List.of(ad("lora_a"), ad("lora_r8"));
        double[] w = {1.0, -0.5};
        LoraAdapter svd = AdapterMerge.merge(ads, w, AdapterMerge.Options.of(AdapterMerge.Method.SVD), x -> { });
        LoraAdapter full = AdapterMerge.merge(ads, w,
                new AdapterMerge.Options(AdapterMerge.Method.DARE_LINEAR_SVD, 1.0, "total", 3, true, false), x -> { });
        LoraAdapter d1 = AdapterMerge.merge(ads, w,
                new AdapterMerge.Options(AdapterMerge.Method.DARE_TIES_SVD, 0.5, "total", 3, true, false), x -> { });
        LoraAdapter d2 = AdapterMerge.merge(ads, w,
                new AdapterMerge.Options(AdapterMerge.Method.DARE_TIES_SVD, 0.5, "total", 3, true, false), x -> { });
        LoraAdapter d3 = AdapterMerge.merge(ads, w,
                new AdapterMerge.Options(AdapterMerge.Method.DARE_TIES_SVD, 0.5, "total", 4, true, false), x -> { });
        boolean differs = false;
        for (LoraAdapter.Module m : svd.modules().values()) {
            // density 1 keeps every entry: the dense path must give what the low-rank path gives
            assertClose(m.a(), full.module(m.name()).a(), 1e-5, "dare_linear_svd(1) " + m.keyA());
            assertClose(m.b(), full.module(m.name()).b(), 1e-5, "dare_linear_svd(1) " + m.keyB());
            assertArrayEquals(d1.module(m.name()).a(), d2.module(m.name()).a(), m.keyA());
            differs |= !java.util.Arrays.equals(d1.module(m.name()).a(), d3.module(m.name()).a());
        }
        assertTrue(differs, "another seed prunes other entries");
    }

    @Test
    void lowRankSvdPiecesAgainstHandValues() {
        // torch.quantile's linear interpolation: [1, 2, 3, 4] at 0.5 -> 2.5, at 0.9 -> position 2.7 -> 3.7
        assertEquals(2.5f, TruncatedSvd.quantile(new float[]{4, 1, 3, 2}, 0.5));
        assertEquals(3.7f, TruncatedSvd.quantile(new float[]{4, 1, 3, 2}, 0.9), 1e-6f);
        // [[3, 0], [4, 5]]: singular values sqrt(45) and sqrt(5) (det 15, Frobenius^2 50)
        double[][][] usv = TruncatedSvd.jacobiSvd(new double[][]{{3, 0}, {4, 5}});
        assertEquals(Math.sqrt(45), usv[1][0][0], 1e-12);
        assertEquals(Math.sqrt(5), usv[1][0][1], 1e-12);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                double v = 0;
                for (int c = 0; c < 2; c++) v += usv[0][i][c] * usv[1][0][c] * usv[2][j][c];
                assertEquals(new double[][]{{3, 0}, {4, 5}}[i][j], v, 1e-12);
            }
    }

    @Test
    void singleAdapterIsMergedLinearly() {
        List<String> warnings = new ArrayList<>();
        LoraAdapter a = ad("lora_a");
        LoraAdapter m = AdapterMerge.merge(List.of(a), new double[]{2.0}, AdapterMerge.Options.of(AdapterMerge.Method.CAT), warnings::add);
        assertEquals(4, m.config().r());
        assertFalse(warnings.isEmpty());
        // linear on one adapter: A' = sqrt(w s) A, B' = sqrt(w s) B
        LoraAdapter.Module x = a.modules().values().iterator().next(), y = m.module(x.name());
        float f = (float) Math.sqrt(2.0 * x.scaling());
        for (int i = 0; i < x.a().length; i++) assertEquals(x.a()[i] * f, y.a()[i], 1e-7f);
    }

    @Test
    void dareKeepsAboutDensityAndRescalesSurvivors() {
        LoraAdapter a = ad("lora_a"), s = ad("lori_s");
        double d = 0.3;
        AdapterMerge.Options opt = new AdapterMerge.Options(AdapterMerge.Method.DARE_LINEAR, d, "total", 42, true, false);
        // weight 0 on the second adapter: merged entries are either 0 or (x * sqrt(w s)) / d
        LoraAdapter m = AdapterMerge.merge(List.of(a, s), new double[]{1.0, 0.0}, opt, x -> { });
        long kept = 0, total = 0;
        for (LoraAdapter.Module x : a.modules().values()) {
            float f = (float) Math.sqrt(x.scaling());
            float[] got = m.module(x.name()).a();
            for (int i = 0; i < got.length; i++) {
                total++;
                if (got[i] != 0) { kept++; assertEquals(x.a()[i] * f / (float) d, got[i], 1e-6f * (1 + Math.abs(got[i]))); }
            }
        }
        double frac = (double) kept / total, sd = Math.sqrt(d * (1 - d) / total);
        assertTrue(Math.abs(frac - d) < 5 * sd, "kept fraction " + frac);
        // same seed, same result; another seed, another mask
        LoraAdapter again = AdapterMerge.merge(List.of(a, s), new double[]{1.0, 0.0}, opt, x -> { });
        LoraAdapter other = AdapterMerge.merge(List.of(a, s), new double[]{1.0, 0.0},
                new AdapterMerge.Options(AdapterMerge.Method.DARE_LINEAR, d, "total", 43, true, false), x -> { });
        String k = a.modules().keySet().iterator().next();
        assertArrayEquals(m.module(k).a(), again.module(k).a());
        assertFalse(java.util.Arrays.equals(m.module(k).a(), other.module(k).a()));
    }

    @Test
    void magnitudePruneKeepsExactlyK() {
        float[] x = {3, -3, 1, 0, -5, 3, 2};
        float[] p = AdapterMerge.magnitudePrune(x, 0.5); // k = 3: -5 and two of the three |3| (lowest index first)
        assertArrayEquals(new float[]{3, -3, 0, 0, -5, 0, 0}, p);
        assertArrayEquals(x, AdapterMerge.magnitudePrune(x, 1.0));
        assertArrayEquals(new float[7], AdapterMerge.magnitudePrune(x, 0.1));
    }

    @Test
    void theMergedAdapterHoldsOnlyTheModulesItsCopiedConfigTargets() {
        // PEFT builds the merged adapter from the first adapter's config: with layers_to_transform [0] copied, only
        // layer 0 gets the merged LoRA layers, and the merged folder must load again (its modules all targeted)
        LoraAdapter a = ad("lora_a"), b = ad("lora_b");
        AdapterConfig c = a.config();
        AdapterConfig only0 = new AdapterConfig(c.r(), c.loraAlpha(), c.loraDropout(), c.targetModules(), c.targetModulesRegex(),
                c.excludeModules(), c.bias(), c.fanInFanOut(), c.useRslora(), c.useDora(), c.rankPattern(), c.alphaPattern(),
                c.modulesToSave(), List.of(0), c.layersPattern(), c.baseModelNameOrPath(), c.taskType(), c.inferenceMode(),
                c.initLoraWeights());
        LoraAdapter first = a.with(only0, a.modules().values().stream().filter(m -> m.layer() == 0).toList());
        assertTrue(b.modules().values().stream().anyMatch(m -> m.layer() != 0), "the fixture needs modules beyond layer 0");
        List<String> warnings = new ArrayList<>();
        LoraAdapter merged = AdapterMerge.merge(List.of(first, b), new double[]{1, 1}, AdapterMerge.Options.of(AdapterMerge.Method.CAT),
                warnings::add);
        assertEquals(List.of(0), merged.config().layersToTransform());
        assertFalse(merged.modules().isEmpty());
        for (LoraAdapter.Module m : merged.modules().values()) {
            assertEquals(0, m.layer(), m.name());
            assertTrue(merged.config().targets(m.name()), m.name());
        }
        java.util.Set<String> layer0 = new java.util.HashSet<>(first.modules().keySet());
        b.modules().values().stream().filter(m -> m.layer() == 0).forEach(m -> layer0.add(m.name()));
        assertEquals(layer0, merged.modules().keySet());
        assertTrue(warnings.stream().anyMatch(w -> w.contains("are not merged")), warnings.toString());
    }
}
