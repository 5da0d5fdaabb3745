package org.lori4j.adapter;

import org.lori4j.io.LlamaConfig;
import org.lori4j.io.LoriException;
import org.lori4j.io.OutputDir;
import org.lori4j.io.SafeTensors;
import org.lori4j.io.SafeTensorsFile;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A LoRA/LoRI adapter in memory: its PEFT config and, per adapted projection, A [r, in] and
 * B [out, r] as float arrays with the module's scaling; optionally full embed_tokens / lm_head
 * tensors that replace the base ones (PEFT saves them when the vocabulary was resized). Reads and
 * writes PEFT's folder format (adapter_config.json + adapter_model.safetensors).
 */
public final class LoraAdapter {

    /** File with the tensors, as PEFT names it. */
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    /** Older PEFT adapters store a torch zip/pickle instead. */
    public static final String WEIGHTS_BIN = "adapter_model.bin";
    /** PEFT's key prefix for the base model's modules. */
    public static final String PREFIX = "base_model.model.";
    public static final String EMBED_KEY = PREFIX + "model.embed_tokens.weight";
    public static final String LM_HEAD_KEY = PREFIX + "lm_head.weight";

    /**
     * One adapted projection. The arrays are live (not copies): a trainer updates {@code b} in place.
     *
     * @param name    module name in the base model, e.g. "model.layers.3.self_attn.q_proj"
     * @param layer   decoder layer index
     * @param proj    projection name, e.g. "q_proj"
     * @param r       rank of this module (r or its rank_pattern value)
     * @param in      input features (columns of the base weight)
     * @param out     output features (rows of the base weight)
     * @param alpha   alpha of this module (lora_alpha or its alpha_pattern value)
     * @param scaling alpha / r (or alpha / sqrt(r) with rsLoRA)
     * @param a       A [r, in], row-major
     * @param b       B [out, r], row-major
     */
    public record Module(String name, int layer, String proj, int r, int in, int out, double alpha, double scaling,
                         float[] a, float[] b) {
        public String keyA() { return PREFIX + name + ".lora_A.weight"; }
        public String keyB() { return PREFIX + name + ".lora_B.weight"; }

        /** Number of zero entries of B. */
        public long zerosB() {
            long z = 0;
            for (float v : b) if (v == 0f) z++;
            return z;
        }
    }

    private final AdapterConfig config;
    private final Map<String, Module> modules;   // ordered by layer, then projection order
    private final Tensor embedTokens;            // [vocab', hidden] or null
    private final Tensor lmHead;                 // [vocab', hidden] or null
    private final DType dtype;                   // dtype of the stored lora tensors
    private final Path source;                   // folder it was read from, or null

    public LoraAdapter(AdapterConfig config, Collection<Module> modules, Tensor embedTokens, Tensor lmHead, DType dtype, Path source) {
        this.config = config;
        List<Module> sorted = new ArrayList<>(modules);
        sorted.sort(MODULE_ORDER);
        Map<String, Module> m = new LinkedHashMap<>();
        for (Module mod : sorted) m.put(mod.name, mod);
        this.modules = java.util.Collections.unmodifiableMap(m);
        this.embedTokens = embedTokens;
        this.lmHead = lmHead;
        this.dtype = dtype == null ? DType.F32 : dtype;
        this.source = source;
    }

    static final Comparator<Module> MODULE_ORDER = Comparator.comparingInt(Module::layer)
            .thenComparingInt(m -> projIndex(m.proj)).thenComparing(Module::name);

    private static int projIndex(String p) {
        int i = AdapterConfig.LLAMA_PROJECTIONS.indexOf(p);
        return i < 0 ? 99 : i;
    }

    public AdapterConfig config() { return config; }
    public Map<String, Module> modules() { return modules; }
    public Module module(String name) { return modules.get(name); }
    public Tensor embedTokens() { return embedTokens; }
    public Tensor lmHead() { return lmHead; }
    public DType dtype() { return dtype; }
    /** The folder the adapter was read from, or null if it was made in memory. */
    public Path source() { return source; }

    /** A name for messages: the folder, or "adapter". */
    public String label() { return source == null ? "adapter" : source.toString(); }

    /** Trainable parameters in the LoRA sense: every A and B entry (LoRI freezes A, see {@code Info}). */
    public long loraParameters() {
        long n = 0;
        for (Module m : modules.values()) n += m.a.length + m.b.length;
        return n;
    }

