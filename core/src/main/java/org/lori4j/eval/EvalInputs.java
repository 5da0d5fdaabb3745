package org.lori4j.eval;

import org.lori4j.io.LoriException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns --task, --data, --template and --limit into tasks with their items: "commonsense" finds every
 * commonsense task folder (NAME/test.json) under a directory; a single commonsense task takes a file, its
 * folder, or the parent of its folder; hexphi without --data uses the bundled refusal check set.
 * As the reference's loaders (a dict keyed by prompt), records that repeat an earlier record's prompt are
 * folded into it: one item at the first position, with the last record's answer (not for humaneval and exact;
 * keepRepeats keeps every record).
 */
public final class EvalInputs {
    private EvalInputs() {}

    /** The bundled refusal check set (benign stand-ins in HEx-PHI format), a classpath resource of this package. */
    public static final String BUILTIN_REFUSAL_SET = "refusal_check.jsonl";

    public static List<Evaluator.TaskData> load(String taskName, Path data, String template, Integer limit, PythonSandbox sandbox) {
        return load(taskName, data, template, limit, sandbox, false);
    }

    /**
     * As {@link #load(String, Path, String, Integer, PythonSandbox)}; keepRepeats: every record is an item. TASKNAMES may
     * list several tasks, comma-separated: then DATA, when given, is a folder holding each task's data (a commonsense
     * task's NAME/test.json; another task's NAME.jsonl, NAME.json, NAME/test.jsonl or NAME/test.json), and hexphi without
     * its own file uses the bundled set.
     */
    public static List<Evaluator.TaskData> load(String taskNames, Path data, String template, Integer limit, PythonSandbox sandbox,
                                                boolean keepRepeats) {
        List<String> names = new ArrayList<>();
        for (String n : taskNames.split(",")) {
            n = n.strip();
            if (n.isEmpty()) continue;
            if (names.contains(n)) throw new LoriException("--tasks names " + n + " twice");
            names.add(n);
        }
        if (names.isEmpty()) throw new LoriException("--tasks names no task");
        if (names.size() == 1) return loadOne(names.getFirst(), data, template, limit, sandbox, keepRepeats);
        if (names.contains("humaneval"))
            throw new LoriException("humaneval cannot share a run with other tasks (its sampling and BOS defaults differ); evaluate it on its own");
        if (data != null && !Files.isDirectory(data))
            throw new LoriException(data + ": several tasks read their data from a folder (NAME/test.json, NAME.jsonl, ...), not a file");
        List<Evaluator.TaskData> out = new ArrayList<>();
        for (String n : names) {
            EvalTask t = n.equals("commonsense") ? null : EvalTask.of(n, sandbox);
            Path own = data == null || t == null || t instanceof CommonsenseTask ? data : taskFile(n, data, t instanceof HexPhiTask);
            out.addAll(loadOne(n, own, template, limit, sandbox, keepRepeats));
        }
        return out;
    }

    /** The data file of task NAME in folder DIR; null when there is none and the task has a bundled set. */
    private static Path taskFile(String name, Path dir, boolean bundled) {
        List<Path> tried = List.of(dir.resolve(name + ".jsonl"), dir.resolve(name + ".json"), dir.resolve(name).resolve("test.jsonl"),
                dir.resolve(name).resolve("test.json"));
        for (Path p : tried) if (Files.isRegularFile(p)) return p;
        if (bundled) return null;
        throw new LoriException(dir + ": no data for " + name + " (looked for " + String.join(", ", tried.stream().map(Path::toString).toList()) + ")");
    }

    private static List<Evaluator.TaskData> loadOne(String taskName, Path data, String template, Integer limit, PythonSandbox sandbox,
                                                    boolean keepRepeats) {
        if (limit != null && limit < 1) throw new LoriException("--limit must be at least 1, got " + limit);
        List<Evaluator.TaskData> out = new ArrayList<>();
        if (taskName.equals("commonsense")) {
            if (data == null) throw new LoriException("--task commonsense needs --data DIR (a folder with boolq/test.json, piqa/test.json, ...)");
            for (var e : commonsenseFiles(data)) out.add(load(new CommonsenseTask(e.task), e.file, template, limit, keepRepeats));
            return out;
        }
        EvalTask task = EvalTask.of(taskName, sandbox);
        if (task instanceof CommonsenseTask) {
            if (data == null) throw new LoriException("--task " + taskName + " needs --data (its test.json or the folder holding it)");
            out.add(load(task, commonsenseFile(taskName, data), template, limit, keepRepeats));
        } else if (data == null) {
            if (!(task instanceof HexPhiTask)) throw new LoriException("--task " + taskName + " needs --data FILE");
            out.add(build(task, builtinRefusalSet(), "builtin:" + BUILTIN_REFUSAL_SET, template, limit, keepRepeats));
        } else {
            if (Files.isDirectory(data)) throw new LoriException(data + ": is a folder; --task " + taskName + " needs a data file");
            out.add(load(task, data, template, limit, keepRepeats));
        }
        return out;
    }

