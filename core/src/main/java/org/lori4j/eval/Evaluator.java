package org.lori4j.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs an evaluation: generates the outputs of every (item, sample) in batches, scores each as it finishes,
 * appends it to generations.jsonl, and writes results.json and results.md into the output folder at the end, with
 * generations.jsonl rewritten in item order (task, item, sample).
 * With resume, outputs already in generations.jsonl are reused (after checking they belong to the same run).
 */
public final class Evaluator {

    /** File names inside the output folder. */
    public static final String RUN = "run.json", GENERATIONS = "generations.jsonl", RESULTS = "results.json", TABLE = "results.md";

    /** Settings that may change between a run and its --resume without changing any output. */
    private static final Set<String> RESUMABLE = Set.of("limit", "batch_size", "score_on", "exec_workers", "resume", "out");

    /**
     * How to run. Samples are outputs per item; the seed is mixed with the item and sample numbers so that
     * a sampled output does not depend on batching. execWorkers is the parallelism of code execution.
     */
    public record Settings(int batchSize, Decoding decoding, int samples, long seed, ScoreOn scoreOn, int execWorkers) {
        public Settings {
            if (batchSize < 1) throw new LoriException("--batch-size must be at least 1, got " + batchSize);
            if (samples < 1) throw new LoriException("--samples must be at least 1, got " + samples);
            if (execWorkers < 1) throw new LoriException("--exec-workers must be at least 1, got " + execWorkers);
        }
    }

    /**
     * A task with its items and where they came from; {@code repeats} records repeated an earlier record's prompt and
     * were folded into it ({@link EvalInputs}).
     */
    public record TaskData(EvalTask task, List<EvalItem> items, String source, int repeats) {
        public TaskData(EvalTask task, List<EvalItem> items, String source) { this(task, items, source, 0); }
    }

    /** The outcome: per-task results, the average when several tasks ran, and the speed of this run's generation. */
    public record Report(List<TaskResult> results, double average, Speed speed, ObjectNode json) {}

    /** Generation speed of this run (resumed outputs excluded). */
    public record Speed(long outputs, long tokens, double seconds) {
        public double outputsPerSecond() { return seconds > 0 ? outputs / seconds : 0; }
        public double tokensPerSecond() { return seconds > 0 ? tokens / seconds : 0; }
    }

    private record Job(EvalTask task, EvalItem item, int sample) {
        String key() { return Generation.key(item.task(), item.index(), sample); }
    }

    private final TextGenerator generator;
    private final Settings settings;
    private final Progress progress;

    public Evaluator(TextGenerator generator, Settings settings, Progress progress) {
        this.generator = generator;
        this.settings = settings;
        this.progress = progress;
    }

