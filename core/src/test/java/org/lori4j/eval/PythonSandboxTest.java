package org.lori4j.eval;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.io.LoriException;

import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs real python3 processes in the bubblewrap sandbox (skipped when bwrap or python3 is missing). The escapes are
 * the ones hostile programs used against the earlier audit-hook runner; each must leave the host untouched.
 * Generous time limits for programs that should pass (the machine is shared).
 */
class PythonSandboxTest {
    private static PythonSandbox sandbox;
    private static PythonSandbox quick;
    /** Undoes the reference's reliability_guard inside the program, as a hostile program would. */
    private static final String UNGUARD = "import posix, importlib, sys\nos_ = sys.modules['os']\n"
            + "for k in ('system', 'fork', 'kill', 'remove', 'getcwd'):\n    setattr(os_, k, getattr(posix, k))\n";

    @BeforeAll
    static void setUp() {
        assumeTrue(PythonSandbox.resolve("python3") != null, "python3 not installed: sandbox tests skipped");
        assumeTrue(PythonSandbox.resolve("bwrap") != null, "bubblewrap (bwrap) not installed: sandbox tests skipped");
        sandbox = PythonSandbox.create("python3", new PythonSandbox.Limits(Duration.ofSeconds(20), 1L << 30, 1L << 20));
        quick = PythonSandbox.create("python3", new PythonSandbox.Limits(Duration.ofSeconds(1), 1L << 30, 1L << 20));
    }

    @Test
    void correctProgramPassesAndWrongOneFails() {
        String f = "def add(a, b):\n    return a + b\n";
        assertEquals(PythonSandbox.Status.PASSED, sandbox.run(f + "assert add(2, 3) == 5\n").status());
        PythonSandbox.Outcome o = sandbox.run(f + "assert add(2, 3) == 6\n");
        assertEquals(PythonSandbox.Status.FAILED, o.status());
        assertTrue(o.detail().contains("AssertionError"), o.detail());
        PythonSandbox.Outcome syntax = sandbox.run("def f(:\n");
        assertEquals(PythonSandbox.Status.FAILED, syntax.status());
        assertTrue(syntax.detail().contains("SyntaxError"), syntax.detail());
    }

    @Test
    void infiniteLoopIsStoppedAndFails() {
        PythonSandbox.Outcome busy = quick.run("while True:\n    pass\n");
        assertEquals(PythonSandbox.Status.TIMED_OUT, busy.status());
        assertFalse(busy.passed());
        // The reference's limit: a timer on the exec inside the process raises TimeoutException after 1 s. The wall
        // clock (1 s later) starts when the program starts, so a slow interpreter start-up cannot win this race.
        PythonSandbox.Outcome sleepy = quick.run("import time\nwhile True:\n    time.sleep(0.1)\n");
        assertEquals(PythonSandbox.Status.TIMED_OUT, sleepy.status());
        assertTrue(sleepy.detail().startsWith("timed out after 1.0 s"), sleepy.detail());
        // a program that catches that exception is killed at the reference's process join, one second later
        PythonSandbox.Outcome stubborn = quick.run("import time\nwhile True:\n    try:\n        time.sleep(10)\n"
                + "    except Exception:\n        pass\n");
        assertEquals(PythonSandbox.Status.TIMED_OUT, stubborn.status());
        assertEquals("timed out after 2000 ms", stubborn.detail());
    }

    @Test
    void theReferenceGuardIsAppliedAndTheTempFolderIsWritable() {
        // (tempfile fails under the guard, as in the reference: it calls os.getcwd)
        String p = "open('x.txt', 'w').write('hi')\nassert open('x.txt').read() == 'hi'\nopen('/tmp/y', 'w').write('y')\n";
        PythonSandbox.Outcome written = sandbox.run(p);
        assertEquals(PythonSandbox.Status.PASSED, written.status(), written.detail());
        // as bigcode's reliability_guard: these are None, so calling them fails the program
        for (String call : List.of("import os\nos.remove('x')\n", "import subprocess\nsubprocess.run(['true'])\n",
                "import os\nos.system('true')\n", "exit(0)\n")) {
            PythonSandbox.Outcome o = sandbox.run(call);
            assertEquals(PythonSandbox.Status.FAILED, o.status(), call);
            assertTrue(o.detail().contains("TypeError"), o.detail());
        }
        // exiting before the tests ran is not a pass, whatever the exit code
        assertEquals(PythonSandbox.Status.FAILED, sandbox.run("import os\nos._exit(0)\nassert False\n").status());
        assertEquals(PythonSandbox.Status.FAILED, sandbox.run("import sys\nsys.exit(0)\n").status());
    }

