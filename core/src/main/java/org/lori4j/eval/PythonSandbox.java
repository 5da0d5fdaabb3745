package org.lori4j.eval;

import org.lori4j.io.LoriException;

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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs untrusted Python programs (HumanEval completions with their tests), one sandbox per program, isolated by the
 * operating system through bubblewrap ({@code bwrap}): new user, PID, mount, network, IPC and UTS namespaces; the
 * program runs as uid/gid 65534 (nobody) inside and outside the sandbox (when lori4j runs as root, {@code setpriv}
 * drops to that uid between an outer bwrap that builds the namespaces and an inner one that adds the user
 * namespace); a read-only view of /usr and the interpreter's folders, an empty read-only /etc but for the
 * dynamic linker's cache, a private size-limited /tmp as the only writable place; every process dies with the
 * sandbox (PID namespace, {@code --die-with-parent}); limits on processes, CPU time, address space and file size.
 * Inside, the program runs as bigcode's harness runs it: the reference's reliability_guard, exec under the
 * reference's time limit (a SIGALRM timer, start-up not counted), and, as its process join, a wall-clock limit one
 * second longer, counted from the program's start, after which the sandbox is killed.
 * What it cannot prevent: a hostile program can report a fake pass for itself (it runs in the same process as the
 * runner that reports), and it can use its share of CPU and memory within the limits.
 */
public final class PythonSandbox {

    /** How one program ended. Only {@link Status#PASSED} counts as a pass. */
    public enum Status { PASSED, FAILED, TIMED_OUT }

    /** The outcome of one program: the status and a short reason (the exception, the limit). */
    public record Outcome(Status status, String detail) {
        public boolean passed() { return status == Status.PASSED; }
    }

    /**
     * Limits for each program: the reference's time limit, address space per process (0: none), size of each
     * written file, processes and threads in the sandbox (the interpreter included), bytes in its private /tmp.
     */
    public record Limits(Duration timeout, long addressSpaceBytes, long fileSizeBytes, int processes, long tempBytes) {
        public static final Limits DEFAULT = new Limits(Duration.ofSeconds(3), 4L << 30, 16L << 20, 16, 64L << 20);

        public Limits(Duration timeout, long addressSpaceBytes, long fileSizeBytes) {
            this(timeout, addressSpaceBytes, fileSizeBytes, DEFAULT.processes, DEFAULT.tempBytes);
        }
    }

    /** The unprivileged uid and gid (nobody/nogroup) programs run as, inside and outside the sandbox. */
    static final int SANDBOX_ID = 65534;
    /** How long the interpreter may take to start inside the sandbox before the program's clock starts. */
    private static final long START_LIMIT_MILLIS = 60_000;
    /** Report bytes kept from a program (the runner's lines are short; a hostile program may write more). */
    private static final int MAX_REPORT_BYTES = 64 << 10;
    private static final String RUNNER_RESOURCE = "sandbox_runner.py";

    private final List<String> command;   // bwrap ... python -I -B -c RUNNER (limits appended per run)
    private final Path python;
    private final Limits limits;
    private final String isolation;

    private PythonSandbox(List<String> command, Path python, Limits limits, String isolation) {
        this.command = List.copyOf(command);
        this.python = python;
        this.limits = limits;
        this.isolation = isolation;
    }

