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
}
