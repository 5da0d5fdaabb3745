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

    /**
     * Temporary folders and files this process is filling. A shutdown hook (Ctrl-C, SIGTERM) deletes them, so an
     * interrupted command leaves no hidden temporary entry behind; one left by a process killed outright is removed
     * by the next write beside it once that process is gone ({@link #removeStale}).
     */
    private static final java.util.Set<Path> IN_PROGRESS = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static final long PID = ProcessHandle.current().pid();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Path p : IN_PROGRESS) deleteTree(p);
        }, "lori4j-remove-temporary-output"));
    }

    /** Registers (FILLING) or unregisters a temporary entry for removal at shutdown. */
    public static void inProgress(Path p, boolean filling) {
        if (filling) IN_PROGRESS.add(p); else IN_PROGRESS.remove(p);
    }

    /** The name prefix of this process's temporary entries beside NAME: ".NAME.tmp-PID-". */
    static String tmpPrefix(String name) {
        return "." + name + ".tmp-" + PID + "-";
    }

    private static final java.util.regex.Pattern TMP_NAME = java.util.regex.Pattern.compile("\\.(.+)\\.(?:tmp|old)-(\\d+)(-.*)?");

    /**
     * Deletes the temporary entries beside NAME in PARENT left by processes that are gone (killed outright: no
     * shutdown hook ran). Entries of a live process are kept; entries of older lori4j versions, without a process
     * id in their name, when older than an hour.
     */
    static void removeStale(Path parent, String name) {
        String start = "." + name + ".";
        try (Stream<Path> s = Files.list(parent)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (!n.startsWith(start)) continue;
                java.util.regex.Matcher m = TMP_NAME.matcher(n);
                if (!m.matches() || !m.group(1).equals(name)) continue;
                boolean stale;
                if (m.group(3) == null) {   // ".NAME.tmp-RANDOM" of an older version
                    stale = Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toMillis() < System.currentTimeMillis() - 3_600_000;
                } else {
                    long pid;
                    try { pid = Long.parseLong(m.group(2)); } catch (NumberFormatException e) { continue; }
                    stale = pid != PID && ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true);
                }
                if (stale) deleteTree(p);
            }
        } catch (IOException | UncheckedIOException e) {
            // best effort: a leftover is harmless
        }
    }

    /**
     * Refuses output targets that would write into a file system root (e.g. {@code --out /}): no folder beside them
     * can hold the temporary one, and replacing them is never what was meant.
     */
    public static void checkTarget(Path target) {
        Path abs = target.toAbsolutePath().normalize();
        if (abs.getParent() == null || abs.getFileName() == null)
            throw new LoriException(target + ": is a file system root; name a folder to create (e.g. --out my-output)");
    }

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

    /**
     * Writes a whole folder in place of {@code target}: the new content is filled beside it, then the old folder (if
     * any) is moved aside and the new one renamed into place, and the old one deleted; at no moment is there a mix of
     * old and new content under the target's name (a kill between the two renames leaves the old folder, hidden, for
     * the next run to remove). The caller decides whether an existing target may be replaced.
     */
    public static void replace(Path target, Body body) {
        checkTarget(target);
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS))
            throw new LoriException(target + ": exists and is not a folder");
        Path tmp = fill(target, body);
        Path abs = target.toAbsolutePath().normalize();
        Path old = null;
        try {
            if (Files.exists(abs, LinkOption.NOFOLLOW_LINKS)) {
                old = abs.resolveSibling("." + abs.getFileName() + ".old-" + PID + "-" + System.nanoTime());
                inProgress(old, true);
                Files.move(abs, old, StandardCopyOption.ATOMIC_MOVE);
            }
            move(tmp, abs);
        } catch (IOException e) {
            if (old != null && !Files.exists(abs, LinkOption.NOFOLLOW_LINKS)) {
                try { Files.move(old, abs, StandardCopyOption.ATOMIC_MOVE); old = null; } catch (IOException ignored) { }
            }
            throw new LoriException(target + ": cannot write: " + LoriException.reason(e), e);
        } finally {
            deleteTree(tmp);
            inProgress(tmp, false);
            if (old != null) {
                deleteTree(old);
                inProgress(old, false);
            }
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
            inProgress(tmp, false);
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
        checkTarget(target);
        Path abs = target.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        Path tmp;
        try {
            Files.createDirectories(parent);
            removeStale(parent, abs.getFileName().toString());
            tmp = Files.createTempDirectory(parent, tmpPrefix(abs.getFileName().toString()));
            inProgress(tmp, true);
            AtomicFiles.readableByAll(tmp, true);
        } catch (IOException e) {
            throw new LoriException(target + ": cannot create the output folder: " + LoriException.reason(e), e);
        }
        try {
            body.write(tmp);
            return tmp;
        } catch (IOException e) {
            deleteTree(tmp);
            inProgress(tmp, false);
            throw new LoriException(target + ": cannot write: " + LoriException.reason(e), e);
        } catch (RuntimeException | Error e) {
            deleteTree(tmp);
            inProgress(tmp, false);
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
