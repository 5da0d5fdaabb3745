package org.lori4j.eval;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.adapter.ActiveAdapters;
import org.lori4j.adapter.AdapterSpec;
import org.lori4j.generate.GenerationConfig;
import org.lori4j.io.Json;
import org.lori4j.model.LlamaModel;
import org.lori4j.text.Tokenizer;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

/**
 * One {@code lori eval} run as a library call: the task's data and prompts are read first (format errors before any
 * model loading), per-task defaults fill the unset decoding options, then the model with its adapters is loaded and
 * {@link Evaluator} writes run.json, generations.jsonl, results.json and results.md into the output folder.
 */
public final class EvalRun {
    /** Default tokens kept of a prompt the reference truncates (prompt + target + EOS above the max length). */
    public static final int DEFAULT_MAX_LENGTH = 512, DEFAULT_MAX_PROMPT_LENGTH = 256;
    /** bigcode's default max_length_generation: HumanEval prompt + output tokens at most. */
    public static final int DEFAULT_MAX_LENGTH_GENERATION = 512;

    /**
     * What to evaluate and how; a null option takes the task's default (samples 1, greedy, no BOS, max length 512;
     * humaneval: 20 samples at T 0.2, top-p 0.95, BOS, no truncation).
     *
     * @param task            task name (commonsense, boolq, ..., hexphi, gsm8k, humaneval, exact)
     * @param data            data file, or folder of task folders for commonsense; null: hexphi's bundled set
     * @param template        prompt template; null: the task's default
     * @param limit           only the first N items of each task; null: all
     * @param sandbox         humaneval's code runner; null: programs are not run
     * @param execWorkers     programs run in parallel; null: number of cores
     * @param keepRepeats     score every record, also those repeating an earlier record's prompt (the reference
     *                        keeps one per prompt)
     * @param maxLengthGeneration humaneval: prompt + output tokens at most (bigcode's max_length_generation); null:
     *                        512; 0: no limit
     */
    public record Options(String task, Path data, String template, Integer limit, int batchSize, int maxNewTokens,
                          ScoreOn scoreOn, Integer samples, Double temperature, Double topP, Integer topK, long seed,
                          Boolean bos, Integer maxLength, int maxPromptLength, PythonSandbox sandbox, Integer execWorkers,
                          boolean keepRepeats, Integer maxLengthGeneration) {
        /** Greedy, reference scoring, every other option at the task's default. */
        public static Options defaults(String task, Path data, Integer limit, int batchSize, int maxNewTokens) {
            return new Options(task, data, null, limit, batchSize, maxNewTokens, ScoreOn.REFERENCE, null, null, null, null, 0,
                    null, null, DEFAULT_MAX_PROMPT_LENGTH, null, null, false, null);
        }
    }

    /**
     * The adapters applied to the model: {@code DIR[:W]} specs, merged into the weights or applied unmerged in MODE.
     */
    public record Adapters(List<String> specs, boolean merge, ActiveAdapters.Mode mode) implements java.io.Serializable {
        public Adapters { specs = List.copyOf(specs); }

        public static Adapters none() { return new Adapters(List.of(), false, ActiveAdapters.Mode.AUTO); }

        public static Adapters of(Path dir) { return new Adapters(List.of(dir.toString()), false, ActiveAdapters.Mode.AUTO); }
    }

    private final Options options;
    private final List<Evaluator.TaskData> tasks;
    private final Decoding decoding;
    private final int samples, maxLength, execWorkers, maxLengthGeneration;
    private final boolean addBos;

    private EvalRun(Options o) {
        this.options = o;
        this.tasks = EvalInputs.load(o.task(), o.data(), o.template(), o.limit(), o.sandbox(), o.keepRepeats());
        EvalTask first = tasks.getFirst().task();
        Decoding base = first.defaultDecoding(o.maxNewTokens());
        this.decoding = new Decoding(o.maxNewTokens(), o.temperature() != null ? o.temperature() : base.temperature(),
                o.topK() != null ? o.topK() : base.topK(), o.topP() != null ? o.topP() : base.topP(), base.stop());
        boolean humaneval = o.task().equals("humaneval");
        this.samples = o.samples() != null ? o.samples() : first.defaultSamples();
        this.addBos = o.bos() != null ? o.bos() : humaneval;
        this.maxLength = o.maxLength() != null ? o.maxLength() : humaneval ? 0 : DEFAULT_MAX_LENGTH;
        this.execWorkers = o.execWorkers() != null ? o.execWorkers() : Runtime.getRuntime().availableProcessors();
        if (o.maxLengthGeneration() != null && !humaneval)
            throw new org.lori4j.io.LoriException("--max-length-generation is for humaneval (bigcode's prompt + output limit); "
                    + "other tasks use --max-new-tokens");
        this.maxLengthGeneration = !humaneval ? 0 : o.maxLengthGeneration() != null ? o.maxLengthGeneration() : DEFAULT_MAX_LENGTH_GENERATION;
        generatorOptions(List.of()); // validates before loading
        new Evaluator.Settings(o.batchSize(), decoding, samples, o.seed(), o.scoreOn(), execWorkers);
    }

