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
     * written file replaces its namesake by a rename, at any depth (written folders are merged into
     * existing ones), and other entries stay.
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
                for (Path p : s.toList()) mergeInto(p, target.resolve(p.getFileName().toString()));
            }
        } catch (IOException e) {
            throw new LoriException(target + ": cannot write: " + LoriException.reason(e), e);
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
            throw new LoriException(target + ": cannot write: " + LoriException.reason(e), e);
        } finally {
            deleteTree(tmp);
        }
    }

    /** Moves {@code from} to {@code to}; a folder onto an existing folder is merged entry by entry (a rename cannot
     * replace a non-empty folder). */
    private static void mergeInto(Path from, Path to) throws IOException {
        boolean toDir = Files.isDirectory(to, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        if (toDir && Files.isDirectory(from, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> s = Files.list(from)) {
                for (Path p : s.toList()) mergeInto(p, to.resolve(p.getFileName().toString()));
            }
            return;
        }
        if (toDir) deleteTree(to);   // a written file replaces a folder of the same name
        move(from, to);
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
            throw new LoriException(target + ": cannot create the output folder: " + LoriException.reason(e), e);
        }
        try {
            body.write(tmp);
            return tmp;
        } catch (IOException e) {
            deleteTree(tmp);
            throw new LoriException(target + ": cannot write: " + LoriException.reason(e), e);
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
