package org.lori4j.eval;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProgressTest {
    private final long[] now = {0};

    @Test
    void plainModePrintsAtMostOneLinePerIntervalAndAFinalLine() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Progress p = new Progress(new PrintStream(bytes, true, StandardCharsets.UTF_8), false, () -> now[0], 10);
        p.start("boolq", 100);
        now[0] = 5_000_000_000L;
        p.advance(10, 200);               // 5 s: within the interval, silent
        now[0] = 10_000_000_000L;
        p.advance(10, 200);               // 10 s: a line
        now[0] = 12_000_000_000L;
        p.advance(10, 200);               // silent
        now[0] = 40_000_000_000L;
        p.advance(70, 100);
        p.finish();
        String[] lines = bytes.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals("boolq: 100 outputs to generate", lines[0]);
        assertEquals("boolq 20/100 (20%) 2.00 items/s 40.0 tokens/s elapsed 0:10 ETA 0:40", lines[1]);
        assertEquals("boolq 100/100 (100%) 2.50 items/s 17.5 tokens/s elapsed 0:40", lines[2]);
        assertEquals(3, lines.length);
    }

    @Test
    void terminalModeRedrawsOneLine() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Progress p = new Progress(new PrintStream(bytes, true, StandardCharsets.UTF_8), true, () -> now[0], 10);
        p.start("hexphi", 4);
        now[0] = 1_000_000_000L;
        p.advance(2, 10);
        p.finish();
        String s = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(s.startsWith("\r[############............] hexphi 2/4 (50%) 2.00 items/s 10.0 tokens/s elapsed 0:01 ETA 0:01"), s);
        assertEquals(1, s.chars().filter(c -> c == '\n').count());
        assertEquals("1:01:01", org.lori4j.io.TerminalBar.clock(3661));
    }
}