    /** The rows of the bundled refusal check set. */
    public static List<EvalData.Row> builtinRefusalSet() {
        try (InputStream in = EvalInputs.class.getResourceAsStream(BUILTIN_REFUSAL_SET)) {
            if (in == null) throw new IllegalStateException("missing resource " + BUILTIN_REFUSAL_SET);
            return EvalData.parse("builtin:" + BUILTIN_REFUSAL_SET, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Evaluator.TaskData load(EvalTask task, Path file, String template, Integer limit, boolean keepRepeats) {
        return build(task, EvalData.read(file), file.toAbsolutePath().normalize().toString(), template, limit, keepRepeats);
    }

    private static Evaluator.TaskData build(EvalTask task, List<EvalData.Row> rows, String source, String template, Integer limit,
                                            boolean keepRepeats) {
        String t = template != null ? template : task.defaultTemplate();
        int n = limit == null ? rows.size() : Math.min(limit, rows.size());   // the reference slices records first
        List<EvalItem> items = new ArrayList<>(n);
        for (int i = 0; i < n; i++) items.add(task.item(rows.get(i), i, t));
        if (keepRepeats || !task.onePerPrompt()) return new Evaluator.TaskData(task, items, source);
        // A dict keyed by prompt, as upstream: a repeated key keeps its first position and takes the later value.
        Map<String, EvalItem> byPrompt = new LinkedHashMap<>();
        for (EvalItem item : items) byPrompt.merge(item.prompt(), item, (first, later) -> later.replacing(first));
        return new Evaluator.TaskData(task, new ArrayList<>(byPrompt.values()), source, items.size() - byPrompt.size());
    }

    private record TaskFile(String task, Path file) {}

    private static List<TaskFile> commonsenseFiles(Path data) {
        if (!Files.exists(data)) throw new LoriException(data + ": not found");
        List<TaskFile> found = new ArrayList<>();
        if (Files.isRegularFile(data)) {
            String parent = data.toAbsolutePath().getParent().getFileName().toString();
            if (!CommonsenseAnswers.isTask(parent)) throw new LoriException(data + ": cannot tell which commonsense task this file is "
                    + "(its folder is not a task name); pass --task NAME with one of " + String.join(", ", CommonsenseAnswers.tasks()));
            found.add(new TaskFile(parent, data));
            return found;
        }
        String own = data.toAbsolutePath().normalize().getFileName().toString();
        if (CommonsenseAnswers.isTask(own) && Files.isRegularFile(data.resolve("test.json"))) {
            found.add(new TaskFile(own, data.resolve("test.json")));
            return found;
        }
        for (String t : CommonsenseAnswers.tasks()) {
            Path f = data.resolve(t).resolve("test.json");
            if (Files.isRegularFile(f)) found.add(new TaskFile(t, f));
        }
        if (found.isEmpty()) throw new LoriException(data + ": no commonsense task folders found (expected e.g. boolq/test.json; tasks: "
                + String.join(", ", CommonsenseAnswers.tasks()) + ")");
        return found;
    }

    private static Path commonsenseFile(String task, Path data) {
        if (Files.isRegularFile(data)) return data;
        if (!Files.isDirectory(data)) throw new LoriException(data + ": not found");
        if (Files.isRegularFile(data.resolve("test.json"))) return data.resolve("test.json");
        Path f = data.resolve(task).resolve("test.json");
        if (Files.isRegularFile(f)) return f;
        throw new LoriException(data + ": no test.json for " + task + " (looked for " + data.resolve("test.json") + " and " + f + ")");
    }
}
