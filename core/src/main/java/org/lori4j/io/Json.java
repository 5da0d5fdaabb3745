package org.lori4j.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** The project's one Jackson mapper and helpers that turn parse failures into {@link LoriException}s naming the file. */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Json() {}

    /** Reads a JSON file; a missing file or a syntax error becomes a one-line LoriException naming it. */
    public static JsonNode read(Path file) {
        try {
            return MAPPER.readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new LoriException(file + ": file not found");
        } catch (JsonProcessingException e) {
            throw new LoriException(file + ": invalid JSON at line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr() + ": " + parserMessage(e));
        } catch (IOException e) {
            throw new LoriException(file + ": cannot read: " + LoriException.reason(e));
        }
    }

    /** Jackson's message without its "[Source: REDACTED ...; line: L, column: C]" locations (the caller names them). */
    static String parserMessage(JsonProcessingException e) {
        String m = e.getOriginalMessage();
        if (m == null) return "";
        m = m.replaceAll("\\[Source: [^;\\]]*; line: (\\d+), column: (\\d+)\\]", "line $1, column $2");
        return m.replaceAll("\\s*\\[Source: [^\\]]*\\]", "").replaceAll("\\s*\\R\\s*", " ").strip();
    }

    /** Writes a value as pretty JSON atomically (temp file + rename). */
    public static void write(Path file, Object value) {
        try {
            AtomicFiles.writeString(file, MAPPER.writeValueAsString(value) + "\n");
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
