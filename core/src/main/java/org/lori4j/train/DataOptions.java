package org.lori4j.train;

/**
 * How data set files become training examples. {@link #defaults()} is LoRI's reference configuration.
 *
 * @param format          record format for every record, or null to detect it per record
 * @param template        prompt template name for text records, or null for the format's default
 * @param maxLength       limit on prompt + response tokens (reference 512)
 * @param maxPromptLength prompt tokens kept when an example is too long (reference 256)
 * @param truncation      which end of an over-long prompt is kept (reference: start)
 * @param addBos          prepend BOS to the prompt (reference: no BOS)
 * @param skipBadLines    skip and count bad records instead of failing on the first
 * @param dedupPrompts    as the reference, which keys each file's examples by prompt: a repeated prompt keeps
 *                        its first position and takes the last record's response
 * @param dataFraction    use only the first int(n * fraction) records of each file (reference data_fraction)
 * @param eosToken        the token appended to every response, which the adapter learns to end its answers with;
 *                        null: the tokenizer's EOS (the reference)
 */
public record DataOptions(RecordFormat format, String template, int maxLength, int maxPromptLength,
                          ExampleTokenizer.Truncation truncation, boolean addBos, boolean skipBadLines,
                          boolean dedupPrompts, double dataFraction, String eosToken) implements java.io.Serializable {
    public DataOptions {
        if (maxPromptLength < 1 || maxPromptLength >= maxLength)
            throw new IllegalArgumentException("need 1 <= max prompt length (" + maxPromptLength
                    + ") < max length (" + maxLength + ")");
        if (!(dataFraction > 0 && dataFraction <= 1))
            throw new IllegalArgumentException("data fraction must be in (0, 1]: " + dataFraction);
    }

    /** LoRI's reference settings: auto format, per-format template, 512/256, keep start, no BOS, dedup on. */
    public static DataOptions defaults() {
        return new DataOptions(null, null, 512, 256, ExampleTokenizer.Truncation.KEEP_START, false, false, true, 1.0, null);
    }

    public DataOptions withFormat(RecordFormat f) {
        return new DataOptions(f, template, maxLength, maxPromptLength, truncation, addBos, skipBadLines, dedupPrompts, dataFraction, eosToken);
    }

    public DataOptions withTemplate(String t) {
        return new DataOptions(format, t, maxLength, maxPromptLength, truncation, addBos, skipBadLines, dedupPrompts, dataFraction, eosToken);
    }

    public DataOptions withLengths(int maxLen, int maxPromptLen) {
        return new DataOptions(format, template, maxLen, maxPromptLen, truncation, addBos, skipBadLines, dedupPrompts, dataFraction, eosToken);
    }

    public DataOptions withTruncation(ExampleTokenizer.Truncation t) {
        return new DataOptions(format, template, maxLength, maxPromptLength, t, addBos, skipBadLines, dedupPrompts, dataFraction, eosToken);
    }

    public DataOptions withAddBos(boolean b) {
        return new DataOptions(format, template, maxLength, maxPromptLength, truncation, b, skipBadLines, dedupPrompts, dataFraction, eosToken);
    }

    public DataOptions withSkipBadLines(boolean s) {
        return new DataOptions(format, template, maxLength, maxPromptLength, truncation, addBos, s, dedupPrompts, dataFraction, eosToken);
    }

    public DataOptions withDedupPrompts(boolean d) {
        return new DataOptions(format, template, maxLength, maxPromptLength, truncation, addBos, skipBadLines, d, dataFraction, eosToken);
    }

    public DataOptions withEosToken(String t) {
        return new DataOptions(format, template, maxLength, maxPromptLength, truncation, addBos, skipBadLines, dedupPrompts, dataFraction, t);
    }

    public DataOptions withDataFraction(double f) {
        return new DataOptions(format, template, maxLength, maxPromptLength, truncation, addBos, skipBadLines, dedupPrompts, f, eosToken);
    }
}
