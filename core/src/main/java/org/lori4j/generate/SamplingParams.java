package org.lori4j.generate;

import java.util.List;

/**
 * How to pick each next token, with Hugging Face's meanings.
 *
 * @param temperature       0 = greedy (argmax); otherwise logits are divided by it before sampling
 * @param topK              keep only the k most likely tokens (ties with the k-th kept); 0 = off
 * @param topP              nucleus sampling: keep the smallest set of most likely tokens whose
 *                          probability reaches p; 1 = off
 * @param seed              seeds the random generator (the same seed gives the same text)
 * @param repetitionPenalty HF's penalty over every token already in the sequence, prompt included:
 *                          positive logits are divided by it, negative ones multiplied; 1 = off
 * @param maxNewTokens      at most this many tokens are generated
 * @param stopIds           generation of a sequence ends when it produces one of these (not returned)
 */
public record SamplingParams(float temperature, int topK, float topP, long seed, float repetitionPenalty,
                             int maxNewTokens, List<Integer> stopIds) {
    public SamplingParams {
        if (!(temperature >= 0) || Float.isInfinite(temperature))
            throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        if (!(repetitionPenalty > 0)) throw new IllegalArgumentException("repetition penalty must be > 0, got " + repetitionPenalty);
        if (maxNewTokens < 0) throw new IllegalArgumentException("max new tokens must be >= 0, got " + maxNewTokens);
        stopIds = List.copyOf(stopIds);
    }

    /** Greedy decoding of at most {@code maxNewTokens} tokens, stopping at any of {@code stopIds}. */
    public static SamplingParams greedy(int maxNewTokens, List<Integer> stopIds) {
        return new SamplingParams(0f, 0, 1f, 0L, 1f, maxNewTokens, stopIds);
    }

    public boolean isGreedy() { return temperature == 0f; }

    public SamplingParams withTemperature(float t) { return new SamplingParams(t, topK, topP, seed, repetitionPenalty, maxNewTokens, stopIds); }

    public SamplingParams withTopK(int k) { return new SamplingParams(temperature, k, topP, seed, repetitionPenalty, maxNewTokens, stopIds); }

    public SamplingParams withTopP(float p) { return new SamplingParams(temperature, topK, p, seed, repetitionPenalty, maxNewTokens, stopIds); }

    public SamplingParams withSeed(long s) { return new SamplingParams(temperature, topK, topP, s, repetitionPenalty, maxNewTokens, stopIds); }

    public SamplingParams withRepetitionPenalty(float r) { return new SamplingParams(temperature, topK, topP, seed, r, maxNewTokens, stopIds); }

    public SamplingParams withMaxNewTokens(int n) { return new SamplingParams(temperature, topK, topP, seed, repetitionPenalty, n, stopIds); }

    public SamplingParams withStopIds(List<Integer> ids) { return new SamplingParams(temperature, topK, topP, seed, repetitionPenalty, maxNewTokens, ids); }
}
