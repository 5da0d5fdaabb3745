package org.lori4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.io.Json;
import org.lori4j.io.LlamaConfig;
import org.lori4j.io.LoriException;
import org.lori4j.io.TensorStore;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What {@code lori info} reports about a Hugging Face model folder: its architecture, parameter counts per dtype,
 * file sizes and the memory a run needs (weights as stored plus an f32 KV cache for the full context). Building it
 * also checks every tensor shape against config.json.
 *
 * @param storedParameters    elements of all stored tensors (a redundant lm_head of a tied model included)
 * @param parametersByDtype   stored elements per dtype
 * @param weightBytes         bytes of all stored tensors
 * @param kvCacheBytes        2 (k and v) x layers x max positions x kv heads x head dim x 4 bytes
 */
public record ModelInfo(Path dir, LlamaConfig config, List<FileSize> files, int tensorCount, long storedParameters,
                        Map<DType, Long> parametersByDtype, long weightBytes, long kvCacheBytes,
                        boolean hasTokenizer, boolean hasChatTemplate) {

    /** A weight file and its size on disk. */
    public record FileSize(String name, long bytes) {}

    /** Reads config.json and the safetensors headers of {@code dir} (weights are mapped, not read) and checks shapes. */
    public static ModelInfo of(Path dir) {
        LlamaConfig config = LlamaConfig.load(dir);
        try (TensorStore store = TensorStore.openModelDir(dir)) {
            config.checkShapes(store);
            List<FileSize> files = new ArrayList<>();
            for (Path f : store.files()) files.add(new FileSize(f.getFileName().toString(), size(f)));
            files.sort(java.util.Comparator.comparing(FileSize::name)); // shards in order
            Map<DType, Long> byDtype = new EnumMap<>(DType.class);
            long params = 0;
            for (Tensor t : store.tensors().values()) {
                params += t.numel();
                byDtype.merge(t.dtype(), t.numel(), Long::sum);
            }
            long kv = 2L * config.numLayers() * config.maxPositionEmbeddings() * config.kvDim() * Float.BYTES;
            Path tc = dir.resolve("tokenizer_config.json");
            boolean chat = Files.isRegularFile(dir.resolve("chat_template.jinja"));
            if (!chat && Files.isRegularFile(tc)) {
                JsonNode t = Json.read(tc).get("chat_template");
                chat = t != null && !t.isNull();
            }
            return new ModelInfo(dir, config, List.copyOf(files), store.names().size(), params, byDtype,
                    store.totalBytes(), kv, Files.isRegularFile(dir.resolve("tokenizer.json")), chat);
        }
    }

    private static long size(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            throw new LoriException(f + ": cannot read size: " + e.getMessage());
        }
    }

    /** Weights plus KV cache: what one sequence at full context needs, activations aside. */
    public long memoryBytes() { return weightBytes + kvCacheBytes; }

    public long fileBytes() { return files.stream().mapToLong(FileSize::bytes).sum(); }

    /** Machine-readable form (lori info --json). */
    public ObjectNode toJson() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("model", dir.toString());
        o.set("config", config.toJson());
        o.put("parameters", config.parameterCount());
        o.put("stored_parameters", storedParameters);
        o.put("tensors", tensorCount);
        ObjectNode dt = o.putObject("parameters_by_dtype");
        parametersByDtype.forEach((k, v) -> dt.put(k.safetensorsName(), v));
        ArrayNode fs = o.putArray("files");
        for (FileSize f : files) fs.addObject().put("name", f.name()).put("bytes", f.bytes());
        ObjectNode mem = o.putObject("memory");
        mem.put("weights_bytes", weightBytes);
        mem.put("kv_cache_bytes", kvCacheBytes);
        mem.put("kv_cache_positions", config.maxPositionEmbeddings());
        mem.put("total_bytes", memoryBytes());
        o.put("tokenizer", hasTokenizer);
        o.put("chat_template", hasChatTemplate);
        return o;
    }

    /** Human-readable form, one "key  value" per line. */
    public String toText() {
        LlamaConfig c = config;
        StringBuilder b = new StringBuilder();
        line(b, "model", dir.toString());
        line(b, "architecture", c.modelType() + (c.attentionBias() ? " (q/k/v bias)" : ""));
        line(b, "layers", Integer.toString(c.numLayers()));
        line(b, "hidden", c.hiddenSize() + ", intermediate " + c.intermediateSize());
        line(b, "heads", c.numHeads() + " query, " + c.numKvHeads() + " key/value, head dim " + c.headDim());
        line(b, "vocab", c.vocabSize() + (c.tieWordEmbeddings() ? " (tied embeddings)" : ""));
        String scaling = c.ropeScaling() == null ? "none" : c.ropeScaling().type() + " x" + fmt(c.ropeScaling().factor());
        line(b, "context", c.maxPositionEmbeddings() + " positions, rope theta " + fmt(c.ropeTheta()) + ", scaling " + scaling);
        if (c.slidingWindow() > 0)
            line(b, "attention", "sliding window of " + c.slidingWindow() + " positions"
                    + (c.slidingWindowFromLayer() > 0 ? " from layer " + c.slidingWindowFromLayer() : ""));
        line(b, "rms eps", fmt(c.rmsNormEps()));
        line(b, "parameters", String.format(Locale.ROOT, "%,d", c.parameterCount())
                + (storedParameters != c.parameterCount() ? String.format(Locale.ROOT, " (%,d stored)", storedParameters) : "")
                + " in " + tensorCount + " tensors");
        StringBuilder d = new StringBuilder();
        parametersByDtype.forEach((k, v) -> d.append(d.isEmpty() ? "" : ", ").append(k.safetensorsName())
                .append(String.format(Locale.ROOT, " %,d", v)));
        line(b, "dtypes", d + " (config torch_dtype " + c.torchDtype().torchName() + ")");
        for (FileSize f : files) line(b, "file", f.name() + "  " + bytes(f.bytes()));
        line(b, "memory", "weights " + bytes(weightBytes) + " + KV cache " + bytes(kvCacheBytes) + " (f32, "
                + c.maxPositionEmbeddings() + " positions) = " + bytes(memoryBytes()));
        line(b, "tokenizer", hasTokenizer ? "tokenizer.json" + (hasChatTemplate ? ", chat template" : ", no chat template") : "none");
        return b.toString();
    }

    static void line(StringBuilder b, String key, String value) {
        b.append(String.format(Locale.ROOT, "%-13s%s%n", key, value));
    }

    /** 1536 -> "1.5 KiB (1,536 bytes)". */
    public static String bytes(long n) {
        String[] units = {"bytes", "KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
        return u == 0 ? String.format(Locale.ROOT, "%,d bytes", n)
                : String.format(Locale.ROOT, "%.1f %s (%,d bytes)", v, units[u], n);
    }

    private static String fmt(double d) {
        return java.math.BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
    }
}
