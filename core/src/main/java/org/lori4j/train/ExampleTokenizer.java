package org.lori4j.train;

import java.util.Arrays;

/**
 * LoRI's SFT tokenization (juzhengz/LoRI {@code get_datasets.tokenize_batch_element} in SFT mode): prompt and
 * response are encoded separately without special tokens, EOS is appended to the response, and when
 * prompt + response exceeds {@code maxLength} the prompt is cut to {@code maxPromptLength} tokens (its start, or
 * its end in keep-end mode) and then, if still too long, the response to its first
 * {@code maxLength - maxPromptLength} tokens (which can drop the EOS). Labels are the ids, IGNORE on the prompt.
 */
public final class ExampleTokenizer {
    /** Encodes text without adding special tokens (HF {@code tokenizer(text, add_special_tokens=False)}). */
    @FunctionalInterface
    public interface Encoder {
        int[] encode(String text);
    }

    /** Which end of an over-long prompt survives; the reference uses keep-start for every data set LoRI trains on. */
    public enum Truncation { KEEP_START, KEEP_END }

    /** What happened to one example: its tokens and whether the prompt / response were cut. */
    public record Result(Example example, boolean promptTruncated, boolean responseTruncated) {}

    private final Encoder encoder;
    private final int eosId;
    private final int bosId; // -1: never prepend
    private final int maxLength, maxPromptLength;
    private final Truncation truncation;

    /**
     * @param bosId           id to prepend to the prompt, or -1 for the reference behaviour (no BOS)
     * @param maxLength       limit on prompt + response tokens (reference 512)
     * @param maxPromptLength prompt length kept when truncating (reference 256); 1 <= maxPromptLength < maxLength
     */
    public ExampleTokenizer(Encoder encoder, int eosId, int bosId, int maxLength, int maxPromptLength, Truncation truncation) {
        if (maxPromptLength < 1 || maxPromptLength >= maxLength)
            throw new IllegalArgumentException("need 1 <= max prompt length (" + maxPromptLength
                    + ") < max length (" + maxLength + ")");
        if (eosId < 0) throw new IllegalArgumentException("the tokenizer has no EOS token");
        this.encoder = encoder;
        this.eosId = eosId;
        this.bosId = bosId;
        this.maxLength = maxLength;
        this.maxPromptLength = maxPromptLength;
        this.truncation = truncation;
    }

    public int eosId() { return eosId; }
    public int maxLength() { return maxLength; }
    public int maxPromptLength() { return maxPromptLength; }

    /**
     * Tokenizes one prompt/response pair. Throws IllegalArgumentException when the response text encodes to the
     * EOS id, or the prompt does while CHECKPROMPTEOS (the reference asserts both; a chat prompt legitimately
     * contains end-of-turn tokens that may be the EOS).
     */
    public Result tokenize(String prompt, String response, boolean checkPromptEos) {
        int[] p = encoder.encode(prompt);
        int[] r = encoder.encode(response);
        if (checkPromptEos && contains(p, eosId))
            throw new IllegalArgumentException("the prompt contains the EOS token (id " + eosId + ")");
        if (contains(r, eosId))
            throw new IllegalArgumentException("the response contains the EOS token (id " + eosId + ")");
        if (bosId >= 0 && (p.length == 0 || p[0] != bosId)) p = prepend(bosId, p);
        r = Arrays.copyOf(r, r.length + 1);
        r[r.length - 1] = eosId;
        return truncate(p, r);
    }

    /** The truncation and labelling step on already-encoded prompt P and response R (EOS included in R). */
    Result truncate(int[] p, int[] r) {
        boolean promptCut = false, responseCut = false;
        if (p.length + r.length > maxLength && p.length > maxPromptLength) {
            p = truncation == Truncation.KEEP_START
                    ? Arrays.copyOfRange(p, 0, maxPromptLength)
                    : Arrays.copyOfRange(p, p.length - maxPromptLength, p.length);
            promptCut = true;
        }
        // Like the reference, the response limit is maxLength - maxPromptLength even when the prompt is shorter.
        if (p.length + r.length > maxLength && r.length > maxLength - maxPromptLength) {
            r = Arrays.copyOf(r, maxLength - maxPromptLength);
            responseCut = true;
        }
        int[] ids = new int[p.length + r.length];
        int[] labels = new int[ids.length];
        System.arraycopy(p, 0, ids, 0, p.length);
        System.arraycopy(r, 0, ids, p.length, r.length);
        Arrays.fill(labels, 0, p.length, Example.IGNORE);
        System.arraycopy(r, 0, labels, p.length, r.length);
        return new Result(new Example(ids, labels), promptCut, responseCut);
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) if (x == v) return true;
        return false;
    }

    private static int[] prepend(int v, int[] a) {
        int[] out = new int[a.length + 1];
        out[0] = v;
        System.arraycopy(a, 0, out, 1, a.length);
        return out;
    }
}
