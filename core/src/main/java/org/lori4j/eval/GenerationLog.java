package org.lori4j.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * generations.jsonl: appended and flushed one line per finished output, read back for --resume.
 * A last line cut short by a kill is dropped (and cut off the file) on resume; any other bad line is an error.
 */
public final class GenerationLog implements Closeable {
    /** Compact one-line JSON (the shared mapper indents). */
    private static final ObjectMapper LINE = new ObjectMapper();

    private final BufferedWriter out;

    private GenerationLog(BufferedWriter out) { this.out = out; }

    /** Opens FILE for appending (created when absent). */
    public static GenerationLog append(Path file) {
        try {
            return new GenerationLog(Files.newBufferedWriter(file, StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE));
        } catch (IOException e) {
            throw new LoriException(file + ": cannot write: " + LoriException.reason(e));
        }
    }

    /** Writes one line and flushes it to the OS, so that a killed run keeps it. */
    public void write(Generation g) {
        try {
            out.write(LINE.writeValueAsString(g.toJson()));
            out.write('\n');
            out.flush();
        } catch (IOException e) {
            throw new LoriException("generations.jsonl: cannot write: " + LoriException.reason(e));
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new LoriException("generations.jsonl: cannot close: " + e.getMessage());
        }
    }

    /**
     * Replaces FILE (atomically) by GENERATIONS, one line each in the given order: a finished run's log in item order,
     * whatever order its outputs finished in.
     */
    public static void rewrite(Path file, java.util.List<Generation> generations) {
        StringBuilder sb = new StringBuilder();
        try {
            for (Generation g : generations) sb.append(LINE.writeValueAsString(g.toJson())).append('\n');
        } catch (JsonProcessingException e) {
            throw new LoriException(file + ": cannot write: " + e.getOriginalMessage());
        }
        org.lori4j.io.AtomicFiles.writeString(file, sb.toString());
    }

    /**
     * Reads FILE (absent: empty) keyed by {@link Generation#key()}; a later line for the same key wins.
     * An unparsable final line without its newline is the trace of a kill: it is dropped and cut off the file.
     */
    public static Map<String, Generation> load(Path file) {
        Map<String, Generation> byKey = new LinkedHashMap<>();
        if (!Files.exists(file)) return byKey;
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new LoriException(file + ": cannot read: " + LoriException.reason(e));
        }
        String text = new String(bytes, StandardCharsets.UTF_8);
        int pos = 0, line = 0;
        while (pos < text.length()) {
            int nl = text.indexOf('\n', pos);
            boolean last = nl < 0;
            String l = last ? text.substring(pos) : text.substring(pos, nl);
            line++;
            if (!l.isBlank()) {
                JsonNode node;
                try {
                    node = Json.MAPPER.readTree(l);
                } catch (JsonProcessingException e) {
                    if (last) {
                        truncate(file, text.substring(0, pos).getBytes(StandardCharsets.UTF_8).length);
                        break;
                    }
                    throw new LoriException(file + ":" + line + ": invalid JSON: " + e.getOriginalMessage());
                }
                Generation g = Generation.fromJson(node, file + ":" + line);
                byKey.put(g.key(), g);
                if (last) appendNewline(file); // complete record, newline lost: the next append must start a line
            }
            if (last) break;
            pos = nl + 1;
        }
        return byKey;
    }

    /** Replaces FILE by these lines, atomically (rescored outputs on resume). */
    public static void rewrite(Path file, java.util.Collection<Generation> lines) {
        org.lori4j.io.AtomicFiles.write(file, out -> {
            for (Generation g : lines) {
                out.write(LINE.writeValueAsBytes(g.toJson()));
                out.write('\n');
            }
        });
    }

    private static void appendNewline(Path file) {
        try {
            Files.write(file, new byte[]{'\n'}, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new LoriException(file + ": cannot write: " + LoriException.reason(e));
        }
    }

    private static void truncate(Path file, long size) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        } catch (IOException e) {
            throw new LoriException(file + ": cannot cut off the unfinished last line: " + e.getMessage());
        }
    }
}
