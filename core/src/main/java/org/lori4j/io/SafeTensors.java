package org.lori4j.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Tensor;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length N, N bytes of JSON
 * ({@code name -> {dtype, shape, data_offsets}} plus an optional {@code __metadata__} string map), then the
 * raw little-endian tensor bytes, offsets relative to the end of the header. Files are memory-mapped with
 * long offsets, so files larger than 2 GiB work without heap copies.
 */
public final class SafeTensors {
    /** The Rust safetensors crate refuses headers above 100 MB; so do we (protects against garbage lengths). */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";
    static final Pattern SHARD_NAME = Pattern.compile("model-\\d{5}-of-\\d{5}\\.safetensors");

    /** Duplicate names would silently hide a tensor; refuse them. */
    private static final ObjectReader HEADER_READER = Json.MAPPER.reader().with(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .with(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final ObjectWriter COMPACT = Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT);

    private SafeTensors() {}

    // ------------------------------------------------------------------ reading

    /** Memory-maps a safetensors file read-only and validates its header; close the result to unmap. */
    public static SafeTensorsFile read(Path file) {
        long size;
        Arena arena = Arena.ofShared();
        MemorySegment map;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            size = ch.size();
            if (size < 8) {
                arena.close();
                throw new LoriException(file + ": truncated file: " + size
                        + " bytes, but a safetensors file starts with an 8-byte header length");
            }
            map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        } catch (NoSuchFileException e) {
            arena.close();
            throw new LoriException(file + ": file not found");
        } catch (IOException e) {
            arena.close();
            throw new LoriException(file + ": cannot read: " + LoriException.reason(e));
        }
        try {
            Header h = parseHeader(file, map);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (Entry e : h.entries) {
                MemorySegment slice = map.asSlice(h.dataStart + e.begin, e.end - e.begin);
                tensors.put(e.name, Tensor.of(e.dtype, e.shape, slice));
            }
            return new SafeTensorsFile(file, arena, map, Collections.unmodifiableMap(tensors),
                    Collections.unmodifiableMap(h.metadata));
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** One header entry; begin/end are relative to the start of the data section. */
    record Entry(String name, DType dtype, long[] shape, long begin, long end) {}

    record Header(long dataStart, List<Entry> entries, Map<String, String> metadata) {}

    /** Parses and validates the header of a whole safetensors file given as a segment (used with mmap and in tests). */
    static Header parseHeader(Path file, MemorySegment whole) {
        long size = whole.byteSize();
        if (size < 8)
            throw new LoriException(file + ": truncated file: " + size
                    + " bytes, but a safetensors file starts with an 8-byte header length");
        long n = whole.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (n < 0 || n > size - 8)
            throw new LoriException(file + ": header length " + Long.toUnsignedString(n)
                    + " goes beyond the end of the file (" + size + " bytes; truncated or not a safetensors file)");
        if (n > MAX_HEADER_BYTES)
            throw new LoriException(file + ": header length " + n + " is larger than the 100 MB limit");
        byte[] hb = whole.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        // as the reference reader: UTF-8 text that starts with '{' and holds one JSON value, then only whitespace
        // (the writer's space padding); anything else after the object is refused
        String text = TextFiles.decode(hb, file + ": header");
        if (!text.startsWith("{")) throw new LoriException(file + ": invalid JSON header: it does not start with '{'");
        JsonNode root;
        try {
            root = HEADER_READER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new LoriException(file + ": invalid JSON header: " + Json.parserMessage(e));
        } catch (IOException e) {
            throw new LoriException(file + ": invalid JSON header: " + oneLine(e.getMessage()));
        }
        if (root == null || !root.isObject())
            throw new LoriException(file + ": invalid JSON header: not a JSON object");
        long dataStart = 8 + n;
        long dataSize = size - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            String name = f.getKey();
            JsonNode v = f.getValue();
            if (name.equals("__metadata__")) {
                if (v.isNull()) continue;   // the format's Option<HashMap>: null is no metadata
                if (!v.isObject()) throw new LoriException(file + ": __metadata__ must be an object of strings");
                for (Iterator<Map.Entry<String, JsonNode>> m = v.fields(); m.hasNext(); ) {
                    Map.Entry<String, JsonNode> kv = m.next();
                    if (!kv.getValue().isTextual())
                        throw new LoriException(file + ": __metadata__ value '" + kv.getKey() + "' is not a string");
                    metadata.put(kv.getKey(), kv.getValue().asText());
                }
                continue;
            }
            entries.add(parseEntry(file, name, v, dataSize));
        }
        // As the format requires (and the reference reader checks): the tensors tile the data section, in offset
        // order, with no shared bytes, no hole between them and nothing after the last.
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long at = 0;
        for (int i = 0; i < sorted.size(); i++) {
            Entry b = sorted.get(i);
            if (b.begin < at) {
                Entry a = sorted.get(i - 1);
                throw new LoriException(file + ": data_offsets of tensors '" + a.name + "' [" + a.begin + ", " + a.end
                        + "] and '" + b.name + "' [" + b.begin + ", " + b.end + "] overlap");
            }
            if (b.begin > at)
                throw new LoriException(file + ": " + (b.begin - at) + " bytes before tensor '" + b.name + "' (data_offsets ["
                        + b.begin + ", " + b.end + "]) belong to no tensor; the data must be fully indexed, without holes");
            at = b.end;
        }
        if (at != dataSize)
            throw new LoriException(file + ": " + (dataSize - at) + " bytes after the last tensor belong to no tensor"
                    + " (the data section must end with it)");
        return new Header(dataStart, entries, metadata);
    }

    private static Entry parseEntry(Path file, String name, JsonNode v, long dataSize) {
        String where = file + ": tensor '" + name + "'";
        if (!v.isObject()) throw new LoriException(where + ": header entry is not an object");
        JsonNode dt = v.get("dtype");
        if (dt == null || !dt.isTextual()) throw new LoriException(where + ": field 'dtype' is missing or not a string");
        DType dtype = DType.fromSafetensors(dt.asText());
        if (dtype == null)
            throw new LoriException(where + ": unknown dtype '" + dt.asText()
                    + "' (supported: F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL)");
        JsonNode sh = v.get("shape");
        if (sh == null || !sh.isArray()) throw new LoriException(where + ": field 'shape' is missing or not an array");
        long[] shape = new long[sh.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0)
                throw new LoriException(where + ": shape " + sh + " has an invalid dimension");
            shape[i] = d.asLong();
        }
        JsonNode off = v.get("data_offsets");
        if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).isIntegralNumber() || !off.get(1).isIntegralNumber()
                || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong())
            throw new LoriException(where + ": field 'data_offsets' must be an array of two integers");
        long begin = off.get(0).asLong(), end = off.get(1).asLong();
        checkOffsets(file, name, dtype, shape, begin, end, dataSize);
        return new Entry(name, dtype, shape, begin, end);
    }

    /** Validates one tensor's data_offsets against its shape, dtype and the data section size (all long arithmetic). */
    static void checkOffsets(Path file, String name, DType dtype, long[] shape, long begin, long end, long dataSize) {
        String where = file + ": tensor '" + name + "'";
        if (begin < 0 || end < begin)
            throw new LoriException(where + ": invalid data_offsets [" + begin + ", " + end + "]");
        if (end > dataSize)
            throw new LoriException(where + ": data_offsets [" + begin + ", " + end + "] go beyond the end of the data ("
                    + dataSize + " bytes; file truncated?)");
        long need;
        try {
            long numel = 1;
            for (long d : shape) numel = Math.multiplyExact(numel, d);
            need = Math.multiplyExact(numel, (long) dtype.bytes());
        } catch (ArithmeticException e) {
            throw new LoriException(where + ": shape " + Arrays.toString(shape) + " is too large");
        }
        if (end - begin != need)
            throw new LoriException(where + ": data_offsets [" + begin + ", " + end + "] hold " + (end - begin)
                    + " bytes but shape " + Arrays.toString(shape) + " " + dtype.safetensorsName() + " needs " + need);
    }

    private static String oneLine(String s) {
        if (s == null) return "unknown error";
        return s.replaceAll("\\s*\\R\\s*", " ").trim();
    }

    // ------------------------------------------------------------------ writing

    /**
     * Writes tensors (in the given order) and metadata to one safetensors file atomically. The header is
     * padded with spaces to a multiple of 8 bytes, as the Rust safetensors crate does, so data starts aligned.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        byte[] header = headerBytes(tensors, metadata);
        AtomicFiles.write(file, out -> {
            byte[] len = new byte[8];
            ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
            out.write(len);
            out.write(header);
            byte[] buf = new byte[1 << 20];
            MemorySegment bufSeg = MemorySegment.ofArray(buf);
            for (Tensor t : tensors.values()) copy(t.data(), out, buf, bufSeg);
        });
    }

    /** The JSON header bytes including the trailing space padding. */
    static byte[] headerBytes(Map<String, Tensor> tensors, Map<String, String> metadata) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = root.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (e.getKey().equals("__metadata__")) throw new IllegalArgumentException("tensor name __metadata__ is reserved");
            Tensor t = e.getValue();
            ObjectNode o = root.putObject(e.getKey());
            o.put("dtype", t.dtype().safetensorsName());
            ArrayNode s = o.putArray("shape");
            for (long d : t.shape()) s.add(d);
            ArrayNode off = o.putArray("data_offsets");
            off.add(offset);
            offset += t.byteSize();
            off.add(offset);
        }
        byte[] json;
        try {
            json = COMPACT.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    private static void copy(MemorySegment src, OutputStream out, byte[] buf, MemorySegment bufSeg) throws IOException {
        long n = src.byteSize();
        for (long pos = 0; pos < n; ) {
            int len = (int) Math.min(buf.length, n - pos);
            MemorySegment.copy(src, pos, bufSeg, 0, len);
            out.write(buf, 0, len);
            pos += len;
        }
    }

    /**
     * Writes a model's tensors into {@code dir} the way Hugging Face does: {@code model.safetensors} when everything
     * fits in one shard of at most {@code maxShardBytes} tensor bytes, else {@code model-0000i-of-0000N.safetensors}
     * plus {@code model.safetensors.index.json} (metadata.total_size, weight_map). Tensors keep the given order;
     * a tensor larger than the limit gets a shard of its own. Stale model files of the other layout are removed.
     * Returns the names of the files written.
     */
    public static List<String> writeSharded(Path dir, Map<String, Tensor> tensors, long maxShardBytes, Map<String, String> metadata) {
        if (maxShardBytes <= 0) throw new IllegalArgumentException("maxShardBytes must be positive");
        List<Map<String, Tensor>> shards = planShards(tensors, maxShardBytes);
        List<String> written = new ArrayList<>();
        if (shards.size() <= 1) {
            write(dir.resolve(SINGLE_FILE), tensors, metadata);
            written.add(SINGLE_FILE);
        } else {
            int count = shards.size();
            ObjectNode index = Json.MAPPER.createObjectNode();
            long total = 0;
            for (Tensor t : tensors.values()) total += t.byteSize();
            index.putObject("metadata").put("total_size", total);
            ObjectNode weightMap = index.putObject("weight_map");
            for (int i = 0; i < count; i++) {
                String name = shardName(i + 1, count);
                write(dir.resolve(name), shards.get(i), metadata);
                for (String t : shards.get(i).keySet()) weightMap.put(t, name);
                written.add(name);
            }
            Json.write(dir.resolve(INDEX_FILE), index);
            written.add(INDEX_FILE);
        }
        removeStale(dir, written);
        return written;
    }

    /** HF's shard file name, e.g. model-00001-of-00003.safetensors. */
    public static String shardName(int i, int count) {
        return String.format("model-%05d-of-%05d.safetensors", i, count);
    }

    /** Greedy split in order: start a new shard when the next tensor would push a non-empty shard past the limit. */
    static List<Map<String, Tensor>> planShards(Map<String, Tensor> tensors, long maxShardBytes) {
        List<Map<String, Tensor>> shards = new ArrayList<>();
        Map<String, Tensor> cur = new LinkedHashMap<>();
        long curBytes = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            long b = e.getValue().byteSize();
            if (!cur.isEmpty() && curBytes + b > maxShardBytes) {
                shards.add(cur);
                cur = new LinkedHashMap<>();
                curBytes = 0;
            }
            cur.put(e.getKey(), e.getValue());
            curBytes += b;
        }
        if (!cur.isEmpty() || shards.isEmpty()) shards.add(cur);
        return shards;
    }

    private static void removeStale(Path dir, List<String> keep) {
        try (var files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String n = p.getFileName().toString();
                boolean ours = n.equals(SINGLE_FILE) || n.equals(INDEX_FILE) || SHARD_NAME.matcher(n).matches();
                if (ours && !keep.contains(n)) Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new LoriException(dir + ": cannot remove stale model files: " + e.getMessage());
        }
    }
}
