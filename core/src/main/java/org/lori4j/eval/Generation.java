package org.lori4j.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;

/**
 * One line of generations.jsonl: an output of the model for one item (and sample) with how it was scored.
 * The file is appended line by line as outputs finish, so --resume loses at most the items in flight.
 */
public record Generation(String task, int index, int sample, String id, String category, String prompt,
                         String truncatedPrompt, String decodedPrompt, String output, int tokens, String extracted, String gold,
                         boolean correct, String note) {

    /** The resume key: task, item index, sample number. */
    public String key() { return key(task, index, sample); }

    public static String key(String task, int index, int sample) { return task + "\u0000" + index + "\u0000" + sample; }

    /**
     * The prompt text the answer rules read: the truncated one when the prompt was cut, else the decoded prompt tokens
     * when they differ from the prompt text (as the reference scores), else the prompt.
     */
    public String promptSeen() { return truncatedPrompt != null ? truncatedPrompt : decodedPrompt != null ? decodedPrompt : prompt; }

    /** The same generation scored again (scoring rules or --score-on may differ from when it was written). */
    public Generation rescored(Judgement j) {
        return new Generation(task, index, sample, id, category, prompt, truncatedPrompt, decodedPrompt, output, tokens,
                j.extracted(), gold, j.correct(), j.note());
    }

    public ObjectNode toJson() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("task", task);
        o.put("index", index);
        o.put("sample", sample);
        o.put("id", id);
        if (!category.isEmpty()) o.put("category", category);
        o.put("prompt", prompt);
        if (truncatedPrompt != null) o.put("truncated_prompt", truncatedPrompt);
        if (decodedPrompt != null) o.put("decoded_prompt", decodedPrompt);
        o.put("output", output);
        o.put("tokens", tokens);
        o.put("extracted", extracted);
        o.put("gold", gold);
        o.put("correct", correct);
        if (!note.isEmpty()) o.put("note", note);
        return o;
    }

    /** Parses a line written by {@link #toJson()}; WHERE ("file:line") prefixes errors. */
    public static Generation fromJson(JsonNode o, String where) {
        try {
            return new Generation(req(o, "task", where).asText(), count(o, "index", where), count(o, "sample", where),
                    req(o, "id", where).asText(), o.path("category").asText(""), req(o, "prompt", where).asText(),
                    o.hasNonNull("truncated_prompt") ? o.get("truncated_prompt").asText() : null,
                    o.hasNonNull("decoded_prompt") ? o.get("decoded_prompt").asText() : null, req(o, "output", where).asText(), o.path("tokens").asInt(0), o.path("extracted").asText(""),
                    o.path("gold").asText(""), o.path("correct").asBoolean(false), o.path("note").asText(""));
        } catch (RuntimeException e) {
            if (e instanceof LoriException) throw e;
            throw new LoriException(where + ": not a generations.jsonl record: " + e.getMessage());
        }
    }

    /** A non-negative integer field. */
    private static int count(JsonNode o, String field, String where) {
        JsonNode v = req(o, field, where);
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0)
            throw new LoriException(where + ": not a generations.jsonl record ('" + field + "' must be a non-negative integer, got " + v + ")");
        return v.asInt();
    }

    private static JsonNode req(JsonNode o, String field, String where) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) throw new LoriException(where + ": not a generations.jsonl record (no '" + field + "')");
        return v;
    }
}