    /**
     * Evaluates TASKS into OUT. META holds what results.json records about the run ("settings", "model",
     * "adapters", ...); with RESUME it must match the run.json already in OUT except for resumable settings.
     */
    public Report run(List<TaskData> tasks, Path out, boolean resume, ObjectNode meta) {
        org.lori4j.io.OutputDir.checkTarget(out);
        Path runFile = out.resolve(RUN), genFile = out.resolve(GENERATIONS);
        Map<String, Generation> previous = Map.of();
        if (resume && Files.exists(runFile)) {
            checkSameRun(Json.read(runFile), meta, runFile);
            previous = GenerationLog.load(genFile);
        } else {
            if (Files.exists(genFile)) throw new LoriException(resume
                    ? genFile + ": exists without the " + RUN + " that says how it was made, so it cannot be resumed; choose another --out"
                    : genFile + ": exists; pass --resume to continue that run, or choose another --out");
            Json.write(runFile, meta);
        }

        List<Job> jobs = new ArrayList<>();
        for (TaskData t : tasks)
            for (EvalItem item : t.items())
                for (int s = 0; s < settings.samples(); s++) jobs.add(new Job(t.task(), item, s));

        // Reuse finished outputs (scored again: rules or --score-on may have changed; executed code is not rerun).
        Map<String, Generation> done = new java.util.HashMap<>();
        List<Job> todo = new ArrayList<>();
        boolean rescoredDiffer = false;
        for (Job j : jobs) {
            Generation g = previous.get(j.key());
            if (g == null) { todo.add(j); continue; }
            if (!g.prompt().equals(j.item().prompt())) throw new LoriException(genFile + ": the prompt of " + j.item().task()
                    + " item " + j.item().index() + " differs from " + j.item().where() + "; not the same run (use another --out)");
            Generation now = j.task().executesCode() ? g
                    : g.rescored(j.task().judge(j.item().withPrompt(g.promptSeen()), g.output(), settings.scoreOn()));
            done.put(j.key(), now);
            if (!now.equals(g)) {
                previous.put(j.key(), now);
                rescoredDiffer = true;
            }
        }
        // The rescored lines replace their stale correct/extracted/note in generations.jsonl (atomically), so that the
        // file agrees with results.json.
        if (rescoredDiffer) GenerationLog.rewrite(genFile, previous.values());

        long tokens = 0, genNanos = 0;
        String label = String.join(",", tasks.stream().map(t -> t.task().name()).toList());
        progress.start(label, todo.size());
        ExecutorService exec = tasks.stream().anyMatch(t -> t.task().executesCode())
                ? Executors.newFixedThreadPool(settings.execWorkers()) : null;
        try (GenerationLog log = GenerationLog.append(genFile)) {
            // Continuous batching: batchSize outputs in generation at a time, each slot refilled as it frees. Outputs
            // are scored and logged as they finish (code execution in groups of batchSize, run in parallel).
            List<TextGenerator.Request> requests = new ArrayList<>(todo.size());
            for (Job j : todo) requests.add(new TextGenerator.Request(j.item().prompt(), j.item().target(), seedOf(j)));
            int group = exec == null ? 1 : settings.batchSize();
            List<Job> pendingJobs = new ArrayList<>();
            List<TextGenerator.Completion> pendingOuts = new ArrayList<>();
            boolean[] delivered = new boolean[todo.size()];
            long[] counts = new long[3];   // outputs delivered, tokens, nanoseconds spent scoring and logging
            Runnable flush = () -> {
                List<Judgement> judged = judge(pendingJobs, pendingOuts, exec);
                long batchTokens = 0;
                for (int i = 0; i < pendingJobs.size(); i++) {
                    Job j = pendingJobs.get(i);
                    TextGenerator.Completion c = pendingOuts.get(i);
                    Judgement jd = judged.get(i);
                    Generation g = new Generation(j.item().task(), j.item().index(), j.sample(), j.item().id(), j.item().category(),
                            j.item().prompt(), c.truncatedPrompt(), c.decodedPrompt(), c.text(), c.tokens(), jd.extracted(), j.item().gold(),
                            jd.correct(), jd.note());
                    log.write(g);
                    done.put(j.key(), g);
                    batchTokens += c.tokens();
                }
                counts[1] += batchTokens;
                progress.advance(pendingJobs.size(), batchTokens);
                pendingJobs.clear();
                pendingOuts.clear();
            };
            long t0 = System.nanoTime();
            generator.generate(requests, settings.decoding(), settings.batchSize(), (i, c) -> {
                long s0 = System.nanoTime();
                if (i < 0 || i >= delivered.length || delivered[i])
                    throw new IllegalStateException("generator delivered output " + i + " twice or out of range");
                delivered[i] = true;
                counts[0]++;
                pendingJobs.add(todo.get(i));
                pendingOuts.add(c);
                if (pendingJobs.size() >= group) flush.run();
                counts[2] += System.nanoTime() - s0;
            });
            long s0 = System.nanoTime();
            if (!pendingJobs.isEmpty()) flush.run();
            counts[2] += System.nanoTime() - s0;
            genNanos = System.nanoTime() - t0 - counts[2];
            if (counts[0] != todo.size())
                throw new IllegalStateException("generator returned " + counts[0] + " outputs for " + todo.size() + " prompts");
            tokens = counts[1];
        } finally {
            if (exec != null) exec.shutdownNow();
        }
        progress.finish();

        List<TaskResult> results = new ArrayList<>();
        List<Generation> inOrder = new ArrayList<>(jobs.size());
        for (TaskData t : tasks) {
            List<Generation> gens = new ArrayList<>();
            for (EvalItem item : t.items())
                for (int s = 0; s < settings.samples(); s++) gens.add(done.get(Generation.key(item.task(), item.index(), s)));
            results.add(TaskResult.of(t.task(), t.items().size(), settings.samples(), gens));
            inOrder.addAll(gens);
        }
        // the log was appended as outputs finished (continuous batching, shards on a cluster); the finished run's is in
        // item order, so that it does not depend on batching or on where the outputs were generated
        GenerationLog.rewrite(genFile, inOrder);
        double average = results.size() > 1 ? TaskResult.average(results) : Double.NaN;
        Speed speed = new Speed(todo.size(), tokens, genNanos / 1e9);
        ObjectNode json = resultsJson(meta, results, average, speed);
        Json.write(out.resolve(RESULTS), json);
        org.lori4j.io.AtomicFiles.writeString(out.resolve(TABLE), ResultsTable.markdown(results, average));
        return new Report(results, average, speed, json);
    }

