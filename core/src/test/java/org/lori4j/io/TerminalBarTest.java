package org.lori4j.io;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class TerminalBarTest {
    @Test
    void redrawsInPlaceBlanksLeftoversAndEndsTheLineOnce() {
        StringWriter s = new StringWriter();
        TerminalBar bar = new TerminalBar(new PrintWriter(s), 4);
        bar.draw(0.5, "half way there");
        bar.draw(1.7, "done");                      // clamped to full; 10 blanks clear the longer previous text
        bar.end();
        bar.end();                                  // nothing drawn since: no second newline
        assertEquals("\r[##..] half way there" + "\r[####] done" + " ".repeat(10) + System.lineSeparator(), s.toString());
    }

    @Test
    void clockIsMinutesAndSecondsThenHours() {
        assertEquals("0:00", TerminalBar.clock(0.4));
        assertEquals("1:05", TerminalBar.clock(65));
        assertEquals("59:59", TerminalBar.clock(3599));
        assertEquals("1:01:01", TerminalBar.clock(3661));
        assertEquals("0:00", TerminalBar.clock(-3));
        assertThrows(IllegalArgumentException.class, () -> new TerminalBar(new PrintWriter(new StringWriter()), 0));
    }
}
