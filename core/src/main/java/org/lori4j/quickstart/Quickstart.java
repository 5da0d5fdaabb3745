package org.lori4j.quickstart;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.adapter.ActiveAdapters;
import org.lori4j.adapter.AdapterConfig;
import org.lori4j.adapter.AdapterMerge;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.adapter.Masks;
import org.lori4j.io.OutputDir;
import org.lori4j.generate.Generator;
import org.lori4j.generate.SamplingParams;
import org.lori4j.io.AtomicFiles;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;
import org.lori4j.model.LlamaModel;
import org.lori4j.quickstart.Results.Variant;
import org.lori4j.text.Tokenizer;
import org.lori4j.train.DataOptions;
import org.lori4j.train.LoraSlot;
import org.lori4j.train.Proj;
import org.lori4j.train.TextSide;
import org.lori4j.train.TrainConfig;
import org.lori4j.train.TrainModel;
import org.lori4j.train.TrainState;
import org.lori4j.train.Trainer;
import org.lori4j.train.TrainingData;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * LoRI in miniature: on a small model and the four {@link TaskData} tasks, trains LoRA, LoRI-D and LoRI-S
 * adapters per task (with LoRI-S masks extracted from the LoRI-D adapters), merges the four adapters of each
 * kind (cat and linear), and learns each task after safety (continual learning), measuring test accuracy at
 * every stage. Writes the data, adapters, masks, predictions, tables and charts into one output folder.
 *
 * <p>Choices for a 260K-parameter story model (see the README's quickstart section): each task has its own short
 * prompt format ({@link TaskData#render}) with BOS in front, and responses end with BOS rather than EOS, because llama2.c's TinyStories
 * models were pretrained with BOS between stories and never saw EOS; each task's adapters get their own
 * random A (seed derived from the run seed and the task), so merged LoRI adapters project through different
 * random subspaces.
 */
public final class Quickstart {
    /** Stage reports: a label and work units finished. */
    public interface Listener {
        void plan(long totalUnits);
        void stage(String label);
        void advance(long units);
    }

    private final QuickstartOptions opt;
    private final Path modelDir;
    private final LlamaModel model;
    private final Tokenizer tok;
    private final Listener listener;
    private final TextSide text;
    private final int end;                   // the id that ends a response (BOS, see class doc)
    private final List<TaskData.Task> tasks;
    private Path out;
    private BufferedWriter predictions;

    private Quickstart(QuickstartOptions opt, Path modelDir, LlamaModel model, Tokenizer tok, Listener listener) {
        this.opt = opt;
        this.modelDir = modelDir;
        this.model = model;
        this.tok = tok;
        this.listener = listener;
        if (tok.bosId() == null) throw new LoriException(tok.dir() + ": the quickstart needs a tokenizer with a BOS token");
        this.end = tok.bosId();
        TextSide base = TextSide.of(tok);
        this.text = new TextSide(base.encoder(), end, base.bosId(), base.vocabSize(), base.prompts(), base.chat());
        this.tasks = TaskData.all(opt.seed(), opt.trainPerTask(), opt.testPerTask());
    }

    /**
     * Runs everything on the model in MODELDIR and writes the output folder OUT all-or-nothing (a temporary
     * folder renamed into place; files of an earlier run with the same names are replaced).
     */
    public static Results run(QuickstartOptions opt, Path modelDir, Path out, Listener listener) {
        checkOut(out);
        Results[] res = new Results[1];
        try (LlamaModel model = LlamaModel.load(modelDir); Tokenizer tok = Tokenizer.load(modelDir)) {
            Quickstart q = new Quickstart(opt, modelDir, model, tok, listener);
            OutputDir.replace(out, tmp -> res[0] = q.runInto(tmp));
        }
        return res[0];
    }

    /** What a quickstart writes at the top of its folder. */
    static final java.util.Set<String> OUTPUTS = java.util.Set.of("results.md", "results.json", "predictions.jsonl", "plots",
            "data", "adapters");

    /**
     * The output folder is written whole, replacing an earlier one (all-or-nothing): OUT must be new, empty, or an
     * earlier quickstart's output with nothing else in it, so that no file of the user's is replaced or lost.
     */
    static void checkOut(Path out) {
        OutputDir.checkTarget(out);
        if (!Files.exists(out)) return;
        if (!Files.isDirectory(out)) throw new LoriException(out + ": exists and is not a folder");
        List<String> names;
        try (var s = Files.list(out)) {
            names = s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new LoriException(out + ": cannot read: " + LoriException.reason(e));
        }
        if (names.isEmpty()) return;
        boolean earlier = names.contains("results.json") && isQuickstartResults(out.resolve("results.json"));
        if (!earlier)
            throw new LoriException(out + ": exists and is not an earlier quickstart output; the quickstart replaces its"
                    + " --out folder whole, so give a new or empty folder");
        for (String n : names)
            if (!OUTPUTS.contains(n))
                throw new LoriException(out + ": holds '" + n + "', which the quickstart does not write; it replaces its"
                        + " --out folder whole, so move that away or give another folder");
    }

    private static boolean isQuickstartResults(Path file) {
        try {
            com.fasterxml.jackson.databind.JsonNode j = Json.read(file);
            return j.has("single_task") && j.has("merging") && j.has("continual");
        } catch (LoriException e) {
            return false;
        }
    }

    private Results runInto(Path dir) throws IOException {
        this.out = dir;
        long t0 = System.nanoTime();
        Map<String, Double> seconds = new LinkedHashMap<>();
        listener.plan(totalUnits());
        writeData();
        Map<String, List<Double>> losses = new LinkedHashMap<>();
        Map<String, TrainingData> train = new LinkedHashMap<>();
        for (TaskData.Task t : tasks) train.put(t.name(), trainingData(t));

        Results r;
        try (BufferedWriter pw = Files.newBufferedWriter(dir.resolve("predictions.jsonl"), StandardCharsets.UTF_8)) {
            predictions = pw;
            // ---- 0. the base model
            long p0 = System.nanoTime();
            Map<String, Double> base = new LinkedHashMap<>();
            for (TaskData.Task t : tasks) base.put(t.name(), evaluate("base", null, t));
            seconds.put("base_eval", secs(p0));

            // ---- 1. single-task adapters
            p0 = System.nanoTime();
            Map<Variant, Map<String, LoraAdapter>> adapters = new EnumMap<>(Variant.class);
            Map<Variant, Map<String, Double>> single = new EnumMap<>(Variant.class);
            Map<Variant, Map<String, Long>> trainable = new EnumMap<>(Variant.class);
            Map<String, Map<String, Masks.Mask>> masks = new LinkedHashMap<>();
            for (Variant v : Variant.values()) {
                adapters.put(v, new LinkedHashMap<>());
                single.put(v, new LinkedHashMap<>());
                trainable.put(v, new LinkedHashMap<>());
            }
            for (TaskData.Task t : tasks) {
                for (Variant v : Variant.values()) {
                    String name = t.name() + "-" + v.id();
                    LoraAdapter a = fresh(t);
                    Map<String, Masks.Mask> mask = null;
                    if (v == Variant.LORI_S) {
                        listener.stage("mask " + t.name());
                        mask = extractMask(adapters.get(Variant.LORI_D).get(t.name()), null);
                        masks.put(t.name(), mask);
                        Path mdir = dir.resolve("adapters/single/" + t.name() + "-" + Variant.LORI_D.id() + "/masks");
                        Files.createDirectories(mdir);
                        Masks.write(mdir.resolve(Masks.fileName(opt.sparsity())), mask, Map.of("sparsity", Masks.pyRepr(opt.sparsity())));
                    }
                    Path runDir = dir.resolve("adapters/single/" + name);
                    long n = train(name, a, v, mask, train.get(t.name()), runDir, losses);
                    adapters.get(v).put(t.name(), a);
                    trainable.get(v).put(t.name(), n);
                    single.get(v).put(t.name(), evaluate("single/" + name, a, t));
                }
            }
            seconds.put("single_task", secs(p0));

            // ---- 2. merging the four adapters of each kind
            p0 = System.nanoTime();
            Map<String, Map<Variant, Map<String, Double>>> merging = new LinkedHashMap<>();
            for (String how : Results.MERGES) {
                Map<Variant, Map<String, Double>> byVariant = new EnumMap<>(Variant.class);
                for (Variant v : Variant.values()) {
                    listener.stage("merge " + how + " " + v.label());
                    List<LoraAdapter> four = new ArrayList<>(adapters.get(v).values());
                    double[] w = new double[four.size()];
                    java.util.Arrays.fill(w, opt.mergeWeight());
                    LoraAdapter merged = AdapterMerge.merge(four, w,
                            AdapterMerge.Options.of(AdapterMerge.Method.parse(how)), msg -> { });
                    saveAdapter(merged, dir.resolve("adapters/merged/" + how + "-" + v.id()));
                    Map<String, Double> acc = new LinkedHashMap<>();
                    for (TaskData.Task t : tasks) acc.put(t.name(), evaluate("merged/" + how + "-" + v.id(), merged, t));
                    byVariant.put(v, acc);
                }
                merging.put(how, byVariant);
            }
            seconds.put("merging", secs(p0));

            // ---- 3. continual learning: safety first, then each other task
            p0 = System.nanoTime();
            TaskData.Task safety = task("safety");
            Map<Variant, Map<String, double[]>> continual = new EnumMap<>(Variant.class);
            for (Variant v : Variant.values()) {
                Map<String, double[]> row = new LinkedHashMap<>();
                for (TaskData.Task t : tasks) {
                    if (t.name().equals("safety")) continue;
                    String name = "safety-then-" + t.name() + "-" + v.id();
                    LoraAdapter a = copy(adapters.get(v).get("safety"));
                    Map<String, Masks.Mask> mask = null;
                    if (v == Variant.LORI_S) {
                        // upstream: the new task's mask comes from its LoRI-D adapter; safety's entries are left out
                        listener.stage("mask " + t.name() + " without safety's entries");
                        mask = extractMask(adapters.get(Variant.LORI_D).get(t.name()), masks.get("safety"));
                    }
                    train(name, a, v, mask, train.get(t.name()), dir.resolve("adapters/continual/" + name), losses);
                    row.put(t.name(), new double[]{evaluate("continual/" + name, a, safety), evaluate("continual/" + name, a, t)});
                }
                continual.put(v, row);
            }
            seconds.put("continual", secs(p0));
            predictions = null;
            seconds.put("total", secs(t0));
            r = new Results(opt, tasks.stream().map(TaskData.Task::name).toList(), base, single, trainable,
                    adapters.get(Variant.LORA).values().iterator().next().loraParameters(), merging, continual, losses, seconds);
        }
        listener.stage("tables and charts");
        Report.write(r, dir);
        Charts.write(r, dir.resolve("plots"));
        openUp(dir);
        return r;
    }

    // ------------------------------------------------------------------ data

    private void writeData() throws IOException {
        Path d = out.resolve("data");
        Files.createDirectories(d);
        for (TaskData.Task t : tasks) {
            writeItems(d.resolve(t.name() + ".train.jsonl"), t.name(), t.train());
            writeItems(d.resolve(t.name() + ".test.jsonl"), t.name(), t.test());
        }
    }

    /** Alpaca-style records ("instruction" is the prompt as the model sees it), so `lori train --template raw` reads them. */
    private static void writeItems(Path file, String task, List<TaskData.Item> items) throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (TaskData.Item it : items) {
                ObjectNode o = Json.MAPPER.createObjectNode();
                o.put("instruction", TaskData.render(task, it));
                o.put("output", it.answer());
                o.put("category", it.category());
                w.write(compact(o));
                w.newLine();
            }
        }
    }

    private TrainingData trainingData(TaskData.Task t) {
        List<TrainingData.TextPair> pairs = new ArrayList<>();
        for (TaskData.Item it : t.train()) pairs.add(new TrainingData.TextPair(TaskData.render(t.name(), it), it.answer()));
        return TrainingData.fromText(t.name(), pairs, DataOptions.defaults().withAddBos(true), text);
    }

    private TaskData.Task task(String name) {
        return tasks.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
    }

    // ------------------------------------------------------------------ adapters and training

    /** The seed of a task's A: the run seed mixed with the task's position, the same for LoRA, LoRI-D and LoRI-S. */
    long aSeed(TaskData.Task t) {
        return opt.seed() * 1_000_003L + 17L * (tasks.indexOf(t) + 1);
    }

    private LoraAdapter fresh(TaskData.Task t) {
        return LoraAdapter.createLoRI(model.config(), opt.rank(), opt.alpha(), AdapterConfig.LLAMA_PROJECTIONS, aSeed(t), false);
    }

    private static LoraAdapter copy(LoraAdapter a) {
        List<LoraAdapter.Module> mods = new ArrayList<>();
        for (LoraAdapter.Module m : a.modules().values())
            mods.add(new LoraAdapter.Module(m.name(), m.layer(), m.proj(), m.r(), m.in(), m.out(), m.alpha(), m.scaling(),
                    m.a().clone(), m.b().clone()));
        return a.with(a.config(), mods);
    }

    private Map<String, Masks.Mask> extractMask(LoraAdapter loriD, Map<String, Masks.Mask> exclude) {
        List<Masks.BMatrix> bs = new ArrayList<>();
        for (LoraAdapter.Module m : loriD.modules().values()) bs.add(new Masks.BMatrix(m.keyB(), m.out(), m.r(), m.b()));
        return Masks.extract(bs, new double[]{opt.sparsity()}, Masks.Granularity.MODEL, exclude).getFirst().masks();
    }

    private double lr(Variant v) {
        return switch (v) {
            case LORA -> opt.lrLora();
            case LORI_D -> opt.lrLoriD();
            case LORI_S -> opt.lrLoriS();
        };
    }

    /** Trains A (LoRA) or B of ADAPTER in place; saves it with its metrics.jsonl into DIR; returns the trainable count. */
    private long train(String name, LoraAdapter adapter, Variant v, Map<String, Masks.Mask> mask, TrainingData data,
                       Path dir, Map<String, List<Double>> losses) throws IOException {
        listener.stage("train " + name);
        TrainModel tm = new TrainModel(model);
        for (LoraAdapter.Module m : adapter.modules().values()) {
            boolean[] keep = mask == null ? null : mask.get(m.keyB()).keep();
            tm.attach(new LoraSlot(m.layer(), Proj.byShortName(m.proj()), m.in(), m.out(), m.r(), (float) m.scaling(),
                    m.a(), m.b(), v.method().trainsA(), true, keep));
        }
        long trainable = 0;
        for (LoraSlot s : tm.slots()) trainable += s.trainableParameters();
        TrainConfig cfg = TrainConfig.lori(v.method(), lr(v)).withEpochs(opt.epochs())
                .withBatch(opt.batchSize(), opt.batchSize()).withData(opt.seed(), true);
        Files.createDirectories(dir);
        List<Double> curve = new ArrayList<>();
        int unit = 3 * opt.batchSize();
        Trainer.Listener l = new Trainer.Listener() {
            @Override public void onStep(Trainer.StepMetrics m) {
                curve.add(m.loss());
                listener.advance(unit);
            }
            @Override public void saveAdapter() { Quickstart.this.saveAdapter(adapter, dir); }
        };
        new Trainer(tm, data, cfg, dir, null, l).train(null);
        OutputDir.deleteTree(dir.resolve(TrainState.DIR));   // a finished run needs no resume state
        losses.put(name, curve);
        return trainable;
    }

    /**
     * Writes ADAPTER into DIR with the generation_config.json of its answers: they end with BOS (see the class
     * comment), so lori generate and lori eval stop there with the adapter as the quickstart does.
     */
    private void saveAdapter(LoraAdapter adapter, Path dir) {
        adapter.withBaseModel(org.lori4j.train.TrainRun.baseModelName(modelDir)).save(dir);
        LoraAdapter.writeGenerationConfig(dir, tok.bosId(), end);
    }

    // ------------------------------------------------------------------ evaluation

    /** Greedy answers of the model with ADAPTER (null: none) to TASK's test items; the share judged correct. */
    private double evaluate(String label, LoraAdapter adapter, TaskData.Task task) throws IOException {
        listener.stage("eval " + label + " on " + task.name());
        List<int[]> prompts = new ArrayList<>();
        int longest = 0;
        for (TaskData.Item it : task.test()) prompts.add(promptIds(task.name(), it));
        for (TaskData.Item it : task.train()) longest = Math.max(longest, tok.encode(it.answer(), false).length);
        for (TaskData.Item it : task.test()) longest = Math.max(longest, tok.encode(it.answer(), false).length);
        SamplingParams greedy = SamplingParams.greedy(longest + opt.maxNewTokens(), List.of(end));
        ActiveAdapters active = new ActiveAdapters(model, ActiveAdapters.Mode.AUTO);
        List<int[]> outs;
        try {
            if (adapter != null) active.add(adapter, 1.0);
            outs = new Generator(model).generate(prompts, greedy);
        } finally {
            active.clear();
        }
        int ok = 0;
        for (int i = 0; i < outs.size(); i++) {
            TaskData.Item it = task.test().get(i);
            String said = tok.decode(outs.get(i), true);
            boolean good = Scoring.correct(task.name(), it, said);
            if (good) ok++;
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("run", label);
            o.put("task", task.name());
            o.put("prompt", TaskData.render(task.name(), it));
            o.put("answer", it.answer());
            o.put("category", it.category());
            o.put("output", Scoring.normalize(said));
            o.put("correct", good);
            predictions.write(compact(o));
            predictions.newLine();
        }
        listener.advance(outs.size());
        return outs.isEmpty() ? 0 : (double) ok / outs.size();
    }

    private int[] promptIds(String task, TaskData.Item it) {
        int[] p = tok.encode(TaskData.render(task, it), false);
        int[] q = new int[p.length + 1];
        q[0] = tok.bosId();
        System.arraycopy(p, 0, q, 1, p.length);
        return q;
    }

    // ------------------------------------------------------------------ helpers

    /** Work units of the whole run: 3 per training sequence (forward + backward), 1 per generated answer. */
    private long totalUnits() {
        long stepsPerRun = (long) opt.epochs() * (opt.trainPerTask() / opt.batchSize());
        int n = tasks.size(), v = Variant.values().length;
        long trainRuns = (long) n * v + (long) (n - 1) * v;
        long evals = (long) n                        // base
                + (long) n * v                        // single
                + (long) Results.MERGES.size() * v * n // merges
                + 2L * (n - 1) * v;                   // continual: safety and the task
        return trainRuns * stepsPerRun * 3L * opt.batchSize() + evals * opt.testPerTask();
    }

    private static double secs(long t0) { return (System.nanoTime() - t0) / 1e9; }

    private static String compact(ObjectNode o) throws IOException {
        return Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsString(o);
    }

    /** Folders made through temporary folders are owner-only; the finished output is readable by all. */
    private static void openUp(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.toList()) AtomicFiles.readableByAll(p, Files.isDirectory(p));
        }
    }
}