    /**
     * Finds bubblewrap and the interpreter (a path, or a name looked up on PATH), checks it is Python 3.8 or newer,
     * and checks that a program runs in the sandbox; each failure is a one-line {@link LoriException}.
     */
    public static PythonSandbox create(String python, Limits limits) {
        if (!(limits.timeout().toMillis() > 0) || limits.processes() < 2 || limits.tempBytes() < 1 << 20)
            throw new IllegalArgumentException("implausible sandbox limits " + limits);
        Path bwrap = resolve("bwrap");
        if (bwrap == null)
            throw new LoriException("code execution (humaneval) runs each program in a bubblewrap sandbox, but bwrap is not"
                    + " installed: install the bubblewrap package (Debian/Ubuntu: apt-get install bubblewrap)");
        Path exe = resolve(python);
        if (exe == null) throw new LoriException(python + ": not found on PATH; code execution (humaneval) needs Python 3.8 or newer (pass --python PATH)");
        // Ask for sys.executable (launchers such as pyenv shims do not work in the sandbox) and the folders it needs.
        String info = capture(List.of(exe.toString(), "-I", "-c", "import os, sys; print('%d.%d' % sys.version_info[:2]);"
                + " print(sys.executable); print(os.path.realpath(sys.executable));"
                + " [print(p) for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}]"));
        String[] lines = info == null ? new String[0] : info.split("\\R");
        if (lines.length < 4 || !lines[0].matches("\\d+\\.\\d+") || lines[1].isBlank())
            throw new LoriException(exe + ": does not run as a Python interpreter");
        String[] v = lines[0].split("\\.");
        if (Integer.parseInt(v[0]) < 3 || (Integer.parseInt(v[0]) == 3 && Integer.parseInt(v[1]) < 8))
            throw new LoriException(exe + ": is Python " + lines[0] + "; code execution needs Python 3.8 or newer");
        Path interpreter = Path.of(lines[1].strip());
        Set<Path> pythonDirs = new LinkedHashSet<>();
        pythonDirs.add(Path.of(lines[2].strip()).getParent());
        for (int i = 3; i < lines.length; i++) if (!lines[i].isBlank()) pythonDirs.add(Path.of(lines[i].strip()));

        boolean root = currentUid() == 0;
        List<String> cmd = new ArrayList<>();
        cmd.add(bwrap.toString());
        if (!root) cmd.addAll(List.of("--unshare-user", "--uid", "" + SANDBOX_ID, "--gid", "" + SANDBOX_ID, "--disable-userns"));
        cmd.addAll(List.of("--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--die-with-parent", "--new-session"));
        mounts(cmd, pythonDirs, limits);
        cmd.addAll(List.of("--chdir", "/tmp", "--clearenv", "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin",
                "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp", "--setenv", "LANG", "C.UTF-8"));
        String how;
        if (root) {
            // As root, a user namespace made by bwrap maps the sandbox's uid to root outside (which owns most files):
            // the outer bwrap builds the namespaces and mounts as root, setpriv drops to nobody, and an inner bwrap
            // adds the user namespace as nobody.
            Path setpriv = resolve("setpriv");
            if (setpriv == null)
                throw new LoriException("code execution as root needs setpriv (util-linux) to run programs as nobody; it is not on PATH");
            cmd.addAll(List.of("--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--", setpriv.toString(),
                    "--reuid=" + SANDBOX_ID, "--regid=" + SANDBOX_ID, "--clear-groups", "--inh-caps=-all",
                    "--bounding-set=-all", "--no-new-privs", "--", bwrap.toString(), "--unshare-user", "--uid", "" + SANDBOX_ID,
                    "--gid", "" + SANDBOX_ID, "--disable-userns", "--die-with-parent", "--dev-bind", "/", "/", "--chdir", "/tmp"));
            how = "bubblewrap as root: setpriv to uid " + SANDBOX_ID + ", then a user namespace";
        } else {
            how = "bubblewrap: user namespace, uid " + SANDBOX_ID + " inside";
        }
        cmd.add("--");
        String runner;
        try (InputStream in = PythonSandbox.class.getResourceAsStream(RUNNER_RESOURCE)) {
            runner = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException | NullPointerException e) {
            throw new IllegalStateException("missing resource " + RUNNER_RESOURCE, e);
        }
        cmd.addAll(List.of(interpreter.toString(), "-I", "-B", "-c", runner));
        PythonSandbox sandbox = new PythonSandbox(cmd, interpreter, limits,
                how + "; pid, mount, network, ipc, uts namespaces; read-only file system but a private /tmp");
        Outcome probe = sandbox.run("import sys\nassert sys.version_info >= (3, 8)\n");
        if (!probe.passed())
            throw new LoriException("the code execution sandbox does not work here (" + probe.detail()
                    + "); bubblewrap needs user namespaces (sysctl kernel.unprivileged_userns_clone=1 or a container that allows them)");
        return sandbox;
    }

    /** The file system the program sees: read-only system and interpreter folders, a private writable /tmp. */
    private static void mounts(List<String> cmd, Set<Path> pythonDirs, Limits limits) {
        cmd.addAll(List.of("--ro-bind", "/usr", "/usr"));
        for (String d : List.of("bin", "sbin", "lib", "lib32", "lib64", "libx32")) {
            Path p = Path.of("/", d);
            try {
                if (Files.isSymbolicLink(p)) cmd.addAll(List.of("--symlink", Files.readSymbolicLink(p).toString(), p.toString()));
                else if (Files.isDirectory(p)) cmd.addAll(List.of("--ro-bind", p.toString(), p.toString()));
            } catch (IOException e) {
                throw new LoriException(p + ": cannot read: " + LoriException.reason(e));
            }
        }
        // /etc holds only the dynamic linker's cache (no passwd, no shadow, no resolver configuration)
        cmd.addAll(List.of("--perms", "0755", "--dir", "/etc", "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"));
        Set<Path> created = new LinkedHashSet<>();
        for (Path d : pythonDirs) {
            Path abs = d.toAbsolutePath().normalize();
            if (abs.startsWith("/usr") || abs.getNameCount() == 0 || pythonDirs.stream().anyMatch(o -> !o.equals(d) && abs.startsWith(o)))
                continue;
            // the folders above get rwxr-xr-x (bwrap would make them owner-only, unreachable for nobody)
            for (int i = 1; i < abs.getNameCount(); i++) {
                Path a = abs.getRoot().resolve(abs.subpath(0, i));
                if (created.add(a)) cmd.addAll(List.of("--perms", "0755", "--dir", a.toString()));
            }
            cmd.addAll(List.of("--ro-bind", abs.toString(), abs.toString()));
        }
        cmd.addAll(List.of("--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev",
                "--perms", "01777", "--size", Long.toString(limits.tempBytes()), "--tmpfs", "/tmp", "--remount-ro", "/"));
    }

