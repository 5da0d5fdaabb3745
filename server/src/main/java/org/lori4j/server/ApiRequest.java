package org.lori4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.lori4j.text.ChatTemplate;

import java.util.ArrayList;
import java.util.List;

/**
 * The fields of a chat or text completion request that lori4j reads, checked: each bad field is a 400 naming it.
 * Fields lori4j does not implement but a client may send with their neutral value (frequency_penalty 0, n 1,
 * logprobs false, empty tools) pass; other values of them are refused rather than ignored.
 *
 * @param maxTokens null when the request leaves the budget to the server
 * @param seed      null when the request gives none
 * @param topK      0 = off (vLLM's extension; -1 also means off)
 * @param ignoreEos generate past the model's stop tokens (vLLM's extension, for benchmarks)
 */
record ApiRequest(String model, List<ChatTemplate.Message> messages, String prompt, Integer maxTokens, float temperature,
                  float topP, int topK, float repetitionPenalty, Long seed, List<String> stop, boolean stream,
                  boolean includeUsage, boolean ignoreEos) {

    /** Stop strings per request at most (OpenAI allows 4; vLLM any number). */
    static final int MAX_STOPS = 16;

    static ApiRequest parse(JsonNode body, boolean chat) {
        if (body == null || !body.isObject()) throw ApiError.badRequest("the request body must be a JSON object", null);
        String model = text(body, "model", true);
        List<ChatTemplate.Message> messages = null;
        String prompt = null;
        if (chat) {
            JsonNode ms = body.get("messages");
            if (ms == null || !ms.isArray() || ms.isEmpty())
                throw ApiError.badRequest("'messages' must be a non-empty array of {role, content}", "messages");
            messages = new ArrayList<>();
            for (int i = 0; i < ms.size(); i++) messages.add(message(ms.get(i), "messages[" + i + "]"));
        } else {
            JsonNode p = body.get("prompt");
            if (p != null && p.isArray() && p.size() == 1 && p.get(0).isTextual()) p = p.get(0);
            if (p == null || !p.isTextual())
                throw ApiError.badRequest("'prompt' must be a string (or a list of one string)", "prompt");
            prompt = p.asText();
            if (bool(body, "echo", false)) throw ApiError.badRequest("'echo' is not supported", "echo");
            if (body.hasNonNull("suffix")) throw ApiError.badRequest("'suffix' is not supported", "suffix");
            if (body.hasNonNull("best_of") && intValue(body, "best_of", 1, 1) != 1) throw ApiError.badRequest("'best_of' must be 1", "best_of");
        }
        Integer maxTokens = null;
        String budgetField = body.hasNonNull("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        if (body.hasNonNull(budgetField)) maxTokens = intValue(body, budgetField, 1, Integer.MAX_VALUE);
        float temperature = (float) number(body, "temperature", 1, 0, 2);
        float topP = (float) number(body, "top_p", 1, 0, 1);
        if (!(topP > 0)) throw ApiError.badRequest("'top_p' must be in (0, 1], got " + topP, "top_p");
        int topK = body.hasNonNull("top_k") ? intValue(body, "top_k", -1, Integer.MAX_VALUE) : 0;
        float repetition = (float) number(body, "repetition_penalty", 1, 0, 100);
        if (!(repetition > 0)) throw ApiError.badRequest("'repetition_penalty' must be > 0", "repetition_penalty");
        Long seed = null;
        if (body.hasNonNull("seed")) {
            JsonNode s = body.get("seed");
            if (!s.isIntegralNumber() || !s.canConvertToLong()) throw ApiError.badRequest("'seed' must be an integer", "seed");
            seed = s.asLong();
        }
        if (body.hasNonNull("n") && intValue(body, "n", 1, Integer.MAX_VALUE) != 1)
            throw ApiError.badRequest("'n' must be 1: one choice per request", "n");
        for (String f : List.of("frequency_penalty", "presence_penalty"))
            if (number(body, f, 0, -2, 2) != 0) throw ApiError.badRequest("'" + f + "' is not supported (only 0)", f);
        if (bool(body, "logprobs", false) || body.hasNonNull("top_logprobs") && !body.get("top_logprobs").isIntegralNumber()
                || body.hasNonNull("top_logprobs") && body.get("top_logprobs").asInt() != 0)
            throw ApiError.badRequest("'logprobs' is not supported", "logprobs");
        JsonNode tools = body.get("tools");
        if (tools != null && !tools.isNull() && !(tools.isArray() && tools.isEmpty()))
            throw ApiError.badRequest("'tools' are not supported", "tools");
        JsonNode rf = body.get("response_format");
        if (rf != null && !rf.isNull() && !"text".equals(rf.path("type").asText()))
            throw ApiError.badRequest("'response_format' other than text is not supported", "response_format");
        List<String> stop = stops(body.get("stop"));
        boolean stream = bool(body, "stream", false);
        boolean includeUsage = false;
        JsonNode so = body.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!so.isObject()) throw ApiError.badRequest("'stream_options' must be an object", "stream_options");
            includeUsage = bool(so, "include_usage", false);
        }
        return new ApiRequest(model, messages, prompt, maxTokens, temperature, topP, topK <= 0 ? 0 : topK, repetition, seed, stop,
                stream, includeUsage, bool(body, "ignore_eos", false));
    }

    private static ChatTemplate.Message message(JsonNode m, String where) {
        if (m == null || !m.isObject()) throw ApiError.badRequest(where + " must be an object {role, content}", where);
        JsonNode role = m.get("role");
        if (role == null || !role.isTextual() || role.asText().isEmpty())
            throw ApiError.badRequest(where + ".role must be a non-empty string", where + ".role");
        JsonNode c = m.get("content");
        String content;
        if (c == null || c.isNull()) {
            content = "";
        } else if (c.isTextual()) {
            content = c.asText();
        } else if (c.isArray()) {
            // content parts: text only
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < c.size(); i++) {
                JsonNode part = c.get(i);
                if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual())
                    throw ApiError.badRequest(where + ".content[" + i + "]: only parts of type text are supported", where + ".content");
                sb.append(part.get("text").asText());
            }
            content = sb.toString();
        } else {
            throw ApiError.badRequest(where + ".content must be a string or a list of text parts", where + ".content");
        }
        return new ChatTemplate.Message(role.asText(), content);
    }

    private static List<String> stops(JsonNode s) {
        if (s == null || s.isNull()) return List.of();
        List<String> out = new ArrayList<>();
        if (s.isTextual()) out.add(s.asText());
        else if (s.isArray()) {
            for (JsonNode e : s) {
                if (!e.isTextual()) throw ApiError.badRequest("'stop' must be a string or a list of strings", "stop");
                out.add(e.asText());
            }
        } else throw ApiError.badRequest("'stop' must be a string or a list of strings", "stop");
        if (out.size() > MAX_STOPS) throw ApiError.badRequest("'stop' has " + out.size() + " strings; at most " + MAX_STOPS, "stop");
        for (String x : out) {
            if (x.isEmpty()) throw ApiError.badRequest("'stop' strings must not be empty", "stop");
            if (x.length() > 1000) throw ApiError.badRequest("'stop' strings must be at most 1000 characters", "stop");
        }
        return out;
    }

    private static String text(JsonNode n, String f, boolean required) {
        JsonNode v = n.get(f);
        if (v == null || v.isNull()) {
            if (required) throw ApiError.badRequest("'" + f + "' is required", f);
            return null;
        }
        if (!v.isTextual()) throw ApiError.badRequest("'" + f + "' must be a string", f);
        return v.asText();
    }

    private static boolean bool(JsonNode n, String f, boolean dflt) {
        JsonNode v = n.get(f);
        if (v == null || v.isNull()) return dflt;
        if (!v.isBoolean()) throw ApiError.badRequest("'" + f + "' must be true or false", f);
        return v.asBoolean();
    }

    private static double number(JsonNode n, String f, double dflt, double min, double max) {
        JsonNode v = n.get(f);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber()) throw ApiError.badRequest("'" + f + "' must be a number", f);
        double d = v.asDouble();
        if (!(d >= min && d <= max)) throw ApiError.badRequest("'" + f + "' must be between " + fmt(min) + " and " + fmt(max) + ", got " + v, f);
        return d;
    }

    private static int intValue(JsonNode n, String f, int min, int max) {
        JsonNode v = n.get(f);
        if (!v.isIntegralNumber()) throw ApiError.badRequest("'" + f + "' must be an integer", f);
        if (!v.canConvertToInt() || v.asInt() < min || v.asInt() > max)
            throw ApiError.badRequest("'" + f + "' must be between " + min + " and " + max + ", got " + v, f);
        return v.asInt();
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
