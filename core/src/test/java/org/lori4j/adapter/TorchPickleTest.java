package org.lori4j.adapter;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.TestPaths;
import org.lori4j.io.LoriException;
import org.lori4j.io.SafeTensors;
import org.lori4j.io.SafeTensorsFile;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Tensor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/** TorchPickle against files written by torch.save (src/test/python/make_adapter_fixtures.py). */
class TorchPickleTest {
    private static final Path PT = TestPaths.fixture("adapter").resolve("pt");

    private static void assertSameValues(Tensor expected, Tensor actual) {
        assertArrayEquals(expected.shape(), actual.shape());
        for (long i = 0; i < expected.numel(); i++) assertEquals(expected.getFloat(i), actual.getFloat(i), 0f, "element " + i);
    }

    @Test
    void readsNonContiguousSharedAndOrderedDicts() {
        try (SafeTensorsFile exp = SafeTensors.read(PT.resolve("expected.safetensors"))) {
            Map<String, Tensor> nc = TorchPickle.readTensors(PT.resolve("noncontiguous.pt"));
            assertEquals(List.of("t", "plain"), List.copyOf(nc.keySet()));
            assertEquals(DType.BOOL, nc.get("t").dtype());
            assertSameValues(exp.get("noncontiguous.t"), nc.get("t"));
            assertSameValues(exp.get("noncontiguous.plain"), nc.get("plain"));

            Map<String, Tensor> sh = TorchPickle.readTensors(PT.resolve("shared.pt"));
            assertSameValues(exp.get("shared.row1"), sh.get("row1"));
            assertSameValues(exp.get("shared.cols"), sh.get("cols"));
            assertSameValues(exp.get("shared.whole"), sh.get("whole"));

            Map<String, Tensor> od = TorchPickle.readTensors(PT.resolve("ordered.pt"));
            assertEquals(List.of("b", "a"), List.copyOf(od.keySet()));
            assertEquals(DType.BF16, od.get("b").dtype());
            assertEquals(DType.I64, od.get("a").dtype());
            assertSameValues(exp.get("ordered.b"), od.get("b"));
            assertSameValues(exp.get("ordered.a"), od.get("a"));
        }
    }

    @Test
    void refusesMaliciousGlobalWithoutRunningIt() throws IOException {
        Path marker = Path.of("/tmp/lori4j-pwned");
        Files.deleteIfExists(marker);
        LoriException e = assertThrows(LoriException.class, () -> TorchPickle.readTensors(PT.resolve("evil.pt")));
        assertTrue(e.getMessage().contains("posix.system"), e.getMessage());
        assertFalse(Files.exists(marker));
    }

    @Test
    void refusesNonDictTruncatedAndNonTorchFiles(@TempDir Path tmp) throws IOException {
        assertTrue(assertThrows(LoriException.class, () -> TorchPickle.readTensors(PT.resolve("list.pt")))
                .getMessage().contains("expected a dict"));
        assertThrows(LoriException.class, () -> TorchPickle.readTensors(PT.resolve("truncated.pt")));
        Path junk = tmp.resolve("junk.pt");
        Files.writeString(junk, "not a zip at all");
        assertTrue(assertThrows(LoriException.class, () -> TorchPickle.readTensors(junk)).getMessage().contains("not a torch zip"));
        assertThrows(LoriException.class, () -> TorchPickle.readTensors(tmp.resolve("missing.pt")));
    }

