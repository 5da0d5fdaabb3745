package org.lori4j.io;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.nio.file.Path;

/** The project's one Jackson mapper and helpers that turn parse failures into {@link LoriException}s naming the file. */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Json() {}

    /**
     * Reads a JSON file of at most {@link TextFiles#MAX_JSON_BYTES}; a missing file, a syntax error or JSON beyond
     * Jackson's limits (nesting depth 1000, strings of 20 M characters, numbers of 1000 digits) becomes a one-line
     * LoriException naming it.
     */
    public static JsonNode read(Path file) {
        String text = TextFiles.readString(file, TextFiles.MAX_JSON_BYTES);
        try {
            return MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw invalid(file.toString(), e);
        }
    }

    /** "WHERE: invalid JSON at line L, column C: reason" (the location when Jackson knows it), one line. */
    public static LoriException invalid(String where, JsonProcessingException e) {
        JsonLocation loc = e.getLocation();
        String at = loc != null && loc.getLineNr() > 0 ? " at line " + loc.getLineNr() + ", column " + loc.getColumnNr() : "";
        return new LoriException(where + ": invalid JSON" + at + ": " + parserMessage(e));
    }

    /**
     * "FILE:LINE: invalid JSON (column C): reason" for a JSON Lines record (LINE given, the column from Jackson when
     * known), or with the line from Jackson for a document read whole (line &lt;= 0); one line.
     */
    public static LoriException invalidRecord(Object file, int line, JsonProcessingException e) {
        JsonLocation loc = e.getLocation();
        boolean known = loc != null && loc.getLineNr() > 0;
        String l = line > 0 ? ":" + line : known ? ":" + loc.getLineNr() : "";
        String col = known ? " (column " + loc.getColumnNr() + ")" : "";
        return new LoriException(file + l + ": invalid JSON" + col + ": " + parserMessage(e));
    }

    /** Jackson's message without its "[Source: REDACTED ...; line: L, column: C]" locations (the caller names them). */
    public static String parserMessage(JsonProcessingException e) {
        String m = e.getOriginalMessage();
        if (m == null) return e.getClass().getSimpleName();
        m = m.replaceAll("\\[Source: [^;\\]]*; line: (\\d+), column: (\\d+)\\]", "line $1, column $2");
        m = m.replaceAll("\\s*\\[Source: [^\\]]*\\]", "").replaceAll("\\s*\\R\\s*", " ").strip();
        return m.length() > 300 ? m.substring(0, 300) + "..." : m;
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
