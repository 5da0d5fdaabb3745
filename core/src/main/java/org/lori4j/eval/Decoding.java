package org.lori4j.eval;

import java.util.List;

/**
 * How outputs are generated: greedy when temperature is 0 (the reference for HEx-PHI, GSM8K, commonsense),
 * else sampled with top-k (0 = off) and top-p; generation may stop early at a stop string.
 */
public record Decoding(int maxNewTokens, double temperature, int topK, double topP, List<String> stop) implements java.io.Serializable {
    public Decoding {
        if (maxNewTokens < 1) throw new org.lori4j.io.LoriException("--max-new-tokens must be at least 1, got " + maxNewTokens);
        if (temperature < 0) throw new org.lori4j.io.LoriException("--temperature must be >= 0, got " + temperature);
        if (topP <= 0 || topP > 1) throw new org.lori4j.io.LoriException("--top-p must be in (0, 1], got " + topP);
        if (topK < 0) throw new org.lori4j.io.LoriException("--top-k must be >= 0, got " + topK);
        stop = List.copyOf(stop);
    }

    public static Decoding greedy(int maxNewTokens) { return new Decoding(maxNewTokens, 0, 0, 1.0, List.of()); }

    public boolean greedy() { return temperature == 0; }

    public Decoding withStop(List<String> s) { return new Decoding(maxNewTokens, temperature, topK, topP, s); }
}
