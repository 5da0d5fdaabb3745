package org.lori4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.adapter.AdapterConfig;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.adapter.Masks;
import org.lori4j.io.Json;
import org.lori4j.io.LlamaConfig;
import org.lori4j.io.LoriException;
import org.lori4j.model.LlamaModel;
import org.lori4j.tensor.DType;
import org.lori4j.text.ChatTemplate;
import org.lori4j.text.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One {@code lori train} run as a library call: loads the base model and the data, builds the adapter
 * (fresh, from an init adapter, or for LoRI-S with A taken from the LoRI-D run the mask came from),
 * attaches masks, trains, and leaves in the output folder a PEFT adapter, {@code training_args.json},
 * {@code metrics.jsonl} and {@code training_state/} for an exact resume.
 */
public final class TrainRun {
    /** Default rank and alpha: those of LoRI's published scripts (r = 32, alpha = 64). */
    public static final int DEFAULT_RANK = 32;
    public static final double DEFAULT_ALPHA = 64;
    public static final String ARGS_FILE = "training_args.json";

    /**
     * What to train.
     *
     * @param initAdapter start from this adapter's A and B (continual learning), or null for a fresh one
     * @param mask        LoRI-S mask (.safetensors or LoRI's .pt), or null
     * @param rank        LoRA rank of a fresh adapter, or null for the default (or the mask source's)
     * @param alpha       lora_alpha of a fresh adapter, or null for the default (or the mask source's)
     * @param targets     target projections of a fresh adapter, or null for all seven
     * @param seed        seed of a fresh adapter's A, or null: the mask source's A (LoRI-S), else 0; the data order
     *                    uses {@code config.seed()}
     * @param resume      continue from {@code outDir/training_state}
     * @param checkpointing whether layers are recomputed in the backward (results are the same either way)
     */
    public record Request(Path modelDir, List<Path> dataFiles, Path outDir, TrainConfig config, DataOptions data,
                          Path initAdapter, Path mask, Integer rank, Double alpha, boolean rslora, List<String> targets,
                          Long seed, boolean resume, TrainModel.Checkpointing checkpointing) {
        public Request {
            Objects.requireNonNull(modelDir, "modelDir");
            Objects.requireNonNull(outDir, "outDir");
            dataFiles = List.copyOf(dataFiles);
            if (checkpointing == null) checkpointing = TrainModel.Checkpointing.AUTO;
        }
    }

    /** Where the run's messages go. */
    public interface Reporter {
        void info(String line);
        default void start(long startStep, long totalSteps) {}
        default void step(Trainer.StepMetrics m) {}
        default void checkpoint(long step) {}
    }

    /** What the run produced. */
    public record Summary(Path adapter, long steps, long totalSteps, boolean stopped, double lastLoss,
                          long trainableParameters, long loraParameters) {}

    private TrainRun() {}

    public static Summary run(Request req, Reporter rep) {
        return run(req, rep, null);
    }

