package org.lori4j.train;

/**
 * One micro-batch ready for the model: b sequences right-padded to the longest one (T), as flat row-major
 * [b, T] arrays. {@code targets[i*T + t]} is the token position t must predict (the label at t+1), or
 * {@link Example#IGNORE} when that position is not scored: prompt tokens, the last real position, padding.
 * Padding token ids are 0; they are never scored, and under causal attention a real token never attends to
 * a padding position (all padding lies after the real tokens of its row).
 *
 * @param b        sequences in this micro-batch
 * @param t        padded length: the longest sequence of this micro-batch
 * @param tokens   [b, T] input ids, 0 in padding
 * @param targets  [b, T] next-token targets, IGNORE where not scored
 * @param lengths  [b] real length of each sequence
 * @param indices  [b] index of each sequence in the {@link TrainingData} example list
 */
public record Batch(int b, int t, int[] tokens, int[] targets, int[] lengths, int[] indices) {
    public Batch {
        if (tokens.length != b * t || targets.length != b * t || lengths.length != b || indices.length != b)
            throw new IllegalArgumentException("inconsistent batch shape b=" + b + " T=" + t);
    }

    /** Lays out EXAMPLES (with their dataset indices) as a padded micro-batch. */
    public static Batch of(Example[] examples, int[] indices) {
        int b = examples.length;
        int t = 0;
        for (Example e : examples) t = Math.max(t, e.length());
        int[] tokens = new int[b * t];
        int[] targets = new int[b * t];
        java.util.Arrays.fill(targets, Example.IGNORE);
        int[] lengths = new int[b];
        for (int i = 0; i < b; i++) {
            int[] ids = examples[i].inputIds(), labels = examples[i].labels();
            int n = ids.length;
            lengths[i] = n;
            System.arraycopy(ids, 0, tokens, i * t, n);
            // position p predicts token p+1: the label at p+1 (HF shifts logits[:-1] against labels[1:])
            for (int p = 0; p + 1 < n; p++) targets[i * t + p] = labels[p + 1];
        }
        return new Batch(b, t, tokens, targets, lengths, indices.clone());
    }

    /** Number of scored target positions (those that are not IGNORE). */
    public int scoredTokens() {
        int n = 0;
        for (int v : targets) if (v != Example.IGNORE) n++;
        return n;
    }

    /** Scored target positions of sequence I. */
    public int scoredTokens(int i) {
        int n = 0;
        for (int p = i * t; p < (i + 1) * t; p++) if (targets[p] != Example.IGNORE) n++;
        return n;
    }
}
