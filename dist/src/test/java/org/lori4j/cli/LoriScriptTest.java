package org.lori4j.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The ./lori script and the jar's Launcher as a user meets them: no JVM warning on stderr, one-line errors, and one
 * line naming the JDK that is needed where only an older one is found. The script runs from a copy of the
 * checkout's layout whose target/lori4j.jar names this test's class path (no package step needed).
 */
class LoriScriptTest {
    @TempDir
    static Path root;

    record Run(int code, String out, String err) {}

    static Path checkout() {
        Path here = Path.of("").toAbsolutePath();
        return Files.exists(here.resolve("lori")) ? here : here.getParent();
    }

    @BeforeAll
    static void layout() throws IOException {
        Files.copy(checkout().resolve("lori"), root.resolve("lori"));
        root.resolve("lori").toFile().setExecutable(true);
        Files.createDirectories(root.resolve("target"));
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        StringBuilder cp = new StringBuilder();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator))
            cp.append(Path.of(e).toAbsolutePath().toUri()).append(' ');
        m.getMainAttributes().put(Attributes.Name.CLASS_PATH, cp.toString().strip());
        try (JarOutputStream j = new JarOutputStream(Files.newOutputStream(root.resolve("target/lori4j.jar")), m)) {
            j.flush();
        }
    }

    static Run run(List<String> cmd, String... env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        for (int i = 0; i < env.length; i += 2) pb.environment().put(env[i], env[i + 1]);
        Process p = pb.start();
        p.getOutputStream().close();
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                p.getErrorStream().transferTo(err);
            } catch (IOException ignored) {
            }
        });
        p.getInputStream().transferTo(out);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "timed out: " + cmd);
        t.join();
        return new Run(p.exitValue(), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static List<String> lori(String... args) {
        List<String> c = new ArrayList<>(List.of(root.resolve("lori").toString()));
        c.addAll(List.of(args));
        return c;
    }

    @Test
    void aNormalRunPrintsNoJvmWarningAndAMistakeIsOneLine() throws Exception {
        Run v = run(lori("--version"));
        assertEquals(0, v.code(), v.err());
        assertEquals("lori4j 0.1.0\n", v.out());
        assertEquals("", v.err());
        Run bad = run(lori("generate", "--nope"));
        assertEquals(2, bad.code());
        assertEquals("", bad.out());
        assertEquals("error: Unknown option: '--nope'; did you mean --no-bos? (see: lori generate --help)\n", bad.err());
    }

    @Test
    void aStaleOrBrokenAotCacheIsIgnoredSilently() throws Exception {
        Path aot = root.resolve("target/lori4j.aot");
        try {
            Files.writeString(aot, "not an AOT cache");
            Run v = run(lori("--version"));
            assertEquals(0, v.code(), v.err());
            assertEquals("lori4j 0.1.0\n", v.out());
            assertEquals("", v.err());
        } finally {
            Files.deleteIfExists(aot);
        }
    }

    @Test
    void theNoticeFilterDropsOnlyTheIncubatorLine() {
        String rest = "a line\nanother\r partial";
        for (String in : List.of(Launcher.INCUBATOR_NOTICE + "\n" + rest, rest)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Launcher.copyWithoutNotice(new ByteArrayInputStream(in.getBytes(StandardCharsets.UTF_8)), out);
            assertEquals(rest, out.toString(StandardCharsets.UTF_8));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Launcher.copyWithoutNotice(new ByteArrayInputStream("WARNING: Using incubator".getBytes(StandardCharsets.UTF_8)), out);
        assertEquals("WARNING: Using incubator", out.toString(StandardCharsets.UTF_8), "a prefix of the notice alone is passed on");
    }

    /** A JDK 17 on this machine, or null. */
    static Path jdk17() {
        for (String d : List.of("/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/temurin-17-jdk-amd64")) {
            Path p = Path.of(d);
            if (Files.isExecutable(p.resolve("bin/java"))) return p;
        }
        return null;
    }

    @Test
    void theLauncherOnAnOlderJavaSaysWhichJdkIsNeeded() throws Exception {
        Path j17 = jdk17();
        assumeTrue(j17 != null, "no JDK 17 here");
        // the Launcher class as the build compiles it, for Java 17
        Path classes = checkout().resolve("dist/target/classes");
        Run r = run(List.of(j17.resolve("bin/java").toString(), "-cp", classes.toString(), "org.lori4j.cli.Launcher", "--version"));
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("lori4j needs Java 25 or later, but this is Java 17"), r.err());
    }

    @Test
    void theScriptWithoutAJdk25SaysWhereItLooked() throws Exception {
        Path j17 = jdk17();
        Path bwrap = Path.of("/usr/bin/bwrap");
        assumeTrue(j17 != null && Files.isExecutable(bwrap), "needs a JDK 17 and bubblewrap");
        String home = System.getProperty("java.home");
        // the JDK 25 this test runs on is hidden from the script
        Run probe = run(List.of(bwrap.toString(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "true"));
        assumeTrue(probe.code() == 0, "bubblewrap cannot run here: " + probe.err());
        Run r = run(List.of(bwrap.toString(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", home,
                "--bind", root.toString(), root.toString(), root.resolve("lori").toString(), "--version"), "JAVA_HOME", j17.toString(),
                "PATH", j17.resolve("bin") + ":/usr/bin:/bin");
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("lori: lori4j needs JDK 25 or later; looked at JAVA_HOME, /usr/lib/jvm and java on the PATH and found Java 17"), r.err());
    }
}
