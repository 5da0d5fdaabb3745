package org.lori4j.model;

import org.lori4j.tensor.Vec;

import java.util.Arrays;

/**
 * The keys and values of every layer for a batch of independent sequences, so that generation
 * feeds only new tokens. Each sequence has its own length (its next position); storage grows on
 * demand up to {@link #maxLen()} positions. Not thread-safe: one generation loop owns it.
 *
 * <p>Layout per layer and sequence: k, v [KV*D, capacity] f32, channel-major (k after RoPE):
 * channel c = kvHead * D + d of position p is at {@code c * capacity + p}. One head's keys are then
 * D contiguous runs along the positions, so attention of a new token loops along the keys with full
 * vectors whatever head_dim is ({@link Attention#forwardCached}).
 */
public final class KvCache {
    private final int layers;
    private final int kvDim;
    private final int maxLen;
    private final float[][][] k;   // [layer][seq] -> [kvDim * capacity]
    private final float[][][] v;
    private final int[] capacity;  // [seq] positions the storage holds
    private final int[] length;    // [seq] positions filled
    private Workspace[] workspaces = {new Workspace()};

    KvCache(int layers, int kvDim, int batch, int maxLen) {
        if (batch <= 0) throw new IllegalArgumentException("batch must be positive: " + batch);
        if (maxLen <= 0) throw new IllegalArgumentException("maxLen must be positive: " + maxLen);
        this.layers = layers;
        this.kvDim = kvDim;
        this.maxLen = maxLen;
        this.k = new float[layers][batch][];
        this.v = new float[layers][batch][];
        this.capacity = new int[batch];
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

    /** Sequence b's keys in layer {@code layer}, [KV*D, {@link #capacity}] channel-major. */
    float[] keys(int layer, int b) { return k[layer][b]; }

    /** Sequence b's values in layer {@code layer}, laid out as {@link #keys}. */
    float[] values(int layer, int b) { return v[layer][b]; }

    /**
     * Positions sequence b's storage holds: the row stride of {@link #keys} and {@link #values}, a whole
     * number of vectors ({@link Vec#roundUpToLanes}) and at least one vector more than the positions
     * asked for, possibly more than {@link #maxLen()}.
     */
    int capacity(int b) { return capacity[b]; }

    /** Makes room for {@code positions} positions of sequence b in every layer (grows by doubling). */
    void ensureCapacity(int b, int positions) {
        if (positions > maxLen) throw new IllegalArgumentException("sequence " + b + " needs " + positions + " positions, cache holds " + maxLen);
        // one vector of slack after the last position: attention reads a row from its first visible key (later
        // than 0 with a sliding window) up to the next whole vector, which must stay inside the row
        int needed = positions + Vec.lanes(), have = capacity[b];
        if (have >= needed) return;
        int cap = Vec.roundUpToLanes(Math.max(needed, Math.min(maxLen + Vec.lanes(), Math.max(16, have * 2))));
        int filled = length[b];
        for (int l = 0; l < layers; l++) {
            k[l][b] = widen(k[l][b], have, cap, filled);
            v[l][b] = widen(v[l][b], have, cap, filled);
        }
        capacity[b] = cap;
    }

    /** The first {@code filled} positions of every channel, moved to rows of the new capacity. */
    private float[] widen(float[] old, int oldCap, int cap, int filled) {
        float[] t = new float[kvDim * cap];
        if (filled > 0) for (int c = 0; c < kvDim; c++) System.arraycopy(old, c * oldCap, t, c * cap, filled);
        return t;
    }

    /**
     * Writes {@code count} new positions of sequence b in layer {@code layer} from row-major keys and values
     * [count, KV*D] (at kOff / vOff) after its filled ones; room must have been made with {@link #ensureCapacity}.
     * The sequence's length moves on with {@link #advance} once every layer has its rows.
     */
    void put(int layer, int b, float[] keys, int kOff, float[] values, int vOff, int count) {
        float[] kc = k[layer][b], vc = v[layer][b];
        int cap = capacity[b], p0 = length[b];
        if (p0 + count > cap) throw new IllegalStateException("sequence " + b + ": no room for " + count + " positions");
        for (int i = 0; i < count; i++) {
            int src = i * kvDim, dst = p0 + i;
            for (int c = 0; c < kvDim; c++) {
                kc[c * cap + dst] = keys[kOff + src + c];
                vc[c * cap + dst] = values[vOff + src + c];
            }
        }
    }

    void advance(int b, int n) { length[b] += n; }

    /** The activation buffers of group g of a step (one per group of sequences run in parallel). */
    Workspace workspace(int g) {
        if (g >= workspaces.length) throw new IllegalStateException("no workspace " + g + "; call workspaces(" + (g + 1) + ") first");
        return workspaces[g];
    }

    /** Makes sure there are {@code n} workspaces (before a step runs its groups in parallel). */
    void workspaces(int n) {
        if (n <= workspaces.length) return;
        Workspace[] w = Arrays.copyOf(workspaces, n);
        for (int i = workspaces.length; i < n; i++) w[i] = new Workspace();
        workspaces = w;
    }
}
