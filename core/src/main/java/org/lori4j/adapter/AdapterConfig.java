package org.lori4j.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import com.google.re2j.Matcher;
import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;

/**
 * The content of a PEFT {@code adapter_config.json} for a LoRA adapter (peft_type LORA), with PEFT's
 * rules for which modules an adapter targets and which rank and alpha each module gets. Field names
 * follow PEFT's {@code LoraConfig}; {@link #toJson()} writes exactly the fields PEFT 0.12 knows (it
 * refuses unknown ones), with PEFT's defaults, so the files load in PEFT 0.12 and later unchanged.
 *
 * @param r                   default LoRA rank (PEFT {@code r}, default 8)
 * @param loraAlpha           default alpha; scaling = alpha / r, or alpha / sqrt(r) with rsLoRA
 * @param loraDropout         dropout on the LoRA input during training (0 at inference; LoRI disables it)
 * @param targetModules       module names as a list: a module is targeted when its full name equals an
 *                            entry or ends with "." + entry; null when {@link #targetModulesRegex} is used
 * @param targetModulesRegex  target_modules given as one string: a Python regex that must match the full
 *                            module name ({@code re.fullmatch}); null when a list is used
 * @param excludeModules      PEFT's exclude_modules (list form) or null; never written (unknown to 0.12)
 * @param bias                "none" is the only supported value
 * @param fanInFanOut         true only for GPT-2 style Conv1D weights; PEFT resets it to false for nn.Linear
 * @param useRslora           rank-stabilised LoRA: scaling = alpha / sqrt(r)
 * @param useDora             DoRA (not supported; refused on load)
 * @param rankPattern         per-module rank overrides, keys are regexes matched against the end of the module name
 * @param alphaPattern        per-module alpha overrides, same key rule as rankPattern
 * @param modulesToSave       modules trained in full and saved whole (refused when weights come with them)
 * @param layersToTransform   only these decoder layer indices are targeted (list form), or null for all
 * @param layersPattern       the name of the layer list in module names ("layers"), or null for any
 * @param baseModelNameOrPath the base model the adapter was trained on (informational)
 * @param taskType            PEFT task type, "CAUSAL_LM" for language models (null when the file says null)
 * @param inferenceMode       PEFT's inference_mode flag (true in saved adapters)
 * @param initLoraWeights     PEFT's init_lora_weights value (true = kaiming-uniform A, zero B), kept verbatim
 */