    @Test
    void programsRunAsNobodyInsideAndOutside() throws Exception {
        String inside = "import os\nassert os.getuid() == 65534 and os.geteuid() == 65534 and os.getgid() == 65534, os.getuid()\n"
                + "assert os.getgroups() in ([], [65534]), os.getgroups()\n";
        PythonSandbox.Outcome o = sandbox.run(inside);
        assertEquals(PythonSandbox.Status.PASSED, o.status(), o.detail());
        // seen from the host: the program's process belongs to nobody (65534), not to the user running lori4j
        String marker = "lori-uid-probe-" + System.nanoTime();
        CompletableFuture<PythonSandbox.Outcome> running = CompletableFuture.supplyAsync(
                () -> sandbox.run("# " + marker + "\nimport time\ntime.sleep(2)\n"));
        String owner = null;
        for (int i = 0; i < 200 && owner == null && !running.isDone(); i++) {
            Thread.sleep(50);
            owner = ProcessHandle.allProcesses()
                    .filter(h -> h.info().commandLine().orElse("").contains("lori4j's runner"))
                    .filter(h -> h.info().command().orElse("").contains("python"))
                    .map(h -> h.info().user().orElse("?")).findFirst().orElse(null);
        }
        running.get();
        assertTrue(owner != null && (owner.equals("nobody") || owner.equals("65534")), "python ran as " + owner);
    }

    @Test
    void hostFilesCannotBeReadOrWritten(@TempDir Path outside) throws Exception {
        Path victim = Files.writeString(outside.resolve("keep.txt"), "keep");
        Path target = outside.resolve("escaped.txt");
        String p = UNGUARD + "import os, _posixsubprocess, threading\n"
                + "paths = [" + py(target) + ", '/escaped', '/usr/escaped', '/etc/escaped', " + py(victim) + "]\n"
                + "for t in paths:\n"
                + "    for mode in ('w', 'a'):\n"
                + "        try: open(t, mode).write('x')\n        except OSError: pass\n"
                + "    try: os.remove(t)\n    except OSError: pass\n"
                + "root = os.open('/', os.O_RDONLY)\n"
                + "try: os.open('escaped', os.O_CREAT | os.O_WRONLY, dir_fd=root)\nexcept OSError: pass\n"
                + "def racer():\n    for _ in range(50):\n        try: open(" + py(target) + ", 'w')\n        except OSError: pass\n"
                + "ts = [threading.Thread(target=racer) for _ in range(4)]\n[t.start() for t in ts]\n[t.join() for t in ts]\n"
                + "try: os.system('echo x > " + target + "; rm -f " + victim + "')\nexcept Exception: pass\n"
                + "try: os.setuid(0)\nexcept Exception: pass\n"
                + "secret = None\n"
                + "for f in ('/etc/shadow', '/etc/passwd', '/root/.bash_history', " + py(victim) + "):\n"
                + "    try: secret = open(f).read()\n    except OSError: pass\n"
                + "assert secret is None, 'read a host file'\n";
        PythonSandbox.Outcome o = sandbox.run(p);
        assertEquals(PythonSandbox.Status.PASSED, o.status(), o.detail());   // it ran to its end, and achieved nothing
        assertFalse(Files.exists(target));
        assertFalse(Files.exists(Path.of("/escaped")));
        assertEquals("keep", Files.readString(victim));
        // _posixsubprocess.fork_exec (never audited) starts a shell that finds the same walls
        String forkExec = "import _posixsubprocess, os\n"
                + "args = [b'/bin/sh', b'-c', b'echo x > " + target + "; echo x > /tmp/ok']\n"
                + "r, w = os.pipe()\n"
                + "try:\n    pid = _posixsubprocess.fork_exec(args, [b'/bin/sh'], True, (), None, None, -1, -1, -1, -1, -1, -1, r, w,"
                + " True, False, 0, None, None, None, -1, None, False)\n"
                + "except TypeError:\n    pid = os.posix_spawn('/bin/sh', [a.decode() for a in args], {})  # another Python's signature\n"
                + "import posix\nposix.waitpid(pid, 0)\nassert open('/tmp/ok').read() == 'x\\n'\n";
        PythonSandbox.Outcome fe = sandbox.run(forkExec);
        assertEquals(PythonSandbox.Status.PASSED, fe.status(), fe.detail());   // the shell ran, inside
        assertFalse(Files.exists(target));
    }

