package org.lori4j.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** A scripted TextGenerator for plumbing tests: the output is a function of the prompt; counts calls; can fail after N batches. */
final class FakeGenerator implements TextGenerator {
    private final Function<String, String> script;
    private final int failAfterBatches;
    int batches, prompts;
    final List<Integer> batchSizes = new ArrayList<>();

    FakeGenerator(Function<String, String> script) { this(script, Integer.MAX_VALUE); }

    FakeGenerator(Function<String, String> script, int failAfterBatches) {
        this.script = script;
        this.failAfterBatches = failAfterBatches;
    }

    @Override
    public List<Completion> generate(List<Request> requests, Decoding decoding) {
        if (batches == failAfterBatches) throw new IllegalStateException("simulated kill");
        batches++;
        batchSizes.add(requests.size());
        List<Completion> out = new ArrayList<>();
        for (Request r : requests) {
            prompts++;
            String text = script.apply(r.prompt());
            out.add(new Completion(text, text.isEmpty() ? 0 : text.split("\\s+").length));
        }
        return out;
    }
}
