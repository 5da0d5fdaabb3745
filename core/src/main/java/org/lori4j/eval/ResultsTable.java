package org.lori4j.eval;

import com.fasterxml.jackson.databind.JsonNode;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Markdown tables: the results of one run (results.md) and several runs side by side (lori eval --compare). */
public final class ResultsTable {
    private ResultsTable() {}

    /** One row per task, HEx-PHI categories and pass@k under their task, then the average of several tasks. */
    public static String markdown(List<TaskResult> results, double average) {
        StringBuilder b = new StringBuilder("| task | metric | n | score |\n| --- | --- | ---: | ---: |\n");
        for (TaskResult r : results) {
            b.append("| ").append(r.task()).append(" | ").append(r.metric()).append(" | ").append(r.n())
                    .append(r.samples() > 1 ? " x " + r.samples() : "").append(" | ").append(pct(r.score())).append(" |\n");
            r.passAtK().forEach((k, v) -> {
                if (!k.equals("pass@1")) b.append("| ").append(r.task()).append(" | ").append(k).append(" | ").append(r.n())
                        .append(" | ").append(pct(v)).append(" |\n");
            });
            r.perCategory().forEach((k, c) -> b.append("| ").append(r.task()).append(" / ").append(k).append(" | ")
                    .append(r.metric()).append(" | ").append(c.n()).append(" | ").append(pct(c.score())).append(" |\n"));
        }
        if (!Double.isNaN(average))
            b.append("| average | mean of ").append(results.size()).append(" tasks |  | ").append(pct(average)).append(" |\n");
        return b.toString();
    }

    /**
     * Reads results.json from each folder and prints one column per run: rows are the tasks (with categories
     * and pass@k) in order of first appearance, then the averages. A missing score is shown as "-".
     */
    public static String compare(List<Path> dirs) {
        return compare(dirs, dirs.stream().map(ResultsTable::label).toList());
    }

    /** As {@link #compare(List)}, the columns headed by LABELS (one per folder) instead of the folder names. */
    public static String compare(List<Path> dirs, List<String> labels) {
        if (dirs.isEmpty()) throw new LoriException("--compare needs at least one results folder");
        if (labels.size() != dirs.size()) throw new IllegalArgumentException(labels.size() + " labels for " + dirs.size() + " folders");
        List<Map<String, String>> columns = new ArrayList<>();
        Map<String, String> rowMetric = new LinkedHashMap<>();
        for (Path d : dirs) {
            Path f = Files.isDirectory(d) ? d.resolve(Evaluator.RESULTS) : d;
            if (!Files.exists(f)) throw new LoriException(f + ": file not found (run lori eval with --out " + d + " first)");
            JsonNode json = Json.read(f);
            if (!json.path("results").isArray()) throw new LoriException(f + ": not a lori eval results.json (no 'results' list)");
            Map<String, String> col = new LinkedHashMap<>();
            List<TaskResult> rs = new ArrayList<>();
            for (JsonNode r : json.get("results")) {
                if (!r.isObject() || !r.path("task").isTextual() || !(r.path("score").isNumber() || r.path("score").isNull()))
                    throw new LoriException(f + ": not a lori eval results.json (a result without a task name and a numeric score: " + r + ")");
                rs.add(TaskResult.fromJson(r));
            }
            for (TaskResult r : rs) {
                put(rowMetric, col, r.task(), r.metric(), r.score());
                r.passAtK().forEach((k, v) -> { if (!k.equals("pass@1")) put(rowMetric, col, r.task() + " " + k, k, v); });
                r.perCategory().forEach((k, c) -> put(rowMetric, col, r.task() + " / " + k, r.metric(), c.score()));
            }
            if (json.has("average")) put(rowMetric, col, "average", "mean", json.get("average").path("score").asDouble());
            columns.add(col);
        }
        StringBuilder b = new StringBuilder("| task | metric |");
        for (String l : labels) b.append(' ').append(l.replace("|", "\\|")).append(" |");
        b.append("\n| --- | --- |").append(" ---: |".repeat(labels.size())).append('\n');
        // averages last, whichever run listed them
        List<String> rows = new ArrayList<>(rowMetric.keySet());
        if (rows.remove("average")) rows.add("average");
        for (String row : rows) {
            b.append("| ").append(row).append(" | ").append(rowMetric.get(row)).append(" |");
            for (Map<String, String> col : columns) b.append(' ').append(col.getOrDefault(row, "-")).append(" |");
            b.append('\n');
        }
        return b.toString();
    }

    private static void put(Map<String, String> rowMetric, Map<String, String> col, String row, String metric, double v) {
        rowMetric.putIfAbsent(row, metric);
        col.put(row, pct(v));
    }

    private static String label(Path d) {
        Path name = Files.isDirectory(d) ? d.getFileName() : d.getParent() == null ? d : d.getParent().getFileName();
        return name == null ? d.toString() : name.toString();
    }

    static String pct(double v) { return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.2f", v); }
}
