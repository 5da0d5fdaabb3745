package org.lori4j.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Atomic writes: content goes to a temporary file in the target folder, then is renamed over the target. */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Something that writes the whole file content to a stream. */
    @FunctionalInterface
    public interface Writer { void write(OutputStream out) throws IOException; }

    public static void write(Path target, Writer writer) {
        if (target.toString().isEmpty()) throw new LoriException("an empty output file name");
        if (Files.isDirectory(target)) throw new LoriException(target + ": is a folder; expected an output file name");
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            OutputDir.removeStale(dir, target.getFileName().toString());
            tmp = Files.createTempFile(dir, OutputDir.tmpPrefix(target.getFileName().toString()), "");
            OutputDir.inProgress(tmp, true);
            try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
                writer.write(out);
            }
            readableByAll(tmp, false);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            OutputDir.inProgress(tmp, false);
            tmp = null;
        } catch (IOException e) {
            throw new LoriException(target + ": cannot write: " + LoriException.reason(e), e);
        } finally {
            if (tmp != null) {
                try { Files.deleteIfExists(tmp); } catch (IOException ignored) { }
                OutputDir.inProgress(tmp, false);
            }
        }
    }

    /**
     * Temp files and folders are created owner-only (0600/0700); the finished output gets the usual
     * rw-r--r-- / rwxr-xr-x where the file system has POSIX permissions.
     */
    public static void readableByAll(Path p, boolean directory) throws IOException {
        if (!p.getFileSystem().supportedFileAttributeViews().contains("posix")) return;
        Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString(directory ? "rwxr-xr-x" : "rw-r--r--"));
    }

    public static void writeString(Path target, String content) {
        write(target, out -> out.write(content.getBytes(StandardCharsets.UTF_8)));
    }
}
