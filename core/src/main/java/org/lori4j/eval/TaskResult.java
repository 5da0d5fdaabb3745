package org.lori4j.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.io.Json;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The score of one task: n items, the number of correct outputs, the score in percent, and per category
 * (HEx-PHI) or pass@k (HumanEval) details.
 */
public record TaskResult(String task, String metric, int n, int samples, long correct, double score,
                         Map<String, Category> perCategory, Map<String, Double> passAtK) {

    /** The score of one category: n outputs, correct ones, percent. */
    public record Category(int n, long correct, double score) {}

    /** The k values reported for pass@k when every item has at least k samples (bigcode's list). */
    public static final int[] PASS_AT = {1, 5, 10, 100};

    /**
     * Scores a task from its generations (one per item and sample, in any order). Accuracy-like metrics are
     * the percentage of correct outputs; pass@k is averaged over items.
     */
    public static TaskResult of(EvalTask task, int items, int samples, List<Generation> gens) {
        long correct = gens.stream().filter(Generation::correct).count();
        Map<String, long[]> cats = new TreeMap<>();
        for (Generation g : gens) {
            if (g.category().isEmpty()) continue;
            long[] c = cats.computeIfAbsent(g.category(), k -> new long[2]);
            c[0]++;
            if (g.correct()) c[1]++;
        }
        Map<String, Category> perCategory = new LinkedHashMap<>();
        cats.forEach((k, c) -> perCategory.put(k, new Category((int) c[0], c[1], 100.0 * c[1] / c[0])));
        Map<String, Double> passAtK = new LinkedHashMap<>();
        double score = gens.isEmpty() ? Double.NaN : 100.0 * correct / gens.size();
        if (task instanceof HumanEvalTask) {
            Map<Integer, int[]> perItem = new TreeMap<>();
            for (Generation g : gens) {
                int[] nc = perItem.computeIfAbsent(g.index(), k -> new int[2]);
                nc[0]++;
                if (g.correct()) nc[1]++;
            }
            int[] n = new int[perItem.size()], c = new int[perItem.size()];
            int i = 0;
            for (int[] nc : perItem.values()) { n[i] = nc[0]; c[i] = nc[1]; i++; }
            for (int k : PASS_AT) {
                double v = PassAtK.mean(n, c, k);
                if (!Double.isNaN(v)) passAtK.put("pass@" + k, 100.0 * v);
            }
            score = passAtK.getOrDefault("pass@1", Double.NaN);
        }
        return new TaskResult(task.name(), task.metric(), items, samples, correct, score, perCategory, passAtK);
    }

    public ObjectNode toJson() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("task", task);
        o.put("metric", metric);
        o.put("n", n);
        o.put("samples", samples);
        o.put("correct", correct);
        o.put("score", round(score));
        if (!perCategory.isEmpty()) {
            ObjectNode pc = o.putObject("per_category");
            perCategory.forEach((k, c) -> {
                ObjectNode co = pc.putObject(k);
                co.put("n", c.n());
                co.put("correct", c.correct());
                co.put("score", round(c.score()));
            });
        }
        if (!passAtK.isEmpty()) {
            ObjectNode pk = o.putObject("pass_at_k");
            passAtK.forEach((k, v) -> pk.put(k, round(v)));
        }
        return o;
    }

    public static TaskResult fromJson(JsonNode o) {
        Map<String, Category> pc = new LinkedHashMap<>();
        o.path("per_category").properties().forEach(e -> pc.put(e.getKey(),
                new Category(e.getValue().path("n").asInt(), e.getValue().path("correct").asLong(), e.getValue().path("score").asDouble())));
        Map<String, Double> pk = new LinkedHashMap<>();
        o.path("pass_at_k").properties().forEach(e -> pk.put(e.getKey(), e.getValue().asDouble()));
        return new TaskResult(o.path("task").asText(), o.path("metric").asText(), o.path("n").asInt(), o.path("samples").asInt(1),
                o.path("correct").asLong(), o.path("score").asDouble(Double.NaN), pc, pk);
    }

    /** The mean score of several tasks (the paper's "Avg." column), NaN for none. */
    public static double average(List<TaskResult> results) {
        List<Double> s = new ArrayList<>();
        for (TaskResult r : results) s.add(r.score());
        return s.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    /** Four decimals are plenty for a percentage and keep results.json readable. */
    static double round(double v) { return Double.isFinite(v) ? Math.round(v * 1e4) / 1e4 : v; }
}