    // ------------------------------------------------------------------ module names

    private static final Pattern LLAMA_MODULE =
            Pattern.compile("model\\.layers\\.(\\d+)\\.(self_attn|mlp)\\.([a-z_]+)");

    /** The module name of projection {@code proj} in layer {@code l} of a Llama model. */
    public static String moduleName(int l, String proj) {
        String block = switch (proj) {
            case "q_proj", "k_proj", "v_proj", "o_proj" -> "self_attn";
            case "gate_proj", "up_proj", "down_proj" -> "mlp";
            default -> throw new IllegalArgumentException("not a Llama projection: " + proj);
        };
        return "model.layers." + l + "." + block + "." + proj;
    }

    /** Every module name of a Llama model, as PEFT sees them when matching target_modules. */
    public static List<String> llamaModuleNames(int numLayers) {
        List<String> names = new ArrayList<>(List.of("model", "model.embed_tokens", "model.layers", "model.norm",
                "model.rotary_emb", "lm_head"));
        for (int l = 0; l < numLayers; l++) {
            String p = "model.layers." + l;
            names.addAll(List.of(p, p + ".self_attn", p + ".mlp", p + ".input_layernorm", p + ".post_attention_layernorm",
                    p + ".mlp.act_fn", p + ".self_attn.rotary_emb"));
            for (String proj : AdapterConfig.LLAMA_PROJECTIONS) names.add(moduleName(l, proj));
        }
        return names;
    }

    /** [out, in] of a projection in a Llama model with this config. */
    public static int[] projectionShape(LlamaConfig c, String proj) {
        int h = c.hiddenSize(), q = c.qDim(), kv = c.kvDim(), f = c.intermediateSize();
        return switch (proj) {
            case "q_proj" -> new int[]{q, h};
            case "k_proj", "v_proj" -> new int[]{kv, h};
            case "o_proj" -> new int[]{h, q};
            case "gate_proj", "up_proj" -> new int[]{f, h};
            case "down_proj" -> new int[]{h, f};
            default -> throw new IllegalArgumentException(proj);
        };
    }

    // ------------------------------------------------------------------ loading

    /** Reads a PEFT LoRA adapter folder; checks it for internal consistency (not yet against a base model). */
    public static LoraAdapter load(Path dir) {
        if (!Files.isDirectory(dir)) throw new LoriException(notAFolder(dir));
        if (!Files.exists(dir.resolve(AdapterConfig.FILE_NAME)) && Files.isRegularFile(dir.resolve("config.json")))
            throw new LoriException(dir + ": a model folder (config.json), not an adapter (adapter_config.json): pass it as --model");
        AdapterConfig config = AdapterConfig.read(dir);
        Path st = dir.resolve(WEIGHTS_FILE), bin = dir.resolve(WEIGHTS_BIN);
        if (Files.isRegularFile(st)) {
            try (SafeTensorsFile f = SafeTensors.read(st)) {
                return fromTensors(config, f.tensors(), st, dir);
            }
        }
        if (Files.isRegularFile(bin)) return fromTensors(config, TorchPickle.readTensors(bin), bin, dir);
        throw new LoriException(dir + ": no " + WEIGHTS_FILE + " (or " + WEIGHTS_BIN + ") in the adapter folder");
    }

    /** Why DIR, which is not a folder, cannot be an adapter. */
    private static String notAFolder(Path dir) {
        if (!Files.exists(dir)) return dir + ": adapter folder not found";
        Path parent = dir.toAbsolutePath().getParent();
        return dir + ": is a file; an adapter is the folder that holds adapter_config.json and " + WEIGHTS_FILE
                + (parent != null && Files.isRegularFile(parent.resolve(AdapterConfig.FILE_NAME)) ? ": give " + parent : "");
    }

    // PEFT writes the base_model.model. prefix; transformers' load_adapter also takes keys without it (what its own
    // save_pretrained of a model with an attached adapter writes)
    private static final Pattern LORA_KEY = Pattern.compile("^(?:base_model\\.model\\.)?(.+)\\.lora_([AB])(?:\\.[^.]+)?\\.weight$");

