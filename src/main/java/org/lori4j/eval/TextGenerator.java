package org.lori4j.eval;

import java.util.List;

/**
 * What the harness needs from a model: continue a batch of prompts. The real implementation wraps
 * {@code org.lori4j.generate.Generator}; unit tests of the plumbing use a scripted fake.
 */
public interface TextGenerator {

    /**
     * One prompt to continue. TARGET is the reference response paired with it (only its length matters: the
     * reference truncates prompts whose prompt + target + EOS exceed 512 tokens); SEED seeds sampling.
     */
    record Request(String prompt, String target, long seed) {}

    /**
     * The generated text (prompt not included, special tokens skipped), how many tokens it took, and the prompt
     * text the model actually saw when it was truncated (null when the whole prompt was used).
     */
    record Completion(String text, int tokens, String truncatedPrompt) {
        public Completion(String text, int tokens) { this(text, tokens, null); }
    }

    /** Continues every request; the result has the same order and size as the requests. */
    List<Completion> generate(List<Request> requests, Decoding decoding);
}
