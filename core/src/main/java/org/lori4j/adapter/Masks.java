package org.lori4j.adapter;

import org.lori4j.io.LoriException;
import org.lori4j.io.SafeTensors;
import org.lori4j.io.SafeTensorsFile;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * LoRI mask extraction (stage 2): keeps the largest-magnitude entries of the LoRI-D B matrices. Within
 * each group of n entries, k = int((1 - s) * n) (double arithmetic, truncation, as Python), threshold =
 * the k-th largest |B|, mask = |B| >= threshold (ties at the threshold keep more than k). With an
 * earlier mask (continual learning), its entries count as zeros when ranking and are then removed:
 * mask & ~old, as in juzhengz/LoRI {@code extract_mask.py}. Masks are keyed by the lora_B tensor names
 * of adapter_model.safetensors and stored as BOOL safetensors; LoRI's {@code .pt} files can be read.
 */
public final class Masks {
    private Masks() {}

    /** How B entries are grouped for the top-k: one threshold per group. */
    public enum Granularity {
        /** one group: every B entry of the adapter (LoRI's default) */
        MODEL,
        /** attention projections (q, k, v, o) vs MLP projections (gate, up, down) */
        MODULE,
        /** one group per projection type across layers */
        PROJECTION,
        /** one group per decoder layer */
        LAYER,
        /** one group per B matrix */
        MATRIX;

