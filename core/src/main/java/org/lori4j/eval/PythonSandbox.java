package org.lori4j.eval;

import org.lori4j.io.LoriException;
import org.lori4j.io.OutputDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs untrusted Python programs (HumanEval completions with their tests) one process per program:
 * a fresh temporary work folder as cwd, an environment with nothing but PATH/HOME/TMPDIR/LANG (so no
 * proxies), no network when {@code unshare} can make a network namespace, resource limits (CPU time,
 * address space, file size), the reference's time limit on the program's exec (a SIGALRM timer inside the
 * process, as bigcode/human-eval's time_limit) and, as their process join, a wall-clock limit one second longer
 * that kills the process tree, and an audit hook that ends the program before it writes outside its folder,
 * spawns processes or opens sockets.
 * This reduces accidents; it is not a security boundary (see the README).
 */
public final class PythonSandbox {

    /** How one program ended. Only {@link Status#PASSED} counts as a pass. */
    public enum Status { PASSED, FAILED, TIMED_OUT, VIOLATION }

    /** The outcome of one program: the status and a short reason (the exception, the violation). */
    public record Outcome(Status status, String detail) {
        public boolean passed() { return status == Status.PASSED; }
    }

    /** Limits for each program; 0 memory means no address-space limit. */
    public record Limits(Duration timeout, long addressSpaceBytes, long fileSizeBytes) {
        public static final Limits DEFAULT = new Limits(Duration.ofSeconds(3), 4L << 30, 16L << 20);
    }

    private static final String RUNNER_RESOURCE = "sandbox_runner.py";

    private final Path python;
    private final List<String> isolation;
    private final Limits limits;
    private final String runnerSource;

    private PythonSandbox(Path python, List<String> isolation, Limits limits, String runnerSource) {
        this.python = python;
        this.isolation = isolation;
        this.limits = limits;
        this.runnerSource = runnerSource;
    }

    /**
     * Finds the interpreter (a path, or a name looked up on PATH), checks it is Python 3.8 or newer
     * (audit hooks), and probes whether {@code unshare} can cut the network off.
     */
    public static PythonSandbox create(String python, Limits limits) {
        Path exe = resolve(python);
        if (exe == null) throw new LoriException(python + ": not found on PATH; code execution (humaneval) needs Python 3.8 or newer (pass --python PATH)");
        // Ask for sys.executable: launchers such as pyenv shims do not work in the cleared environment.
        String info = capture(List.of(exe.toString(), "-I", "-c",
                "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.executable)"));
        String[] lines = info == null ? new String[0] : info.split("\\R");
        if (lines.length != 2 || !lines[0].matches("\\d+\\.\\d+") || lines[1].isBlank())
            throw new LoriException(exe + ": does not run as a Python interpreter");
        String version = lines[0];
        String[] v = version.split("\\.");
        if (Integer.parseInt(v[0]) < 3 || (Integer.parseInt(v[0]) == 3 && Integer.parseInt(v[1]) < 8))
            throw new LoriException(exe + ": is Python " + version + "; code execution needs Python 3.8 or newer");
        exe = Path.of(lines[1].strip());
        List<String> isolation = List.of();
        Path unshare = resolve("unshare");
        if (unshare != null) {
            for (List<String> cand : List.of(List.of(unshare.toString(), "-rn"), List.of(unshare.toString(), "-n"))) {
                List<String> probe = new ArrayList<>(cand);
                probe.addAll(List.of(exe.toString(), "-I", "-c", "print('ok')"));
                if ("ok".equals(capture(probe))) { isolation = cand; break; }
            }
        }
        String runner;
        try (InputStream in = PythonSandbox.class.getResourceAsStream(RUNNER_RESOURCE)) {
            runner = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException | NullPointerException e) {
            throw new IllegalStateException("missing resource " + RUNNER_RESOURCE, e);
        }
        return new PythonSandbox(exe, isolation, limits, runner);
    }

    /** True when programs run in their own network namespace (no network at all). */
    public boolean networkIsolated() { return !isolation.isEmpty(); }

    public Path python() { return python; }

    public Limits limits() { return limits; }

    /** Runs one program and reports how it ended; never throws for anything the program does. */
    public Outcome run(String program) {
        Path base = null;
        Process p = null;
        try {
            base = Files.createTempDirectory("lori-exec-");
            Path work = Files.createDirectory(base.resolve("work"));
            Path runner = base.resolve("runner.py");
            Path prog = base.resolve("program.py");
            Path result = base.resolve("result.txt");
            Files.writeString(runner, runnerSource);
            Files.writeString(prog, program);
            Files.createFile(result);
            long cpu = Math.max(1, (long) Math.ceil(limits.timeout().toMillis() / 1000.0) + 1);
            List<String> cmd = new ArrayList<>(isolation);
            cmd.addAll(List.of(python.toString(), "-I", "-B", runner.toString(), result.toString(), prog.toString(),
                    work.toString(), Long.toString(cpu), Long.toString(limits.addressSpaceBytes()),
                    Long.toString(limits.fileSizeBytes()), Double.toString(limits.timeout().toMillis() / 1000.0)));
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(work.toFile())
                    .redirectErrorStream(true).redirectOutput(base.resolve("output.txt").toFile());
            Map<String, String> env = pb.environment();
            env.clear();
            env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
            env.put("HOME", work.toString());
            env.put("TMPDIR", work.toString());
            env.put("LANG", "C.UTF-8");
            byte[] nonceBytes = new byte[16];
            new SecureRandom().nextBytes(nonceBytes);
            String nonce = HexFormat.of().formatHex(nonceBytes);
            p = pb.start();
            try (OutputStream stdin = p.getOutputStream()) {
                stdin.write((nonce + "\n").getBytes(StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // the process already ended; its result says why
            }
            long wallMillis = limits.timeout().toMillis() + 1000;   // the reference joins its process after timeout + 1 s
            boolean ended = p.waitFor(wallMillis, TimeUnit.MILLISECONDS);
            if (!ended) {
                kill(p);
                return new Outcome(Status.TIMED_OUT, "timed out after " + wallMillis + " ms");
            }
            String r = Files.readString(result, StandardCharsets.UTF_8).strip();
            if (r.equals("passed " + nonce) && p.exitValue() == 0) return new Outcome(Status.PASSED, "passed");
            if (r.startsWith("timed out")) return new Outcome(Status.TIMED_OUT, r);
            if (r.startsWith("violation: ")) return new Outcome(Status.VIOLATION, r);
            if (r.startsWith("failed: ")) return new Outcome(Status.FAILED, r);
            int code = p.exitValue();
            String why = code > 128 ? "killed by signal " + (code - 128) : "exited with code " + code;
            return new Outcome(Status.FAILED, "failed: " + why + " before the tests completed");
        } catch (IOException e) {
            return new Outcome(Status.FAILED, "failed: could not run python: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (p != null) kill(p);
            return new Outcome(Status.FAILED, "failed: interrupted");
        } finally {
            if (p != null && p.isAlive()) kill(p);
            if (base != null) OutputDir.deleteTree(base);   // best effort: a leftover temp file is not worth failing an evaluation
        }
    }

    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A path, or the first executable of that name on PATH; null when none. */
    public static Path resolve(String name) {
        if (name.contains("/")) {
            Path p = Path.of(name);
            return Files.isExecutable(p) ? p.toAbsolutePath() : null;
        }
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (dir.isEmpty()) continue;
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p) && !Files.isDirectory(p)) return p;
        }
        return null;
    }

    /** Runs a short command and returns its stripped stdout, or null when it fails or takes over 20 s. */
    private static String capture(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readNBytes(4096);
            if (!p.waitFor(20, TimeUnit.SECONDS)) { p.destroyForcibly(); return null; }
            return p.exitValue() == 0 ? new String(out, StandardCharsets.UTF_8).strip() : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