    /**
     * Runs REQ; with {@code remote} the steps run on data-parallel workers (each building the same {@link Setup}
     * from REQ) and this process writes the checkpoints, metrics and the adapter.
     */
    public static Summary run(Request req, Reporter rep, Trainer.StepRunner remote) {
        TrainConfig cfg = req.config();
        checkCombination(req);
        Path out = req.outDir();
        org.lori4j.io.OutputDir.checkTarget(out);
        if (req.resume() && !TrainState.exists(out))
            throw new LoriException(out + ": no " + TrainState.DIR + "/ to resume from" + (killedBeforeFirstCheckpoint(out)
                    ? " (the run was stopped before its first checkpoint; run the same command without --resume to start over)" : ""));
        if (Files.exists(out) && !Files.isDirectory(out))
            throw new LoriException(out + ": exists and is not a folder (--out names the output folder)");
        // A run stopped before its first checkpoint leaves only a partial metrics.jsonl: a fresh run takes the folder over.
        boolean reclaim = !req.resume() && killedBeforeFirstCheckpoint(out);
        if (!req.resume() && !reclaim && nonEmpty(out))
            throw new LoriException(out + ": output folder exists and is not empty (use --resume to continue a run, or another --out)");
        try (Setup setup = setup(req, rep)) {
            ObjectNode args = setup.args();
            long trainable = setup.trainable(), lora = setup.lora();
            TrainState state = null;
            if (req.resume()) {
                state = TrainState.read(out);
                checkResumable(state.run(), args, out);
                rep.info("resuming after step " + state.batchesDone() + " (epoch " + state.epoch() + ", step " + state.stepInEpoch() + ")");
            } else {
                try {
                    if (reclaim) {
                        rep.info(out + " holds only the metrics of a run stopped before its first checkpoint: starting over");
                        Files.deleteIfExists(out.resolve(METRICS_FILE));
                    }
                    Files.createDirectories(out);
                } catch (IOException e) {
                    throw new LoriException(out + ": cannot create the output folder: " + LoriException.reason(e));
                }
            }
            // the step of the last checkpoint written (or resumed from), for the line Ctrl-C prints
            java.util.concurrent.atomic.AtomicLong lastCheckpoint = new java.util.concurrent.atomic.AtomicLong(state == null ? -1 : state.batchesDone());
            LoraAdapter toSave = setup.adapter().withDtype(DType.F32);
            Trainer.Listener listener = new Trainer.Listener() {
                @Override public void onStart(long s, long t) { rep.start(s, t); }
                @Override public void onStep(Trainer.StepMetrics m) { rep.step(m); }
                @Override public void saveAdapter() {
                    toSave.save(out);
                    // the token the adapter learns to end its answers with: generate and eval stop there by default
                    TextSide text = setup.text();
                    if (text != null) LoraAdapter.writeGenerationConfig(out, text.bosId() >= 0 ? text.bosId() : null, text.eosId());
                    Json.write(out.resolve(ARGS_FILE), args);
                }
                @Override public void onCheckpoint(long step) {
                    lastCheckpoint.set(step);
                    rep.checkpoint(step);
                }
            };
            Trainer trainer = new Trainer(setup.model(), setup.data(), cfg, out, args, listener);
            // Ctrl-C (or SIGTERM) while training: one line saying where to pick up
            Thread onInterrupt = new Thread(() -> {
                long at = lastCheckpoint.get();
                System.err.println(at >= 0
                        ? "\ninterrupted: the last checkpoint is step " + at + " in " + out + "; rerun the same command with --resume to continue"
                        : "\ninterrupted before the first checkpoint: nothing to resume; rerun the same command (it starts over)");
                System.err.flush();
            }, "lori4j-train-interrupted");
            Runtime.getRuntime().addShutdownHook(onInterrupt);
            Trainer.Result r;
            try {
                r = trainer.train(state, remote);
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(onInterrupt);
                } catch (IllegalStateException shuttingDown) {
                    // the hook is running or has run
                }
            }
            if (state != null && state.batchesDone() >= r.totalSteps()) {
                // nothing was left to train: the run's files stay as they are, its recorded loss is reported
                JsonNode saved = recordedArgs(out);
                double loss = saved != null && saved.path("final_loss").isNumber() ? saved.path("final_loss").asDouble() : Double.NaN;
                rep.info(out + " already has " + r.batchesDone() + " steps of " + r.totalSteps() + ": nothing to train");
                return new Summary(out, r.batchesDone(), r.totalSteps(), false, loss, trainable, lora);
            }
            if (!r.stopped()) {
                args.put("steps_done", r.batchesDone());
                args.put("final_loss", r.lastLoss());
                Json.write(out.resolve(ARGS_FILE), args);
            }
            return new Summary(out, r.batchesDone(), r.totalSteps(), r.stopped(), r.lastLoss(), trainable, lora);
        }
    }

    /**
     * The base model, data, adapter and training model of a run, built from its request the same way wherever it
     * runs: in the process that writes the run, and on every data-parallel worker. Closing it closes the model.
     *
     * @param adapter   the adapter being trained (its A and B arrays are the slots' tensors)
     * @param args      the run's options as training_args.json records them
     * @param trainable trainable scalars; {@code lora}: all A and B entries
     * @param text      the tokenizer side the examples were made with (null for pre-tokenized records without a tokenizer)
     */
    public record Setup(LlamaModel base, TrainModel model, TrainingData data, LoraAdapter adapter, ObjectNode args,
                        long trainable, long lora, TextSide text) implements AutoCloseable {
        /** A trainer over this setup that writes nothing (a worker's). */
        public Trainer workerTrainer(TrainConfig cfg) {
            return new Trainer(model, data, cfg, null, null, null);
        }

        @Override public void close() { base.close(); }
    }

    /** Loads the model and data of REQ and builds the adapter and its training slots; reports what it did to REP. */
    public static Setup setup(Request req, Reporter rep) {
        TrainConfig cfg = req.config();
        checkCombination(req);
        LlamaModel base = LlamaModel.load(req.modelDir());
        try {
            LlamaConfig mc = base.config();
            rep.info(String.format(Locale.ROOT, "model %s: %d layers, hidden %d, %d heads (%d kv), vocab %d, %s",
                    req.modelDir(), mc.numLayers(), mc.hiddenSize(), mc.numHeads(), mc.numKvHeads(), mc.vocabSize(),
                    mc.torchDtype().name().toLowerCase(Locale.ROOT)));
            Loaded loaded = loadData(req, mc);
            TrainingData data = loaded.data();
            rep.info(data.stats().summary());
            Trainer.requireFullBatch(data.size(), cfg.batchSize());   // before anything is written: no folder left behind

            Built built = buildAdapter(req, mc);
            LoraAdapter adapter = built.adapter();
            if (adapter.config().baseModelNameOrPath() == null) adapter = adapter.withBaseModel(baseModelName(req.modelDir()));
            if (adapter.embedTokens() != null || adapter.lmHead() != null) {
                // An adapter saved from a resized vocabulary (LoRI's scripts add a <PAD> token when the tokenizer has
                // none: Llama-3 128,257 rows) carries full embed_tokens / lm_head: the model trains on them, as
                // upstream does on its resized model (frozen, so the softmax runs over the grown vocabulary), and
                // they are saved again with the adapter, as PEFT does.
                base.replaceEmbeddings(adapter.embedTokens() != null ? adapter.embedTokens() : base.embedTokens(), adapter.lmHead());
                rep.info(String.format(Locale.ROOT, "embed_tokens%s from %s: vocabulary %d (frozen; saved with the adapter)",
                        adapter.lmHead() != null ? " and lm_head" : "", built.aFrom(), base.config().vocabSize()));
            }
            Map<String, Masks.Mask> masks = req.mask() == null ? null : Masks.read(req.mask());
            TrainModel model = new TrainModel(base);
            model.setCheckpointing(req.checkpointing());
            for (LoraAdapter.Module m : adapter.modules().values()) {
                Proj p = Proj.byShortName(m.proj());
                boolean[] keep = null;
                if (masks != null) {
                    Masks.Mask mk = masks.get(m.keyB());
                    if (mk == null) throw new LoriException(req.mask() + ": no mask for " + m.keyB());
                    if (mk.rows() != m.out() || mk.cols() != m.r())
                        throw new LoriException(req.mask() + ": mask for " + m.keyB() + " is [" + mk.rows() + ", " + mk.cols()
                                + "] but B is [" + m.out() + ", " + m.r() + "]");
                    keep = mk.keep();
                }
                model.attach(new LoraSlot(m.layer(), p, m.in(), m.out(), m.r(), (float) m.scaling(), m.a(), m.b(),
                        cfg.method().trainsA(), true, keep));
            }
            long trainable = 0, lora = adapter.loraParameters();
            for (LoraSlot s : model.slots()) trainable += s.trainableParameters();
            // what trains: LoRA all of A and B; LoRI-D B (A frozen); LoRI-S the entries of B inside the mask (A frozen)
            String trains = switch (cfg.method()) {
                case LORA -> "A and B";
                case LORI_D -> "all of B; A frozen";
                case LORI_S -> "the entries of B inside the mask; A frozen";
            };
            rep.info(String.format(Locale.ROOT, "%s: %s; trainable parameters %,d (%s) = %.2f%% of LoRA's %,d%s",
                    cfg.method().id(), req.resume() ? "A and B from " + req.outDir().resolve(TrainState.DIR) : "A " + built.aSource(), trainable,
                    trains, 100.0 * trainable / lora, lora,
                    masks == null ? "" : String.format(Locale.ROOT, "; mask %s keeps %.2f%% of B", req.mask(), 100.0 * maskedShare(model))));
            ObjectNode args = runArgs(req, built, data, trainable, lora, mc);
            if (loaded.text() != null) args.put("eos_token_id", loaded.text().eosId());
            return new Setup(base, model, data, adapter, args, trainable, lora, loaded.text());
        } catch (RuntimeException | Error e) {
            base.close();
            throw e;
        }
    }

    private static double maskedShare(TrainModel m) {
        long keep = 0, all = 0;
        for (LoraSlot s : m.slots()) {
            all += s.b.length;
            if (s.maskB != null) for (boolean k : s.maskB) if (k) keep++;
        }
        return all == 0 ? 0 : (double) keep / all;
    }

    private static void checkCombination(Request req) {
        TrainConfig.Method method = req.config().method();
        if (method == TrainConfig.Method.LORI_S && req.mask() == null)
            throw new LoriException("--method lori-s needs --mask (a mask extracted from a LoRI-D adapter, e.g. DIR/masks/0.9_mask.safetensors)");
        if (method != TrainConfig.Method.LORI_S && req.mask() != null)
            throw new LoriException("--mask is for --method lori-s (LoRI-D and LoRA train every entry of B)");
        if (req.dataFiles().isEmpty()) throw new LoriException("no --data file given");
    }

    private static final String METRICS_FILE = "metrics.jsonl";
    /** The step of the last checkpoint written by the running training (-1: none yet), for the Ctrl-C message. */

    /**
     * Whether DIR holds what a run stopped before its first checkpoint leaves: a metrics.jsonl and nothing else (but
     * hidden temporary entries), no training state, no adapter.
     */
    static boolean killedBeforeFirstCheckpoint(Path dir) {
        if (!Files.isDirectory(dir)) return false;
        try (var s = Files.list(dir)) {
            List<String> names = s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).toList();
            return names.equals(List.of(METRICS_FILE)) && !TrainState.exists(dir);
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean nonEmpty(Path dir) {
        if (!Files.isDirectory(dir)) return Files.exists(dir);
        try (var s = Files.list(dir)) {
            return s.findAny().isPresent();
        } catch (IOException e) {
            return true;
        }
    }

    /**
     * What an adapter records as its base model (PEFT's base_model_name_or_path): config.json's _name_or_path (the
     * hub id transformers saved it from) when set, else the model folder's absolute path.
     */
    public static String baseModelName(Path modelDir) {
        try {
            String n = Json.read(modelDir.resolve("config.json")).path("_name_or_path").asText("");
            if (!n.isBlank()) return n;
        } catch (LoriException ignored) {
            // the model's config is checked where it is loaded
        }
        return modelDir.toAbsolutePath().normalize().toString();
    }

    /** Training examples and the tokenizer side they were made with (null for pre-tokenized records without a tokenizer). */
    record Loaded(TrainingData data, TextSide text) {}

    /** The data files as examples, with the model's tokenizer (or, without one, pre-tokenized records only). */
    static Loaded loadData(Request req, LlamaConfig mc) {
        Path dir = req.modelDir();
        boolean hasTokenizer = Files.isRegularFile(dir.resolve("tokenizer.json")) || Files.isRegularFile(dir.resolve("tokenizer.model"));
        if (!hasTokenizer) {
            // pre-tokenized records are used as given, so the EOS id is never appended; 0 stands in when config.json has none
            int eos = mc.eosTokenIds().isEmpty() ? 0 : mc.eosTokenIds().getFirst();
            TextSide tokensOnly = new TextSide(text -> {
                throw new LoriException(dir + ": the model folder has no tokenizer.json, so only pre-tokenized records (input_ids) can be used");
            }, eos, -1, mc.vocabSize(), (t, i, in) -> {
                throw new LoriException(dir + ": the model folder has no tokenizer.json, so only pre-tokenized records (input_ids) can be used");
            }, null);
            if (req.data().eosToken() != null)
                throw new LoriException("--eos-token needs a tokenizer in " + dir + " (pre-tokenized records carry their own end)");
            return new Loaded(TrainingData.load(req.dataFiles(), req.data(), tokensOnly), null);
        }
        try (Tokenizer tok = Tokenizer.load(dir)) {
            Optional<ChatTemplate> chat = ChatTemplate.load(dir);
            TextSide side = TextSide.of(tok, chat.orElse(null));
            String end = req.data().eosToken();
            if (end != null) {
                Integer id = tok.tokenToId(end);
                if (id == null) throw new LoriException("--eos-token '" + end + "' is not a token of the tokenizer in " + dir);
                side = new TextSide(side.encoder(), id, side.bosId(), side.vocabSize(), side.prompts(), side.chat());
            }
            return new Loaded(TrainingData.load(req.dataFiles(), req.data(), side), side);
        }
    }

    /** The adapter to train and a sentence saying where its A comes from. */
    record Built(LoraAdapter adapter, String aSource, Long seed, Path aFrom) {}

    static Built buildAdapter(Request req, LlamaConfig mc) {
        if (req.initAdapter() != null) {
            LoraAdapter a = LoraAdapter.load(req.initAdapter());
            a.checkAgainst(mc);
            AdapterConfig ac = a.config();
            if (req.rank() != null && req.rank() != ac.r() || req.alpha() != null && req.alpha() != ac.loraAlpha()
                    || req.targets() != null && !sameTargets(req.targets(), ac.targetModules()) || req.rslora() && !ac.useRslora())
                throw new LoriException("--rank/--alpha/--targets/--rslora differ from " + req.initAdapter() + " (r " + ac.r() + ", alpha "
                        + ac.loraAlpha() + ", targets " + ac.targetModules() + (ac.useRslora() ? ", rsLoRA" : "") + "), which fixes them; drop them");
            return new Built(a, "and B from " + req.initAdapter(), recordedSeed(req.initAdapter()), req.initAdapter());
        }
        int rank = req.rank() != null ? req.rank() : DEFAULT_RANK;
        double alpha = req.alpha() != null ? req.alpha() : DEFAULT_ALPHA;
        List<String> targets = req.targets() != null ? req.targets() : AdapterConfig.LLAMA_PROJECTIONS;
        boolean rslora = req.rslora();
        Path source = req.mask() == null ? null : maskSource(req.mask());
        if (req.config().method() == TrainConfig.Method.LORI_S && req.seed() == null && source != null) {
            // upstream re-initialises A in the LoRI-S run from torch's unseeded (fixed default) generator, which draws
            // the same A as the LoRI-D run did; taking that A directly gives the same adapter for any origin
            LoraAdapter src = LoraAdapter.load(source);
            src.checkAgainst(mc);
            AdapterConfig sc = src.config();
            if (req.rank() != null && req.rank() != sc.r() || req.targets() != null && !sameTargets(req.targets(), sc.targetModules()))
                throw new LoriException("--rank/--targets differ from " + source + ", the LoRI-D adapter the mask came from"
                        + " (r " + sc.r() + ", targets " + sc.targetModules() + "); drop them, or pass --seed for a fresh A");
            // A's draw depends only on the shapes, so another alpha (upstream's Mistral GSM8K scripts: 32 for LoRI-D,
            // 64 for LoRI-S) keeps the same A and changes only the scaling
            boolean newAlpha = req.alpha() != null && req.alpha() != sc.loraAlpha();
            if (newAlpha && !sc.alphaPattern().isEmpty())
                throw new LoriException("--alpha " + req.alpha() + ": " + source + " sets alpha_pattern " + sc.alphaPattern()
                        + ", which a new lora_alpha would not replace; drop --alpha");
            if (newAlpha) sc = sc.with(sc.r(), req.alpha(), sc.targetModules(), sc.targetModulesRegex(), sc.rankPattern(), sc.alphaPattern());
            List<LoraAdapter.Module> mods = new ArrayList<>();
            for (LoraAdapter.Module m : src.modules().values()) {
                double a = newAlpha ? req.alpha() : m.alpha();
                double scaling = newAlpha ? AdapterConfig.scaling(a, m.r(), sc.useRslora()) : m.scaling();
                mods.add(new LoraAdapter.Module(m.name(), m.layer(), m.proj(), m.r(), m.in(), m.out(), a, scaling,
                        m.a().clone(), new float[m.b().length]));
            }
            Long seed = recordedSeed(source);
            return new Built(src.with(sc, mods), "copied from " + source + " (the LoRI-D run the mask came from"
                    + (seed != null ? ", seed " + seed : "") + "), B = 0", seed, source);
        }
        long seed = req.seed() != null ? req.seed() : 0;
        LoraAdapter a = LoraAdapter.createLoRI(mc, rank, alpha, targets, seed, rslora);
        String note = "";
        if (req.config().method() == TrainConfig.Method.LORI_S && req.seed() == null)
            note = " (the mask's folder holds no LoRI-D adapter to take A from; pass --seed of the LoRI-D run)";
        return new Built(a, "fresh from seed " + seed + ", B = 0" + note, seed, null);
    }

    private static boolean sameTargets(List<String> a, List<String> b) {
        return b != null && new java.util.HashSet<>(a).equals(new java.util.HashSet<>(b));
    }

    /** LoRI's layout is ADAPTER/masks/S_mask.pt: the adapter two levels up, if it is one. */
    static Path maskSource(Path mask) {
        Path dir = mask.toAbsolutePath().getParent();
        if (dir == null || !dir.getFileName().toString().equals("masks")) return null;
        Path adapter = dir.getParent();
        return adapter != null && Files.isRegularFile(adapter.resolve(AdapterConfig.FILE_NAME)) ? adapter : null;
    }

    /** The training_args.json a run wrote into {@code dir}, or null if there is none. */
    static JsonNode recordedArgs(Path dir) {
        Path f = dir.resolve(ARGS_FILE);
        return Files.isRegularFile(f) ? Json.read(f) : null;
    }

    /** The A seed written in an adapter folder's training_args.json, if any. */
    static Long recordedSeed(Path adapterDir) {
        JsonNode args = recordedArgs(adapterDir);
        JsonNode n = args == null ? null : args.get("a_seed");
        return n != null && n.isIntegralNumber() ? n.asLong() : null;
    }

    private static ObjectNode runArgs(Request req, Built built, TrainingData data, long trainable, long lora, LlamaConfig mc) {
        TrainConfig c = req.config();
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("tool", "lori4j");
        o.put("method", c.method().id());
        o.put("model", req.modelDir().toString());
        ArrayNode files = o.putArray("data");
        for (Path p : req.dataFiles()) files.add(p.toString());
        o.put("examples", data.size());
        o.put("tokens", data.stats().tokens());
        o.put("init_adapter", req.initAdapter() == null ? null : req.initAdapter().toString());
        o.put("mask", req.mask() == null ? null : req.mask().toString());
        o.put("a_init", built.aSource());
        if (built.seed() != null) o.put("a_seed", built.seed()); else o.putNull("a_seed");
        AdapterConfig ac = built.adapter().config();
        o.put("rank", ac.r());
        o.put("alpha", ac.loraAlpha());
        o.put("use_rslora", ac.useRslora());
        ArrayNode t = o.putArray("targets");
        if (ac.targetModules() != null) ac.targetModules().forEach(t::add);
        o.put("lr", c.lr());
        if (c.maxSteps() > 0) o.putNull("epochs"); else o.put("epochs", c.epochs());
        o.put("max_steps", c.maxSteps());
        o.put("batch_size", c.batchSize());
        o.put("micro_batch_size", c.microBatchSize());
        o.put("gradient_accumulation_steps", c.microBatches());
        o.put("accumulation", c.accumulation().name().toLowerCase(Locale.ROOT));
        o.put("warmup_steps", c.warmupSteps());
        o.put("max_grad_norm", c.maxGradNorm());
        o.put("clip", c.clip().name().toLowerCase(Locale.ROOT));
        o.put("adam_beta1", c.adam().beta1());
        o.put("adam_beta2", c.adam().beta2());
        o.put("adam_eps", c.adam().eps());
        o.put("weight_decay", c.adam().weightDecay());
        o.put("data_seed", c.seed());
        o.put("shuffle", c.shuffle());
        o.put("max_length", req.data().maxLength());
        o.put("max_prompt_length", req.data().maxPromptLength());
        o.put("add_bos", req.data().addBos());
        o.put("trainable_parameters", trainable);
        o.put("lora_parameters", lora);
        o.put("base_parameters", mc.parameterCount());
        return o;
    }

    /** Fields that must be equal for a resumed run to continue the interrupted one exactly. */
    private static final List<String> RESUME_KEYS = List.of("method", "data", "examples", "tokens", "init_adapter", "mask",
            "rank", "alpha", "use_rslora", "targets", "batch_size", "micro_batch_size", "accumulation", "data_seed", "shuffle",
            "max_length", "max_prompt_length", "add_bos", "eos_token_id", "a_init", "weight_decay", "adam_beta1", "adam_beta2", "adam_eps");

    private static void checkResumable(JsonNode saved, JsonNode now, Path out) {
        if (saved == null || saved.isNull()) return;
        for (String k : RESUME_KEYS) {
            JsonNode a = saved.get(k), b = now.get(k);
            if (a != null && (b == null || !a.toString().equals(b.toString())))
                throw new LoriException(out.resolve(TrainState.DIR) + ": cannot resume, " + k + " was " + a + " and is now " + b
                        + " (repeat the interrupted command with --resume)");
        }
    }
}
