package org.lori4j.eval;

import java.util.List;

/**
 * What the harness needs from a model: continue a batch of prompts. The real implementation wraps
 * {@code org.lori4j.generate.Generator}; unit tests of the plumbing use a scripted fake.
 */
public interface TextGenerator {

    /** One prompt to continue; the seed makes a sampled output independent of how prompts are batched. */
    record Request(String prompt, long seed) {}

    /** The generated text (prompt not included, special tokens skipped) and how many tokens it took. */
    record Completion(String text, int tokens) {}

    /** Continues every request; the result has the same order and size as the requests. */
    List<Completion> generate(List<Request> requests, Decoding decoding);
}
