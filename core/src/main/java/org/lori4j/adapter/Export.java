package org.lori4j.adapter;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.io.Json;
import org.lori4j.io.LlamaConfig;
import org.lori4j.io.LoriException;
import org.lori4j.io.OutputDir;
import org.lori4j.io.SafeTensors;
import org.lori4j.io.TensorStore;
import org.lori4j.tensor.Convert;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Half;
import org.lori4j.tensor.MatMul;
import org.lori4j.tensor.Tensor;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Merge into base ({@code merge_and_unload}) written as a full Hugging Face checkpoint: for every adapted
 * projection W' = W + w * s * B A. Adapters are applied one after another as PEFT merges active
 * adapters: in the output dtype D, W = round_D(W + delta), the delta and the sum computed in f32 (PEFT >= 0.12's
 * in-place {@code weight.data += delta}) — exactly what loading the base with torch_dtype = D and calling
 * merge_and_unload gives (checked against PEFT 0.21, bit for bit). Tensors are produced and
 * written in row blocks straight into the shard files (headers are known up front), so memory stays near
 * one block, not one model. Config, tokenizer and generation files are copied.
 */
public final class Export {
    private Export() {}

    /** Rows of a weight produced per step: bounded so a block stays around 16 MB of floats. */
    private static final int BLOCK_FLOATS = 4 << 20;

