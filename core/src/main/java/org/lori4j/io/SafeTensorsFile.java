package org.lori4j.io;

import org.lori4j.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;

/**
 * An open, read-only, memory-mapped safetensors file. The tensors view the mapping directly (no heap copy)
 * and become invalid once the file is closed.
 */
public final class SafeTensorsFile implements AutoCloseable {
    private final Path file;
    private final Arena arena;
    private final MemorySegment mapping;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> metadata;

    SafeTensorsFile(Path file, Arena arena, MemorySegment mapping, Map<String, Tensor> tensors, Map<String, String> metadata) {
        this.file = file;
        this.arena = arena;
        this.mapping = mapping;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public Path file() { return file; }

    /** Tensors by name, in header order (unmodifiable). */
    public Map<String, Tensor> tensors() { return tensors; }

    /** The header's {@code __metadata__} string map (empty when absent; unmodifiable). */
    public Map<String, String> metadata() { return metadata; }

    /** The tensor with this name, or null. */
    public Tensor get(String name) { return tensors.get(name); }

    /** Size of the whole mapped file in bytes. */
    public long fileSize() { return mapping.byteSize(); }

    /** Unmaps the file; tensors obtained from it must not be used afterwards. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }
}