    /** A zip holding only archive/data.pkl with the given pickle bytes. */
    private static Path zipWithPickle(Path dir, byte[] pkl) throws IOException {
        Path f = dir.resolve("archive.pt");
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bo)) {
            z.putNextEntry(new ZipEntry("archive/data.pkl"));
            z.write(pkl);
            z.closeEntry();
        }
        Files.write(f, bo.toByteArray());
        return f;
    }

    @Test
    void refusesOpcodesOutsideTheSubset(@TempDir Path tmp) throws IOException {
        // PROTO 2, then INST 'os\nsystem\n' : INST is not in the allowed subset
        byte[] inst = {(byte) 0x80, 2, '(', 'i', 'o', 's', '\n', 's', 'y', 's', 't', 'e', 'm', '\n', '.'};
        LoriException e = assertThrows(LoriException.class, () -> TorchPickle.readTensors(zipWithPickle(tmp, inst)));
        assertTrue(e.getMessage().contains("not allowed"), e.getMessage());
        // BINGET of an undefined memo slot
        byte[] get = {(byte) 0x80, 2, 'h', 5, '.'};
        assertTrue(assertThrows(LoriException.class, () -> TorchPickle.readTensors(zipWithPickle(tmp, get)))
                .getMessage().contains("memo"));
        // string length running past the end
        byte[] str = {(byte) 0x80, 2, 'X', 100, 0, 0, 0, 'a', '.'};
        assertThrows(LoriException.class, () -> TorchPickle.readTensors(zipWithPickle(tmp, str)));
        // an empty dict is fine
        byte[] empty = {(byte) 0x80, 2, '}', 'q', 0, '.'};
        assertTrue(TorchPickle.readTensors(zipWithPickle(tmp, empty)).isEmpty());
        // a persistent id pointing at a storage that is not in the zip
        byte[] missing = ("\u0080\u0002}(X\u0001\u0000\u0000\u0000k" + "ctorch._utils\n_rebuild_tensor_v2\n"
                + "((X\u0007\u0000\u0000\u0000storagectorch\nBoolStorage\nX\u0001\u0000\u0000\u00000X\u0003\u0000\u0000\u0000cpuK\u0004tQ"
                + "K\u0000K\u0004\u0085K\u0001\u0085\u0089ccollections\nOrderedDict\n)RtRu.").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        e = assertThrows(LoriException.class, () -> TorchPickle.readTensors(zipWithPickle(tmp, missing)));
        assertTrue(e.getMessage().contains("storage 0 is missing"), e.getMessage());
    }

    // ------------------------------------------------------------------ hostile files (issue 19): each one line, fast

    /** PROTO 2 { 'k': _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', NUMEL), 0, SIZE, STRIDE, False, OrderedDict()) }. */
    private static byte[] tensorPickle(long numel, long[] size, long[] stride) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(0x80); o.write(2); o.write('}'); o.write('(');
        str(o, "k");
        o.writeBytes("ctorch._utils\n_rebuild_tensor_v2\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        o.write('('); o.write('(');
        str(o, "storage");
        o.writeBytes("ctorch\nFloatStorage\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        str(o, "0"); str(o, "cpu"); long8(o, numel);
        o.write('t'); o.write('Q');
        long8(o, 0);
        o.write('('); for (long v : size) long8(o, v); o.write('t');
        o.write('('); for (long v : stride) long8(o, v); o.write('t');
        o.write(0x89);
        o.writeBytes("ccollections\nOrderedDict\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        o.write(')'); o.write('R'); o.write('t'); o.write('R'); o.write('u'); o.write('.');
        return o.toByteArray();
    }

    private static void str(ByteArrayOutputStream o, String s) {
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        o.write('X');
        for (int i = 0; i < 4; i++) o.write((b.length >>> (8 * i)) & 0xff);
        o.writeBytes(b);
    }

    private static void long8(ByteArrayOutputStream o, long v) {
        o.write(0x8a); o.write(8);
        for (int i = 0; i < 8; i++) o.write((int) (v >>> (8 * i)) & 0xff);
    }

    /** archive/data.pkl (deflated or stored) plus a stored archive/data/0 of STORAGE bytes. */
    private static Path torchZip(Path dir, byte[] pkl, byte[] storage, boolean deflate) throws IOException {
        Path f = Files.createTempFile(dir, "hostile", ".pt");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(f))) {
            ZipEntry p = new ZipEntry("archive/data.pkl");
            if (!deflate) stored(p, pkl);
            z.putNextEntry(p);
            z.write(pkl);
            z.closeEntry();
            if (storage != null) {
                ZipEntry d = new ZipEntry("archive/data/0");
                stored(d, storage);
                z.putNextEntry(d);
                z.write(storage);
                z.closeEntry();
            }
        }
        return f;
    }

    private static void stored(ZipEntry e, byte[] data) {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(data);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        e.setCrc(crc.getValue());
    }

    private static String oneLineError(Path f) {
        long t0 = System.nanoTime();
        LoriException e = assertThrows(LoriException.class, () -> TorchPickle.readTensors(f));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        assertTrue(System.nanoTime() - t0 < 10e9, "took " + (System.nanoTime() - t0) / 1e9 + " s");
        return e.getMessage();
    }

    @Test
    void hostileSizesAndLengthsAreOneLineErrors(@TempDir Path tmp) throws IOException {
        // the well-formed version of the builder reads
        Path good = torchZip(tmp, tensorPickle(4, new long[]{2, 2}, new long[]{2, 1}), new byte[16], false);
        assertArrayEquals(new long[]{2, 2}, TorchPickle.readTensors(good).get("k").shape());
        // BINUNICODE8 of length 2^63-1
        byte[] s8 = {(byte) 0x80, 2, (byte) 0x8d, -1, -1, -1, -1, -1, -1, -1, 0x7f, 'a', '.'};
        assertTrue(oneLineError(torchZip(tmp, s8, null, false)).contains("runs past the end"));
        // size (2^32, 2^32), stride 2^61, storage numel 2^62 with an empty entry
        oneLineError(torchZip(tmp, tensorPickle(4, new long[]{1L << 32, 1L << 32}, new long[]{1, 1}), new byte[16], false));
        oneLineError(torchZip(tmp, tensorPickle(4, new long[]{2, 2}, new long[]{1L << 61, 1}), new byte[16], false));
        oneLineError(torchZip(tmp, tensorPickle(1L << 62, new long[]{2, 2}, new long[]{2, 1}), new byte[0], false));
        // a broadcast view (stride 0) far larger than its storage: refused, not allocated
        assertTrue(oneLineError(torchZip(tmp, tensorPickle(1, new long[]{1 << 20, 1 << 20}, new long[]{0, 0}), new byte[4], false))
                .contains("larger than its storage"));
        // a dict that is its own key: hashing it would never end
        byte[] self = {(byte) 0x80, 2, '}', 'q', 0, 'h', 0, 'N', 's', 'h', 0, 'N', 's', '.'};
        assertTrue(oneLineError(torchZip(tmp, self, null, false)).contains("dict key"));
    }

    @Test
    void zipBombLimitCountsInflatedBytes(@TempDir Path tmp) throws IOException {
        // ~80 KB deflated, 80 MB inflated: the zip claims nothing about it (sizes in the data descriptor)
        byte[] bomb = new byte[80 << 20];
        bomb[0] = (byte) 0x80; bomb[1] = 2;
        Path f = torchZip(tmp, bomb, null, true);
        // and the central directory claims 100 bytes
        byte[] z = Files.readAllBytes(f);
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(z).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i + 4 < z.length; i++) if (bb.getInt(i) == 0x02014b50) bb.putInt(i + 24, 100);
        Files.write(f, z);
        assertTrue(Files.size(f) < 1 << 20);
        assertTrue(oneLineError(f).contains("inflates to more than 64 MiB"));
    }
}
