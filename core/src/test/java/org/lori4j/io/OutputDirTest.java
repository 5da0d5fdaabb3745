package org.lori4j.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** The all-or-nothing folder writer: a failed body leaves nothing, a finished folder appears whole, deleteTree stays inside. */
class OutputDirTest {
    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) { return s.map(p -> p.getFileName().toString()).sorted().toList(); }
    }

    @Test
    void failedBodyLeavesNeitherTargetNorTemporaryFolder(@TempDir Path root) throws IOException {
        Path out = root.resolve("out");
        assertThrows(LoriException.class, () -> OutputDir.writeNew(out, tmp -> {
            Files.writeString(tmp.resolve("a.txt"), "half");
            throw new IOException("disk full");
        }));
        assertEquals(List.of(), names(root));
    }

    @Test
    void writeNewRefusesNonEmptyAndWriteReplacesOnlyWrittenEntries(@TempDir Path root) throws IOException {
        Path out = root.resolve("out");
        OutputDir.writeNew(out, tmp -> { Files.writeString(tmp.resolve("a.txt"), "1"); Files.writeString(tmp.resolve("b.txt"), "1"); });
        assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(out)));
        LoriException e = assertThrows(LoriException.class, () -> OutputDir.writeNew(out, tmp -> {}));
        assertTrue(e.getMessage().contains("exists and is not empty"), e.getMessage());
        OutputDir.write(out, tmp -> Files.writeString(tmp.resolve("a.txt"), "2"));
        assertEquals("2", Files.readString(out.resolve("a.txt")));
        assertEquals("1", Files.readString(out.resolve("b.txt")));
        assertEquals(List.of("out"), names(root));
    }

    @Test
    void writingNestedFoldersTwiceReplacesTheirFilesAndKeepsTheRest(@TempDir Path root) throws IOException {
        // `lori quickstart` run twice: adapters/continual/<run>/... exists, non-empty, when the second run lands
        Path out = root.resolve("out");
        OutputDir.Body run1 = tmp -> {
            Files.createDirectories(tmp.resolve("adapters/continual/x"));
            Files.writeString(tmp.resolve("adapters/continual/x/w.txt"), "1");
            Files.writeString(tmp.resolve("adapters/continual/x/old.txt"), "1");
        };
        OutputDir.write(out, run1);
        OutputDir.write(out, tmp -> {
            Files.createDirectories(tmp.resolve("adapters/continual/x"));
            Files.writeString(tmp.resolve("adapters/continual/x/w.txt"), "2");
            Files.writeString(tmp.resolve("adapters/continual/x.txt"), "f");
        });
        assertEquals("2", Files.readString(out.resolve("adapters/continual/x/w.txt")));
        assertEquals("1", Files.readString(out.resolve("adapters/continual/x/old.txt")));
        assertEquals("f", Files.readString(out.resolve("adapters/continual/x.txt")));
        // a file written where a folder was replaces it
        OutputDir.write(out, tmp -> { Files.createDirectories(tmp.resolve("adapters/continual")); Files.writeString(tmp.resolve("adapters/continual/x"), "file"); });
        assertEquals("file", Files.readString(out.resolve("adapters/continual/x")));
        assertEquals(List.of("out"), names(root));
    }

    @Test
    void deleteTreeRemovesLinksWithoutTouchingTheirTargets(@TempDir Path root) throws IOException {
        Path outside = Files.writeString(root.resolve("keep.txt"), "keep");
        Files.setPosixFilePermissions(outside, PosixFilePermissions.fromString("r--r--r--"));
        Path tree = Files.createDirectories(root.resolve("tree/sub"));
        Files.writeString(tree.resolve("f.txt"), "x");
        Files.createSymbolicLink(tree.resolve("link"), outside);
        OutputDir.deleteTree(root.resolve("tree"));
        assertEquals(List.of("keep.txt"), names(root));
        assertEquals("r--r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(outside)));
        OutputDir.deleteTree(root.resolve("tree"));   // already gone: nothing happens
    }

    @Test
    void ioFailuresAreNamedInWords() {
        // a FileSystemException's message is often only the path, which the callers name already
        assertEquals("permission denied", LoriException.reason(new java.nio.file.AccessDeniedException("/x/y")));
        assertEquals("not a folder", LoriException.reason(new java.nio.file.NotDirectoryException("/x")));
        assertEquals("No such device", LoriException.reason(new java.io.UncheckedIOException(
                new java.nio.file.FileSystemException("/x", null, "No such device"))));
        assertEquals("disk full", LoriException.reason(new IOException("disk full")));
    }

    // ------------------------------------------------------------------ interrupted and killed writers (issue 19)

    @Test
    void fileSystemRootsAreRefusedInOneLine() {
        for (Path root : List.of(Path.of("/"))) {
            LoriException e = assertThrows(LoriException.class, () -> OutputDir.replace(root, tmp -> {}));
            assertTrue(e.getMessage().contains("file system root"), e.getMessage());
            assertThrows(LoriException.class, () -> OutputDir.writeNew(root, tmp -> {}));
        }
    }

    @Test
    void replaceSwapsTheWholeFolder(@TempDir Path root) throws IOException {
        Path out = root.resolve("out");
        OutputDir.replace(out, tmp -> { Files.writeString(tmp.resolve("a.txt"), "1"); Files.createDirectory(tmp.resolve("plots")); });
        OutputDir.replace(out, tmp -> Files.writeString(tmp.resolve("b.txt"), "2"));
        assertEquals(List.of("out"), names(root));
        assertEquals(List.of("b.txt"), names(out));
    }

    @Test
    void staleTemporaryEntriesOfGoneProcessesAreRemovedAndLiveOnesKept(@TempDir Path root) throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Path dead = Files.createDirectories(root.resolve(".out.tmp-" + gone.pid() + "-123"));
        Files.writeString(dead.resolve("big.bin"), "x");
        Path deadFile = Files.writeString(root.resolve(".out.tmp-" + gone.pid() + "-456"), "x");
        Path live = Files.createDirectories(root.resolve(".out.tmp-" + ProcessHandle.current().parent().orElseThrow().pid() + "-1"));
        Path oldStyle = Files.createDirectories(root.resolve(".out.tmp-98765432101"));
        Files.setLastModifiedTime(oldStyle, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 7_200_000));
        Path other = Files.createDirectories(root.resolve(".other.tmp-" + gone.pid() + "-1"));
        OutputDir.writeNew(root.resolve("out"), tmp -> Files.writeString(tmp.resolve("a"), "a"));
        assertFalse(Files.exists(dead));
        assertFalse(Files.exists(deadFile));
        assertFalse(Files.exists(oldStyle));
        assertTrue(Files.exists(live), "a running process's temporary folder stays");
        assertTrue(Files.exists(other), "another target's entries are not this write's business");
    }

    /** The child of {@link #anInterruptedWriterLeavesNoTemporaryEntry}: starts filling a folder and a file, then waits. */
    public static final class Child {
        public static void main(String[] a) {
            Path dir = Path.of(a[0]);
            Thread t = new Thread(() -> AtomicFiles.write(dir.resolve("file.bin"), out -> {
                out.write(new byte[1 << 20]);
                out.flush();
                sleep();
            }));
            t.setDaemon(true);
            t.start();
            OutputDir.writeNew(dir.resolve("out"), tmp -> {
                Files.writeString(tmp.resolve("part.txt"), "half");
                System.out.println("filling");
                System.out.flush();
                sleep();
            });
        }

        private static void sleep() {
            try { Thread.sleep(60_000); } catch (InterruptedException ignored) { }
        }
    }

    @Test
    void anInterruptedWriterLeavesNoTemporaryEntry(@TempDir Path root) throws Exception {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"), Child.class.getName(), root.toString())
                .redirectErrorStream(true).start();
        try {
            var in = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream()));
            assertEquals("filling", in.readLine());
            for (int i = 0; i < 100 && names(root).size() < 2; i++) Thread.sleep(20);
            assertEquals(2, names(root).size(), names(root).toString());   // the two temporary entries exist
            new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();   // Ctrl-C
            assertTrue(p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS));
            assertEquals(List.of(), names(root));
        } finally {
            p.destroyForcibly();
        }
    }
}
