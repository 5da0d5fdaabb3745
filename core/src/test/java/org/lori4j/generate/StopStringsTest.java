package org.lori4j.generate;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StopStringsTest {

    @Test
    void cutsBeforeTheEarliestStopStringWhicheverIsListedFirst() {
        assertEquals("Hello ", StopStrings.cut("Hello world. Bye", List.of("Bye", "wor")));
        assertEquals("a", StopStrings.cut("abcabc", List.of("c", "bc")));
        assertEquals("no stop here", StopStrings.cut("no stop here", List.of("STOP")));
        assertEquals("", StopStrings.cut("STOP at once", List.of("STOP")));
        assertEquals("anything", StopStrings.cut("anything", List.of()));
    }

    @Test
    void holdsBackAPossibleStartOfAStopStringUntilTheNextPieceDecides() {
        StopStrings s = new StopStrings(List.of("\nUser:"));
        assertEquals("Hi", s.push("Hi\n"));
        assertEquals("", s.push("Us"));
        assertEquals("\nUsual", s.push("ual"));   // "\nUsu" is no prefix of "\nUser:": all of it goes out
        assertEquals(" day", s.push(" day\nUse"));
        assertEquals("", s.push("r: next"));
        assertTrue(s.stopped());
        assertEquals("", s.push("more"));
        assertEquals("", s.finish());
    }

    @Test
    void finishReleasesHeldTextWhenNoStopCame() {
        StopStrings s = new StopStrings(List.of("###"));
        assertEquals("x", s.push("x##"));
        assertFalse(s.stopped());
        assertEquals("##", s.finish());
    }

    @Test
    void streamingInAnyPiecesEqualsCuttingTheWholeText() {
        Random r = new Random(7);
        String alphabet = "ab\n:";
        List<String> stops = List.of("ab:", "\n\n", "b:a");
        for (int trial = 0; trial < 2000; trial++) {
            StringBuilder text = new StringBuilder();
            int len = r.nextInt(30);
            for (int i = 0; i < len; i++) text.append(alphabet.charAt(r.nextInt(alphabet.length())));
            StopStrings s = new StopStrings(stops);
            StringBuilder out = new StringBuilder();
            int i = 0;
            while (i < text.length()) {
                int j = Math.min(text.length(), i + r.nextInt(4));
                out.append(s.push(text.substring(i, j)));
                i = j;
            }
            out.append(s.finish());
            // independent expectation: the earliest index at which any stop string starts
            int first = -1;
            for (String stop : stops) {
                int k = text.indexOf(stop);
                if (k >= 0 && (first < 0 || k < first)) first = k;
            }
            String want = first < 0 ? text.toString() : text.substring(0, first);
            assertEquals(want, out.toString(), "text " + text);
            assertEquals(first >= 0, s.stopped(), "text " + text);
        }
    }

    @Test
    void refusesAnEmptyStopString() {
        assertThrows(IllegalArgumentException.class, () -> new StopStrings(List.of("")));
    }
}
