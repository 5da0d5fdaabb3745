package org.lori4j.generate;

import com.fasterxml.jackson.databind.JsonNode;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The decoding defaults a model ships in {@code generation_config.json}, with Hugging Face's
 * defaults for absent fields (do_sample false, temperature 1, top_k 50, top_p 1,
 * repetition_penalty 1). With neither max_new_tokens nor max_length the caller picks the budget
 * (lori4j: 256 new tokens; transformers: max_length 20, prompt included). Other fields that change
 * what transformers generates are not applied: {@link #unapplied} names those a file sets.
 *
 * @param doSample          sample (true) or decode greedily (false)
 * @param eosTokenIds       ids that end generation (empty when the file names none)
 * @param maxNewTokens      max_new_tokens, or null when unset
 * @param maxLength         max_length (prompt + new tokens), or null when unset
 */
public record GenerationConfig(boolean doSample, float temperature, int topK, float topP, float repetitionPenalty,
                               List<Integer> eosTokenIds, Integer maxNewTokens, Integer maxLength) {
    public static final String FILE = "generation_config.json";

    public GenerationConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    /** Hugging Face's defaults (used when a model has no generation_config.json). */
    public static GenerationConfig defaults() {
        return new GenerationConfig(false, 1f, 50, 1f, 1f, List.of(), null, null);
    }

    /** Fields transformers applies that lori4j does not, with the value that leaves generation unchanged. */
    private static final java.util.Map<String, Object> NOT_APPLIED = java.util.Map.ofEntries(
            java.util.Map.entry("min_length", 0), java.util.Map.entry("min_new_tokens", 0),
            java.util.Map.entry("no_repeat_ngram_size", 0), java.util.Map.entry("min_p", 0),
            java.util.Map.entry("typical_p", 1), java.util.Map.entry("epsilon_cutoff", 0), java.util.Map.entry("eta_cutoff", 0),
            java.util.Map.entry("num_beams", 1), java.util.Map.entry("suppress_tokens", List.of()),
            java.util.Map.entry("begin_suppress_tokens", List.of()), java.util.Map.entry("bad_words_ids", List.of()),
            java.util.Map.entry("forced_bos_token_id", List.of()), java.util.Map.entry("forced_eos_token_id", List.of()),
            java.util.Map.entry("sequence_bias", List.of()), java.util.Map.entry("exponential_decay_length_penalty", List.of()),
            java.util.Map.entry("encoder_repetition_penalty", 1));

    /**
     * The fields of {@code dir/generation_config.json} that would change what transformers generates but that lori4j
     * does not apply (e.g. min_new_tokens, no_repeat_ngram_size, min_p), in file order; empty without the file.
     */
    public static List<String> unapplied(Path dir) {
        Path file = dir.resolve(FILE);
        List<String> out = new ArrayList<>();
        if (!Files.isRegularFile(file)) return out;
        JsonNode n = Json.read(file);
        for (var it = n.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!NOT_APPLIED.containsKey(k)) continue;
            JsonNode v = n.get(k);
            Object neutral = NOT_APPLIED.get(k);
            boolean inert = v == null || v.isNull() || (neutral instanceof List<?> ? v.isArray() && v.isEmpty() || v.isObject() && v.isEmpty()
                    : v.isNumber() && v.asDouble() == ((Integer) neutral).doubleValue());
            if (!inert) out.add(k);
        }
        return out;
    }

    /** Reads {@code dir/generation_config.json}, or returns {@link #defaults()} when the file does not exist. */
    public static GenerationConfig load(Path dir) {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) return defaults();
        JsonNode n = Json.read(file);
        if (!n.isObject()) throw new LoriException(file + ": not a JSON object");
        GenerationConfig d = defaults();
        return new GenerationConfig(
                bool(n, "do_sample", d.doSample(), file),
                (float) number(n, "temperature", d.temperature(), file),
                (int) number(n, "top_k", d.topK(), file),
                (float) number(n, "top_p", d.topP(), file),
                (float) number(n, "repetition_penalty", d.repetitionPenalty(), file),
                ids(n, "eos_token_id", file),
                optInt(n, "max_new_tokens", file),
                optInt(n, "max_length", file));
    }

    /**
     * Sampling parameters with these defaults: greedy unless do_sample, the token budget from
     * max_new_tokens, else max_length minus the prompt, else {@code fallbackMaxNewTokens}.
     */
    public SamplingParams toSamplingParams(int promptLength, int fallbackMaxNewTokens, long seed) {
        int maxNew = maxNewTokens != null ? maxNewTokens
                : maxLength != null ? Math.max(0, maxLength - promptLength) : fallbackMaxNewTokens;
        return new SamplingParams(doSample ? temperature : 0f, topK, topP, seed, repetitionPenalty, maxNew, eosTokenIds);
    }

    /**
     * The ids generation stops at: this file's eos_token_id, else config.json's (what transformers falls back to
     * without generation_config.json), else the tokenizer's EOS.
     */
    public List<Integer> stopIds(org.lori4j.io.LlamaConfig model, org.lori4j.text.Tokenizer tokenizer) {
        return List.copyOf(!eosTokenIds.isEmpty() ? eosTokenIds : !model.eosTokenIds().isEmpty() ? model.eosTokenIds() : tokenizer.eosIds());
    }

    private static JsonNode present(JsonNode n, String key) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? null : v;
    }

    private static boolean bool(JsonNode n, String key, boolean dflt, Path file) {
        JsonNode v = present(n, key);
        if (v == null) return dflt;
        if (!v.isBoolean()) throw new LoriException(file + ": field '" + key + "' must be true or false, got " + v);
        return v.asBoolean();
    }

    private static double number(JsonNode n, String key, double dflt, Path file) {
        JsonNode v = present(n, key);
        if (v == null) return dflt;
        if (!v.isNumber()) throw new LoriException(file + ": field '" + key + "' must be a number, got " + v);
        return v.asDouble();
    }

    private static Integer optInt(JsonNode n, String key, Path file) {
        JsonNode v = present(n, key);
        if (v == null) return null;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw new LoriException(file + ": field '" + key + "' must be an integer, got " + v);
        return v.asInt();
    }

    private static List<Integer> ids(JsonNode n, String key, Path file) {
        JsonNode v = present(n, key);
        List<Integer> out = new ArrayList<>();
        if (v == null) return out;
        if (v.isArray()) {
            for (JsonNode e : v) {
                if (!e.isIntegralNumber()) throw new LoriException(file + ": field '" + key + "' must be an integer or a list of integers, got " + v);
                out.add(e.asInt());
            }
        } else if (v.isIntegralNumber()) {
            out.add(v.asInt());
        } else throw new LoriException(file + ": field '" + key + "' must be an integer or a list of integers, got " + v);
        return out;
    }
}
