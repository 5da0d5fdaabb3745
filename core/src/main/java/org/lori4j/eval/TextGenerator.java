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
    record Request(String prompt, String target, long seed) implements java.io.Serializable {}

    /**
     * The generated text (prompt not included, special tokens skipped), how many tokens it took, the prompt
     * text the model actually saw when it was truncated (null when the whole prompt was used), and the decoded
     * prompt tokens when they differ from the prompt text (null otherwise).
     */
    record Completion(String text, int tokens, String truncatedPrompt, String decodedPrompt) implements java.io.Serializable {
        public Completion(String text, int tokens) { this(text, tokens, null, null); }
        public Completion(String text, int tokens, String truncatedPrompt) { this(text, tokens, truncatedPrompt, null); }

        /**
         * The prompt text the answer rules read before the output: the reference scores the decoded sequence, i.e.
         * decode(prompt tokens) + output, which differs from the prompt text where the tokenizer cleans up spaces on
         * decode (Llama 3: "shoot .38" decodes as "shoot.38"); null when it is the prompt text itself.
         */
        public String scoredPrompt() { return truncatedPrompt != null ? truncatedPrompt : decodedPrompt; }
    }

    /** Continues every request; the result has the same order and size as the requests. */
    List<Completion> generate(List<Request> requests, Decoding decoding);

    /** Receives completion {@code index} (of the request list) as soon as it is finished. */
    @FunctionalInterface
    interface Sink {
        void accept(int index, Completion completion);
    }

    /**
     * Continues every request with at most {@code slots} in generation at a time and hands each completion to
     * the sink as it finishes, in any order. The default runs consecutive groups of {@code slots} requests
     * through {@link #generate(List, Decoding)}; a model implementation refills a slot as soon as it frees.
     */
    default void generate(List<Request> requests, Decoding decoding, int slots, Sink sink) {
        for (int from = 0; from < requests.size(); from += slots) {
            List<Request> batch = requests.subList(from, Math.min(requests.size(), from + slots));
            List<Completion> outs = generate(batch, decoding);
            if (outs.size() != batch.size())
                throw new IllegalStateException("generator returned " + outs.size() + " outputs for " + batch.size() + " prompts");
            for (int i = 0; i < outs.size(); i++) sink.accept(from + i, outs.get(i));
        }
    }
}
