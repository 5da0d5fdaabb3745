package org.lori4j.train;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;
import org.lori4j.io.TextFiles;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PushbackReader;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Reads a data set file as a sequence of JSON records with their line numbers: either one JSON array of
 * objects (the file's first non-blank character is '[') or JSON Lines (one object per line, blank lines
 * ignored). A JSONL line that is not valid JSON is a {@link BadRecord}; a syntax error inside a JSON array
 * cannot be skipped and always fails.
 */
public final class DatasetReader {
    /** A record and where it starts (1-based line). */
    public record SourceRecord(Path file, int line, JsonNode node) {
        /** "FILE:LINE" for messages. */
        public String where() { return file + ":" + line; }
    }

    /** A line that could not be parsed; MESSAGE is "FILE:LINE: ...". */
    public record BadRecord(Path file, int line, String message) {}

    private static final ObjectReader STRICT = Json.MAPPER.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private DatasetReader() {}

    /** Streams FILE's records to RECORDS and unparsable JSONL lines to BAD, in file order. */
    public static void read(Path file, Consumer<SourceRecord> records, Consumer<BadRecord> bad) {
        try (Reader raw = TextFiles.utf8(Files.newInputStream(file));
             PushbackReader in = new PushbackReader(new BufferedReader(raw, 1 << 16), 1)) {
            int c;
            long skipped = 0;
            do {
                c = in.read();
                if (++skipped > TextFiles.MAX_LINE_CHARS)
                    throw new LoriException(file + ": more than " + TextFiles.MAX_LINE_CHARS + " blank characters before the first record");
            } while (c == '\uFEFF' || (c >= 0 && Character.isWhitespace(c)));
            if (c < 0) return; // empty file: no records
            in.unread(c);
            if (c == '[') readArray(file, in, records);
            else readLines(file, new TextFiles.Lines(in, file.toString(), TextFiles.MAX_LINE_CHARS), records, bad);
        } catch (NoSuchFileException e) {
            throw new LoriException(file + ": file not found");
        } catch (CharacterCodingException e) {
            throw new LoriException(file + ": not UTF-8 text");
        } catch (IOException e) {
            throw new LoriException(file + ": cannot read: " + LoriException.reason(e));
        }
    }

    /** All records of FILE; any unparsable line is an error. */
    public static List<SourceRecord> readAll(Path file) {
        List<SourceRecord> out = new ArrayList<>();
        read(file, out::add, b -> { throw new LoriException(b.message()); });
        return out;
    }

    private static void readArray(Path file, Reader in, Consumer<SourceRecord> records) throws IOException {
        try (JsonParser p = Json.MAPPER.createParser(in)) {
            p.nextToken(); // START_ARRAY
            while (true) {
                JsonToken tok = p.nextToken();
                if (tok == JsonToken.END_ARRAY) break;
                int line = p.currentTokenLocation().getLineNr();
                if (tok == null) throw new LoriException(file + ":" + line + ": the JSON array is not closed");
                JsonNode node = Json.MAPPER.readTree(p);
                records.accept(new SourceRecord(file, line, node));
            }
            JsonToken after = p.nextToken();
            if (after != null)
                throw new LoriException(file + ":" + p.currentTokenLocation().getLineNr()
                        + ": unexpected content after the JSON array");
        } catch (JsonProcessingException e) {
            throw new LoriException(Json.invalidRecord(file, 0, e).getMessage()
                    + " (a JSON array cannot be read past a syntax error)");
        }
    }

    private static void readLines(Path file, TextFiles.Lines in, Consumer<SourceRecord> records,
                                  Consumer<BadRecord> bad) throws IOException {
        for (String line; (line = in.next()) != null; ) {
            int lineNo = in.lineNumber();
            if (line.isBlank()) continue;
            JsonNode node;
            try {
                node = STRICT.readTree(line);
            } catch (JsonProcessingException e) {
                bad.accept(new BadRecord(file, lineNo, Json.invalidRecord(file, lineNo, e).getMessage()));
                continue;
            }
            records.accept(new SourceRecord(file, lineNo, node));
        }
    }
}