    /** Builds an adapter from PEFT-named tensors (copied to float arrays; the tensors may be unmapped afterwards). */
    static LoraAdapter fromTensors(AdapterConfig config, Map<String, Tensor> tensors, Path file, Path dir) {
        Map<String, Tensor[]> pairs = new TreeMap<>();
        Tensor embed = null, head = null;
        DType dtype = null;
        Set<String> saveModules = new LinkedHashSet<>(config.modulesToSave() == null ? List.of() : config.modulesToSave());
        for (var e : tensors.entrySet()) {
            String key = e.getKey();
            Tensor t = e.getValue();
            if (key.contains("lora_magnitude_vector"))
                throw new LoriException(file + ": tensor " + key + " is a DoRA magnitude: DoRA is not supported");
            if (key.contains("lora_embedding_"))
                throw new LoriException(file + ": tensor " + key + ": LoRA on embedding layers is not supported");
            Matcher m = LORA_KEY.matcher(key);
            if (m.matches()) {
                if (!t.dtype().isFloat()) throw new LoriException(file + ": tensor " + key + " has dtype " + t.dtype() + ", expected a float type");
                if (t.rank() != 2) throw new LoriException(file + ": tensor " + key + " has shape " + Arrays.toString(t.shape()) + ", expected 2 dimensions");
                Tensor[] p = pairs.computeIfAbsent(m.group(1), k -> new Tensor[2]);
                p[m.group(2).equals("A") ? 0 : 1] = t;
                if (dtype == null) dtype = t.dtype();
                continue;
            }
            if (key.endsWith(".bias"))
                throw new LoriException(file + ": tensor " + key + " is a bias: only bias \"none\" adapters are supported");
            boolean isEmbed = key.equals(EMBED_KEY) || key.equals(EMBED_KEY.substring(PREFIX.length())),
                    isHead = key.equals(LM_HEAD_KEY) || key.equals(LM_HEAD_KEY.substring(PREFIX.length()));
            if (isEmbed || isHead) {
                String mod = isEmbed ? "embed_tokens" : "lm_head";
                if (saveModules.stream().anyMatch(s -> s.equals(mod) || s.endsWith("." + mod) || mod.endsWith(s)))
                    throw new LoriException(file + ": tensor " + key + " belongs to modules_to_save: adapters with"
                            + " modules_to_save weights are not supported");
                if (t.rank() != 2 || !t.dtype().isFloat())
                    throw new LoriException(file + ": tensor " + key + " has shape " + Arrays.toString(t.shape()) + " " + t.dtype());
                Tensor copy = copyOffHeap(t);
                if (isEmbed) embed = copy; else head = copy;
                continue;
            }
            if (key.contains("modules_to_save") || !saveModules.isEmpty())
                throw new LoriException(file + ": tensor " + key + " is a modules_to_save weight: not supported");
            throw new LoriException(file + ": unexpected tensor " + key + " (not a LoRA A/B matrix)");
        }
        if (pairs.isEmpty()) throw new LoriException(file + ": no LoRA tensors (keys like base_model.model.<module>.lora_A.weight)");
        List<Module> mods = new ArrayList<>();
        for (var e : pairs.entrySet()) {
            String name = e.getKey();
            Tensor a = e.getValue()[0], b = e.getValue()[1];
            if (a == null || b == null)
                throw new LoriException(file + ": module " + name + " has lora_" + (a == null ? "B" : "A") + " but no lora_" + (a == null ? "A" : "B"));
            Matcher m = LLAMA_MODULE.matcher(name);
            if (!m.matches() || !AdapterConfig.LLAMA_PROJECTIONS.contains(m.group(3)))
                throw new LoriException(file + ": LoRA on module " + name + " is not supported (only the seven Llama projections)");
            // as PyTorch's module names: a layer number is written without leading zeros ("layers.00" names no module)
            if (!m.group(1).matches("0|[1-9][0-9]{0,5}"))
                throw new LoriException(file + ": module " + name + ": layer number '" + m.group(1)
                        + "' is not a layer of any model (no leading zeros, at most 999999)");
            int r = (int) a.dim(0), in = (int) a.dim(1), out = (int) b.dim(0);
            if (b.dim(1) != r)
                throw new LoriException(file + ": " + PREFIX + name + ".lora_B.weight has shape " + Arrays.toString(b.shape())
                        + " but lora_A has rank " + r + " (shape " + Arrays.toString(a.shape()) + ")");
            int cr = config.rankFor(name);
            if (cr != r)
                throw new LoriException(file + ": " + PREFIX + name + ".lora_A.weight has rank " + r
                        + " but adapter_config.json gives r = " + cr + " for this module");
            if (!config.targets(name))
                throw new LoriException(file + ": module " + name + " has LoRA weights but is not matched by target_modules "
                        + config.describeTargets());
            double alpha = config.alphaFor(name);
            mods.add(new Module(name, Integer.parseInt(m.group(1)), m.group(3), r, in, out, alpha,
                    AdapterConfig.scaling(alpha, r, config.useRslora()), a.toFloatArray(), b.toFloatArray()));
        }
        if (embed != null && head != null && embed.dim(0) != head.dim(0))
            throw new LoriException(file + ": embed_tokens has " + embed.dim(0) + " rows but lm_head " + head.dim(0));
        return new LoraAdapter(config, mods, embed, head, dtype, dir);
    }