    /** How programs are isolated, for results.json. */
    public String isolation() { return isolation; }

    public Path python() { return python; }

    public Limits limits() { return limits; }

    /** Runs one program and reports how it ended; never throws for anything the program does. */
    public Outcome run(String program) {
        Process p = null;
        try {
            long cpu = Math.max(1, (long) Math.ceil(limits.timeout().toMillis() / 1000.0) + 1);
            List<String> cmd = new ArrayList<>(command);
            cmd.addAll(List.of(Long.toString(cpu), Long.toString(limits.addressSpaceBytes()), Long.toString(limits.fileSizeBytes()),
                    Integer.toString(limits.processes()), Double.toString(limits.timeout().toMillis() / 1000.0)));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().clear();
            pb.environment().put("PATH", "/usr/local/bin:/usr/bin:/bin");
            byte[] nonceBytes = new byte[16];
            new SecureRandom().nextBytes(nonceBytes);
            String nonce = HexFormat.of().formatHex(nonceBytes);
            p = pb.start();
            Process proc = p;
            byte[] input = (nonce + "\n" + program).getBytes(StandardCharsets.UTF_8);
            Thread.ofVirtual().start(() -> {
                try (OutputStream stdin = proc.getOutputStream()) {
                    stdin.write(input);
                } catch (IOException ignored) {
                    // the process ended or did not read; its report says why
                }
            });
            Report report = new Report(p.getInputStream());
            Thread reader = Thread.ofVirtual().start(report::read);
            // The program's clock starts when it starts (interpreter start-up does not count, as in the reference,
            // whose process is forked): then the reference's process join, one second after the time limit.
            if (!report.started.await(START_LIMIT_MILLIS, TimeUnit.MILLISECONDS)) {
                kill(p);
                return new Outcome(Status.FAILED, "failed: the interpreter did not start within " + START_LIMIT_MILLIS / 1000 + " s");
            }
            long wallMillis = limits.timeout().toMillis() + 1000;
            if (!p.waitFor(wallMillis, TimeUnit.MILLISECONDS)) {
                kill(p);
                return new Outcome(Status.TIMED_OUT, "timed out after " + wallMillis + " ms");
            }
            reader.join(5000);
            int code = p.exitValue();
            String last = null;
            for (String line : report.lines()) {
                if (line.startsWith("passed ") || line.startsWith("timed out") || line.startsWith("failed: ")) last = line;
            }
            if (last != null && last.equals("passed " + nonce) && code == 0) return new Outcome(Status.PASSED, "passed");
            if (last != null && last.startsWith("timed out")) return new Outcome(Status.TIMED_OUT, last);
            if (last != null && last.startsWith("failed: ")) return new Outcome(Status.FAILED, last);
            String why = code > 128 ? "killed by signal " + (code - 128) : "exited with code " + code;
            // what the sandbox or the interpreter said before the runner took over (a bwrap error, a traceback's last line)
            String said = report.lines().stream().filter(l -> !l.equals("started") && !l.isBlank())
                    .reduce((a, b) -> b).map(l -> ": " + (l.length() > 300 ? l.substring(0, 300) : l)).orElse("");
            return new Outcome(Status.FAILED, "failed: " + why + " before the tests completed" + said);
        } catch (IOException e) {
            return new Outcome(Status.FAILED, "failed: could not start the sandbox: " + LoriException.reason(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome(Status.FAILED, "failed: interrupted");
        } finally {
            if (p != null && p.isAlive()) kill(p);
        }
    }

    /** The sandbox's output: the runner's report lines (bounded), and when the program started. */
    private static final class Report {
        private final InputStream in;
        private final CountDownLatch started = new CountDownLatch(1);
        private final java.io.ByteArrayOutputStream kept = new java.io.ByteArrayOutputStream();

        Report(InputStream in) { this.in = in; }

        void read() {
            byte[] buf = new byte[8192];
            StringBuilder line = new StringBuilder();
            try (in) {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    synchronized (kept) {
                        int keep = Math.min(n, MAX_REPORT_BYTES - kept.size());
                        if (keep > 0) kept.write(buf, 0, keep);
                    }
                    if (started.getCount() > 0) {
                        line.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
                        if (line.indexOf("started\n") >= 0) started.countDown();
                        else if (line.length() > 4096) line.delete(0, line.length() - 16);
                    }
                }
            } catch (IOException ignored) {
                // the process was killed
            } finally {
                started.countDown();
            }
        }

        List<String> lines() {
            synchronized (kept) {
                return kept.toString(StandardCharsets.UTF_8).lines().toList();
            }
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

    /** The effective uid of this process (the owner of /proc/self), or -1 when unknown. */
    static int currentUid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return -1;
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
