package org.lori4j.generate;

import java.util.List;

/**
 * Cuts a stream of generated text at the first occurrence of any stop string, as OpenAI's {@code stop}, vLLM's
 * stop strings and llama.cpp's server do: the returned text never contains the stop string or anything after it.
 * While streaming, text that could still be the start of a stop string is held back until the next pieces decide
 * (so nothing is emitted that a later piece would have to take back); {@link #finish()} releases it when the
 * stream ends without a stop. Not thread-safe: one instance per sequence.
 */
public final class StopStrings {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    /** @param stops non-empty strings (an empty list never stops) */
    public StopStrings(List<String> stops) {
        for (String s : stops)
            if (s == null || s.isEmpty()) throw new IllegalArgumentException("a stop string must not be empty");
        this.stops = List.copyOf(stops);
    }

    /** True once a stop string has appeared; everything pushed afterwards is ignored. */
    public boolean stopped() { return stopped; }

    /**
     * Adds the next piece of text; returns the part that is now certain to be output (possibly ""). When the piece
     * completes a stop string, returns the text before it and {@link #stopped()} becomes true.
     */
    public String push(String piece) {
        if (stopped) return "";
        pending.append(piece);
        if (stops.isEmpty()) return take(pending.length());
        int first = -1;
        for (String s : stops) {
            int i = pending.indexOf(s);
            if (i >= 0 && (first < 0 || i < first)) first = i;
        }
        if (first >= 0) {
            stopped = true;
            String out = pending.substring(0, first);
            pending.setLength(0);
            return out;
        }
        return take(heldFrom());
    }

    /** The rest of the text when the stream ends without a stop string ("" after a stop). */
    public String finish() {
        return stopped ? "" : take(pending.length());
    }

    /** The smallest index from which the pending text is a proper prefix of some stop string (its length if none). */
    private int heldFrom() {
        String p = pending.toString();
        int n = p.length();
        for (int i = 0; i < n; i++) {
            int len = n - i;
            for (String s : stops)
                if (len < s.length() && s.regionMatches(0, p, i, len)) return i;
        }
        return n;
    }

    private String take(int upTo) {
        String out = pending.substring(0, upTo);
        pending.delete(0, upTo);
        return out;
    }

    /** {@code text} cut before the first occurrence of any of {@code stops} (the whole text when none occurs). */
    public static String cut(String text, List<String> stops) {
        StopStrings s = new StopStrings(stops);
        String head = s.push(text);
        return s.stopped() ? head : head + s.finish();
    }
}
