package org.lori4j.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.LoriCli;
import org.lori4j.TestPaths;
import org.lori4j.eval.EvalData;
import org.lori4j.io.LoriException;

import java.io.IOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** train --data and eval --data with a huge line or /dev/zero: one line within seconds, as bounded reads. */
class HostileDataTest {
    private static final Path ZERO = Path.of("/dev/zero");

    private static String oneLine(Runnable read) {
        long t0 = System.nanoTime();
        LoriException e = assertThrows(LoriException.class, read::run);
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(System.nanoTime() - t0 < 10e9, "took " + (System.nanoTime() - t0) / 1e9 + " s");
        return e.getMessage();
    }

    @Test
    void devZeroIsNotText() {
        if (!Files.exists(ZERO)) return;
        assertTrue(oneLine(() -> DatasetReader.readAll(ZERO)).contains("NUL"));
        assertTrue(oneLine(() -> EvalData.read(ZERO)).contains("NUL"));
        LoriCli.Result r = LoriCli.run("train", "--model", TestPaths.fixture("train").resolve("model").toString(), "--data", "/dev/zero",
                "--out", Path.of(System.getProperty("java.io.tmpdir"), "lori-zero-" + System.nanoTime()).toString(), "--steps", "1");
        assertEquals(2, r.code(), r.err());
        // progress lines come first on stderr; the error is one line, the last
        List<String> lines = r.err().strip().lines().toList();
        assertTrue(lines.getLast().startsWith("error: /dev/zero"), r.err());
        assertEquals(1, lines.stream().filter(l -> l.startsWith("error")).count(), r.err());
    }

    @Test
    void aLineLongerThanTheLimitIsRefused(@TempDir Path tmp) throws IOException {
        Path f = tmp.resolve("huge.jsonl");
        try (Writer w = Files.newBufferedWriter(f)) {
            w.write("{\"text\": \"ok\"}\n{\"text\": \"");
            char[] chunk = new char[1 << 20];
            java.util.Arrays.fill(chunk, 'a');
            for (int i = 0; i <= 16; i++) w.write(chunk);
            w.write("\"}\n");
        }
        assertTrue(oneLine(() -> DatasetReader.readAll(f)).contains(f + ":2: line longer than"));
    }
}
