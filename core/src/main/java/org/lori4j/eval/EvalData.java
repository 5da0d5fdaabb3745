package org.lori4j.eval;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;
import org.lori4j.io.TextFiles;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Reads evaluation data: a JSON array of objects (the LoRI tasks/ files) or JSON lines (HEx-PHI, GSM8K,
 * HumanEval; optionally gzip-compressed), keeping the line each record starts on so that every format
 * error names the file and line.
 */
public final class EvalData {
    private EvalData() {}

    /** One JSON object of a data file and where it starts. */
    public record Row(String source, int line, JsonNode node) {
        /** "file:line", the prefix of every error about this record. */
        public String where() { return source + ":" + line; }

        /** A required string field; a missing or non-string one is a one-line error naming file and line. */
        public String text(String field) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) throw new LoriException(where() + ": missing field '" + field + "'");
            if (!v.isTextual()) throw new LoriException(where() + ": field '" + field + "' must be a string, found " + v.getNodeType().toString().toLowerCase());
            return v.asText();
        }

        /** An optional string field; null when absent. */
        public String optionalText(String field) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) return null;
            if (!v.isTextual()) throw new LoriException(where() + ": field '" + field + "' must be a string, found " + v.getNodeType().toString().toLowerCase());
            return v.asText();
        }
    }

    /** Reads a data file (".gz" is decompressed). */
    public static List<Row> read(Path file) {
        byte[] bytes;
        try (InputStream in = open(file)) {
            bytes = TextFiles.readText(in, MAX_BYTES, file + (file.toString().endsWith(".gz") ? " (decompressed)" : ""));
        } catch (NoSuchFileException e) {
            throw new LoriException(file + ": file not found");
        } catch (IOException e) {
            throw new LoriException(file + ": cannot read: " + LoriException.reason(e));
        }
        return parse(file.toString(), TextFiles.decode(bytes, file.toString()));
    }

    /** The largest evaluation file read (after decompression): far above the task files (a few MB). */
    static final long MAX_BYTES = 512L << 20;

    /** Parses the text of a data file named SOURCE (used in error messages). */
    public static List<Row> parse(String source, String text) {
        int i = 0;
        if (text.startsWith("\uFEFF")) i = 1;
        while (i < text.length() && Character.isWhitespace(text.charAt(i))) i++;
        if (i == text.length()) throw new LoriException(source + ": no records (the file is empty)");
        char first = text.charAt(i);
        List<Row> rows = switch (first) {
            case '[' -> parseArray(source, text);
            case '{' -> parseLines(source, text);
            default -> throw new LoriException(source + ":" + lineOf(text, i)
                    + ": expected a JSON array of objects or JSON lines (one object per line)");
        };
        if (rows.isEmpty()) throw new LoriException(source + ": no records");
        return rows;
    }

    private static List<Row> parseArray(String source, String text) {
        List<Row> rows = new ArrayList<>();
        try (JsonParser p = Json.MAPPER.createParser(text)) {
            p.nextToken(); // START_ARRAY
            JsonToken t;
            while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                if (t == null) throw new LoriException(source + ": the JSON array is not closed");
                int line = p.currentTokenLocation().getLineNr();
                if (t != JsonToken.START_OBJECT) throw new LoriException(source + ":" + line + ": expected a JSON object, found " + describe(t));
                rows.add(new Row(source, line, Json.MAPPER.readTree(p)));
            }
            if (p.nextToken() != null) throw new LoriException(source + ":" + p.currentTokenLocation().getLineNr() + ": unexpected content after the JSON array");
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            throw new LoriException(source + ":" + (loc == null ? "?" : loc.getLineNr()) + ": invalid JSON: " + Json.parserMessage(e));
        } catch (IOException e) {
            throw new LoriException(source + ": cannot read: " + LoriException.reason(e));
        }
        return rows;
    }

    private static List<Row> parseLines(String source, String text) {
        List<Row> rows = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int n = 0; n < lines.length; n++) {
            String l = lines[n];
            if (n == 0 && l.startsWith("\uFEFF")) l = l.substring(1);
            if (l.isBlank()) continue;
            JsonNode node;
            try {
                node = Json.MAPPER.readTree(l);
            } catch (JsonProcessingException e) {
                throw new LoriException(source + ":" + (n + 1) + ": invalid JSON: " + Json.parserMessage(e));
            }
            if (!node.isObject()) throw new LoriException(source + ":" + (n + 1) + ": expected a JSON object, found " + node.getNodeType().toString().toLowerCase());
            rows.add(new Row(source, n + 1, node));
        }
        return rows;
    }

    private static InputStream open(Path file) throws IOException {
        InputStream in = Files.newInputStream(file);
        return file.getFileName().toString().endsWith(".gz") ? new GZIPInputStream(in) : in;
    }

    private static int lineOf(String text, int index) {
        int line = 1;
        for (int i = 0; i < index; i++) if (text.charAt(i) == '\n') line++;
        return line;
    }

    private static String describe(JsonToken t) {
        return switch (t) {
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> t.toString();
        };
    }
}
