package org.lori4j.io;

/**
 * A problem with the user's input or environment (a corrupt file, a missing field, a bad option).
 * The CLI prints its message as one line and exits non-zero; the message names the file or
 * field and what is wrong with it.
 */
public class LoriException extends RuntimeException {
    /** The longest message kept: a value echoed from a hostile file (a 20 MB string) is cut. */
    static final int MAX_MESSAGE_CHARS = 1000;

    public LoriException(String message) { super(oneLine(message)); }
    public LoriException(String message, Throwable cause) { super(oneLine(message), cause); }

    /**
     * The message on one line, whatever values it quotes: line breaks and other control characters are written as
     * escapes (\n, \u0000), and a message longer than {@link #MAX_MESSAGE_CHARS} is cut in the middle.
     */
    static String oneLine(String m) {
        if (m == null) return null;
        StringBuilder sb = null;
        for (int i = 0; i < m.length(); i++) {
            char c = m.charAt(i);
            boolean control = c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029' || c == '\u0085';
            if (control && sb == null) sb = new StringBuilder(m.length() + 16).append(m, 0, i);
            if (sb != null) {
                if (!control) sb.append(c);
                else if (c == '\n') sb.append("\\n");
                else if (c == '\r') sb.append("\\r");
                else if (c == '\t') sb.append("\\t");
                else sb.append(String.format("\\u%04x", (int) c));
            }
        }
        String s = sb == null ? m : sb.toString();
        if (s.length() <= MAX_MESSAGE_CHARS) return s;
        int keep = MAX_MESSAGE_CHARS / 2;
        return s.substring(0, keep) + " [... " + (s.length() - 2 * keep) + " characters ...] " + s.substring(s.length() - keep);
    }

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