    @Test
    void noNetwork() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(200);
            PythonSandbox.Outcome o = sandbox.run("import socket\nsocket.create_connection(('127.0.0.1', "
                    + server.getLocalPort() + "), timeout=2)\n");
            assertEquals(PythonSandbox.Status.FAILED, o.status(), o.detail());
            assertThrows(SocketTimeoutException.class, server::accept);
        }
        PythonSandbox.Outcome dns = sandbox.run("import socket\nsocket.getaddrinfo('example.com', 80)\n");
        assertEquals(PythonSandbox.Status.FAILED, dns.status(), dns.detail());
    }

    @Test
    void killingTheParentForkBombsAndOrphansAreContained() throws Exception {
        String marker = "4321.5" + (System.nanoTime() % 1000);
        // a double-forked process meant to outlive the sandbox, then the program kills its parent and everything it
        // can see
        String orphan = UNGUARD + "import os, signal\n"
                + "if os.fork() == 0:\n    if os.fork() == 0:\n        os.setsid()\n        os.execv('/bin/sleep', ['sleep', '" + marker + "'])\n"
                + "    os._exit(0)\n"
                + "import time\ntime.sleep(0.3)\n"
                + "for pid in (os.getppid(), 1, -1):\n    try: os.kill(pid, signal.SIGKILL)\n    except OSError: pass\n";
        PythonSandbox.Outcome o = sandbox.run(orphan);
        assertNotEquals(PythonSandbox.Status.PASSED, o.status(), o.detail());
        Thread.sleep(300);
        assertTrue(ProcessHandle.allProcesses().noneMatch(h -> h.info().commandLine().orElse("").contains(marker)),
                "a sandboxed process outlived its sandbox");
        // a fork bomb meets the process limit and ends with its sandbox
        long t0 = System.nanoTime();
        PythonSandbox.Outcome bomb = quick.run(UNGUARD + "import os\nn = 0\nwhile True:\n    try:\n        os.fork()\n        n += 1\n"
                + "    except OSError:\n        pass\n");
        assertNotEquals(PythonSandbox.Status.PASSED, bomb.status());
        assertTrue(System.nanoTime() - t0 < 30e9, "fork bomb took " + (System.nanoTime() - t0) / 1e9 + " s");
        // the sandbox still works afterwards (lori4j survived all of it)
        assertEquals(PythonSandbox.Status.PASSED, sandbox.run("assert 1 + 1 == 2\n").status());
    }

    @Test
    void environmentHasNoProxiesAndMemoryAndTempAreLimited() {
        String env = "import os\nassert not [k for k in os.environ if 'proxy' in k.lower()], os.environ\n";
        assertEquals(PythonSandbox.Status.PASSED, sandbox.run(env).status());
        PythonSandbox.Outcome big = sandbox.run("x = bytearray(4 << 30)\n");
        assertEquals(PythonSandbox.Status.FAILED, big.status());
        assertTrue(big.detail().contains("MemoryError"), big.detail());
        // /tmp is a private tmpfs of 64 MiB: filling it ends in an error, not in the host's memory
        PythonSandbox.Outcome fill = sandbox.run("for i in range(100):\n    open('/tmp/f%d' % i, 'wb').write(b'x' * (1 << 20))\n");
        assertEquals(PythonSandbox.Status.FAILED, fill.status(), fill.detail());
        // /dev is read-only (its tmpfs would have no size limit)
        PythonSandbox.Outcome dev = sandbox.run("open('/dev/shm/x', 'wb').write(b'x')\n");
        assertEquals(PythonSandbox.Status.FAILED, dev.status(), dev.detail());
    }

    @Test
    void missingInterpreterIsAOneLineUserError() {
        LoriException e = assertThrows(LoriException.class,
                () -> PythonSandbox.create("/nonexistent/python3", PythonSandbox.Limits.DEFAULT));
        assertTrue(e.getMessage().contains("/nonexistent/python3"));
        assertFalse(e.getMessage().contains("\n"));
    }

    private static String py(Path p) { return "'" + p.toAbsolutePath().toString().replace("\\", "\\\\").replace("'", "\\'") + "'"; }
}
