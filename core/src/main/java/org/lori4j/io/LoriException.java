package org.lori4j.io;

/**
 * A problem with the user's input or environment (a corrupt file, a missing field, a bad option).
 * The CLI prints its message as one line and exits non-zero; the message names the file or
 * field and what is wrong with it.
 */
public class LoriException extends RuntimeException {
    public LoriException(String message) { super(message); }
    public LoriException(String message, Throwable cause) { super(message, cause); }

    /**
     * Why an I/O operation failed, in words: "permission denied", "no such file or folder", "not a folder", or the
     * operating system's reason (a FileSystemException's message is often only the path, which callers name already,
     * so the path is left out).
     */
    public static String reason(Throwable e) {
        if (e instanceof java.io.UncheckedIOException u && u.getCause() != null) e = u.getCause();
        if (e instanceof java.nio.file.AccessDeniedException) return "permission denied";
        if (e instanceof java.nio.file.NoSuchFileException) return "no such file or folder";
        if (e instanceof java.nio.file.NotDirectoryException) return "not a folder";
        if (e instanceof java.nio.file.DirectoryNotEmptyException) return "folder not empty";
        if (e instanceof java.nio.file.FileAlreadyExistsException) return "already exists";
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) return f.getReason();
        return String.valueOf(e.getMessage());
    }
}
