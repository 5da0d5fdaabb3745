package org.lori4j.dist;

import org.lori4j.cli.Main;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The training run of lori's AOT cache (JDK 25's -XX:AOTCacheOutput), run by the build after the jar is assembled:
 * a new user's first commands, in one JVM, so the cache holds their classes (loaded and linked) and the method
 * profiles of a short generation. Their output is discarded; a command that fails is reported and the cache is
 * still written (a cache that misses some classes only starts slower).
 */
public final class AotTraining {
    private AotTraining() {}

    public static void main(String[] args) throws IOException {
        Path tmp = Files.createTempDirectory("lori4j-aot-training");
        List<List<String>> commands = List.of(
                List.of("--help"),
                List.of("generate", "--help"),
                List.of("generate", "--prompt", "Once upon a time", "--max-new-tokens", "32"),
                List.of("tokenize", "--text", "Hello world"),
                List.of("info"),
                List.of("eval", "--task", "hexphi", "--limit", "4", "--max-new-tokens", "8", "--out", tmp.resolve("eval").toString()),
                List.of("generate", "--no-such-option"));
        PrintStream out = System.out, err = System.err;
        PrintStream discard = new PrintStream(OutputStream.nullOutputStream());
        int failed = 0;
        try {
            for (List<String> c : commands) {
                System.setOut(discard);
                System.setErr(discard);
                int code = Main.run(c.toArray(String[]::new));
                System.setOut(out);
                System.setErr(err);
                boolean expectFailure = c.contains("--no-such-option");
                if ((code != 0) != expectFailure) {
                    err.println("AOT training: lori " + String.join(" ", c) + " exited with " + code);
                    failed++;
                }
            }
        } finally {
            System.setOut(out);
            System.setErr(err);
            try (Stream<Path> s = Files.walk(tmp)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        out.println("AOT training: " + (commands.size() - failed) + " of " + commands.size() + " commands as expected");
        System.exit(0);   // the compute pool's threads must not keep the JVM alive
    }
}