public record AdapterConfig(
        int r,
        double loraAlpha,
        double loraDropout,
        List<String> targetModules,
        String targetModulesRegex,
        List<String> excludeModules,
        String bias,
        boolean fanInFanOut,
        boolean useRslora,
        boolean useDora,
        Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern,
        List<String> modulesToSave,
        List<Integer> layersToTransform,
        List<String> layersPattern,
        String baseModelNameOrPath,
        String taskType,
        boolean inferenceMode,
        JsonNode initLoraWeights) {

    /** The seven Llama projections LoRI adapts. */
    public static final List<String> LLAMA_PROJECTIONS =
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    public static final String FILE_NAME = "adapter_config.json";

    public AdapterConfig {
        rankPattern = rankPattern == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(rankPattern));
        alphaPattern = alphaPattern == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(alphaPattern));
        targetModules = targetModules == null ? null : List.copyOf(targetModules);
        if (bias == null) bias = "none";
        if (initLoraWeights == null) initLoraWeights = JsonNodeFactory.instance.booleanNode(true);
    }

    /** A plain LoRA/LoRI config: rank r, alpha, the given target list, no patterns. */
    public static AdapterConfig of(int r, double alpha, List<String> targets, boolean useRslora, String baseModel) {
        return new AdapterConfig(r, alpha, 0.0, targets, null, null, "none", false, useRslora, false,
                Map.of(), Map.of(), null, null, null, baseModel, "CAUSAL_LM", true, null);
    }

    /** A copy with another rank, alpha, targets and patterns (the rest unchanged). */
    public AdapterConfig with(int newR, double newAlpha, List<String> newTargets, String newRegex,
                              Map<String, Integer> newRankPattern, Map<String, Double> newAlphaPattern) {
        return new AdapterConfig(newR, newAlpha, loraDropout, newTargets, newRegex, excludeModules, bias, fanInFanOut,
                useRslora, useDora, newRankPattern, newAlphaPattern, modulesToSave, layersToTransform, layersPattern,
                baseModelNameOrPath, taskType, inferenceMode, initLoraWeights);
    }

    /** A copy naming the base model (base_model_name_or_path). */
    public AdapterConfig withBaseModel(String base) {
        return new AdapterConfig(r, loraAlpha, loraDropout, targetModules, targetModulesRegex, excludeModules, bias,
                fanInFanOut, useRslora, useDora, rankPattern, alphaPattern, modulesToSave, layersToTransform, layersPattern,
                base, taskType, inferenceMode, initLoraWeights);
    }

    /** A copy with use_rslora set as given. */
    public AdapterConfig withRslora(boolean rslora) {
        return new AdapterConfig(r, loraAlpha, loraDropout, targetModules, targetModulesRegex, excludeModules, bias,
                fanInFanOut, rslora, useDora, rankPattern, alphaPattern, modulesToSave, layersToTransform, layersPattern,
                baseModelNameOrPath, taskType, inferenceMode, initLoraWeights);
    }

    // ------------------------------------------------------------------ module rules (PEFT semantics)

    /**
     * Whether PEFT would put a LoRA layer on the module with this full name (e.g.
     * "model.layers.3.self_attn.q_proj"), following {@code check_target_module_exists}.
     */
    public boolean targets(String moduleName) {
        if (excludeModules != null && (excludeModules.contains(moduleName)
                || excludeModules.stream().anyMatch(e -> moduleName.endsWith("." + e)))) return false;
        if (targetModulesRegex != null) return pyFullMatch(targetModulesRegex, moduleName);
        if (targetModules == null) return false;
        if (targetModules.contains(moduleName)) return true;
        boolean found = targetModules.stream().anyMatch(t -> moduleName.endsWith("." + t));
        if (found && layersToTransform != null && !layersToTransform.isEmpty()) {
            Integer layer = null;
            if (layersPattern == null || layersPattern.isEmpty()) {
                Matcher m = Pattern.compile("^.*?\\.[^.]*\\.(\\d+)\\.").matcher(moduleName);
                if (m.find()) layer = layerNumber(m.group(1));
            } else {
                for (String p : layersPattern) {
                    Matcher m = Pattern.compile("^.*?\\." + pyRegex(p) + "\\.(\\d+)\\.").matcher(moduleName);
                    if (m.find()) { layer = layerNumber(m.group(1)); break; }
                }
            }
            found = layer != null && layersToTransform.contains(layer);
        }
        return found;
    }

    /** The rank of the module: the first rank_pattern key matching the end of its name, else r. */
    public int rankFor(String moduleName) {
        String key = patternKey(rankPattern.keySet(), moduleName);
        return key == null ? r : rankPattern.get(key);
    }

    /** The alpha of the module: the first alpha_pattern key matching the end of its name, else lora_alpha. */
    public double alphaFor(String moduleName) {
        String key = patternKey(alphaPattern.keySet(), moduleName);
        return key == null ? loraAlpha : alphaPattern.get(key);
    }

    /** PEFT's scaling of a module: alpha / r, or alpha / sqrt(r) with rsLoRA (computed in double). */
    public double scalingFor(String moduleName) {
        return scaling(alphaFor(moduleName), rankFor(moduleName), useRslora);
    }

    public static double scaling(double alpha, int rank, boolean rslora) {
        return rslora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    /** Largest rank any module can have (r or a rank_pattern value): PEFT's rank for merging checks. */
    public int maxRank() {
        int m = r;
        for (int v : rankPattern.values()) m = Math.max(m, v);
        return m;
    }

    /**
     * PEFT's {@code get_pattern_key}: the first key (in file order) for which {@code (.*\.)?(key)$}
     * matches the module name from its start; null when none does.
     */
    static String patternKey(Iterable<String> keys, String moduleName) {
        for (String k : keys) {
            if (compiled("^(?:.*\\.)?(?:" + pyRegex(k) + ")$").matcher(moduleName).find()) return k;
        }
        return null;
    }

    static boolean pyFullMatch(String regex, String s) {
        return compiled(pyRegex(regex)).matcher(s).matches();
    }

    /** Compiled patterns, so that matching a config's patterns against every module compiles each once. */
    private static final Map<String, Pattern> COMPILED = java.util.Collections.synchronizedMap(
            new java.util.LinkedHashMap<>(64, 0.75f, true) {
                @Override protected boolean removeEldestEntry(Map.Entry<String, Pattern> e) { return size() > 256; }
            });

    private static Pattern compiled(String regex) {
        Pattern p = COMPILED.get(regex);
        if (p == null) {
            p = Pattern.compile(regex);
            COMPILED.put(regex, p);
        }
        return p;
    }

    /** Longer patterns are refused: PEFT's are module names with a few alternatives. */
    static final int MAX_PATTERN_CHARS = 10_000;

    /**
     * A Python regex of adapter_config.json for RE2/J, which matches in time linear in the module name whatever the
     * pattern (a backtracking engine took minutes on {@code ((...(.*)*...)*)*x}). RE2 syntax is Python's for the
     * patterns PEFT users write, named groups {@code (?P<n>...)} included; back-references and look-around, which
     * RE2 lacks, are refused with a one-line error.
     */
    static String pyRegex(String regex) {
        if (regex.length() > MAX_PATTERN_CHARS)
            throw new LoriException("adapter_config.json: a regular expression of " + regex.length() + " characters is longer than "
                    + MAX_PATTERN_CHARS + "; refused");
        try {
            compiled(regex);
        } catch (PatternSyntaxException e) {
            throw new LoriException("adapter_config.json: regular expression '" + regex + "' is invalid or unsupported"
                    + " (no back-references or look-around): " + e.getDescription());
        }
        return regex;
    }

    /** A layer number of a module name, or null when it is not one (leading zeros, beyond int). */
    static Integer layerNumber(String digits) {
        return digits.matches("0|[1-9][0-9]{0,8}") ? Integer.valueOf(digits) : null;
    }

    // ------------------------------------------------------------------ JSON

    /** Reads DIR/adapter_config.json, refusing what lori4j cannot apply with a one-line message. */
    public static AdapterConfig read(Path dir) {
        Path file = dir.resolve(FILE_NAME);
        return fromJson(Json.read(file), file.toString());
    }

    static AdapterConfig fromJson(JsonNode j, String where) {
        if (!j.isObject()) throw new LoriException(where + ": expected a JSON object");
        String peftType = text(j, "peft_type", null);
        if (peftType != null && !peftType.equals("LORA"))
            throw new LoriException(where + ": peft_type " + peftType + " is not supported (only LORA)");
        if (j.path("use_dora").asBoolean(false))
            throw new LoriException(where + ": use_dora is true: DoRA adapters are not supported");
        String bias = text(j, "bias", "none");
        if (!bias.equals("none"))
            throw new LoriException(where + ": bias \"" + bias + "\" is not supported (only \"none\")");
        if (j.path("lora_bias").asBoolean(false))
            throw new LoriException(where + ": lora_bias is true: LoRA bias terms are not supported");
        // fields that change what the adapter computes (PEFT marks the variants is_lora_variant); VeLoRA only
        // changes the backward pass, and the initialisation configs (loftq, eva, corda, lora_ga) only training
        for (String unsupported : List.of("layer_replication", "trainable_token_indices", "target_parameters",
                "alora_invocation_tokens", "arrow_config", "kasa_config", "monteclora_config", "use_bdlora")) {
            JsonNode v = j.get(unsupported);
            if (v != null && !v.isNull() && !(v.isContainerNode() && v.isEmpty()) && !(v.isBoolean() && !v.asBoolean()))
                throw new LoriException(where + ": " + unsupported + " is set: not supported");
        }
        if (j.path("use_qalora").asBoolean(false))
            throw new LoriException(where + ": use_qalora is true: QA-LoRA adapters are not supported");
        // initialisations with which PEFT rewrites the base weights when it creates the layers, on loading too
        // (pissa, corda, olora subtract their start from W; loftq quantises W; lora_ga offsets W): an adapter saved
        // without converting them to plain LoRA computes W' + s B A, which lori4j cannot reproduce
        JsonNode init = j.get("init_lora_weights");
        if (init != null && init.isTextual()) {
            String v = init.asText().toLowerCase(java.util.Locale.ROOT);
            if (v.startsWith("pissa") || v.startsWith("corda") || v.equals("olora") || v.equals("loftq") || v.equals("lora_ga"))
                throw new LoriException(where + ": init_lora_weights \"" + init.asText() + "\": PEFT rewrites the base weights with it"
                        + " when it loads the adapter; not supported (convert it to a plain LoRA adapter first)");
        }
        JsonNode rNode = j.get("r");
        int r = rNode == null || rNode.isNull() ? 8 : rNode.asInt();
        if (rNode != null && !rNode.isNull() && (!rNode.isNumber() || rNode.asDouble() != r))
            throw new LoriException(where + ": r must be an integer, got " + rNode);
        if (r <= 0) throw new LoriException(where + ": r must be positive, got " + r);
        double alpha = number(j, "lora_alpha", 8.0, where);
        double dropout = number(j, "lora_dropout", 0.0, where);

        List<String> targets = null;
        String regex = null;
        JsonNode t = j.get("target_modules");
        if (t == null || t.isNull()) {
            // PEFT fills in its per-architecture default; for llama, mistral and qwen2 it is q_proj, v_proj
            targets = List.of("q_proj", "v_proj");
        } else if (t.isTextual() && t.asText().equalsIgnoreCase("all-linear")) {
            // PEFT's shorthand: every linear layer but the output embedding, for Llama-family models the seven projections
            targets = LLAMA_PROJECTIONS;
        } else if (t.isTextual()) {
            regex = t.asText();
            pyRegex(regex);
        } else if (t.isArray()) {
            targets = new ArrayList<>();
            for (JsonNode e : t) targets.add(e.asText());
        } else {
            throw new LoriException(where + ": target_modules must be a list or a string");
        }
        List<String> exclude = null;
        JsonNode ex = j.get("exclude_modules");
        if (ex != null && ex.isTextual())
            throw new LoriException(where + ": exclude_modules as a regular expression is not supported");
        if (ex != null && ex.isArray()) { exclude = new ArrayList<>(); for (JsonNode e : ex) exclude.add(e.asText()); }

        Map<String, Integer> rankPattern = new LinkedHashMap<>();
        JsonNode rp = j.get("rank_pattern");
        if (rp != null && rp.isObject()) {
            for (var it = rp.fields(); it.hasNext(); ) {
                var e = it.next();
                if (!e.getValue().canConvertToExactIntegral() || e.getValue().asInt() <= 0)
                    throw new LoriException(where + ": rank_pattern[\"" + e.getKey() + "\"] must be a positive integer");
                pyRegex(e.getKey());
                rankPattern.put(e.getKey(), e.getValue().asInt());
            }
        }
        Map<String, Double> alphaPattern = new LinkedHashMap<>();
        JsonNode ap = j.get("alpha_pattern");
        if (ap != null && ap.isObject()) {
            for (var it = ap.fields(); it.hasNext(); ) {
                var e = it.next();
                if (!e.getValue().isNumber())
                    throw new LoriException(where + ": alpha_pattern[\"" + e.getKey() + "\"] must be a number");
                pyRegex(e.getKey());
                alphaPattern.put(e.getKey(), e.getValue().asDouble());
            }
        }
        List<String> modulesToSave = null;
        JsonNode ms = j.get("modules_to_save");
        if (ms != null && ms.isArray()) { modulesToSave = new ArrayList<>(); for (JsonNode e : ms) modulesToSave.add(e.asText()); }
        List<Integer> layers = null;
        JsonNode lt = j.get("layers_to_transform");
        if (lt != null && lt.isInt()) layers = List.of(lt.asInt());
        else if (lt != null && lt.isArray()) { layers = new ArrayList<>(); for (JsonNode e : lt) layers.add(e.asInt()); }
        List<String> layersPattern = null;
        JsonNode lp = j.get("layers_pattern");
        if (lp != null && lp.isTextual()) layersPattern = List.of(lp.asText());
        else if (lp != null && lp.isArray()) { layersPattern = new ArrayList<>(); for (JsonNode e : lp) layersPattern.add(e.asText()); }

        if (regex != null && (layers != null || layersPattern != null))
            throw new LoriException(where + ": layers_to_transform / layers_pattern cannot be used when target_modules is a"
                    + " regular expression (PEFT refuses this too)");
        return new AdapterConfig(r, alpha, dropout, targets, regex, exclude, bias,
                j.path("fan_in_fan_out").asBoolean(false), j.path("use_rslora").asBoolean(false), false,
                rankPattern, alphaPattern, modulesToSave, layers, layersPattern,
                text(j, "base_model_name_or_path", null), j.has("task_type") ? text(j, "task_type", null) : "CAUSAL_LM",
                j.path("inference_mode").asBoolean(true), j.get("init_lora_weights"));
    }

    private static String text(JsonNode j, String field, String dflt) {
        JsonNode v = j.get(field);
        return v == null || v.isNull() ? dflt : v.asText();
    }

    private static double number(JsonNode j, String field, double dflt, String where) {
        JsonNode v = j.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber()) throw new LoriException(where + ": " + field + " must be a number, got " + v);
        return v.asDouble();
    }

    /**
     * The config as PEFT 0.12 writes it: every LoraConfig field with its default, keys sorted, no
     * field that PEFT 0.12 would reject. Integral alphas are written as integers (PEFT's type is int).
     */
    public ObjectNode toJson() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        Map<String, JsonNode> m = new TreeMap<>();
        ObjectNode ap = f.objectNode();
        alphaPattern.forEach((k, v) -> ap.set(k, numberNode(v)));
        m.put("alpha_pattern", ap);
        m.put("auto_mapping", f.nullNode());
        m.put("base_model_name_or_path", baseModelNameOrPath == null ? f.nullNode() : f.textNode(baseModelNameOrPath));
        m.put("bias", f.textNode(bias));
        m.put("fan_in_fan_out", f.booleanNode(fanInFanOut));
        m.put("inference_mode", f.booleanNode(inferenceMode));
        // the initialisation only matters before training, and the saved weights replace it; values PEFT 0.12 does not
        // know (eva, orthogonal, mica: newer PEFT) would make it refuse the file, so they are written as true
        m.put("init_lora_weights", initLoraWeights.isTextual() && !initLoraWeights.asText().equalsIgnoreCase("gaussian")
                ? f.booleanNode(true) : initLoraWeights);
        m.put("layer_replication", f.nullNode());
        if (layersPattern == null) m.put("layers_pattern", f.nullNode());
        else { var a = f.arrayNode(); layersPattern.forEach(a::add); m.put("layers_pattern", a); }
        if (layersToTransform == null) m.put("layers_to_transform", f.nullNode());
        else { var a = f.arrayNode(); layersToTransform.forEach(a::add); m.put("layers_to_transform", a); }
        m.put("loftq_config", f.objectNode());
        m.put("lora_alpha", numberNode(loraAlpha));
        m.put("lora_dropout", f.numberNode(loraDropout));
        m.put("megatron_config", f.nullNode());
        m.put("megatron_core", f.textNode("megatron.core"));
        if (modulesToSave == null) m.put("modules_to_save", f.nullNode());
        else { var a = f.arrayNode(); modulesToSave.forEach(a::add); m.put("modules_to_save", a); }
        m.put("peft_type", f.textNode("LORA"));
        m.put("r", f.numberNode(r));
        ObjectNode rp = f.objectNode();
        rankPattern.forEach(rp::put);
        m.put("rank_pattern", rp);
        m.put("revision", f.nullNode());
        if (targetModulesRegex != null) m.put("target_modules", f.textNode(targetModulesRegex));
        else { var a = f.arrayNode(); targetModules.forEach(a::add); m.put("target_modules", a); }
        m.put("task_type", taskType == null ? f.nullNode() : f.textNode(taskType));
        m.put("use_dora", f.booleanNode(false));
        m.put("use_rslora", f.booleanNode(useRslora));
        ObjectNode o = f.objectNode();
        m.forEach(o::set);
        return o;
    }

    private static JsonNode numberNode(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return JsonNodeFactory.instance.numberNode((long) v);
        return JsonNodeFactory.instance.numberNode(v);
    }

    /** Writes DIR/adapter_config.json atomically. */
    public void write(Path dir) {
        Json.write(dir.resolve(FILE_NAME), toJson());
    }

    /** A short description of the targets for messages: the list or the regex. */
    public String describeTargets() {
        String t = targetModulesRegex != null ? "regex " + targetModulesRegex : String.valueOf(targetModules);
        if (layersToTransform != null && !layersToTransform.isEmpty()) t += " on layers_to_transform " + layersToTransform;
        if (excludeModules != null && !excludeModules.isEmpty()) t += " without exclude_modules " + excludeModules;
        return t;
    }
}
