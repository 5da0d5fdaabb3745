package org.lori4j.io;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * The one progress bar of the command-line tools (training, evaluation, quickstart): on a terminal,
 * {@code [########........] text} redrawn in place with a carriage return, the text saying what is being done,
 * how fast and how long is left. Callers decide what the text says and, when the output is not a terminal,
 * print plain lines instead.
 */
public final class TerminalBar {
    private final PrintWriter out;
    private final int width;
    private int lastLength;
    private boolean drawn;

    /** A bar of {@code width} characters between the brackets, drawn on {@code out}. */
    public TerminalBar(PrintWriter out, int width) {
        if (width <= 0) throw new IllegalArgumentException("bar width must be positive: " + width);
        this.out = out;
        this.width = width;
    }

    /** Redraws the line: the bar filled to {@code fraction} (clamped to 0..1), then the text; a longer previous line is blanked. */
    public void draw(double fraction, String text) {
        double f = Double.isNaN(fraction) ? 0 : Math.max(0, Math.min(1, fraction));
        int filled = (int) (width * f);
        String line = "[" + "#".repeat(filled) + ".".repeat(width - filled) + "] " + text;
        out.print("\r" + line + " ".repeat(Math.max(0, lastLength - line.length())));
        out.flush();
        lastLength = line.length();
        drawn = true;
    }

    /** Ends the bar's line (a newline if anything was drawn), so that later output starts on a fresh line. */
    public void end() {
        if (drawn) out.println();
        out.flush();
        drawn = false;
        lastLength = 0;
    }

    /** A duration as m:ss, or h:mm:ss from an hour on. */
    public static String clock(double seconds) {
        long t = Math.round(Math.max(0, seconds));
        long h = t / 3600, m = t % 3600 / 60, s = t % 60;
        return h > 0 ? String.format(Locale.ROOT, "%d:%02d:%02d", h, m, s) : String.format(Locale.ROOT, "%d:%02d", m, s);
    }
}
