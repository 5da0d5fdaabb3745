package org.lori4j.quickstart;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.io.AtomicFiles;
import org.lori4j.io.Json;
import org.lori4j.quickstart.Results.Variant;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The quickstart's three tables in the layout of the LoRI paper (single-task, merging, continual learning), as
 * Markdown for people and as JSON (results.json, accuracies as fractions) for programs.
 */
public final class Report {
    private Report() {}

    /** Writes results.md and results.json into DIR. */
    public static void write(Results r, Path dir) {
        AtomicFiles.writeString(dir.resolve("results.md"), markdown(r));
        Json.write(dir.resolve("results.json"), json(r));
    }

    /** The three tables and the timings as Markdown. */
    public static String markdown(Results r) {
        StringBuilder sb = new StringBuilder();
        QuickstartOptions o = r.options();
        sb.append(String.format(Locale.ROOT, "LoRI quickstart%s: seed %d, %d train / %d test items per task, rank %d, alpha %s, "
                        + "%d epoch(s), batch %d, lr LoRA %s / LoRI-D %s / LoRI-S %s, sparsity %s, merge weight %s. "
                        + "Accuracy in %% on each task's test items.%n%n",
                o.quick() ? " (--quick)" : "", o.seed(), o.trainPerTask(), o.testPerTask(), o.rank(), num(o.alpha()),
                o.epochs(), o.batchSize(), num(o.lrLora()), num(o.lrLoriD()), num(o.lrLoriS()), num(o.sparsity()),
                num(o.mergeWeight())));
        sb.append(singleTable(r)).append('\n').append(mergingTable(r)).append('\n').append(continualTable(r)).append('\n');
        sb.append("Wall time (s): ");
        List<String> parts = new ArrayList<>();
        r.seconds().forEach((k, v) -> parts.add(k + " " + String.format(Locale.ROOT, "%.1f", v)));
        sb.append(String.join(", ", parts)).append(".\n");
        return sb.toString();
    }

    /** Table 1: each task's own adapter, with trainable parameters. */
    public static String singleTable(Results r) {
        StringBuilder sb = new StringBuilder("**Single-task** (each task's own adapter)\n\n");
        header(sb, "Method", "# Params (%)", r.tasks(), "Avg");
        row(sb, List.of("Base model", "0"), r.tasks(), r.base());
        for (Variant v : Variant.values()) {
            double mean = r.trainable().get(v).values().stream().mapToLong(Long::longValue).average().orElse(0);
            String params = String.format(Locale.ROOT, "%,d (%.1f%%)", Math.round(mean), 100.0 * mean / r.loraParams());
            row(sb, List.of(v.label(), params), r.tasks(), r.single().get(v));
        }
        return sb.toString();
    }

    /** Table 2: the four adapters of a kind merged into one. */
    public static String mergingTable(Results r) {
        StringBuilder sb = new StringBuilder("**Merging** all four adapters (PEFT add_weighted_adapter)\n\n");
        header(sb, "Merge", "Method", r.tasks(), "Avg");
        for (String how : Results.MERGES)
            for (Variant v : Variant.values())
                row(sb, List.of(how.equals("cat") ? "Concat" : "Linear", v.label()), r.tasks(), r.merging().get(how).get(v));
        return sb.toString();
    }

    /** Table 3: safety first, then another task; safety retained and the new task's accuracy. */
    public static String continualTable(Results r) {
        StringBuilder sb = new StringBuilder("**Continual learning** (safety adapter, then trained on the task)\n\n");
        List<String> later = r.tasks().stream().filter(t -> !t.equals("safety")).toList();
        sb.append("| Method | Safety alone |");
        for (String t : later) sb.append(" Safety (→").append(display(t)).append(") | ").append(display(t)).append(" |");
        sb.append("\n|---|---:|");
        for (int i = 0; i < later.size(); i++) sb.append("---:|---:|");
        sb.append('\n');
        for (Variant v : Variant.values()) {
            sb.append("| ").append(v.label()).append(" | ").append(pct(r.single().get(v).get("safety"))).append(" |");
            for (String t : later) {
                double[] st = r.continual().get(v).get(t);
                sb.append(' ').append(pct(st[0])).append(" | ").append(pct(st[1])).append(" |");
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** results.json: options, the three tables (fractions), parameter counts, loss curves and timings. */
    public static ObjectNode json(Results r) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.set("options", r.options().toJson());
        ArrayNode tasks = root.putArray("tasks");
        r.tasks().forEach(tasks::add);
        root.set("base", accuracies(r.base()));
        ObjectNode single = root.putObject("single_task");
        for (Variant v : Variant.values()) {
            ObjectNode row = accuracies(r.single().get(v));
            ObjectNode tr = row.putObject("trainable_parameters");
            r.trainable().get(v).forEach(tr::put);
            single.set(v.label(), row);
        }
        root.put("lora_parameters_per_adapter", r.loraParams());
        ObjectNode merging = root.putObject("merging");
        r.merging().forEach((how, byV) -> {
            ObjectNode m = merging.putObject(how);
            byV.forEach((v, acc) -> m.set(v.label(), accuracies(acc)));
        });
        ObjectNode cont = root.putObject("continual");
        r.continual().forEach((v, byTask) -> {
            ObjectNode c = cont.putObject(v.label());
            c.put("safety_alone", r.single().get(v).get("safety"));
            byTask.forEach((t, st) -> {
                ObjectNode x = c.putObject(t);
                x.put("safety", st[0]);
                x.put("task", st[1]);
            });
        });
        ObjectNode losses = root.putObject("losses");
        r.losses().forEach((run, curve) -> {
            ArrayNode a = losses.putArray(run);
            curve.forEach(a::add);
        });
        ObjectNode secs = root.putObject("seconds");
        r.seconds().forEach(secs::put);
        return root;
    }

    private static ObjectNode accuracies(Map<String, Double> byTask) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        byTask.forEach(o::put);
        o.put("avg", Results.average(byTask));
        return o;
    }

    private static void header(StringBuilder sb, String c1, String c2, List<String> tasks, String last) {
        sb.append("| ").append(c1).append(" | ").append(c2).append(" |");
        for (String t : tasks) sb.append(' ').append(display(t)).append(" |");
        sb.append(' ').append(last).append(" |\n|---|---|");
        for (int i = 0; i <= tasks.size(); i++) sb.append("---:|");
        sb.append('\n');
    }

    private static void row(StringBuilder sb, List<String> lead, List<String> tasks, Map<String, Double> acc) {
        sb.append('|');
        for (String s : lead) sb.append(' ').append(s).append(" |");
        for (String t : tasks) sb.append(' ').append(pct(acc.get(t))).append(" |");
        sb.append(' ').append(pct(Results.average(acc))).append(" |\n");
    }

    /** The task's name in tables: NLU, Math, Code, Safety. */
    public static String display(String task) {
        return task.equals("nlu") ? "NLU" : Character.toUpperCase(task.charAt(0)) + task.substring(1);
    }

    static String pct(Double x) {
        return x == null || x.isNaN() ? "–" : String.format(Locale.ROOT, "%.1f", 100 * x);
    }

    private static String num(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e6 ? Long.toString((long) d) : Double.toString(d);
    }
}
