package org.lori4j.train;

/**
 * A micro-batch with the padding removed: the sequences' tokens back to back (n rows in all),
 * sequence s in rows [start[s], start[s] + len[s]). targets[t] is the token row t must predict,
 * or -100 (not scored: prompt, last position); pos[t] is the row's position within its sequence.
 */
public record PackedBatch(int n, int[] tokens, int[] targets, int[] pos, int[] start, int[] len) {
    public static final int IGNORE = -100;

    /** Packs a right-padded [b, T] micro-batch (tokens and shifted targets) with the real lengths. */
    public static PackedBatch fromPadded(int b, int t, int[] tokens, int[] targets, int[] lengths) {
        int n = 0;
        for (int l : lengths) n += l;
        int[] tok = new int[n], tgt = new int[n], pos = new int[n], start = new int[b], len = lengths.clone();
        int row = 0;
        for (int s = 0; s < b; s++) {
            if (lengths[s] < 1 || lengths[s] > t) throw new IllegalArgumentException("sequence " + s + " has length " + lengths[s] + " in a batch of width " + t);
            start[s] = row;
            for (int p = 0; p < lengths[s]; p++, row++) {
                tok[row] = tokens[s * t + p];
                tgt[row] = targets[s * t + p];
                pos[row] = p;
            }
        }
        return new PackedBatch(n, tok, tgt, pos, start, len);
    }

    /** Packs unpadded sequences given as token ids and (unshifted, HF-style) labels: row p predicts labels[p + 1]. */
    public static PackedBatch ofExamples(int[][] inputIds, int[][] labels) {
        int b = inputIds.length, t = 0;
        for (int[] ids : inputIds) t = Math.max(t, ids.length);
        int[] tokens = new int[b * t], targets = new int[b * t], lengths = new int[b];
        java.util.Arrays.fill(targets, IGNORE);
        for (int s = 0; s < b; s++) {
            int n = inputIds[s].length;
            lengths[s] = n;
            System.arraycopy(inputIds[s], 0, tokens, s * t, n);
            for (int p = 0; p + 1 < n; p++) targets[s * t + p] = labels[s][p + 1];
        }
        return fromPadded(b, t, tokens, targets, lengths);
    }

    /** Number of sequences. */
    public int sequences() { return start.length; }

    /** Number of scored rows. */
    public int scored() {
        int k = 0;
        for (int x : targets) if (x != IGNORE) k++;
        return k;
    }

    /** The longest sequence. */
    public int maxLen() {
        int m = 0;
        for (int l : len) m = Math.max(m, l);
        return m;
    }
}