    private static Tensor copyOffHeap(Tensor t) {
        MemorySegment seg = Arena.ofAuto().allocate(t.byteSize(), 64);
        seg.copyFrom(t.data());
        return Tensor.of(t.dtype(), t.shape(), seg);
    }

    /**
     * Checks the adapter against a base model: every module exists and has the base shape, every
     * target_modules entry names something that exists, embeddings have the hidden size. Messages
     * name the tensor and both shapes.
     */
    public void checkAgainst(LlamaConfig c) {
        List<String> names = llamaModuleNames(c.numLayers());
        // as PEFT: an error only when no module matches at all (an entry naming nothing, beside others that match, is
        // fine; PEFT at most warns)
        if (names.stream().noneMatch(config::targets))
            throw new LoriException(label() + ": target_modules " + config.describeTargets() + " matches no module of the base model ("
                    + c.modelType() + ", " + c.numLayers() + " layers)");
        for (String n : names) {
            Matcher pm = LLAMA_MODULE.matcher(n);
            boolean projection = pm.matches() && AdapterConfig.LLAMA_PROJECTIONS.contains(pm.group(3));
            if (config.targets(n) && !projection)
                throw new LoriException(label() + ": target_modules selects " + n + ": LoRA on it is not supported");
        }
        for (Module m : modules.values()) {
            if (m.layer >= c.numLayers())
                throw new LoriException(label() + ": module " + m.name + " does not exist: the base model has "
                        + c.numLayers() + " layers");
            int[] shape = projectionShape(c, m.proj);
            if (m.in != shape[1])
                throw new LoriException(label() + ": " + m.keyA() + " has shape [" + m.r + ", " + m.in
                        + "] but the base model's " + m.name + ".weight has shape [" + shape[0] + ", " + shape[1]
                        + "] (in_features " + shape[1] + ")");
            if (m.out != shape[0])
                throw new LoriException(label() + ": " + m.keyB() + " has shape [" + m.out + ", " + m.r
                        + "] but the base model's " + m.name + ".weight has shape [" + shape[0] + ", " + shape[1]
                        + "] (out_features " + shape[0] + ")");
        }
        for (Tensor t : new Tensor[]{embedTokens, lmHead}) {
            if (t != null && t.dim(1) != c.hiddenSize())
                throw new LoriException(label() + ": " + (t == embedTokens ? EMBED_KEY : LM_HEAD_KEY) + " has shape "
                        + Arrays.toString(t.shape()) + " but the base model's hidden size is " + c.hiddenSize());
        }
    }

    // ------------------------------------------------------------------ creation and saving

