package org.lori4j.eval;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.io.LoriException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Runs real python3 processes: generous timeouts for programs that should pass (the machine is shared). */
class PythonSandboxTest {
    private static PythonSandbox sandbox;
    private static PythonSandbox quick;

    @BeforeAll
    static void setUp() {
        assumeTrue(PythonSandbox.resolve("python3") != null, "python3 not installed");
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
        assertEquals(PythonSandbox.Status.FAILED, sandbox.run("def f(:\n").status()); // syntax error
    }

    @Test
    void infiniteLoopIsStoppedAndFails() {
        PythonSandbox.Outcome busy = quick.run("while True:\n    pass\n");
        assertEquals(PythonSandbox.Status.TIMED_OUT, busy.status());
        assertFalse(busy.passed());
        PythonSandbox.Outcome sleepy = quick.run("import time\nwhile True:\n    time.sleep(0.1)\n");
        assertEquals(PythonSandbox.Status.TIMED_OUT, sleepy.status());
        // the reference's limit: a timer on the exec inside the process raises TimeoutException after 1 s
        assertTrue(sleepy.detail().startsWith("timed out after 1.0 s"), sleepy.detail());
        // a program that catches that exception is killed at the reference's process join, one second later
        PythonSandbox.Outcome stubborn = quick.run("import time\nwhile True:\n    try:\n        time.sleep(10)\n"
                + "    except Exception:\n        pass\n");
        assertEquals(PythonSandbox.Status.TIMED_OUT, stubborn.status());
        assertEquals("timed out after 2000 ms", stubborn.detail());
    }

    @Test
    void writingOutsideTheWorkFolderIsStoppedBeforeTheFileExists(@TempDir Path outside) throws Exception {
        Path target = outside.resolve("escaped.txt");
        PythonSandbox.Outcome o = sandbox.run("open(" + py(target) + ", 'w').write('x')\n");
        assertEquals(PythonSandbox.Status.VIOLATION, o.status(), o.detail());
        assertFalse(Files.exists(target));

        Path victim = Files.writeString(outside.resolve("keep.txt"), "keep");
        assertEquals(PythonSandbox.Status.VIOLATION, sandbox.run("import os\nos.remove(" + py(victim) + ")\n").status());
        assertEquals(PythonSandbox.Status.VIOLATION, sandbox.run("import os\nos.rename(" + py(victim) + ", 'here.txt')\n").status());
        assertTrue(Files.exists(victim));
        // Catching the error does not help: the process ends at the attempt.
        String sneaky = "try:\n    open(" + py(target) + ", 'a')\nexcept BaseException:\n    pass\n";
        assertEquals(PythonSandbox.Status.VIOLATION, sandbox.run(sneaky).status());
        assertFalse(Files.exists(target));
    }

    @Test
    void writingInsideTheWorkFolderIsAllowed() {
        String p = "import os, tempfile\nopen('x.txt', 'w').write('hi')\nassert open('x.txt').read() == 'hi'\n"
                + "os.remove('x.txt')\nfd, name = tempfile.mkstemp()\nos.close(fd)\n";
        PythonSandbox.Outcome o = sandbox.run(p);
        assertEquals(PythonSandbox.Status.PASSED, o.status(), o.detail());
    }

    @Test
    void processesSocketsAndEarlyExitsDoNotPass() {
        assertEquals(PythonSandbox.Status.VIOLATION, sandbox.run("import subprocess\nsubprocess.run(['true'])\n").status());
        assertEquals(PythonSandbox.Status.VIOLATION, sandbox.run("import os\nos.system('true')\n").status());
        assertEquals(PythonSandbox.Status.VIOLATION,
                sandbox.run("import socket\nsocket.create_connection(('127.0.0.1', 9))\n").status());
        // Exiting before the tests ran is not a pass, whatever the exit code.
        assertEquals(PythonSandbox.Status.FAILED, sandbox.run("import os\nos._exit(0)\nassert False\n").status());
        assertEquals(PythonSandbox.Status.FAILED, sandbox.run("import sys\nsys.exit(0)\n").status());
    }

    @Test
    void environmentHasNoProxiesAndMemoryIsLimited() {
        String env = "import os\nassert not [k for k in os.environ if 'proxy' in k.lower()], os.environ\n";
        assertEquals(PythonSandbox.Status.PASSED, sandbox.run(env).status());
        PythonSandbox.Outcome big = sandbox.run("x = bytearray(4 << 30)\n");
        assertEquals(PythonSandbox.Status.FAILED, big.status());
        assertTrue(big.detail().contains("MemoryError"), big.detail());
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
