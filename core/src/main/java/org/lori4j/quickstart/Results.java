package org.lori4j.quickstart;

import org.lori4j.train.TrainConfig;

import java.util.List;
import java.util.Map;

/**
 * Everything a quickstart run measured: accuracies of the base model, of each single-task adapter, of the
 * merged adapters and of the continual-learning adapters, the trainable parameter counts, the loss curves
 * and the wall time of each phase. Accuracies are fractions in [0, 1] over a task's test items.
 *
 * @param tasks       task names in the paper's order (nlu, math, code, safety)
 * @param base        task -> accuracy of the model without adapter
 * @param single      variant -> task -> accuracy of that task's own adapter
 * @param trainable   variant -> task -> trainable parameters of that adapter
 * @param loraParams  all A and B entries of one adapter (LoRA's trainable count, the same for every task)
 * @param merging     "cat" / "linear" -> variant -> task -> accuracy of the merge of all four adapters
 * @param continual   variant -> task -> {safety accuracy, task accuracy} after training safety, then the task
 * @param losses      run name -> training loss per step
 * @param seconds     phase -> wall seconds (noisy on a shared machine)
 */
public record Results(QuickstartOptions options, List<String> tasks, Map<String, Double> base,
                      Map<Variant, Map<String, Double>> single, Map<Variant, Map<String, Long>> trainable, long loraParams,
                      Map<String, Map<Variant, Map<String, Double>>> merging,
                      Map<Variant, Map<String, double[]>> continual, Map<String, List<Double>> losses,
                      Map<String, Double> seconds) {

    /** The three adapter kinds the paper compares. */
    public enum Variant {
        LORA("LoRA", "lora", TrainConfig.Method.LORA),
        LORI_D("LoRI-D", "lori-d", TrainConfig.Method.LORI_D),
        LORI_S("LoRI-S", "lori-s", TrainConfig.Method.LORI_S);

        private final String label, id;
        private final TrainConfig.Method method;

        Variant(String label, String id, TrainConfig.Method method) {
            this.label = label;
            this.id = id;
            this.method = method;
        }

        /** The paper's name, e.g. "LoRI-S". */
        public String label() { return label; }

        /** The name in files, e.g. "lori-s". */
        public String id() { return id; }

        public TrainConfig.Method method() { return method; }
    }

    /** The merge types of PEFT's add_weighted_adapter that the quickstart compares. */
    public static final List<String> MERGES = List.of("cat", "linear");

    /** Mean of the task accuracies in a row. */
    public static double average(Map<String, Double> byTask) {
        return byTask.values().stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }
}