    /**
     * A fresh LoRI/LoRA adapter for a Llama model: for each layer and target projection, A ~
     * U(-1/sqrt(in), 1/sqrt(in)) (PEFT's kaiming_uniform(a = sqrt(5)) bound) and B = 0. Randomness: each
     * module draws from its own {@code SplittableRandom(moduleSeed(seed, name))} in row-major order of A,
     * so the values depend only on the seed and the module name, not on which other modules exist.
     */
    public static LoraAdapter createLoRI(LlamaConfig c, int r, double alpha, List<String> targets, long seed, boolean rslora) {
        if (r <= 0) throw new LoriException("rank must be positive, got " + r);
        for (String t : targets)
            if (!AdapterConfig.LLAMA_PROJECTIONS.contains(t))
                throw new LoriException("target module '" + t + "' does not exist (use " + String.join(", ", AdapterConfig.LLAMA_PROJECTIONS) + ")");
        AdapterConfig config = AdapterConfig.of(r, alpha, orderedTargets(targets), rslora, null);
        List<Module> mods = new ArrayList<>();
        double scaling = AdapterConfig.scaling(alpha, r, rslora);
        for (int l = 0; l < c.numLayers(); l++) {
            for (String proj : AdapterConfig.LLAMA_PROJECTIONS) {
                if (!targets.contains(proj)) continue;
                String name = moduleName(l, proj);
                int[] shape = projectionShape(c, proj);
                int out = shape[0], in = shape[1];
                float[] a = new float[r * in];
                SplittableRandom rng = new SplittableRandom(moduleSeed(seed, name));
                double bound = 1.0 / Math.sqrt(in);
                for (int i = 0; i < a.length; i++) a[i] = (float) ((2 * rng.nextDouble() - 1) * bound);
                mods.add(new Module(name, l, proj, r, in, out, alpha, scaling, a, new float[out * r]));
            }
        }
        return new LoraAdapter(config, mods, null, null, DType.F32, null);
    }

    private static List<String> orderedTargets(List<String> targets) {
        return AdapterConfig.LLAMA_PROJECTIONS.stream().filter(targets::contains).toList();
    }