    /** Files copied next to the weights (from the adapter folder carrying embeddings if it has them, else the model). */
    static final List<String> SIDE_FILES = List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
            "tokenizer.model", "generation_config.json", "added_tokens.json", "vocab.json", "merges.txt", "chat_template.jinja");

    /**
     * The base model's licence and use-policy files, copied from the model folder: a merged checkpoint is a derivative
     * of the base model and stays under its terms (Llama 3 ships LICENSE and USE_POLICY.md, stories260K LICENSE and NOTICE).
     */
    static final List<String> LICENSE_FILES = List.of("LICENSE", "LICENSE.txt", "LICENSE.md", "NOTICE", "NOTICE.txt",
            "NOTICE.md", "USE_POLICY.md");

    /** One output tensor: name, dtype, shape and how to produce its values. */
    private record Spec(String name, DType dtype, long[] shape, Producer producer) {
        long bytes() { return Tensor.numel(shape) * dtype.bytes(); }
    }

    /** Writes a tensor's bytes, block by block. */
    @FunctionalInterface
    private interface Producer { void write(OutputStream out) throws IOException; }

    /**
     * Exports {@code modelDir} with the adapters merged into {@code out} (which must not exist or be empty).
     *
     * @param dtype          output dtype, or null to keep each tensor's stored dtype
     * @param maxShardBytes  largest shard (tensor bytes) before a new file is started
     */
    public static void export(Path modelDir, List<LoraAdapter> adapters, double[] weights, Path out, DType dtype,
                              long maxShardBytes, Consumer<String> log) {
        LlamaConfig cfg = LlamaConfig.load(modelDir);
        for (LoraAdapter a : adapters) a.checkAgainst(cfg);
        if (dtype != null && dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16)
            throw new LoriException("export dtype must be f32, bf16 or f16");
        try (TensorStore store = TensorStore.openModelDir(modelDir)) {
            LoraAdapter embedFrom = null;
            for (LoraAdapter a : adapters) {
                if (a.embedTokens() == null && a.lmHead() == null) continue;
                if (embedFrom != null) log.accept("warning: several adapters carry embed_tokens/lm_head; the last one ("
                        + a.label() + ") wins, as with PEFT's load_adapter");
                embedFrom = a;
            }
            if (embedFrom != null && store.has("lm_head.weight")) {
                // an untied model needs embed_tokens and lm_head of one vocabulary (as LlamaModel.replaceEmbeddings)
                long e = embedFrom.embedTokens() != null ? embedFrom.embedTokens().dim(0) : store.get("model.embed_tokens.weight").dim(0);
                long h = embedFrom.lmHead() != null ? embedFrom.lmHead().dim(0) : store.get("lm_head.weight").dim(0);
                if (e != h)
                    throw new LoriException(embedFrom.label() + ": carries only " + (embedFrom.lmHead() == null ? "embed_tokens" : "lm_head")
                            + " (" + (embedFrom.lmHead() == null ? e : h) + " rows), but the base model's untied "
                            + (embedFrom.lmHead() == null ? "lm_head" : "embed_tokens") + " has " + (embedFrom.lmHead() == null ? h : e)
                            + "; the exported model would not load (the adapter must ship both)");
            }
            List<Spec> specs = new ArrayList<>();
            for (String name : store.names()) {
                Tensor t = store.get(name);
                DType d = dtype != null && t.dtype().isFloat() ? dtype : t.dtype();
                Tensor replacement = null;
                if (embedFrom != null && name.equals("model.embed_tokens.weight")) replacement = embedFrom.embedTokens();
                if (embedFrom != null && name.equals("lm_head.weight")) replacement = embedFrom.lmHead();
                if (replacement != null) {
                    Tensor r = replacement;
                    specs.add(new Spec(name, d, r.shape(), o -> convert(r, d, o)));
                    continue;
                }
                List<LoraAdapter.Module> mods = new ArrayList<>();
                List<Double> ws = new ArrayList<>();
                String module = name.endsWith(".weight") ? name.substring(0, name.length() - ".weight".length()) : null;
                for (int i = 0; i < adapters.size(); i++) {
                    LoraAdapter.Module m = module == null ? null : adapters.get(i).module(module);
                    if (m != null) { mods.add(m); ws.add(weights[i]); }
                }
                if (mods.isEmpty()) {
                    specs.add(new Spec(name, d, t.shape(), o -> convert(t, d, o)));
                } else {
                    specs.add(new Spec(name, d, t.shape(), o -> merged(t, mods, ws, d, o)));
                }
            }
            // an adapter lm_head for a model with tied embeddings: write it as its own tensor
            boolean untie = false;
            if (embedFrom != null && embedFrom.lmHead() != null && !store.has("lm_head.weight")) {
                Tensor h = embedFrom.lmHead();
                DType d = dtype != null ? dtype : store.get("model.embed_tokens.weight").dtype();   // the model's dtype
                specs.add(new Spec("lm_head.weight", d, h.shape(), o -> convert(h, d, o)));
                untie = true;
            }
            ObjectNode config = (ObjectNode) Json.read(modelDir.resolve("config.json"));
            if (dtype != null) {
                config.put("torch_dtype", dtype.torchName());
                if (config.has("dtype")) config.put("dtype", dtype.torchName()); // transformers 5's name for it
            }
            Tensor newEmbed = embedFrom == null ? null : embedFrom.embedTokens() != null ? embedFrom.embedTokens() : embedFrom.lmHead();
            if (newEmbed != null && newEmbed.dim(0) != cfg.vocabSize()) {
                log.accept("vocabulary: " + cfg.vocabSize() + " -> " + newEmbed.dim(0) + " rows (embeddings from " + embedFrom.label() + ")");
                config.put("vocab_size", newEmbed.dim(0));
            }
            if (untie) config.put("tie_word_embeddings", false);
            Path sideFrom = embedFrom != null && embedFrom.source() != null && Files.exists(embedFrom.source().resolve("tokenizer.json"))
                    ? embedFrom.source() : modelDir;
            final LoraAdapter ef = embedFrom;
            OutputDir.writeNew(out, tmp -> {
                Json.write(tmp.resolve("config.json"), config);
                for (String f : SIDE_FILES) {
                    Path src = sideFrom.resolve(f);
                    if (!Files.exists(src) && sideFrom != modelDir) src = modelDir.resolve(f);
                    if (Files.isRegularFile(src)) Files.copy(src, tmp.resolve(f));
                }
                for (String f : LICENSE_FILES)
                    if (Files.isRegularFile(modelDir.resolve(f))) Files.copy(modelDir.resolve(f), tmp.resolve(f));
                writeShards(tmp, specs, maxShardBytes, log);
                if (ef != null && sideFrom == modelDir)
                    log.accept("note: the tokenizer files come from the base model; " + ef.label() + " has none for the resized vocabulary");
            });
        }
    }

    /** HF's sharded layout, tensors streamed into each file. */
    private static void writeShards(Path dir, List<Spec> specs, long maxShardBytes, Consumer<String> log) throws IOException {
        if (maxShardBytes <= 0) throw new LoriException("shard size must be positive");
        List<List<Spec>> shards = new ArrayList<>();
        List<Spec> cur = new ArrayList<>();
        long curBytes = 0, total = 0;
        for (Spec s : specs) {
            if (!cur.isEmpty() && curBytes + s.bytes() > maxShardBytes) {
                shards.add(cur);
                cur = new ArrayList<>();
                curBytes = 0;
            }
            cur.add(s);
            curBytes += s.bytes();
            total += s.bytes();
        }
        shards.add(cur);
        if (shards.size() == 1) {
            writeFile(dir.resolve(SafeTensors.SINGLE_FILE), shards.getFirst());
            log.accept("wrote " + SafeTensors.SINGLE_FILE + " (" + specs.size() + " tensors, " + total + " bytes)");
            return;
        }
        ObjectNode index = Json.MAPPER.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode map = index.putObject("weight_map");
        for (int i = 0; i < shards.size(); i++) {
            String file = SafeTensors.shardName(i + 1, shards.size());
            writeFile(dir.resolve(file), shards.get(i));
            for (Spec s : shards.get(i)) map.put(s.name, file);
            log.accept("wrote " + file + " (" + shards.get(i).size() + " tensors)");
        }
        Json.write(dir.resolve(SafeTensors.INDEX_FILE), index);
    }

    private static void writeFile(Path file, List<Spec> specs) throws IOException {
        StringBuilder h = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        long off = 0;
        for (Spec s : specs) {
            h.append(",\"").append(s.name.replace("\\", "\\\\").replace("\"", "\\\"")).append("\":{\"dtype\":\"")
                    .append(s.dtype.safetensorsName()).append("\",\"shape\":[");
            for (int i = 0; i < s.shape.length; i++) h.append(i == 0 ? "" : ",").append(s.shape[i]);
            h.append("],\"data_offsets\":[").append(off).append(',').append(off + s.bytes()).append("]}");
            off += s.bytes();
        }
        h.append('}');
        byte[] json = h.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        try (OutputStream o = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            o.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
            o.write(json);
            for (int i = json.length; i < padded; i++) o.write(' ');
            for (Spec s : specs) s.producer.write(o);
        }
    }

    /** Copies or converts a tensor to dtype d, in blocks. */
    private static void convert(Tensor t, DType d, OutputStream o) throws IOException {
        MemorySegment src = t.data();
        if (t.dtype() == d) {
            byte[] buf = new byte[1 << 20];
            for (long p = 0, n = src.byteSize(); p < n; ) {
                int len = (int) Math.min(buf.length, n - p);
                MemorySegment.copy(src, ValueLayout.JAVA_BYTE, p, buf, 0, len);
                o.write(buf, 0, len);
                p += len;
            }
            return;
        }
        long n = t.numel();
        float[] f = new float[(int) Math.min(n, 1 << 18)];
        byte[] bytes = new byte[f.length * d.bytes()];
        for (long p = 0; p < n; ) {
            int len = (int) Math.min(f.length, n - p);
            switch (t.dtype()) {
                case F32 -> MemorySegment.copy(src, Tensor.F32_LE, p * 4, f, 0, len);
                case BF16 -> Convert.bf16ToF32(src, p * 2, f, 0, len);
                case F16 -> Convert.f16ToF32(src, p * 2, f, 0, len);
                default -> { for (int i = 0; i < len; i++) f[i] = t.getFloat(p + i); }
            }
            o.write(bytes, 0, encode(f, len, d, bytes));
            p += len;
        }
    }

    /** Reads rows [o0, o0 + nr) of a [out, in] weight widened to f32 into dst[0, nr * in). */
    @FunctionalInterface
    interface RowSource { void rows(int o0, int nr, float[] dst); }

    /** Receives merged rows [o0, o0 + nr) as f32 values already rounded to the output dtype. */
    @FunctionalInterface
    interface RowSink { void accept(int o0, int nr, float[] values) throws IOException; }

    /**
     * W + sum_i w_i s_i B_i A_i for a weight [out, in], in row blocks of about {@link #BLOCK_FLOATS} floats,
     * with PEFT's rounding order in dtype d: W rounded to d, then per adapter W = round_d(W + delta), the f32 delta
     * added in f32 and the sum rounded once.
     */
    static void mergeRows(RowSource w, DType wDtype, int out, int in, List<LoraAdapter.Module> mods, List<Double> ws,
                          DType d, RowSink sink) throws IOException {
        int rows = Math.max(1, Math.min(out, BLOCK_FLOATS / in));
        float[] acc = new float[rows * in], delta = new float[rows * in];
        for (int o0 = 0; o0 < out; o0 += rows) {
            int nr = Math.min(rows, out - o0);
            int len = nr * in;
            w.rows(o0, nr, acc);
            if (d != wDtype) for (int i = 0; i < len; i++) acc[i] = round(acc[i], d);
            for (int k = 0; k < mods.size(); k++) {
                LoraAdapter.Module m = mods.get(k);
                float alpha = (float) (m.scaling() * ws.get(k));
                // delta[nr, in] = alpha * B[o0:o0+nr, r] A[r, in]
                MatMul.gemm(delta, 0, in, m.b(), o0 * m.r(), m.r(), m.a(), 0, in, nr, m.r(), in, false, false, alpha, false);
                for (int i = 0; i < len; i++) acc[i] = round(acc[i] + delta[i], d);
            }
            sink.accept(o0, nr, acc);
        }
    }

    private static void merged(Tensor w, List<LoraAdapter.Module> mods, List<Double> ws, DType d, OutputStream o) throws IOException {
        int out = (int) w.dim(0), in = (int) w.dim(1);
        byte[][] bytes = {new byte[0]};
        mergeRows((o0, nr, dst) -> Convert.toF32(w, (long) o0 * in, dst, 0, nr * in), w.dtype(), out, in, mods, ws, d,
                (o0, nr, values) -> {
                    int len = nr * in;
                    if (bytes[0].length < len * d.bytes()) bytes[0] = new byte[len * d.bytes()];
                    o.write(bytes[0], 0, encode(values, len, d, bytes[0]));
                });
    }

    /** x rounded to dtype d and widened back (identity for f32). */
    static float round(float x, DType d) {
        return switch (d) {
            case BF16 -> Half.bf16ToF32(Half.f32ToBf16(x));
            case F16 -> Half.f16ToF32(Half.f32ToF16(x));
            default -> x;
        };
    }

    static int encode(float[] f, int len, DType d, byte[] out) {
        ByteBuffer bb = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        switch (d) {
            case F32 -> { for (int i = 0; i < len; i++) bb.putFloat(f[i]); }
            case BF16 -> { for (int i = 0; i < len; i++) bb.putShort(Half.f32ToBf16(f[i])); }
            case F16 -> { for (int i = 0; i < len; i++) bb.putShort(Half.f32ToF16(f[i])); }
            default -> {
                Tensor t = Tensor.zeros(d, len);
                for (int i = 0; i < len; i++) t.setFloat(i, f[i]);
                MemorySegment.copy(t.data(), ValueLayout.JAVA_BYTE, 0, out, 0, len * d.bytes());
            }
        }
        return len * d.bytes();
    }

    private static final Pattern SIZE = Pattern.compile("(?i)\\s*([0-9]+(?:\\.[0-9]+)?)\\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)?\\s*");

    /**
     * Parses a shard size the way transformers does: "5GB" = 5 * 10^9 bytes, "5Gb" = 5 * 10^9 bits, "5GiB" = 5 * 2^30,
     * a bare number = bytes.
     */
    public static long parseSize(String s) {
        Matcher m = SIZE.matcher(s);
        if (!m.matches()) throw new LoriException("invalid size '" + s + "' (examples: 5GB, 500MB, 2GiB)");
        double v = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
        double mult = switch (unit) {
            case "KB" -> 1e3; case "MB" -> 1e6; case "GB" -> 1e9; case "TB" -> 1e12;
            case "KIB" -> 1024.0; case "MIB" -> 1024.0 * 1024; case "GIB" -> 1024.0 * 1024 * 1024; case "TIB" -> Math.pow(1024, 4);
            default -> 1;
        };
        long bytes = (long) (v * mult);
        // transformers' convert_file_size_to_int: a lowercase final "b" in KB/MB/GB means bits ("5Gb" = 5e9 / 8 bytes)
        if (m.group(2) != null && List.of("KB", "MB", "GB").contains(unit) && m.group(2).endsWith("b")) bytes /= 8;
        if (bytes <= 0) throw new LoriException("size '" + s + "' must be positive");
        return bytes;
    }
}
