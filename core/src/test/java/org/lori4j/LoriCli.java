package org.lori4j;

import org.lori4j.cli.Main;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs a {@code lori} command line in-process through {@link Main#run} and captures its exit code, stdout and stderr. */
public final class LoriCli {
    private LoriCli() {}

    /** What one command line did. */
    public record Result(int code, String out, String err) {}

    /** Runs {@code lori ARGS...}; System.out/err are redirected for the call (tests calling this must not run in parallel). */
    public static Result run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            System.out.flush();
            System.err.flush();
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }
}