    /** The seed of one module's generator: a 64-bit mix of the run seed and the module name's UTF-8 bytes (FNV-1a). */
    public static long moduleSeed(long seed, String moduleName) {
        long h = 0xcbf29ce484222325L;
        for (byte x : moduleName.getBytes(java.nio.charset.StandardCharsets.UTF_8)) { h ^= (x & 0xff); h *= 0x100000001b3L; }
        long z = seed ^ h;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** A copy with another config and modules (same embeddings and dtype). */
    public LoraAdapter with(AdapterConfig newConfig, Collection<Module> newModules) {
        return new LoraAdapter(newConfig, newModules, embedTokens, lmHead, dtype, null);
    }

    /** A copy whose tensors will be saved in the given dtype. */
    public LoraAdapter withDtype(DType d) {
        return new LoraAdapter(config, modules.values(), embedTokens, lmHead, d, source);
    }

    /** The tensors as PEFT saves them (A, B per module in order, then embed_tokens, lm_head), in {@link #dtype()}. */
    public Map<String, Tensor> tensors() {
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (Module m : modules.values()) {
            t.put(m.keyA(), toTensor(m.a, dtype, m.r, m.in));
            t.put(m.keyB(), toTensor(m.b, dtype, m.out, m.r));
        }
        if (embedTokens != null) t.put(EMBED_KEY, embedTokens);
        if (lmHead != null) t.put(LM_HEAD_KEY, lmHead);
        return t;
    }

    private static Tensor toTensor(float[] v, DType d, int rows, int cols) {
        if (d == DType.F32) return Tensor.of(v.clone(), rows, cols);
        return Tensor.fromFloats(d, v, rows, cols);
    }

    /**
     * Writes {@code dir/generation_config.json} beside an adapter, in transformers' format: the token the adapter was
     * trained to end its answers with (eos_token_id: lori generate and lori eval stop there by default, as
     * {@code GenerationConfig.from_pretrained} on the folder would) and the BOS of its prompts.
     */
    public static void writeGenerationConfig(Path dir, Integer bosId, int eosId) {
        com.fasterxml.jackson.databind.node.ObjectNode n = org.lori4j.io.Json.MAPPER.createObjectNode();
        if (bosId != null) n.put("bos_token_id", bosId);
        n.put("eos_token_id", eosId);
        org.lori4j.io.Json.write(dir.resolve("generation_config.json"), n);
    }

    /** The model card beside an adapter, as PEFT's save_pretrained writes one. */
    public static final String MODEL_CARD = "README.md";
    /** The line that marks a model card as lori4j's own, which a later save of the adapter rewrites. */
    static final String CARD_MARK = "<!-- written by lori4j with the adapter; rewritten when it is saved again -->";

    /**
     * Writes adapter_config.json, adapter_model.safetensors and a model card (README.md) into {@code dir}. All files
     * are first written to a temporary folder beside it; a new folder appears by one rename, an existing one has
     * its files replaced by renames (other files, e.g. masks/, stay; so does a README.md that lori4j did not write).
     */
    public void save(Path dir) {
        Path card = dir.resolve(MODEL_CARD);
        boolean keepCard;
        try {
            keepCard = Files.isRegularFile(card) && !Files.readString(card).contains(CARD_MARK);
        } catch (java.io.IOException e) {
            keepCard = true;
        }
        boolean keep = keepCard;
        OutputDir.write(dir, tmp -> {
            writeTo(tmp);
            if (keep) Files.delete(tmp.resolve(MODEL_CARD));
        });
    }

    /** A copy whose config names the base model it belongs to (PEFT's base_model_name_or_path). */
    public LoraAdapter withBaseModel(String baseModelNameOrPath) {
        return new LoraAdapter(config.withBaseModel(baseModelNameOrPath), modules.values(), embedTokens, lmHead, dtype, source);
    }

    /** Writes the files into an existing folder (no all-or-nothing guarantee: use inside {@link OutputDir}). */
    public void writeTo(Path dir) {
        AdapterConfig c = config;
        if (c.excludeModules() != null && !c.excludeModules().isEmpty()) {
            // exclude_modules is not a PEFT 0.12 field (the file would not load there) and is left out of the file;
            // listing the full names of the modules present keeps PEFT from adding LoRA layers the exclusion removed
            List<String> names = new ArrayList<>(modules.keySet());
            c = new AdapterConfig(c.r(), c.loraAlpha(), c.loraDropout(), names, null, null, c.bias(), c.fanInFanOut(),
                    c.useRslora(), c.useDora(), c.rankPattern(), c.alphaPattern(), c.modulesToSave(), null, null,
                    c.baseModelNameOrPath(), c.taskType(), c.inferenceMode(), c.initLoraWeights());
        }
        c.write(dir);
        SafeTensors.write(dir.resolve(WEIGHTS_FILE), tensors(), Map.of("format", "pt"));
        org.lori4j.io.AtomicFiles.writeString(dir.resolve(MODEL_CARD), modelCard());
    }

    /** A short model card: PEFT's metadata header, what the adapter is, and how to load it. */
    String modelCard() {
        String base = config.baseModelNameOrPath();
        long b = 0, nonzero = 0;
        for (Module m : modules.values()) {
            b += m.b().length;
            nonzero += m.b().length - m.zerosB();
        }
        StringBuilder s = new StringBuilder("---\n");
        if (base != null) s.append("base_model: ").append(base).append('\n');
        s.append("library_name: peft\ntags:\n- lora\n- lori\n- lori4j\n---\n").append(CARD_MARK).append("\n\n");
        s.append("# LoRA adapter\n\n");
        s.append("A PEFT LoRA adapter written by lori4j");
        if (base != null) s.append(" for `").append(base).append('`');
        s.append(".\n\n");
        s.append(String.format(java.util.Locale.ROOT, "- rank %d, alpha %s (scaling %s)%s, %d modules: %s%n", config.r(),
                num(config.loraAlpha()), num(AdapterConfig.scaling(config.loraAlpha(), config.r(), config.useRslora())),
                config.useRslora() ? ", rsLoRA" : "", modules.size(),
                String.join(", ", new java.util.LinkedHashSet<>(modules.values().stream().map(Module::proj).toList()))));
        s.append(String.format(java.util.Locale.ROOT, "- B: %,d of %,d entries nonzero (%.1f%%)%s%n", nonzero, b, b == 0 ? 0 : 100.0 * nonzero / b,
                b > 0 && nonzero * 2 <= b ? "; sparse, as LoRI-S trains it" : ""));
        if (embedTokens != null || lmHead != null) s.append("- carries the full embed_tokens / lm_head of a resized vocabulary\n");
        s.append("\nWith PEFT:\n\n```python\nfrom peft import AutoPeftModelForCausalLM\n")
                .append("model = AutoPeftModelForCausalLM.from_pretrained(\"path/to/this/folder\")\n```\n\n");
        s.append("With lori4j: `lori generate --model ").append(base != null ? base : "BASE_MODEL")
                .append(" --adapter path/to/this/folder --prompt \"...\"`\n");
        return s.toString();
    }

    private static String num(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }
}
