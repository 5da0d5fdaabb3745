package org.lori4j.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class SafeTensorsTest {
    @TempDir
    Path tmp;

    /** A safetensors file assembled by hand: 8-byte LE length, header text, data bytes. */
    private static byte[] file(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return b.array();
    }

    private static byte[] le(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    private Path put(String name, byte[] bytes) throws Exception {
        Path p = tmp.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private String error(Path p) {
        LoriException e = assertThrows(LoriException.class, () -> SafeTensors.read(p).close());
        assertFalse(e.getMessage().contains("\n"), "one-line message: " + e.getMessage());
        assertTrue(e.getMessage().startsWith(p.toString()), "names the file: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void readsHandBuiltFileInHeaderOrderWithMetadata() throws Exception {
        ByteBuffer data = ByteBuffer.allocate(8 + 4 + 2 + 3 + 8).order(ByteOrder.LITTLE_ENDIAN);
        data.putLong(-5L);                         // z: I64 [1]
        data.putFloat(1.5f);                       // a: F32 []
        data.putShort((short) 0x3f80);             // b: BF16 [1] = 1.0
        data.put((byte) 1).put((byte) 0).put((byte) 1); // c: BOOL [3]
        data.putShort((short) 0x3c00).putShort((short) 0xc000).putShort((short) 0x7bff).putShort((short) 0); // h: F16 [2,2]
        String header = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"z\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[8,12]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[12,14]},"
                + "\"c\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[14,17]},"
                + "\"h\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[17,25]}}";
        Path p = put("x.safetensors", file(header, data.array()));
        try (SafeTensorsFile f = SafeTensors.read(p)) {
            assertEquals(List.of("z", "a", "b", "c", "h"), List.copyOf(f.tensors().keySet()));
            assertEquals(Map.of("format", "pt"), f.metadata());
            assertEquals(-5L, f.get("z").getLong(0));
            assertEquals(0, f.get("a").rank());
            assertEquals(1.5f, f.get("a").getFloat(0));
            assertEquals(1.0f, f.get("b").getFloat(0));
            assertTrue(f.get("c").getBool(0));
            assertFalse(f.get("c").getBool(1));
            assertArrayEquals(new long[]{2, 2}, f.get("h").shape());
            assertArrayEquals(new float[]{1f, -2f, 65504f, 0f}, f.get("h").toFloatArray());
            assertTrue(f.get("h").data().isMapped() || f.get("h").data().isNative(), "data is mapped, not on heap");
        }
    }

    @Test
    void writePadsHeaderWithSpacesToEightBytesLikeTheRustCrate() throws Exception {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("w", Tensor.of(new float[]{1, 2, 3}, 3));
        t.put("b", Tensor.fromFloats(DType.BF16, new float[]{-1, 0.5f}, 1, 2));
        Path p = tmp.resolve("out.safetensors");
        SafeTensors.write(p, t, Map.of("format", "pt"));
        byte[] bytes = Files.readAllBytes(p);
        String json = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[12,16]}}";
        int padded = (json.length() + 7) / 8 * 8;
        String expectedHeader = json + " ".repeat(padded - json.length());
        ByteBuffer bb = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(padded, bb.getLong());
        assertEquals(expectedHeader, new String(bytes, 8, padded, StandardCharsets.UTF_8));
        byte[] data = Arrays.copyOfRange(bytes, 8 + padded, bytes.length);
        ByteBuffer d = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1f, d.getFloat());
        assertEquals(2f, d.getFloat());
        assertEquals(3f, d.getFloat());
        assertEquals((short) 0xbf80, d.getShort());   // bf16 -1.0
        assertEquals((short) 0x3f00, d.getShort());   // bf16 0.5
        assertEquals(16, data.length);
        // and it reads back
        try (SafeTensorsFile f = SafeTensors.read(p)) {
            assertArrayEquals(new float[]{1, 2, 3}, f.get("w").toFloatArray());
            assertArrayEquals(new float[]{-1, 0.5f}, f.get("b").toFloatArray());
        }
    }

    @Test
    void roundTripsEveryDtype() {
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (DType d : DType.values()) {
            Tensor x = Tensor.zeros(d, 2, 3);
            for (int i = 0; i < 6; i++) x.setFloat(i, d == DType.BOOL ? i % 2 : i - 2);
            t.put("t_" + d, x);
        }
        Path p = tmp.resolve("all.safetensors");
        SafeTensors.write(p, t, Map.of());
        try (SafeTensorsFile f = SafeTensors.read(p)) {
            assertEquals(List.copyOf(t.keySet()), List.copyOf(f.tensors().keySet()));
            assertTrue(f.metadata().isEmpty());
            for (var e : t.entrySet()) {
                Tensor r = f.get(e.getKey());
                assertEquals(e.getValue().dtype(), r.dtype());
                assertArrayEquals(e.getValue().toFloatArray(), r.toFloatArray(), e.getKey());
            }
        }
    }

    @Test
    void truncatedFileIsRefused() throws Exception {
        assertTrue(error(put("t.safetensors", new byte[]{1, 2, 3})).contains("truncated"));
    }

    @Test
    void headerLengthBeyondFileIsRefused() throws Exception {
        byte[] f = file("{}", new byte[0]);
        ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1000);
        assertTrue(error(put("h.safetensors", f)).contains("header length 1000 goes beyond the end of the file (10 bytes"));
    }

    @Test
    void corruptJsonHeaderIsRefused() throws Exception {
        assertTrue(error(put("j.safetensors", file("{\"a\":{\"dtype\":", new byte[0]))).contains("invalid JSON header"));
        assertTrue(error(put("k.safetensors", file("[1,2]", new byte[0]))).contains("does not start with '{'"));
        String dup = error(put("u.safetensors", file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                + "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", new byte[2])));
        assertTrue(dup.contains("invalid JSON header: Duplicate field 'a'"), dup);
    }

    @Test
    void headerBytesAfterTheJsonOtherThanPaddingAreRefusedAsByTheRustReader() throws Exception {
        String ok = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
        try (SafeTensorsFile f = SafeTensors.read(put("pad.safetensors", file(ok + "   \n\t", new byte[1])))) {
            assertEquals(1, f.tensors().size());   // whitespace padding is fine
        }
        for (String tail : new String[]{"x", "{}", "\u0000\u0000", "// c", ",1"}) {
            String m = error(put("trail.safetensors", file(ok + tail, new byte[1])));
            assertTrue(m.contains("invalid JSON header") && !m.contains("\n"), m);
        }
        byte[] bad = file("{\"\u00e9\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[1]);
        int at = new String(bad, java.nio.charset.StandardCharsets.ISO_8859_1).indexOf('\u00c3');
        bad[at] = (byte) 0xff;   // not UTF-8
        assertTrue(error(put("utf.safetensors", bad)).contains("not UTF-8"));
    }

    @Test
    void unknownDtypeIsRefused() throws Exception {
        String m = error(put("d.safetensors",
                file("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[1])));
        assertTrue(m.contains("tensor 'a': unknown dtype 'F8_E4M3'"), m);
    }

    @Test
    void offsetsPastEndOfDataAreRefusedAsTruncated() throws Exception {
        String m = error(put("o.safetensors",
                file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[8])));
        assertTrue(m.contains("data_offsets [0, 16] go beyond the end of the data (8 bytes; file truncated?)"), m);
    }

    @Test
    void offsetsNotMatchingShapeAreRefused() throws Exception {
        String m = error(put("s.safetensors",
                file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8])));
        assertTrue(m.contains("hold 8 bytes but shape [3] F32 needs 12"), m);
    }

    @Test
    void overlappingTensorsAreRefused() throws Exception {
        String m = error(put("v.safetensors", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12])));
        assertTrue(m.contains("'a' [0, 8] and 'b' [4, 12] overlap"), m);
    }

    @Test
    void holesAndTrailingBytesAreRefusedAndNullMetadataIsNone() throws Exception {
        // the format: "the byte buffer needs to be entirely indexed, and cannot contain holes"
        String hole = error(put("hole.safetensors", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", new byte[12])));
        assertTrue(hole.contains("4 bytes before tensor 'b'"), hole);
        String tail = error(put("tail.safetensors", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[6])));
        assertTrue(tail.contains("2 bytes after the last tensor"), tail);
        try (var f = SafeTensors.read(put("meta.safetensors", file("{\"__metadata__\":null,\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
                + "\"data_offsets\":[0,4]}}", le(2.5f))))) {
            assertEquals(2.5f, f.get("a").getFloat(0));
        }
    }

    @Test
    void missingFileIsReported() {
        assertTrue(error(tmp.resolve("nope.safetensors")).endsWith("file not found"));
    }

    @Test
    void offsetArithmeticIsLongBeyondTwoGiB() {
        // A 3 GiB BF16 tensor placed after 2.5 GiB of other data: sizes and ends exceed Integer.MAX_VALUE.
        long begin = 5L << 29, numel = 3L << 29;
        long end = begin + numel * 2;
        assertDoesNotThrow(() -> SafeTensors.checkOffsets(Path.of("big"), "w", DType.BF16, new long[]{3L << 19, 1024}, begin, end, end));
        LoriException e = assertThrows(LoriException.class,
                () -> SafeTensors.checkOffsets(Path.of("big"), "w", DType.BF16, new long[]{3L << 19, 1024}, begin, end - 2, end));
        assertTrue(e.getMessage().contains("needs " + (numel * 2)), e.getMessage());
        assertThrows(LoriException.class,
                () -> SafeTensors.checkOffsets(Path.of("big"), "w", DType.F32, new long[]{1L << 40, 1L << 40}, 0, 8, 8));
        // The header parser reads a header of a segment whose length is only known as a long.
        byte[] f = file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[1]);
        SafeTensors.Header h = SafeTensors.parseHeader(Path.of("x"), MemorySegment.ofArray(f));
        assertEquals(f.length - 1, h.dataStart());
    }

    @Test
    void shardsLikeHuggingFaceWithIndex() throws Exception {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("a", Tensor.of(new float[]{1, 2}, 2));        // 8 bytes
        t.put("b", Tensor.of(new float[]{3, 4, 5}, 3));     // 12 -> a+b = 20 > 16, new shard
        t.put("c", Tensor.of(new float[]{6}, 1));           // 4  -> b+c = 16, same shard
        t.put("d", Tensor.of(new float[]{7, 8, 9, 10, 11}, 5)); // 20 > limit: own shard
        Files.writeString(tmp.resolve("model.safetensors"), "stale");
        List<String> files = SafeTensors.writeSharded(tmp, t, 16, Map.of("format", "pt"));
        assertEquals(List.of("model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                "model-00003-of-00003.safetensors", "model.safetensors.index.json"), files);
        assertFalse(Files.exists(tmp.resolve("model.safetensors")), "stale single file removed");
        var index = Json.read(tmp.resolve("model.safetensors.index.json"));
        assertEquals(44, index.get("metadata").get("total_size").asLong());
        assertEquals("model-00002-of-00003.safetensors", index.get("weight_map").get("c").asText());
        assertEquals("model-00003-of-00003.safetensors", index.get("weight_map").get("d").asText());
        try (SafeTensorsFile f = SafeTensors.read(tmp.resolve("model-00002-of-00003.safetensors"))) {
            assertEquals(List.of("b", "c"), List.copyOf(f.tensors().keySet()));
            assertEquals("pt", f.metadata().get("format"));
        }
        try (TensorStore s = TensorStore.openModelDir(tmp)) {
            assertEquals(List.of("a", "b", "c", "d"), List.copyOf(s.names()));
            assertArrayEquals(new float[]{7, 8, 9, 10, 11}, s.get("d").toFloatArray());
            assertEquals(44, s.totalBytes());
        }
        // A large limit gives one model.safetensors and removes the shards and index.
        assertEquals(List.of("model.safetensors"), SafeTensors.writeSharded(tmp, t, 1 << 20, Map.of()));
        try (var l = Files.list(tmp)) {
            assertEquals(List.of("model.safetensors"), l.map(p -> p.getFileName().toString()).toList());
        }
    }
}
