package org.lori4j.quickstart;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.*;

class ProgressBarTest {
    @Test
    void estimatesTheTimeLeftFromTheShareDone() {
        long[] now = {0};
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ProgressBar bar = new ProgressBar(new PrintStream(buf, true, StandardCharsets.UTF_8), false, () -> now[0]);
        bar.plan(400);
        now[0] = 30_000_000_000L;          // 30 s for a quarter: 90 s left
        bar.advance(100);
        assertEquals(" 25% 0:30 elapsed, ~1:30 left  ", bar.line(now[0]));
        bar.stage("train math-lora");       // not a terminal: one line per stage
        now[0] = 61_000_000_000L;
        bar.finish();
        assertEquals(" 25% 0:30 elapsed, ~1:30 left  train math-lora\n100% 1:01 elapsed  done\n",
                buf.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aTerminalGetsOneLineRedrawnInPlace() {
        long[] now = {0};
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ProgressBar bar = new ProgressBar(new PrintStream(buf, true, StandardCharsets.UTF_8), true, () -> now[0]);
        bar.plan(10);
        bar.stage("a");
        now[0] = 1_000_000_000L;
        bar.advance(5);
        bar.finish();
        String s = buf.toString(StandardCharsets.UTF_8);
        assertEquals(1, s.chars().filter(c -> c == '\n').count(), s);
        assertTrue(s.contains("\r[###############...............]  50% 0:01 elapsed, ~0:01 left  a"), s);
        assertTrue(s.contains("\r[##############################] 100% 0:01 elapsed  done"), s);
    }
}
