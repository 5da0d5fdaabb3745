package org.lori4j.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.io.Json;
import org.lori4j.io.LlamaConfig;
import org.lori4j.io.LoriException;
import org.lori4j.io.OutputDir;
import org.lori4j.io.SafeTensors;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Parallel;
import org.lori4j.tensor.Tensor;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Random-weight Llama models of named shapes, written as Hugging Face folders (config.json,
 * one safetensors shard per layer and model.safetensors.index.json) for benchmarks and tests.
 * Weights are uniform with variance 1/in so activations stay O(1); norms are 1. Generation is
 * deterministic for a seed and holds one layer in memory at a time.
 */
public final class RandomWeights {
    private RandomWeights() {}

    /** The shape names {@link #shape} knows. */
    public static final List<String> SHAPES = List.of("tinyllama", "medium", "small", "tiny");

    /**
     * A configuration of a named shape: tinyllama (TinyLlama-1.1B: 2048 wide, 22 layers, 32/4
     * heads, MLP 5632, vocab 32000), medium (2048, 4 layers, 32/8, 5632, 32000), small (512,
     * 8 layers, 8/8, 1376, 32000), tiny (stories260K: 64, 5 layers, 8/4, 172, 512).
     */
    public static LlamaConfig shape(String name, DType dtype) {
        record S(int hidden, int layers, int heads, int kv, int ffn, int vocab) {}
        S s = switch (name) {
            case "tinyllama" -> new S(2048, 22, 32, 4, 5632, 32000);
            case "medium" -> new S(2048, 4, 32, 8, 5632, 32000);
            case "small" -> new S(512, 8, 8, 8, 1376, 32000);
            case "tiny" -> new S(64, 5, 8, 4, 172, 512);
            default -> throw new LoriException("unknown shape '" + name + "' (known: " + String.join(", ", SHAPES) + ")");
        };
        return new LlamaConfig("llama", s.hidden, s.ffn, s.layers, s.heads, s.kv, s.hidden / s.heads, s.vocab,
                1e-5, 10000.0, null, 2048, false, 1, List.of(2), dtype, false);
    }

    /**
     * Writes a random model of {@code config} (weights in {@code config.torchDtype()}) into
     * {@code dir}, which must not exist yet; the folder appears complete or not at all.
     */
    public static void write(Path dir, LlamaConfig config, long seed) {
        if (Files.exists(dir)) throw new LoriException(dir + ": already exists");
        DType dtype = config.torchDtype();
        Map<String, long[]> shapes = config.expectedShapes();
        OutputDir.writeNew(dir, tmp -> {
            // Shards: embeddings, one per layer, then the final norm and lm_head.
            int count = config.numLayers() + 2;
            ObjectNode index = Json.MAPPER.createObjectNode();
            ObjectNode weightMap = Json.MAPPER.createObjectNode();
            long total = 0;
            for (int shard = 0; shard < count; shard++) {
                String prefix = shard == 0 ? "model.embed_tokens." : shard <= config.numLayers() ? "model.layers." + (shard - 1) + "." : null;
                Map<String, long[]> part = new LinkedHashMap<>();
                for (var e : shapes.entrySet()) {
                    String n = e.getKey();
                    boolean mine = prefix != null ? n.startsWith(prefix) : (n.equals("model.norm.weight") || n.equals("lm_head.weight"));
                    if (mine) part.put(n, e.getValue());
                }
                String file = SafeTensors.shardName(shard + 1, count);
                try (Arena arena = Arena.ofShared()) {
                    Map<String, Tensor> tensors = new LinkedHashMap<>();
                    for (var e : part.entrySet()) {
                        long[] shape = e.getValue();
                        Tensor t = Tensor.of(dtype, shape, arena.allocate(Tensor.numel(shape) * dtype.bytes(), 64));
                        fill(t, e.getKey(), seed);
                        tensors.put(e.getKey(), t);
                        total += t.byteSize();
                        weightMap.put(e.getKey(), file);
                    }
                    SafeTensors.write(tmp.resolve(file), tensors, Map.of("format", "pt"));
                }
            }
            index.putObject("metadata").put("total_size", total);
            index.set("weight_map", weightMap);
            Json.write(tmp.resolve(SafeTensors.INDEX_FILE), index);
            Json.write(tmp.resolve("config.json"), config.toJson());
        });
    }

    /** Fills a tensor: norm weights 1, matrices uniform in +-sqrt(3/in) (embeddings +-1), row-seeded. */
    private static void fill(Tensor t, String name, long seed) {
        if (t.rank() == 1) {
            for (long i = 0; i < t.numel(); i++) t.setFloat(i, 1f);
            return;
        }
        int rows = (int) t.dim(0), cols = (int) t.dim(1);
        float a = name.contains("embed_tokens") ? 1f : (float) Math.sqrt(3.0 / cols);
        long base = seed * 0x9E3779B97F4A7C15L + name.hashCode();
        Parallel.forRange(rows, 64, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                SplittableRandom rnd = new SplittableRandom(base + r);
                long o = (long) r * cols;
                for (int c = 0; c < cols; c++) t.setFloat(o + c, a * (2 * rnd.nextFloat() - 1));
            }
        });
    }
}
