package org.lori4j.quickstart;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;

/**
 * The settings of one quickstart run. {@link #full} is the README's run, {@link #quick} a miniature of it for
 * tests; both are fixed apart from the seed, so a seed names a result.
 *
 * @param seed         seed of the task data, of each task's random A and of the data order
 * @param quick        the small run (fewer examples, one epoch)
 * @param trainPerTask training examples per task
 * @param testPerTask  test examples per task (disjoint from the training prompts)
 * @param rank         adapter rank r on all seven projections
 * @param alpha        lora_alpha (scaling alpha / r)
 * @param epochs       passes over each task's training set, for every run
 * @param batchSize    sequences per optimiser step
 * @param lrLora       learning rate of LoRA (A and B trained)
 * @param lrLoriD      learning rate of LoRI-D (B trained, A frozen)
 * @param lrLoriS      learning rate of LoRI-S (B trained under the mask)
 * @param sparsity     LoRI-S mask sparsity (share of B entries frozen at zero)
 * @param mergeWeight  weight of every adapter in a merge
 * @param maxNewTokens generation limit beyond the longest answer of a task, in tokens
 */
public record QuickstartOptions(long seed, boolean quick, int trainPerTask, int testPerTask, int rank, double alpha,
                                int epochs, int batchSize, double lrLora, double lrLoriD, double lrLoriS,
                                double sparsity, double mergeWeight, int maxNewTokens) {

    public QuickstartOptions {
        if (seed < 0 || seed > 0xFFFFFFFFL) throw new LoriException("--seed must be in [0, 2^32), got " + seed);
    }

    /** The README's run. */
    public static QuickstartOptions full(long seed) {
        return new QuickstartOptions(seed, false, 600, 100, 8, 16, 3, 8, 5e-3, 1e-2, 1e-2, 0.9, 1.0, 4);
    }

    /** A small run with the same stages, for tests and a first look (about a tenth of the work). */
    public static QuickstartOptions quick(long seed) {
        return new QuickstartOptions(seed, true, 48, 8, 8, 16, 1, 8, 5e-3, 1e-2, 1e-2, 0.9, 1.0, 4);
    }

    /** The options as written into results.json. */
    public ObjectNode toJson() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("seed", seed);
        o.put("quick", quick);
        o.put("train_per_task", trainPerTask);
        o.put("test_per_task", testPerTask);
        o.put("rank", rank);
        o.put("lora_alpha", alpha);
        o.put("epochs", epochs);
        o.put("batch_size", batchSize);
        o.put("lr_lora", lrLora);
        o.put("lr_lori_d", lrLoriD);
        o.put("lr_lori_s", lrLoriS);
        o.put("sparsity", sparsity);
        o.put("merge_weight", mergeWeight);
        o.put("max_new_tokens_beyond_answer", maxNewTokens);
        return o;
    }
}
