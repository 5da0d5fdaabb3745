package org.lori4j.cli;

import org.lori4j.cluster.ClusterRunner;
import org.lori4j.io.LoriException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code --cluster URL --workers N} of train and eval. The cluster runner comes from the lori4j-spark module: when it
 * is on this class path (spark-submit, tests) it runs here; otherwise (the {@code lori} script, whose class path holds
 * core only, so that Spark's ~200 jars never slow other commands) the same command line runs again in a JVM whose class
 * path is the module's {@code target/spark/lib/}, built by {@code ./mvnw -q -B -DskipTests package}.
 */
public final class ClusterOptions {
    /** Set in the JVM started for the cluster module, so that a broken module cannot start JVMs in a loop. */
    static final String CHILD = "lori.cluster.child";

    @Option(names = "--cluster", paramLabel = "URL",
            description = "run on a Spark cluster: spark://HOST:7077, or local[N] (N workers in one JVM); the model and data paths must be readable by every worker (docs/spark.md)")
    String master;

    @Option(names = "--workers", paramLabel = "N",
            description = "workers taking part with --cluster (train: data-parallel, one task slot each; eval: shards in parallel); default: N of local[N], else every core of the cluster")
    Integer workers;

    boolean given() { return master != null; }

    ClusterRunner.Target target() {
        if (workers != null && master == null) throw new LoriException("--workers is for --cluster");
        if (workers != null && workers < 1) throw new LoriException("--workers must be >= 1, got " + workers);
        return new ClusterRunner.Target(master, workers == null ? 0 : workers);
    }

    /** The cluster module's runner on this class path, or empty when the command must run again in the module's JVM. */
    static Optional<ClusterRunner> runner() {
        Optional<ClusterRunner> r = ClusterRunner.find();
        if (r.isEmpty() && System.getProperty(CHILD) != null)
            throw new LoriException("the lori4j-spark module's class path provides no cluster runner (rebuild with ./mvnw -q -B -DskipTests package)");
        return r;
    }

    /**
     * Runs this command line again in a JVM on the cluster module's class path and returns its exit code. Output and
     * input are the child's; if this JVM is stopped, the child is stopped with it.
     */
    static int relaunch(CommandSpec spec) {
        Path lib = sparkLib();
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments())
            if (!a.startsWith("-D" + CHILD)) cmd.add(a);
        Path opts = lib.resolveSibling("jvm.options");
        try {
            if (Files.isRegularFile(opts))
                for (String line : Files.readAllLines(opts, StandardCharsets.UTF_8))
                    if (!line.isBlank() && !line.startsWith("#")) cmd.add(line.strip());
        } catch (IOException e) {
            throw new LoriException(opts + ": cannot read: " + LoriException.reason(e));
        }
        Path log4j = lib.resolveSibling("log4j2.properties");
        if (Files.isRegularFile(log4j) && System.getProperty("log4j2.configurationFile") == null)
            cmd.add("-Dlog4j2.configurationFile=" + log4j);
        cmd.add("-D" + CHILD + "=true");
        cmd.add("-cp");
        cmd.add(lib.resolve("*").toString());
        cmd.add(Main.class.getName());
        cmd.addAll(spec.root().commandLine().getParseResult().originalArgs());
        Process p;
        try {
            p = new ProcessBuilder(cmd).inheritIO().start();
        } catch (IOException e) {
            throw new LoriException("cannot start the cluster JVM (" + cmd.getFirst() + "): " + LoriException.reason(e));
        }
        Thread stopChild = new Thread(p::destroy);
        Runtime.getRuntime().addShutdownHook(stopChild);
        try {
            return p.waitFor();
        } catch (InterruptedException e) {
            p.destroy();
            Thread.currentThread().interrupt();
            throw new LoriException("interrupted");
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(stopChild);
            } catch (IllegalStateException ignored) {
                // the JVM is shutting down: the hook runs
            }
        }
    }

    /** target/spark/lib beside the running lori4j.jar (or beside target/lib for a module jar). */
    static Path sparkLib() {
        Path here;
        try {
            here = Path.of(ClusterOptions.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException | SecurityException | NullPointerException e) {
            throw new LoriException("--cluster: cannot tell where lori4j is installed: " + e);
        }
        List<Path> candidates = new ArrayList<>();
        Path dir = here.getParent();
        if (dir != null) {
            candidates.add(dir.resolve("spark").resolve("lib"));              // target/lori4j.jar
            if (dir.getParent() != null) candidates.add(dir.getParent().resolve("spark").resolve("lib"));   // target/lib/lori4j-core.jar
        }
        for (Path c : candidates) if (Files.isDirectory(c)) return c;
        throw new LoriException("--cluster needs the lori4j-spark module, and " + (candidates.isEmpty() ? "target/spark/lib" : candidates.getFirst())
                + " does not exist: build it with ./mvnw -q -B -DskipTests package");
    }
}
