package org.lori4j.eval;

import org.lori4j.io.TerminalBar;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Progress of an evaluation on stderr: on a terminal a bar redrawn in place with items/s, tokens/s and ETA;
 * otherwise (a log file, CI) a plain line at most every {@code interval} seconds and at the end.
 */
public final class Progress {
    private final PrintWriter out;
    private final TerminalBar bar;
    private final boolean terminal;
    private final LongSupplier nanos;
    private final long intervalNanos;
    private String label = "";
    private long total, done, tokens, start, lastPrint;

    public Progress(PrintStream out, boolean terminal, LongSupplier nanos, double intervalSeconds) {
        this.out = new PrintWriter(out, true, out.charset());
        this.bar = new TerminalBar(this.out, 24);
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
        if (!terminal) out.println(label + ": " + total + " outputs to generate");
    }

    /** N more outputs finished, with their generated token count. */
    public void advance(long n, long newTokens) {
        done += n;
        tokens += newTokens;
        long now = nanos.getAsLong();
        if (terminal) {
            bar.draw(fraction(), line(now));
        } else if (now - lastPrint >= intervalNanos && done < total) {
            out.println(line(now));
            lastPrint = now;
        }
    }

    /** Ends the bar (terminal) or prints the last line. */
    public void finish() {
        long now = nanos.getAsLong();
        if (terminal) {
            bar.draw(fraction(), line(now));
            bar.end();
        } else {
            out.println(line(now));
        }
    }

    private double fraction() {
        return total == 0 ? 1 : (double) done / total;
    }

    /** "LABEL 120/330 (36%) 2.10 items/s 45.3 tokens/s ETA 1:40" */
    String line(long now) {
        double s = (now - start) / 1e9;
        double rate = s > 0 ? done / s : 0;
        String eta = rate > 0 && done < total ? " ETA " + TerminalBar.clock((total - done) / rate) : "";
        return String.format(Locale.ROOT, "%s %d/%d (%d%%) %.2f items/s %.1f tokens/s elapsed %s%s", label, done, total,
                total == 0 ? 100 : done * 100 / total, rate, s > 0 ? tokens / s : 0, TerminalBar.clock(s), eta);
    }
}
