package org.lori4j.train;

import java.util.Arrays;

/**
 * One tokenized training sequence: token ids and, aligned with them (Hugging Face convention, not yet
 * shifted), the label of each position, {@link #IGNORE} where no loss is taken (prompt tokens).
 */
public record Example(int[] inputIds, int[] labels) {
    /** Label value meaning "no loss at this position" (PyTorch's ignore_index). */
    public static final int IGNORE = -100;

    public Example {
        if (inputIds.length != labels.length)
            throw new IllegalArgumentException("inputIds has " + inputIds.length + " tokens, labels " + labels.length);
        if (inputIds.length == 0) throw new IllegalArgumentException("empty example");
    }

    public int length() { return inputIds.length; }

    /** Number of positions whose label is scored after the one-token shift (labels at index >= 1 that are not IGNORE). */
    public int scoredTokens() {
        int n = 0;
        for (int t = 1; t < labels.length; t++) if (labels[t] != IGNORE) n++;
        return n;
    }

    @Override public boolean equals(Object o) {
        return o instanceof Example e && Arrays.equals(inputIds, e.inputIds) && Arrays.equals(labels, e.labels);
    }

    @Override public int hashCode() { return 31 * Arrays.hashCode(inputIds) + Arrays.hashCode(labels); }

    @Override public String toString() {
        return "Example[inputIds=" + Arrays.toString(inputIds) + ", labels=" + Arrays.toString(labels) + "]";
    }
}
