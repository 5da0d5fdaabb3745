package org.lori4j.eval;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Progress of an evaluation on stderr: on a terminal a bar redrawn in place with items/s, tokens/s and ETA;
 * otherwise (a log file, CI) a plain line at most every {@code interval} seconds and at the end.
 */
public final class Progress {
    private final PrintStream out;
    private final boolean terminal;
    private final LongSupplier nanos;
    private final long intervalNanos;
    private String label = "";
    private long total, done, tokens, start, lastPrint;
    private boolean drawn;

    public Progress(PrintStream out, boolean terminal, LongSupplier nanos, double intervalSeconds) {
        this.out = out;
        this.terminal = terminal;
        this.nanos = nanos;
        this.intervalNanos = (long) (intervalSeconds * 1e9);
    }

    /** Progress on System.err; a terminal when System.console() is not null. */
    public static Progress forConsole() {
        return new Progress(System.err, System.console() != null, System::nanoTime, 30);
    }

    /** A progress that prints nothing (tests, library use). */
    public static Progress silent() {
        return new Progress(new PrintStream(java.io.OutputStream.nullOutputStream()), false, System::nanoTime, 1e9);
    }

    /** Starts counting TOTAL outputs still to generate for LABEL (e.g. the task names). */
    public void start(String label, long total) {
        this.label = label;
        this.total = total;
        this.done = 0;
        this.tokens = 0;
        this.start = nanos.getAsLong();
        this.lastPrint = start;
        this.drawn = false;
        if (!terminal) out.println(label + ": " + total + " outputs to generate");
    }

    /** N more outputs finished, with their generated token count. */
    public void advance(long n, long newTokens) {
        done += n;
        tokens += newTokens;
        long now = nanos.getAsLong();
        if (terminal) {
            draw(now);
        } else if (now - lastPrint >= intervalNanos && done < total) {
            out.println(line(now));
            lastPrint = now;
        }
    }

    /** Ends the bar (terminal) or prints the last line. */
    public void finish() {
        long now = nanos.getAsLong();
        if (terminal) {
            draw(now);
            if (drawn) out.println();
        } else {
            out.println(line(now));
        }
    }

    private void draw(long now) {
        int width = 24;
        int filled = total == 0 ? width : (int) (width * done / total);
        out.print("\r" + "[" + "#".repeat(filled) + ".".repeat(width - filled) + "] " + line(now) + "   ");
        out.flush();
        drawn = true;
    }

    /** "LABEL 120/330 (36%) 2.10 items/s 45.3 tokens/s ETA 1:40" */
    String line(long now) {
        double s = (now - start) / 1e9;
        double rate = s > 0 ? done / s : 0;
        String eta = rate > 0 && done < total ? " ETA " + clock((total - done) / rate) : "";
        return String.format(Locale.ROOT, "%s %d/%d (%d%%) %.2f items/s %.1f tokens/s elapsed %s%s", label, done, total,
                total == 0 ? 100 : done * 100 / total, rate, s > 0 ? tokens / s : 0, clock(s), eta);
    }

    static String clock(double seconds) {
        long t = Math.round(seconds);
        long h = t / 3600, m = t % 3600 / 60, sec = t % 60;
        return h > 0 ? String.format(Locale.ROOT, "%d:%02d:%02d", h, m, sec) : String.format(Locale.ROOT, "%d:%02d", m, sec);
    }
}
