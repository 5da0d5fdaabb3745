package org.lori4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import org.lori4j.io.LoriException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The kinds of training record, told apart by their fields ({@link #detect}) or named by the user, with the
 * prompt template LoRI's reference uses for each kind of text record (see README "Training data formats").
 */
public enum RecordFormat {
    /** {"instruction", "input"?, "output"}: Stanford Alpaca style (saferpaca, codealpaca); upstream prompt: 20-space Alpaca. */
    ALPACA("alpaca", "alpaca-lori20"),
    /** {"instruction", "input", "output", "answer"}: LoRI's tasks/ files; upstream loader: 16-space Alpaca. */
    LORI_TASK("lori-task", "alpaca-lori16"),
    /** {"question", "answer"}: GSM8K; target "####" becomes "The final answer is: ". */
    GSM8K("gsm8k", "gsm8k"),
    /** {"messages": [{"role", "content"}, ...]} ending with an assistant turn, rendered by the chat template. */
    CHAT("chat", null),
    /** {"input_ids", "labels"?, "attention_mask"?}: already tokenized, used as given. */
    TOKENS("tokens", null);

    private final String id;
    private final String defaultTemplate;

    RecordFormat(String id, String defaultTemplate) {
        this.id = id;
        this.defaultTemplate = defaultTemplate;
    }

    /** The name used on the command line (--format). */
    public String id() { return id; }

    /** The prompt template this kind gets unless one is chosen; null for chat and tokens. */
    public String defaultTemplate() { return defaultTemplate; }

    /** The format named NAME ("auto" is not a format: callers map it to null). */
    public static RecordFormat parse(String name) {
        for (RecordFormat f : values()) if (f.id.equals(name)) return f;
        throw new LoriException("unknown data format '" + name + "'; valid: auto, "
                + String.join(", ", Arrays.stream(values()).map(RecordFormat::id).toList()));
    }

    /** The format of a record by its fields, or null when none fits. */
    public static RecordFormat detect(JsonNode node) {
        if (!node.isObject()) return null;
        if (node.has("input_ids")) return TOKENS;
        if (node.has("messages")) return CHAT;
        if (node.has("instruction") && node.has("output")) return node.has("answer") ? LORI_TASK : ALPACA;
        if (node.has("question") && node.has("answer")) return GSM8K;
        return null;
    }

    /** The message for a record whose format cannot be detected. */
    static String undetectable(JsonNode node) {
        if (!node.isObject()) return "expected a JSON object, found " + node.getNodeType().toString().toLowerCase();
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return "cannot tell the record format from its fields " + names
                + "; expected instruction+output (alpaca, lori-task), question+answer (gsm8k), messages (chat)"
                + " or input_ids (tokens); or pass --format";
    }
}