    /** Reads and checks the task's data and the options; nothing is loaded or written yet. */
    public static EvalRun prepare(Options options) { return new EvalRun(options); }

    /** The tasks and items this run evaluates. */
    public List<Evaluator.TaskData> tasks() { return tasks; }

    /**
     * Loads MODEL with ADAPTERS and evaluates into OUT. With RESUME, outputs already in OUT/generations.jsonl from
     * the same run (same model, adapters and settings) are reused.
     */
    public Evaluator.Report run(Path model, Adapters adapters, Path out, boolean resume, Progress progress) {
        return run(model, adapters, Stops.none(), out, resume, progress, null);
    }

    /**
     * As {@link #run(Path, Adapters, Path, boolean, Progress)}, with STOPS ending outputs early; with {@code remote},
     * the outputs are generated by the generator it makes from the run's {@link GeneratorSpec} (e.g. shards on a
     * cluster, each loading the model from the spec) while this process scores them and writes the output folder.
     */
    public Evaluator.Report run(Path model, Adapters adapters, Stops stops, Path out, boolean resume, Progress progress,
                                Function<GeneratorSpec, TextGenerator> remote) {
        for (String s : stops.strings()) if (s.isEmpty()) throw new org.lori4j.io.LoriException("--stop needs a non-empty text");
        Evaluator.Settings settings = new Evaluator.Settings(options.batchSize(), decoding, samples, options.seed(), options.scoreOn(), execWorkers);
        GeneratorSpec spec = generatorSpec(model, adapters, stops);
        ObjectNode meta = meta(model, adapters);
        ObjectNode recorded = (ObjectNode) meta.get("settings");
        if (!stops.strings().isEmpty()) stops.strings().forEach(recorded.putArray("stop")::add);
        if (!stops.tokenIds().isEmpty()) stops.tokenIds().forEach(recorded.putArray("stop_token_ids")::add);
        if (remote != null) return new Evaluator(remote.apply(spec), settings, progress).run(tasks, out, resume, meta);
        try (LoadedGenerator gen = spec.open()) {
            return new Evaluator(gen, settings, progress).run(tasks, out, resume, meta);
        }
    }

    /** What a process needs to build this run's generator: the model folder, the adapters, the tokenization options and the stops. */
    public GeneratorSpec generatorSpec(Path model, Adapters adapters, Stops stops) {
        ModelTextGenerator.Options o = generatorOptions(List.of());
        return new GeneratorSpec(model.toString(), adapters, o.addBos(), o.maxLength(), o.maxPromptLength(), o.maxTotalLength(), o.rawText(),
                stops);
    }

    /**
     * Where outputs end besides the model's EOS: before the first of {@code strings} (OpenAI's stop), at any of
     * {@code tokenIds}; and, always, at the ids in each adapter's generation_config.json (the token it was trained to
     * end its answers with).
     */
    public record Stops(List<String> strings, List<Integer> tokenIds) implements java.io.Serializable {
        public Stops {
            strings = List.copyOf(strings);
            tokenIds = List.copyOf(tokenIds);
        }

        public static Stops none() { return new Stops(List.of(), List.of()); }
    }

    /**
     * A run's model, adapters, tokenization and stops, as plain values that can travel to another process.
     *
     * @param model folder of the model (every process that opens the spec must see it at this path)
     */
    public record GeneratorSpec(String model, Adapters adapters, boolean addBos, int maxLength, int maxPromptLength,
                                int maxTotalLength, boolean rawText, Stops stops) implements java.io.Serializable {
        /** Loads the tokenizer and the model with the adapters: a generator that owns them. */
        public LoadedGenerator open() {
            Path dir = Path.of(model);
            Tokenizer tok = Tokenizer.load(dir);
            LlamaModel lm = null;
            try {
                lm = LlamaModel.load(dir);
                if (!adapters.specs().isEmpty()) {
                    AdapterSpec.Loaded loaded = AdapterSpec.loadAll(adapters.specs());
                    if (adapters.merge()) ActiveAdapters.mergeInto(lm, loaded.adapters(), loaded.weights());
                    else {
                        ActiveAdapters active = new ActiveAdapters(lm, adapters.mode());
                        for (int i = 0; i < loaded.adapters().size(); i++) active.add(loaded.adapters().get(i), loaded.weights()[i]);
                    }
                }
                List<Integer> eos = GenerationConfig.load(dir).eosTokenIds();
                if (eos.isEmpty()) eos = lm.config().eosTokenIds();
                if (eos.isEmpty()) eos = tok.eosIds();
                java.util.LinkedHashSet<Integer> stop = new java.util.LinkedHashSet<>(eos);
                for (String a : adapters.specs()) stop.addAll(GenerationConfig.load(AdapterSpec.parse(a).dir()).eosTokenIds());
                for (int id : stops.tokenIds()) {
                    if (id < 0 || id >= lm.config().vocabSize())
                        throw new org.lori4j.io.LoriException("--stop-token " + id + " is not a token id of this model (0.." + (lm.config().vocabSize() - 1) + ")");
                    stop.add(id);
                }
                var opts = new ModelTextGenerator.Options(addBos, maxLength, maxPromptLength, List.copyOf(stop), maxTotalLength, rawText,
                        stops.strings());
                return new LoadedGenerator(new ModelTextGenerator(lm, tok, opts), lm, tok);
            } catch (RuntimeException | Error e) {
                if (lm != null) lm.close();
                tok.close();
                throw e;
            }
        }
    }

