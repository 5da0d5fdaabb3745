package org.lori4j.io;

/**
 * A problem with the user's input or environment (a corrupt file, a missing field, a bad option).
 * The CLI prints its message as one line and exits non-zero; the message names the file or
 * field and what is wrong with it.
 */
public class LoriException extends RuntimeException {
    public LoriException(String message) { super(message); }
    public LoriException(String message, Throwable cause) { super(message, cause); }
}
