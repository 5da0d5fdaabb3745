package org.lori4j.model;

import java.util.Arrays;

/**
 * The keys and values of every layer for a batch of independent sequences, so that generation
 * feeds only new tokens. Each sequence has its own length (its next position); storage grows on
 * demand up to {@link #maxLen()} positions. Not thread-safe: one generation loop owns it.
 *
 * <p>Layout per layer and sequence: k, v [capacity, KV*D] f32, rows = positions (after RoPE for k).
 */
public final class KvCache {
    private final int layers;
    private final int kvDim;
    private final int maxLen;
    private final float[][][] k;   // [layer][seq] -> [capacity * kvDim]
    private final float[][][] v;
    private final int[] length;    // [seq] positions filled
    final Workspace workspace = new Workspace();

    KvCache(int layers, int kvDim, int batch, int maxLen) {
        if (batch <= 0) throw new IllegalArgumentException("batch must be positive: " + batch);
        if (maxLen <= 0) throw new IllegalArgumentException("maxLen must be positive: " + maxLen);
        this.layers = layers;
        this.kvDim = kvDim;
        this.maxLen = maxLen;
        this.k = new float[layers][batch][];
        this.v = new float[layers][batch][];
        this.length = new int[batch];
        for (int l = 0; l < layers; l++) {
            Arrays.fill(k[l], new float[0]);
            Arrays.fill(v[l], new float[0]);
        }
    }

    public int batch() { return length.length; }

    public int maxLen() { return maxLen; }

    /** Positions already filled for sequence b (the position of its next token). */
    public int length(int b) { return length[b]; }

    /** Forgets sequence b (keeps its storage). */
    public void reset(int b) { length[b] = 0; }

    /** Forgets every sequence. */
    public void reset() { Arrays.fill(length, 0); }

    /**
     * Keeps only the first {@code len} positions of sequence b (e.g. to reuse a shared prompt
     * prefix); len must not exceed the current length.
     */
    public void truncate(int b, int len) {
        if (len < 0 || len > length[b]) throw new IllegalArgumentException("cannot truncate sequence " + b + " of length " + length[b] + " to " + len);
        length[b] = len;
    }

    /** Bytes of key/value storage currently allocated. */
    public long allocatedBytes() {
        long n = 0;
        for (int l = 0; l < layers; l++) for (int b = 0; b < length.length; b++) n += 4L * (k[l][b].length + v[l][b].length);
        return n;
    }

    float[] keys(int layer, int b) { return k[layer][b]; }

    float[] values(int layer, int b) { return v[layer][b]; }

    /** Makes room for {@code positions} positions of sequence b in every layer (grows by doubling). */
    void ensureCapacity(int b, int positions) {
        if (positions > maxLen) throw new IllegalArgumentException("sequence " + b + " needs " + positions + " positions, cache holds " + maxLen);
        int have = k[0][b].length / kvDim;
        if (have >= positions) return;
        int cap = Math.min(maxLen, Math.max(positions, Math.max(16, have * 2)));
        for (int l = 0; l < layers; l++) {
            k[l][b] = Arrays.copyOf(k[l][b], cap * kvDim);
            v[l][b] = Arrays.copyOf(v[l][b], cap * kvDim);
        }
    }

    void advance(int b, int n) { length[b] += n; }
}