    /** A {@link ModelTextGenerator} that owns its model and tokenizer: closing it closes them. */
    public static final class LoadedGenerator implements TextGenerator, AutoCloseable {
        private final ModelTextGenerator gen;
        private final LlamaModel model;
        private final Tokenizer tokenizer;

        LoadedGenerator(ModelTextGenerator gen, LlamaModel model, Tokenizer tokenizer) {
            this.gen = gen;
            this.model = model;
            this.tokenizer = tokenizer;
        }

        @Override public List<Completion> generate(List<Request> requests, Decoding decoding) { return gen.generate(requests, decoding); }

        @Override public void generate(List<Request> requests, Decoding decoding, int slots, Sink sink) {
            gen.generate(requests, decoding, slots, sink);
        }

        @Override public void close() {
            try {
                model.close();
            } finally {
                tokenizer.close();
            }
        }
    }

    /** Tokenization and decoding; humaneval's as bigcode: a prompt + output limit, code decoded raw. */
    private ModelTextGenerator.Options generatorOptions(List<Integer> stop) {
        return new ModelTextGenerator.Options(addBos, maxLength, options.maxPromptLength(), stop, maxLengthGeneration,
                options.task().equals("humaneval"));
    }

    /** What results.json records about the run: settings, model and adapter weight hashes. */
    private ObjectNode meta(Path model, Adapters adapters) {
        Options o = options;
        ObjectNode meta = Json.MAPPER.createObjectNode();
        ObjectNode s = meta.putObject("settings");
        s.put("task", o.task());
        ArrayNode sources = s.putArray("data");
        tasks.forEach(t -> sources.add(t.source()));
        if (o.limit() != null) s.put("limit", o.limit()); else s.putNull("limit");
        s.put("one_per_prompt", !o.keepRepeats() && tasks.getFirst().task().onePerPrompt());
        ArrayNode repeats = s.putArray("repeated_prompts_folded");
        tasks.forEach(t -> repeats.add(t.repeats()));
        s.put("template", o.template() != null ? o.template() : tasks.getFirst().task().defaultTemplate());
        s.put("score_on", o.scoreOn().label());
        s.put("max_new_tokens", decoding.maxNewTokens());
        s.put("temperature", decoding.temperature());
        s.put("top_k", decoding.topK());
        s.put("top_p", decoding.topP());
        s.put("samples", samples);
        s.put("seed", o.seed());
        s.put("bos", addBos);
        s.put("max_length", maxLength);
        s.put("max_prompt_length", o.maxPromptLength());
        if (maxLengthGeneration > 0) s.put("max_length_generation", maxLengthGeneration);
        s.put("batch_size", o.batchSize());
        if (o.sandbox() != null) {
            s.put("exec_timeout_s", o.sandbox().limits().timeout().toMillis() / 1000.0);
            s.put("exec_workers", execWorkers);
            s.put("sandbox", o.sandbox().isolation());
        }
        ObjectNode m = meta.putObject("model");
        m.put("path", model.toAbsolutePath().normalize().toString());
        ObjectNode mw = m.putObject("weights_sha256");
        WeightHashes.of(model).forEach(mw::put);
        ArrayNode ad = meta.putArray("adapters");
        for (String a : adapters.specs()) {
            AdapterSpec spec = AdapterSpec.parse(a);
            ObjectNode n = ad.addObject();
            n.put("path", spec.dir().toAbsolutePath().normalize().toString());
            n.put("weight", spec.weight());
            ObjectNode w = n.putObject("weights_sha256");
            WeightHashes.of(spec.dir()).forEach(w::put);
        }
        meta.put("merge", adapters.merge());
        return meta;
    }
}
