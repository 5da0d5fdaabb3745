package org.lori4j.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reading text input with bounds, so that no file (a 100 MB line, {@code /dev/zero}, a decompression bomb) can take
 * unbounded memory or time: whole files up to a size, lines up to a length, and no NUL characters (text formats
 * never hold them raw; {@code /dev/zero} is nothing but them). Each violation is a one-line {@link LoriException}.
 */
public final class TextFiles {
    private TextFiles() {}

    /** The largest JSON file read whole (config.json, adapter_config.json, tokenizer_config.json, ...). */
    public static final long MAX_JSON_BYTES = 64L << 20;
    /** The longest line of a JSON Lines data set (characters). */
    public static final int MAX_LINE_CHARS = 16 << 20;

    /** The bytes of a stream, refusing more than {@code max} (named WHAT in the message). */
    public static byte[] readBytes(InputStream in, long max, String what) throws IOException {
        byte[] b = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
        if (b.length > max) throw new LoriException(what + ": larger than " + human(max) + "; refusing to read it whole");
        return b;
    }

    /**
     * The bytes of a text stream, at most {@code max}, refusing a NUL byte as soon as it arrives (so that
     * {@code /dev/zero} fails at its first read, not after {@code max} bytes).
     */
    public static byte[] readText(InputStream in, long max, String what) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        for (int n; (n = in.read(buf)) >= 0; ) {
            for (int i = 0; i < n; i++)
                if (buf[i] == 0) throw new LoriException(what + ": not a text file (a NUL byte at offset " + (out.size() + i) + ")");
            if (out.size() + (long) n > max) throw new LoriException(what + ": larger than " + human(max) + "; refusing to read it whole");
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    /** A whole UTF-8 file of at most {@code max} bytes, without NUL characters. */
    public static String readString(Path file, long max) {
        try (InputStream in = Files.newInputStream(file)) {
            return decode(readText(in, max, file.toString()), file.toString());
        } catch (NoSuchFileException e) {
            throw new LoriException(file + ": file not found");
        } catch (IOException e) {
            throw new LoriException(file + ": cannot read: " + LoriException.reason(e));
        }
    }

    /** Strict UTF-8 decoding: malformed bytes are an error naming WHAT. */
    public static String decode(byte[] b, String what) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw new LoriException(what + ": not UTF-8 text");
        }
    }

    static String human(long bytes) {
        return bytes >= 1 << 20 ? (bytes >> 20) + " MiB" : bytes + " bytes";
    }

    /** A strict UTF-8 reader of a stream. */
    public static Reader utf8(InputStream in) {
        return new InputStreamReader(in, StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT));
    }

    /**
     * Lines of a text stream ('\n', '\r\n' or '\r' end a line), each at most {@code maxChars} long and free of NUL
     * characters; a violation names SOURCE and the line number.
     */
    public static final class Lines {
        private final Reader in;
        private final String source;
        private final int maxChars;
        private final char[] buf = new char[1 << 16];
        private int pos, len;
        private int lineNo;
        private boolean eof;

        public Lines(Reader in, String source, int maxChars) {
            this.in = in;
            this.source = source;
            this.maxChars = maxChars;
        }

        /** The number of the line last returned (1-based). */
        public int lineNumber() { return lineNo; }

        /** The next line without its terminator, or null at the end. */
        public String next() throws IOException {
            if (eof && pos >= len) return null;
            StringBuilder sb = new StringBuilder();
            lineNo++;
            while (true) {
                if (pos >= len) {
                    len = in.read(buf);
                    pos = 0;
                    if (len <= 0) {
                        eof = true;
                        len = 0;
                        return sb.isEmpty() ? null : sb.toString();
                    }
                }
                int start = pos;
                while (pos < len) {
                    char c = buf[pos];
                    if (c == '\n' || c == '\r') {
                        sb.append(buf, start, pos - start);
                        pos++;
                        if (c == '\r') {
                            if (pos >= len) { len = in.read(buf); pos = 0; if (len <= 0) { eof = true; len = 0; } }
                            if (pos < len && buf[pos] == '\n') pos++;
                        }
                        check(sb);
                        return sb.toString();
                    }
                    if (c == '\0')
                        throw new LoriException(source + ":" + lineNo + ": not a text file (a NUL character)");
                    pos++;
                }
                sb.append(buf, start, pos - start);
                check(sb);
            }
        }

        private void check(StringBuilder sb) {
            if (sb.length() > maxChars)
                throw new LoriException(source + ":" + lineNo + ": line longer than " + maxChars + " characters");
        }
    }
}
