package org.lori4j.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Writes a folder all-or-nothing: the content goes to a hidden temporary folder beside the target,
 * which is renamed into place at the end; on any failure the temporary folder is deleted, so no
 * partial output folder is ever left behind. The finished folder gets the usual rwxr-xr-x (a temporary
 * folder is created owner-only).
 */
public final class OutputDir {
    private OutputDir() {}

    /** Fills a fresh temporary folder. */
    @FunctionalInterface
    public interface Body { void write(Path tmp) throws IOException; }

    /**
     * Writes into {@code target}: a missing target appears by one rename; in an existing folder each
     * written top-level entry replaces its namesake by a rename, other entries stay.
     */
    public static void write(Path target, Body body) {
        Path tmp = fill(target, body);
        try {
            if (!Files.exists(target)) {
                move(tmp, target);
                return;
            }
            if (!Files.isDirectory(target)) throw new LoriException(target + ": exists and is not a folder");
            try (Stream<Path> s = Files.list(tmp)) {
                for (Path p : s.toList()) {
                    Path dest = target.resolve(p.getFileName().toString());
                    if (Files.isDirectory(dest) && Files.isDirectory(p)) {
                        try (Stream<Path> inner = Files.list(p)) {
                            for (Path q : inner.toList()) move(q, dest.resolve(q.getFileName().toString()));
                        }
                    } else {
                        move(p, dest);
                    }
                }
            }
        } catch (IOException e) {
            throw new LoriException(target + ": cannot write: " + e.getMessage(), e);
        } finally {
            deleteTree(tmp);
        }
    }

    /** Writes a folder that must not exist yet (or be empty): refuses to mix old and new content. */
    public static void writeNew(Path target, Body body) {
        if (Files.exists(target)) {
            boolean empty;
            try (Stream<Path> s = Files.list(target)) {
                empty = s.findAny().isEmpty();
            } catch (IOException e) {
                throw new LoriException(target + ": exists and is not a folder");
            }
            if (!empty) throw new LoriException(target + ": output folder exists and is not empty");
            try {
                Files.delete(target);
            } catch (IOException e) {
                throw new LoriException(target + ": cannot replace the empty folder: " + e.getMessage());
            }
        }
        Path tmp = fill(target, body);
        try {
            move(tmp, target);
        } catch (IOException e) {
            throw new LoriException(target + ": cannot write: " + e.getMessage(), e);
        } finally {
            deleteTree(tmp);
        }
    }

    private static Path fill(Path target, Body body) {
        Path abs = target.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        Path tmp;
        try {
            Files.createDirectories(parent);
            tmp = Files.createTempDirectory(parent, "." + abs.getFileName() + ".tmp-");
            AtomicFiles.readableByAll(tmp, true);
        } catch (IOException e) {
            throw new LoriException(target + ": cannot create the output folder: " + e.getMessage(), e);
        }
        try {
            body.write(tmp);
            return tmp;
        } catch (IOException e) {
            deleteTree(tmp);
            throw new LoriException(target + ": cannot write: " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            deleteTree(tmp);
            throw e;
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Deletes a folder and its content, best effort: what is already gone or cannot be deleted is skipped (a
     * leftover temporary folder is harmless). Entries are made writable first (not through symbolic links,
     * which are deleted, never followed), for folders a sandboxed program may have locked.
     */
    public static void deleteTree(Path dir) {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                try {
                    if (!Files.isSymbolicLink(p)) p.toFile().setWritable(true);
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort, go on with the rest
                }
            }
        } catch (IOException | UncheckedIOException ignored) {
            // best effort
        }
    }
}