        public static Granularity parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new LoriException("unknown granularity '" + s + "' (model, module, projection, layer, matrix)");
            }
        }
    }

    /** A boolean mask over a B matrix [rows, cols] (row-major; true = trainable / kept). */
    public record Mask(int rows, int cols, boolean[] keep) {
        public Mask {
            if ((long) rows * cols != keep.length) throw new IllegalArgumentException("mask size mismatch");
        }

        public long count() {
            long c = 0;
            for (boolean b : keep) if (b) c++;
            return c;
        }
    }

    /** A B matrix to extract from: its key, shape and values (row-major [out, r]). */
    public record BMatrix(String key, int rows, int cols, float[] values) {}

    /** Per group: its name, entries, the k asked for, the threshold and the entries kept. */
    public record GroupStat(String group, long entries, long k, float threshold, long kept) {
        public double sparsity() { return 1.0 - (double) kept / entries; }
    }

    /** The masks for one sparsity, with per-group statistics. */
    public record Result(double sparsity, Map<String, Mask> masks, List<GroupStat> groups) {
        public long kept() { return groups.stream().mapToLong(GroupStat::kept).sum(); }
        public long entries() { return groups.stream().mapToLong(GroupStat::entries).sum(); }
        public double reached() { return 1.0 - (double) kept() / entries(); }
    }

    private static final Pattern LAYER_PROJ = Pattern.compile("\\.layers\\.(\\d+)\\.[^.]+\\.([a-z_]+_proj)\\.");
    private static final List<String> ATTENTION = List.of("q_proj", "k_proj", "v_proj", "o_proj");
    private static final List<String> MLP = List.of("gate_proj", "up_proj", "down_proj");

    /**
     * The group of a B key, or null if the key belongs to no group at this granularity (module and
     * projection groups only know the seven Llama projections, as upstream).
     */
    static String groupOf(String key, Granularity g) {
        Matcher m = LAYER_PROJ.matcher(key);
        String layer = null, proj = null;
        if (m.find()) { layer = m.group(1); proj = m.group(2); }
        return switch (g) {
            case MODEL -> "model";
            case MATRIX -> key;
            case LAYER -> layer == null ? key.split("\\.")[Math.min(4, key.split("\\.").length - 1)] : "layer " + layer;
            case PROJECTION -> proj != null && AdapterConfig.LLAMA_PROJECTIONS.contains(proj) ? proj : null;
            case MODULE -> proj == null ? null : ATTENTION.contains(proj) ? "attention" : MLP.contains(proj) ? "mlp" : null;
        };
    }

    /**
     * Extracts masks for each sparsity in (0, 1). {@code exclude} (may be null) is an earlier mask whose
     * kept entries are excluded. The B matrices are read, never modified.
     */
    public static List<Result> extract(List<BMatrix> bs, double[] sparsities, Granularity granularity, Map<String, Mask> exclude) {
        for (double s : sparsities)
            if (!(s > 0 && s < 1)) throw new LoriException("sparsity " + s + " is outside (0, 1)");
        if (bs.isEmpty()) throw new LoriException("the adapter has no lora_B matrices");
        // groups in first-appearance order
        Map<String, List<Integer>> groups = new LinkedHashMap<>();
        List<boolean[]> excluded = new ArrayList<>();
        for (int i = 0; i < bs.size(); i++) {
            BMatrix b = bs.get(i);
            boolean[] ex = null;
            if (exclude != null) {
                Mask old = exclude.get(b.key);
                if (old == null) throw new LoriException("the mask to exclude has no entry for " + b.key);
                if (old.rows != b.rows || old.cols != b.cols)
                    throw new LoriException("the mask to exclude has shape [" + old.rows + ", " + old.cols + "] for "
                            + b.key + ", the adapter [" + b.rows + ", " + b.cols + "]");
                ex = old.keep;
            }
            excluded.add(ex);
            String g = groupOf(b.key, granularity);
            if (g != null) groups.computeIfAbsent(g, x -> new ArrayList<>()).add(i);
        }
        List<Result> results = new ArrayList<>();
        for (double s : sparsities) results.add(new Result(s, new LinkedHashMap<>(), new ArrayList<>()));
        for (var ge : groups.entrySet()) {
            List<Integer> members = ge.getValue();
            long n = 0;
            for (int i : members) n += bs.get(i).values.length;
            // pass 1: histogram of the high 16 bits of |B| (31-bit patterns order like the non-negative floats)
            long[] hi = new long[1 << 16];
            for (int i : members) histogramHigh(bs.get(i).values, excluded.get(i), hi);
            for (int si = 0; si < sparsities.length; si++) {
                double s = sparsities[si];
                long k = (long) ((1.0 - s) * n);
                if (k <= 0)
                    throw new LoriException("sparsity " + s + " keeps no entry of group '" + ge.getKey() + "' ("
                            + n + " entries): k = int((1 - s) * n) = 0");
                float threshold = kthLargest(bs, excluded, members, hi, k);
                long kept = 0;
                for (int i : members) {
                    BMatrix b = bs.get(i);
                    boolean[] keep = new boolean[b.values.length];
                    boolean[] ex = excluded.get(i);
                    for (int j = 0; j < keep.length; j++) {
                        boolean m = Math.abs(b.values[j]) >= threshold && (ex == null || !ex[j]);
                        keep[j] = m;
                        if (m) kept++;
                    }
                    results.get(si).masks.put(b.key, new Mask(b.rows, b.cols, keep));
                }
                results.get(si).groups.add(new GroupStat(ge.getKey(), n, k, threshold, kept));
            }
        }
        // masks in the adapter's key order
        for (Result r : results) {
            Map<String, Mask> ordered = new LinkedHashMap<>();
            for (BMatrix b : bs) if (r.masks.containsKey(b.key)) ordered.put(b.key, r.masks.get(b.key));
            r.masks.clear();
            r.masks.putAll(ordered);
        }
        return results;
    }

    private static int absBits(float v) { return Float.floatToRawIntBits(v) & 0x7fffffff; }

    private static void histogramHigh(float[] v, boolean[] ex, long[] hist) {
        for (int j = 0; j < v.length; j++) {
            int bits = ex != null && ex[j] ? 0 : absBits(v[j]);
            hist[bits >>> 15]++;
        }
    }

    /** The k-th largest |B| (1-based) of the group, with excluded entries counting as 0; radix select in two passes. */
    private static float kthLargest(List<BMatrix> bs, List<boolean[]> excluded, List<Integer> members, long[] hi, long k) {
        long above = 0;
        int bin = hi.length - 1;
        while (above + hi[bin] < k) above += hi[bin--];
        long rank = k - above; // rank within the bin, 1-based from the top
        long[] lo = new long[1 << 15];
        for (int i : members) {
            float[] v = bs.get(i).values;
            boolean[] ex = excluded.get(i);
            for (int j = 0; j < v.length; j++) {
                int bits = ex != null && ex[j] ? 0 : absBits(v[j]);
                if ((bits >>> 15) == bin) lo[bits & 0x7fff]++;
            }
        }
        int low = lo.length - 1;
        long acc = 0;
        while (acc + lo[low] < rank) acc += lo[low--];
        return Float.intBitsToFloat((bin << 15) | low);
    }

    /** The reference rule on one array, by sorting: the k-th largest |v|. Kept for tests. */
    static float kthLargestBySort(float[] v, long k) {
        float[] a = new float[v.length];
        for (int i = 0; i < v.length; i++) a[i] = Math.abs(v[i]);
        java.util.Arrays.sort(a);
        return a[(int) (a.length - k)];
    }

    // ------------------------------------------------------------------ files

    /** Python's repr of a float ("0.9", "0.99", "1e-05"), used in mask file names as upstream. */
    public static String pyRepr(double d) {
        if (d == Math.rint(d) && Math.abs(d) < 1e16) return String.format(Locale.ROOT, "%.1f", d);
        BigDecimal bd = new BigDecimal(Double.toString(d)); // shortest repr digits (JDK 19+)
        String digits = bd.unscaledValue().abs().toString().replaceAll("0+$", "");
        int exp = bd.precision() - bd.scale() - 1; // decimal exponent of the first digit
        String sign = d < 0 ? "-" : "";
        if (exp < -4 || exp >= 16) {
            String mant = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return sign + mant + "e" + (exp < 0 ? "-" : "+") + String.format(Locale.ROOT, "%02d", Math.abs(exp));
        }
        return sign + bd.abs().stripTrailingZeros().toPlainString();
    }

    /** The file name LoRI uses for a sparsity, with the .safetensors extension: "0.9_mask.safetensors". */
    public static String fileName(double sparsity) {
        return pyRepr(sparsity) + "_mask.safetensors";
    }

    /** Writes the masks as a safetensors file of BOOL tensors [out, r] keyed by lora_B names. */
    public static void write(Path file, Map<String, Mask> masks, Map<String, String> metadata) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (var e : masks.entrySet()) {
            Mask m = e.getValue();
            byte[] bytes = new byte[m.keep.length];
            for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) (m.keep[i] ? 1 : 0);
            tensors.put(e.getKey(), Tensor.of(DType.BOOL, new long[]{m.rows, m.cols}, MemorySegment.ofArray(bytes)));
        }
        SafeTensors.write(file, tensors, metadata);
    }

    /**
     * Writes the masks as LoRI's reference does ({@code torch.save} of a dict of bool tensors), keyed by the
     * live PEFT parameter names ({@code ...lora_B.default.weight}) that LoRI's trainer looks up.
     */
    public static void writePt(Path file, Map<String, Mask> masks) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (var e : masks.entrySet()) {
            Mask m = e.getValue();
            byte[] bytes = new byte[m.keep.length];
            for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) (m.keep[i] ? 1 : 0);
            String key = e.getKey().endsWith(".lora_B.weight")
                    ? e.getKey().substring(0, e.getKey().length() - ".weight".length()) + ".default.weight" : e.getKey();
            tensors.put(key, Tensor.of(DType.BOOL, new long[]{m.rows, m.cols}, MemorySegment.ofArray(bytes)));
        }
        TorchPickle.writeTensors(file, tensors);
    }

    /** The .pt file name LoRI uses for a sparsity: "0.9_mask.pt". */
    public static String ptFileName(double sparsity) {
        return pyRepr(sparsity) + "_mask.pt";
    }

    private static final Pattern ADAPTER_NAME_IN_KEY = Pattern.compile("\\.lora_B\\.[^.]+\\.weight$");

    /**
     * Normalises a mask key to the adapter-file form: LoRI's {@code .pt} masks use the live PEFT
     * parameter names ({@code ...q_proj.lora_B.default.weight}); the adapter file has no adapter name.
     */
    public static String normalizeKey(String key) {
        return ADAPTER_NAME_IN_KEY.matcher(key).find() && !key.endsWith(".lora_B.weight")
                ? ADAPTER_NAME_IN_KEY.matcher(key).replaceFirst(".lora_B.weight") : key;
    }

    /** Reads a mask file: our BOOL safetensors or LoRI's torch {@code .pt}; keys are normalised. */
    public static Map<String, Mask> read(Path file) {
        if (!Files.isRegularFile(file)) throw new LoriException(file + ": mask file not found");
        Map<String, Tensor> tensors;
        String name = file.getFileName().toString();
        if (name.endsWith(".pt") || name.endsWith(".pth") || name.endsWith(".bin")) {
            tensors = TorchPickle.readTensors(file);
        } else {
            SafeTensorsFile f = SafeTensors.read(file);
            tensors = f.tensors();
        }
        Map<String, Mask> out = new LinkedHashMap<>();
        for (var e : tensors.entrySet()) {
            Tensor t = e.getValue();
            if (t.rank() != 2)
                throw new LoriException(file + ": mask '" + e.getKey() + "' has rank " + t.rank() + ", expected 2");
            long n = t.numel();
            boolean[] keep = new boolean[(int) n];
            // a mask is BOOL (LoRI's torch.save, lori4j's safetensors) or 0/1 bytes; float tensors are weights, e.g. an
            // adapter_model.safetensors given by mistake
            if (t.dtype() != DType.BOOL && t.dtype() != DType.U8 && t.dtype() != DType.I8)
                throw new LoriException(file + ": tensor '" + e.getKey() + "' has dtype " + t.dtype() + "; a mask file holds BOOL"
                        + " tensors (is this an adapter's weights file?)");
            for (int i = 0; i < n; i++) keep[i] = t.data().get(ValueLayout.JAVA_BYTE, i) != 0;
            String key = normalizeKey(e.getKey());
            if (out.put(key, new Mask((int) t.dim(0), (int) t.dim(1), keep)) != null)
                throw new LoriException(file + ": mask key " + key + " appears twice");
        }
        return out;
    }
}
