package org.lori4j.adapter;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.TestPaths;
import org.lori4j.io.LoriException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** Mask extraction against masks computed by the LoRI rule in torch (src/test/python/make_adapter_fixtures.py). */
class MasksTest {
    private static final Path FIX = TestPaths.fixture("adapter");
    private static final double[] SPARSITIES = {0.1, 0.5, 0.9, 0.99};

    static List<Masks.BMatrix> bMatrices(LoraAdapter ad) {
        List<Masks.BMatrix> bs = new ArrayList<>();
        for (LoraAdapter.Module m : ad.modules().values()) bs.add(new Masks.BMatrix(m.keyB(), m.out(), m.r(), m.b()));
        return bs;
    }

    private static void assertSameMasks(Map<String, Masks.Mask> expected, Map<String, Masks.Mask> actual, String what) {
        assertEquals(expected.keySet(), actual.keySet(), what);
        for (var e : expected.entrySet()) {
            Masks.Mask a = actual.get(e.getKey());
            assertEquals(e.getValue().rows(), a.rows());
            assertEquals(e.getValue().cols(), a.cols());
            assertArrayEquals(e.getValue().keep(), a.keep(), what + " " + e.getKey());
        }
    }

    @Test
    void everyGranularityMatchesTheReferenceBitForBit() {
        LoraAdapter d = LoraAdapter.load(FIX.resolve("lori_d"));
        List<Masks.BMatrix> bs = bMatrices(d);
        Map<String, Masks.Mask> old = Masks.read(FIX.resolve("masks/old_mask.safetensors"));
        for (Masks.Granularity g : Masks.Granularity.values()) {
            String gran = g.name().toLowerCase();
            List<Masks.Result> plain = Masks.extract(bs, SPARSITIES, g, null);
            List<Masks.Result> excl = Masks.extract(bs, SPARSITIES, g, old);
            for (int i = 0; i < SPARSITIES.length; i++) {
                String file = Masks.pyRepr(SPARSITIES[i]) + "_mask.safetensors";
                assertSameMasks(Masks.read(FIX.resolve("masks").resolve(gran).resolve(file)), plain.get(i).masks(), gran + " " + file);
                assertSameMasks(Masks.read(FIX.resolve("masks/exclude").resolve(gran).resolve(file)), excl.get(i).masks(), "exclude " + gran + " " + file);
                // excluded entries are never kept
                for (var e : excl.get(i).masks().entrySet()) {
                    boolean[] o = old.get(e.getKey()).keep();
                    for (int j = 0; j < o.length; j++) if (o[j]) assertFalse(e.getValue().keep()[j]);
                }
            }
        }
    }

    @Test
    void tiesAtTheThresholdKeepMoreThanK() {
        LoraAdapter d = LoraAdapter.load(FIX.resolve("lori_d"));
        Masks.Result r = Masks.extract(bMatrices(d), new double[]{0.9}, Masks.Granularity.MODEL, null).getFirst();
        Masks.GroupStat g = r.groups().getFirst();
        assertEquals((long) (0.1 * g.entries()), g.k());
        assertTrue(g.kept() > g.k(), "B holds multiples of 1/64, so ties at the threshold keep extra entries");
        assertTrue(r.reached() < 0.9);
    }

    @Test
    void readsLoriReferencePtMask() {
        Map<String, Masks.Mask> pt = Masks.read(FIX.resolve("lori_d/masks/0.9_mask.pt"));
        Map<String, Masks.Mask> st = Masks.read(FIX.resolve("masks/model/0.9_mask.safetensors"));
        assertTrue(pt.keySet().iterator().next().endsWith(".lora_B.weight"), "'.default' is removed from the keys");
        assertSameMasks(st, pt, "pt");
    }

    @Test
    void kIsComputedInDoubleLikePython() {
        // s = 0.9 on 14336 entries: int(0.1 * 14336) = int(1433.6000000000001) = 1433
        float[] v = new float[14336];
        for (int i = 0; i < v.length; i++) v[i] = i + 1;
        Masks.Result r = Masks.extract(List.of(new Masks.BMatrix("b", 14336, 1, v)), new double[]{0.9}, Masks.Granularity.MATRIX, null).getFirst();
        assertEquals(1433, r.kept());
        assertEquals(14336 - 1432, Float.valueOf(r.groups().getFirst().threshold()).intValue());
    }

