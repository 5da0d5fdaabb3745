package org.lori4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.InvocationTargetException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Entry point of {@code java -jar target/lori4j.jar}. Compiled for Java 17 (everything else needs 25), so an older
 * JVM prints one line saying which JDK lori4j needs instead of an UnsupportedClassVersionError. On JDK 25 it runs
 * {@code org.lori4j.cli.Main}; the Vector API is an incubator module that a manifest cannot add, so when the JVM
 * was started without {@code --add-modules jdk.incubator.vector} it starts the same java again with the flags and
 * waits for it, passing its output on without the JVM's notice that an incubator module is in use.
 */
public final class Launcher {
    /** The Java feature version lori4j is compiled for. */
    static final int NEEDED = 25;
    /** What the JVM prints first on stderr whenever the Vector API module is added. */
    static final String INCUBATOR_NOTICE = "WARNING: Using incubator modules: jdk.incubator.vector";

    private Launcher() {}

    public static void main(String[] args) throws Exception {
        if (Runtime.version().feature() < NEEDED) {
            System.err.println("lori4j needs Java " + NEEDED + " or later, but this is Java " + Runtime.version() + " ("
                    + System.getProperty("java.home") + "); run it with a JDK " + NEEDED
                    + " (set JAVA_HOME, or use ./lori, which looks for one)");
            System.exit(2);
        }
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
            try {
                Class.forName("org.lori4j.cli.Main").getMethod("main", String[].class).invoke(null, (Object) args);
            } catch (InvocationTargetException e) {
                throw e.getCause() instanceof Exception ex ? ex : new RuntimeException(e.getCause());
            }
            return;
        }
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String jar = Path.of(Launcher.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBin);
        cmd.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("--add-modules=jdk.incubator.vector");
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-cp");
        cmd.add(jar);
        cmd.add("org.lori4j.cli.Main");
        cmd.addAll(Arrays.asList(args));
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.INHERIT)
                .redirectOutput(ProcessBuilder.Redirect.INHERIT).start();
        Thread pump = new Thread(() -> copyWithoutNotice(p.getErrorStream(), System.err), "lori-stderr");
        pump.start();
        // Ctrl-C reaches both JVMs; wait for the child's own shutdown (and its last words) before this one ends
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                if (p.isAlive()) p.destroy();
                p.waitFor();
                pump.join(2000);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }));
        int code = p.waitFor();
        pump.join();
        System.exit(code);
    }

    /** Copies IN to OUT as it arrives, dropping the first line when it is the JVM's incubator notice. */
    static void copyWithoutNotice(InputStream in, OutputStream out) {
        byte[] notice = (INCUBATOR_NOTICE + "\n").getBytes(StandardCharsets.UTF_8);
        byte[] buf = new byte[8192];
        int matched = 0;      // bytes of the notice seen so far at the start of the stream; -1 once decided
        try {
            int n;
            while ((n = in.read(buf)) > 0) {
                int from = 0;
                if (matched >= 0) {
                    while (from < n && matched < notice.length && buf[from] == notice[matched]) {
                        from++;
                        matched++;
                    }
                    if (matched == notice.length) {
                        matched = -1;
                    } else if (from < n) {   // not the notice: what was held back goes out after all
                        out.write(notice, 0, matched);
                        matched = -1;
                    }
                }
                out.write(buf, from, n - from);
                out.flush();
            }
            if (matched > 0) out.write(notice, 0, matched);
            out.flush();
        } catch (IOException ignored) {
            // the reader or the writer went away: nothing left to pass on
        }
    }
}
