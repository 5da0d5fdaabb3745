package org.lori4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import org.lori4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The weights of a Hugging Face model folder, by tensor name, over one or more memory-mapped safetensors files:
 * {@code model.safetensors}, the shards listed in {@code model.safetensors.index.json}, or a folder's only
 * {@code *.safetensors} file. Closing it unmaps every file.
 */
public final class TensorStore implements AutoCloseable {
    private final Path dir;
    private final List<SafeTensorsFile> files;
    private final Map<String, Tensor> tensors;
    private final Map<String, Path> fileOf;

    private TensorStore(Path dir, List<SafeTensorsFile> files, Map<String, Tensor> tensors, Map<String, Path> fileOf) {
        this.dir = dir;
        this.files = files;
        this.tensors = tensors;
        this.fileOf = fileOf;
    }

    /**
     * Opens the weights of a model folder. Also accepts a path to a single {@code .safetensors} file
     * (then {@link #dir()} is its folder).
     */
    public static TensorStore openModelDir(Path dir) {
        if (Files.isRegularFile(dir) && dir.getFileName().toString().endsWith(".safetensors")) {
            Path parent = dir.toAbsolutePath().getParent();
            return ofFiles(parent, List.of(dir), null);
        }
        if (!Files.isDirectory(dir)) throw new LoriException(dir + ": model folder not found");
        // model.safetensors first, as transformers looks for it (an index left by an earlier sharded save survives a
        // later single-file save there), then the sharded index
        Path single = dir.resolve(SafeTensors.SINGLE_FILE);
        if (Files.isRegularFile(single)) return ofFiles(dir, List.of(single), null);
        Path index = dir.resolve(SafeTensors.INDEX_FILE);
        if (Files.isRegularFile(index)) return openIndexed(dir, index);
        List<Path> any = new ArrayList<>();
        try (var s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().endsWith(".safetensors") && Files.isRegularFile(p)).sorted().forEach(any::add);
        } catch (IOException e) {
            throw new LoriException(dir + ": cannot list folder: " + e.getMessage());
        }
        if (any.size() == 1) return ofFiles(dir, any, null);
        if (any.isEmpty())
            throw new LoriException(dir + ": no model.safetensors or model.safetensors.index.json in this folder");
        throw new LoriException(dir + ": " + any.size() + " .safetensors files but no model.safetensors.index.json saying how they fit together");
    }

    private static TensorStore openIndexed(Path dir, Path index) {
        JsonNode root = Json.read(index);
        JsonNode wm = root.get("weight_map");
        if (wm == null || !wm.isObject()) throw new LoriException(index + ": field 'weight_map' is missing or not an object");
        Map<String, String> weightMap = new LinkedHashMap<>();
        Set<String> shardNames = new LinkedHashSet<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = wm.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) throw new LoriException(index + ": weight_map entry '" + e.getKey() + "' is not a file name");
            String shard = e.getValue().asText();
            if (shard.contains("/") || shard.contains("\\") || shard.equals("..") || shard.isEmpty())
                throw new LoriException(index + ": weight_map entry '" + e.getKey() + "' names a file outside the folder: " + shard);
            weightMap.put(e.getKey(), shard);
            shardNames.add(shard);
        }
        List<Path> paths = new ArrayList<>();
        for (String s : shardNames) {
            Path p = dir.resolve(s);
            if (!Files.isRegularFile(p)) throw new LoriException(index + ": shard " + s + " listed in weight_map does not exist");
            paths.add(p);
        }
        return ofFiles(dir, paths, weightMap);
    }

    /** weightMap null: every tensor of every file, first file wins; else exactly the listed tensors from their shard. */
    private static TensorStore ofFiles(Path dir, List<Path> paths, Map<String, String> weightMap) {
        List<SafeTensorsFile> opened = new ArrayList<>();
        try {
            Map<String, SafeTensorsFile> byName = new LinkedHashMap<>();
            for (Path p : paths) {
                SafeTensorsFile f = SafeTensors.read(p);
                opened.add(f);
                byName.put(p.getFileName().toString(), f);
            }
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Map<String, Path> fileOf = new LinkedHashMap<>();
            if (weightMap == null) {
                for (SafeTensorsFile f : opened)
                    for (Map.Entry<String, Tensor> e : f.tensors().entrySet())
                        if (tensors.putIfAbsent(e.getKey(), e.getValue()) == null) fileOf.put(e.getKey(), f.file());
            } else {
                for (Map.Entry<String, String> e : weightMap.entrySet()) {
                    SafeTensorsFile f = byName.get(e.getValue());
                    Tensor t = f.get(e.getKey());
                    if (t == null)
                        throw new LoriException(f.file() + ": tensor '" + e.getKey() + "' listed in "
                                + SafeTensors.INDEX_FILE + " is not in this shard");
                    tensors.put(e.getKey(), t);
                    fileOf.put(e.getKey(), f.file());
                }
            }
            return new TensorStore(dir, List.copyOf(opened),
                    Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(fileOf));
        } catch (RuntimeException e) {
            for (SafeTensorsFile f : opened) f.close();
            throw e;
        }
    }

    /** The tensor with this name; a LoriException naming the folder and the tensor when absent. */
    public Tensor get(String name) {
        Tensor t = tensors.get(name);
        if (t == null) throw new LoriException(dir + ": tensor '" + name + "' not found in the model's safetensors files");
        return t;
    }

    public boolean has(String name) { return tensors.containsKey(name); }

    /** Tensor names in file/index order. */
    public Set<String> names() { return tensors.keySet(); }

    /** All tensors by name in file/index order (unmodifiable). */
    public Map<String, Tensor> tensors() { return tensors; }

    /** The safetensors file holding this tensor (for error messages), or null. */
    public Path fileOf(String name) { return fileOf.get(name); }

    /** The safetensors files opened, in order. */
    public List<Path> files() { return files.stream().map(SafeTensorsFile::file).toList(); }

    /** Sum of all tensors' data bytes. */
    public long totalBytes() {
        long n = 0;
        for (Tensor t : tensors.values()) n += t.byteSize();
        return n;
    }

    /** The model folder. */
    public Path dir() { return dir; }

    /** Unmaps all files; tensors obtained from this store must not be used afterwards. */
    @Override
    public void close() {
        for (SafeTensorsFile f : files) f.close();
    }
}
