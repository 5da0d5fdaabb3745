package org.lori4j.spark;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A real Spark standalone cluster on 127.0.0.1 for tests: a master and workers, each a JVM of its own started from the
 * Maven class path (no Spark download). Spark's worker builds each executor's class path from a Spark home's jars/
 * folder (launcher AbstractCommandBuilder.buildClassPath: the application's extraClassPath, the conf folder, then
 * SPARK_HOME/jars/*; it needs SPARK_SCALA_VERSION or a launcher/target/scala-2.13 folder), so the home made here holds
 * jars/ with links to the jars of this JVM's class path; lori4j's own classes (folders in a Maven build) reach the
 * executors as spark.executor.extraClassPath. {@link #close} (also run at JVM exit) stops every process it started,
 * executors included, and any left over whose command line names this cluster's home folder.
 */
final class StandaloneCluster implements AutoCloseable {
    final Path home;
    final int port;
    final String url;
    final List<String> classFolders = new ArrayList<>();
    private final List<String> jvmFlags;
    private final Process master;
    private final List<Process> workers = new ArrayList<>();
    private final Set<ProcessHandle> started = new LinkedHashSet<>();
    private final Thread onExit = new Thread(this::stopAll);

    StandaloneCluster(Path home, int workerCount) throws IOException, InterruptedException {
        this.home = home.toAbsolutePath();
        Files.createDirectories(this.home.resolve("jars"));
        Files.createDirectories(this.home.resolve("logs"));
        Files.createDirectories(this.home.resolve("work"));
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(e).toAbsolutePath();
            if (Files.isDirectory(p)) classFolders.add(p.toString());
            else if (e.endsWith(".jar") && Files.isRegularFile(p)) {
                Path link = this.home.resolve("jars").resolve(p.getFileName());
                if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) Files.createSymbolicLink(link, p);
            }
        }
        this.jvmFlags = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("src/main/dist/jvm.options"), StandardCharsets.UTF_8))
            if (!line.isBlank() && !line.startsWith("#")) jvmFlags.add(line.strip());
        try (ServerSocket s = new ServerSocket(0)) {
            this.port = s.getLocalPort();
        }
        this.url = "spark://127.0.0.1:" + port;
        Runtime.getRuntime().addShutdownHook(onExit);
        master = start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", String.valueOf(port), "--webui-port", "0");
        waitForLog("master", "Starting Spark master at", Duration.ofSeconds(90));
        for (int i = 0; i < workerCount; i++) startWorker();
    }

    /** Starts one more worker (1 core) and waits until the master has registered it. */
    void startWorker() throws IOException, InterruptedException {
        String name = "worker-" + (workers.size() + 1);
        Files.createDirectories(home.resolve("work").resolve(name));
        workers.add(start(name, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1", "--memory", "1g",
                "--webui-port", "0", "--work-dir", home.resolve("work").resolve(name).toString(), url));
        waitForLog(name, "Successfully registered with master", Duration.ofSeconds(90));
    }

    /** Kills worker I (0-based) with SIGKILL, as a machine dies: its executor loses its worker and exits. */
    void killWorker(int i) {
        ProcessHandle w = workers.get(i).toHandle();
        List<ProcessHandle> children = w.descendants().toList();
        w.destroyForcibly();
        for (ProcessHandle c : children) c.destroyForcibly();
    }

    private Process start(String name, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmFlags);
        cmd.add("-Xmx256m");
        cmd.add("-cp");
        cmd.add(home.resolve("jars") + File.separator + "*");
        cmd.add(mainClass);
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(home.resolve("logs").resolve(name + ".log").toFile());
        Map<String, String> env = pb.environment();
        env.put("SPARK_HOME", home.toString());
        env.put("SPARK_SCALA_VERSION", "2.13");
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        Process p = pb.start();
        started.add(p.toHandle());
        return p;
    }

    String log(String name) throws IOException {
        Path f = home.resolve("logs").resolve(name + ".log");
        return Files.exists(f) ? Files.readString(f, StandardCharsets.UTF_8) : "";
    }

    private void waitForLog(String name, String text, Duration timeout) throws IOException, InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (!log(name).contains(text)) {
            if (System.nanoTime() > end) throw new IllegalStateException(name + " did not log '" + text + "' in " + timeout + ":\n" + log(name));
            Thread.sleep(100);
        }
    }

    /** The processes of this cluster still running: what it started, their descendants, and strays naming its home. */
    List<ProcessHandle> processes() {
        Set<ProcessHandle> all = new LinkedHashSet<>();
        for (ProcessHandle p : started) {
            if (p.isAlive()) all.add(p);
            p.descendants().forEach(all::add);
        }
        String mark = home.toString();
        ProcessHandle.allProcesses()
                .filter(p -> p.pid() != ProcessHandle.current().pid() && p.info().commandLine().map(c -> c.contains(mark)).orElse(false))
                .forEach(all::add);
        return List.copyOf(all);
    }

    private void stopAll() {
        List<ProcessHandle> ps = processes();
        for (ProcessHandle p : ps) p.destroy();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (ProcessHandle p : ps) {
            try {
                p.onExit().get(Math.max(1, end - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (Exception e) {
                p.destroyForcibly();
            }
        }
        for (ProcessHandle p : processes()) p.destroyForcibly();
    }

    @Override
    public void close() {
        stopAll();
        try {
            Runtime.getRuntime().removeShutdownHook(onExit);
        } catch (IllegalStateException ignored) {
            // already shutting down
        }
    }
}