    @Test
    void refusesEmptyKAndSparsityOutsideTheOpenInterval() {
        List<Masks.BMatrix> bs = List.of(new Masks.BMatrix("b", 2, 4, new float[]{1, 2, 3, 4, 5, 6, 7, 8}));
        LoriException e = assertThrows(LoriException.class, () -> Masks.extract(bs, new double[]{0.9}, Masks.Granularity.MODEL, null));
        assertTrue(e.getMessage().contains("k = int((1 - s) * n) = 0"), e.getMessage());
        assertThrows(LoriException.class, () -> Masks.extract(bs, new double[]{1.0}, Masks.Granularity.MODEL, null));
        assertThrows(LoriException.class, () -> Masks.extract(bs, new double[]{0.0}, Masks.Granularity.MODEL, null));
        assertThrows(LoriException.class, () -> Masks.extract(bs, new double[]{-0.5}, Masks.Granularity.MODEL, null));
        assertThrows(LoriException.class, () -> Masks.extract(bs, new double[]{Double.NaN}, Masks.Granularity.MODEL, null));
    }

    @Test
    void radixSelectAgreesWithSorting() {
        SplittableRandom rng = new SplittableRandom(3);
        for (int trial = 0; trial < 50; trial++) {
            int n = 1 + rng.nextInt(3000);
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = switch (rng.nextInt(4)) {
                    case 0 -> 0f;
                    case 1 -> (rng.nextInt(9) - 4) / 8f;            // ties
                    case 2 -> (float) (rng.nextGaussian() * 1e-6);  // small, both signs
                    default -> (float) rng.nextGaussian();
                };
            }
            long k = 1 + rng.nextInt(n);
            double s = 1.0 - (k + 0.5) / n;
            if (!(s > 0 && s < 1)) continue;
            Masks.Result r = Masks.extract(List.of(new Masks.BMatrix("b", n, 1, v)), new double[]{s}, Masks.Granularity.MODEL, null).getFirst();
            long kk = (long) ((1 - s) * n);
            assertEquals(Masks.kthLargestBySort(v, kk), r.groups().getFirst().threshold(), 0f);
        }
    }

    @Test
    void fileNamesFollowPythonFloatRepr() {
        assertEquals("0.9", Masks.pyRepr(0.9));
        assertEquals("0.1", Masks.pyRepr(0.1));
        assertEquals("0.99", Masks.pyRepr(0.99));
        assertEquals("0.5", Masks.pyRepr(0.5));
        assertEquals("0.0001", Masks.pyRepr(0.0001));
        assertEquals("1e-05", Masks.pyRepr(0.00001));
        assertEquals("1.5e-07", Masks.pyRepr(1.5e-7));
        assertEquals("0.30000000000000004", Masks.pyRepr(0.1 + 0.2));
        assertEquals("0.9_mask.safetensors", Masks.fileName(0.9));
    }

    @Test
    void writtenMasksReadBack(@TempDir Path tmp) {
        LoraAdapter d = LoraAdapter.load(FIX.resolve("lori_d"));
        Masks.Result r = Masks.extract(bMatrices(d), new double[]{0.5}, Masks.Granularity.LAYER, null).getFirst();
        Path f = tmp.resolve("m.safetensors");
        Masks.write(f, r.masks(), Map.of("sparsity", "0.5"));
        assertSameMasks(r.masks(), Masks.read(f), "roundtrip");
        // the torch.save layout (checked once with torch.load of Debian's torch 1.13): read back by the pickle reader
        Path pt = tmp.resolve("0.5_mask.pt");
        Masks.writePt(pt, r.masks());
        Map<String, org.lori4j.tensor.Tensor> raw = TorchPickle.readTensors(pt);
        assertTrue(raw.keySet().iterator().next().endsWith(".lora_B.default.weight"));
        assertSameMasks(r.masks(), Masks.read(pt), "pt roundtrip");
    }

    @Test
    void aWeightsFileIsNotAMask() {
        // an adapter's adapter_model.safetensors (F32 tensors) given as a mask: refused, not read as "nonzero = kept"
        Path weights = TestPaths.fixture("adapter").resolve("lora_a/adapter_model.safetensors");
        String m = assertThrows(LoriException.class, () -> Masks.read(weights)).getMessage();
        assertTrue(m.contains("a mask file holds BOOL tensors"), m);
    }
}