    private List<Judgement> judge(List<Job> batch, List<TextGenerator.Completion> outs, ExecutorService exec) {
        List<Judgement> res = new ArrayList<>();
        if (exec == null) {
            for (int i = 0; i < batch.size(); i++) res.add(batch.get(i).task().judge(seen(batch.get(i), outs.get(i)), outs.get(i).text(), settings.scoreOn()));
            return res;
        }
        List<Future<Judgement>> fs = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            Job j = batch.get(i);
            EvalItem item = seen(j, outs.get(i));
            String text = outs.get(i).text();
            fs.add(exec.submit(() -> j.task().judge(item, text, settings.scoreOn())));
        }
        try {
            for (Future<Judgement> f : fs) res.add(f.get());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LoriException("evaluation interrupted");
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new IllegalStateException(e.getCause());
        }
        return res;
    }

    /** The item with the prompt its rules read (the truncated one if it was cut, the decoded one, see Completion). */
    private static EvalItem seen(Job j, TextGenerator.Completion c) {
        return c.scoredPrompt() == null ? j.item() : j.item().withPrompt(c.scoredPrompt());
    }

    /** A per-output seed: SplitMix64 of the run seed, item index and sample. */
    private long seedOf(Job j) {
        long z = settings.seed() ^ (0x9E3779B97F4A7C15L * (j.item().index() + 1)) ^ (0xC2B2AE3D27D4EB4FL * (j.sample() + 1))
                ^ j.item().task().hashCode();
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Numbers compare by value (an int read back from run.json equals the long it was written from). */
    private static final java.util.Comparator<JsonNode> SAME_VALUE = (a, b) -> {
        if (a.equals(b)) return 0;
        if (a.isNumber() && b.isNumber()) return a.decimalValue().compareTo(b.decimalValue());
        return 1;
    };

    private static void checkSameRun(JsonNode stored, ObjectNode now, Path where) {
        Iterator<Map.Entry<String, JsonNode>> it = now.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode s = stored.get(e.getKey());
            if (e.getKey().equals("settings") && s != null && e.getValue().isObject()) {
                Iterator<Map.Entry<String, JsonNode>> si = e.getValue().fields();
                while (si.hasNext()) {
                    Map.Entry<String, JsonNode> se = si.next();
                    if (RESUMABLE.contains(se.getKey())) continue;
                    JsonNode sv = s.get(se.getKey());
                    if (sv == null || !sv.equals(SAME_VALUE, se.getValue()))
                        throw new LoriException(where + ": --resume with a different " + se.getKey() + " (was " + sv + ", now " + se.getValue() + "); use another --out");
                }
            } else if (!e.getKey().equals("created") && (s == null || !s.equals(SAME_VALUE, e.getValue()))) {
                throw new LoriException(where + ": --resume with a different " + e.getKey() + "; use another --out");
            }
        }
    }

    private static ObjectNode resultsJson(ObjectNode meta, List<TaskResult> results, double average, Speed speed) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("lori4j", "0.1.0");
        o.put("finished", Instant.now().toString());
        o.setAll(meta.deepCopy());
        var arr = o.putArray("results");
        for (TaskResult r : results) arr.add(r.toJson());
        if (!Double.isNaN(average)) {
            ObjectNode a = o.putObject("average");
            a.put("tasks", results.size());
            a.put("score", TaskResult.round(average));
        }
        ObjectNode sp = o.putObject("speed");
        sp.put("outputs_generated", speed.outputs());
        sp.put("generated_tokens", speed.tokens());
        sp.put("generation_seconds", TaskResult.round(speed.seconds()));
        sp.put("outputs_per_second", TaskResult.round(speed.outputsPerSecond()));
        sp.put("tokens_per_second", TaskResult.round(speed.tokensPerSecond()));
        return o;
    }
}
