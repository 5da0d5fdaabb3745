package org.lori4j.quickstart;

import org.lori4j.io.TerminalBar;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * The quickstart's progress on stderr: on a terminal a bar redrawn in place with the current stage, elapsed time
 * and an estimate of the time left; otherwise (a log, a test) one line per stage.
 */
public final class ProgressBar implements Quickstart.Listener {
    private final PrintWriter out;
    private final TerminalBar bar;
    private final boolean terminal;
    private final LongSupplier nanos;
    private long total = 1, done, start;
    private String stage = "";
    private long lastDraw;

    public ProgressBar(PrintStream out, boolean terminal, LongSupplier nanos) {
        this.out = new PrintWriter(out, true, out.charset());
        this.bar = new TerminalBar(this.out, 30);
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
            bar.end();
        } else {
            out.println(line(now));
        }
    }

    private void draw(long now, boolean force) {
        if (!force && now - lastDraw < 100_000_000L) return;
        lastDraw = now;
        bar.draw((double) done / total, line(now));
    }

    /** "37% 1:12 elapsed, ~2:03 left  train math-lori-s" */
    String line(long now) {
        double s = (now - start) / 1e9;
        double frac = (double) done / total;
        String left = frac > 0.02 && frac < 1 ? ", ~" + TerminalBar.clock(s / frac - s) + " left" : "";
        return String.format(Locale.ROOT, "%3d%% %s elapsed%s  %s", (int) (100 * frac), TerminalBar.clock(s), left, stage);
    }
}
