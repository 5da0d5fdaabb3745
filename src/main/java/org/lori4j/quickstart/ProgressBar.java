package org.lori4j.quickstart;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * The quickstart's progress on stderr: on a terminal a bar redrawn in place with the current stage, elapsed time
 * and an estimate of the time left; otherwise (a log, a test) one line per stage.
 */
public final class ProgressBar implements Quickstart.Listener {
    private final PrintStream out;
    private final boolean terminal;
    private final LongSupplier nanos;
    private long total = 1, done, start;
    private String stage = "";
    private long lastDraw;

    public ProgressBar(PrintStream out, boolean terminal, LongSupplier nanos) {
        this.out = out;
        this.terminal = terminal;
        this.nanos = nanos;
    }

    /** On System.err, drawn in place when a console is attached. */
    public static ProgressBar forConsole() {
        return new ProgressBar(System.err, System.console() != null, System::nanoTime);
    }

    @Override
    public void plan(long totalUnits) {
        total = Math.max(1, totalUnits);
        done = 0;
        start = nanos.getAsLong();
    }

    @Override
    public void stage(String label) {
        stage = label;
        long now = nanos.getAsLong();
        if (terminal) draw(now, true);
        else out.println(line(now));
    }

    @Override
    public void advance(long units) {
        done = Math.min(total, done + units);
        if (terminal) draw(nanos.getAsLong(), false);
    }

    /** Ends the bar line. */
    public void finish() {
        done = total;
        stage = "done";
        long now = nanos.getAsLong();
        if (terminal) {
            draw(now, true);
            out.println();
        } else {
            out.println(line(now));
        }
    }

    private void draw(long now, boolean force) {
        if (!force && now - lastDraw < 100_000_000L) return;
        lastDraw = now;
        int width = 30;
        int filled = (int) (width * done / total);
        String s = "\r[" + "#".repeat(filled) + ".".repeat(width - filled) + "] " + line(now);
        out.print(s + " ".repeat(Math.max(0, 110 - s.length())));
        out.flush();
    }

    /** "37% 1:12 elapsed, ~2:03 left  train math-lori-s" */
    String line(long now) {
        double s = (now - start) / 1e9;
        double frac = (double) done / total;
        String left = frac > 0.02 && frac < 1 ? ", ~" + clock(s / frac - s) + " left" : "";
        return String.format(Locale.ROOT, "%3d%% %s elapsed%s  %s", (int) (100 * frac), clock(s), left, stage);
    }

    static String clock(double seconds) {
        long t = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d", t / 60, t % 60);
    }
}
