package org.lori4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The architecture hyper-parameters of a Llama-family model (Llama 1/2/3, Mistral, Qwen2) as read from a
 * Hugging Face {@code config.json}, with the tensor names and shapes they imply.
 *
 * @param modelType             "llama", "mistral" or "qwen2"
 * @param hiddenSize            model width (HF hidden_size; llama2.c dim)
 * @param intermediateSize      MLP width (gate/up rows)
 * @param numLayers             decoder layers
 * @param numHeads              query heads
 * @param numKvHeads            key/value heads (grouped-query attention when fewer than numHeads)
 * @param headDim               width of one head (default hiddenSize / numHeads)
 * @param vocabSize             embedding rows
 * @param rmsNormEps            RMSNorm epsilon
 * @param ropeTheta             RoPE base
 * @param ropeScaling           RoPE frequency scaling, or null for none
 * @param maxPositionEmbeddings longest context the model was trained for
 * @param tieWordEmbeddings     lm_head shares embed_tokens
 * @param bosTokenId            beginning-of-sequence id, or null
 * @param eosTokenIds           end-of-sequence ids (possibly several, e.g. Llama 3 instruct)
 * @param torchDtype            dtype the weights were saved in
 * @param attentionBias         q/k/v (and for llama also o) projections carry biases; always true for qwen2
 * @param slidingWindow         sliding-window attention: a query at position q sees keys q-W+1..q (HF's
 *                              sliding_window); 0 for full causal attention
 * @param slidingWindowFromLayer first layer with the window (Qwen2's max_window_layers; 0 for Mistral)
 */
public record LlamaConfig(
        String modelType,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int vocabSize,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        Integer bosTokenId,
        List<Integer> eosTokenIds,
        DType torchDtype,
        boolean attentionBias,
        int slidingWindow,
        int slidingWindowFromLayer) {

    /**
     * RoPE scaling as in HF's rope_scaling: "llama3" (Llama 3.1 frequency-band scaling with factor,
     * low/high frequency factors and the original context) or "linear" (positions divided by factor;
     * the other fields are 0).
     */
    public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
                              int originalMaxPositionEmbeddings) {}

    public LlamaConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
        if (slidingWindow < 0 || slidingWindowFromLayer < 0)
            throw new IllegalArgumentException("negative sliding window " + slidingWindow + " from layer " + slidingWindowFromLayer);
    }

    /** A configuration with full causal attention in every layer (no sliding window). */
    public LlamaConfig(String modelType, int hiddenSize, int intermediateSize, int numLayers, int numHeads, int numKvHeads,
                       int headDim, int vocabSize, double rmsNormEps, double ropeTheta, RopeScaling ropeScaling,
                       int maxPositionEmbeddings, boolean tieWordEmbeddings, Integer bosTokenId, List<Integer> eosTokenIds,
                       DType torchDtype, boolean attentionBias) {
        this(modelType, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim, vocabSize, rmsNormEps,
                ropeTheta, ropeScaling, maxPositionEmbeddings, tieWordEmbeddings, bosTokenId, eosTokenIds, torchDtype,
                attentionBias, 0, 0);
    }

    /** The attention window of layer {@code layer}: W (keys q-W+1..q visible) or 0 for full causal attention. */
    public int window(int layer) {
        return slidingWindow > 0 && layer >= slidingWindowFromLayer ? slidingWindow : 0;
    }

    /** Width of all query heads together (rows of q_proj). */
    public int qDim() { return numHeads * headDim; }

    /** Width of all key/value heads together (rows of k_proj and v_proj). */
    public int kvDim() { return numKvHeads * headDim; }

    /** Reads {@code modelDir/config.json}. */
    public static LlamaConfig load(Path modelDir) {
        Path file = modelDir.resolve("config.json");
        return fromJson(Json.read(file), file.toString());
    }

    /** Parses a config.json tree; {@code source} names the file in error messages. */
    public static LlamaConfig fromJson(JsonNode n, String source) {
        if (n == null || !n.isObject()) throw new LoriException(source + ": not a JSON object");
        Fields f = new Fields(n, source);
        String modelType = f.string("model_type", null);
        if (modelType == null) throw new LoriException(source + ": field 'model_type' is missing");
        if (!List.of("llama", "mistral", "qwen2").contains(modelType))
            throw new LoriException(source + ": model_type '" + modelType
                    + "' is not supported (supported: llama, mistral, qwen2)");
        String act = f.string("hidden_act", "silu");
        if (!act.equals("silu"))
            throw new LoriException(source + ": hidden_act '" + act + "' is not supported (only silu)");
        // Mistral and Qwen2 hard-code bias-free MLPs in transformers and never read mlp_bias
        if (modelType.equals("llama") && f.bool("mlp_bias", false))
            throw new LoriException(source + ": mlp_bias true is not supported (gate/up/down projections without bias only)");
        int hidden = f.positiveInt("hidden_size", null);
        int inter = f.positiveInt("intermediate_size", null);
        int layers = f.positiveInt("num_hidden_layers", null);
        int heads = f.positiveInt("num_attention_heads", null);
        // transformers' class defaults when the field is absent: MistralConfig 8, Qwen2Config 32, LlamaConfig None;
        // None (absent for Llama, or an explicit null) means num_attention_heads
        int kvHeads = !n.has("num_key_value_heads")
                ? switch (modelType) { case "mistral" -> 8; case "qwen2" -> 32; default -> heads; }
                : f.positiveInt("num_key_value_heads", heads);
        Integer headDim = f.nullableInt("head_dim");
        if (headDim == null) {
            if (hidden % heads != 0)
                throw new LoriException(source + ": hidden_size " + hidden + " is not divisible by num_attention_heads "
                        + heads + " and no head_dim is given");
            headDim = hidden / heads;
        }
        if (headDim <= 0 || headDim % 2 != 0)
            throw new LoriException(source + ": head_dim " + headDim + " must be positive and even (RoPE rotates pairs)");
        if (heads % kvHeads != 0)
            throw new LoriException(source + ": num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        int vocab = f.positiveInt("vocab_size", null);
        double eps = f.positiveDouble("rms_norm_eps", 1e-6);   // HF's default for all three types
        // transformers 5 writes RoPE as one object, rope_parameters {rope_type, rope_theta, factor, ...}, and no
        // rope_theta / rope_scaling; older files have those two. As transformers 5 reads them
        // (convert_rope_params_to_dict): a non-empty rope_scaling wins over rope_parameters, and rope_theta comes from
        // that object, else from the top-level field, else 10000.
        JsonNode ropeScaling = n.get("rope_scaling");
        boolean oldRope = ropeScaling != null && !ropeScaling.isNull() && !(ropeScaling.isObject() && ropeScaling.isEmpty());
        JsonNode ropeParams = oldRope ? null : n.get("rope_parameters");
        boolean v5Rope = ropeParams != null && !ropeParams.isNull();
        if (v5Rope && (!ropeParams.isObject() || !ropeParams.has("rope_type") && !ropeParams.has("type")))
            throw new LoriException(source + ": field 'rope_parameters' must be an object with rope_type"
                    + " (per-layer-type RoPE parameters are not supported)");
        double topTheta = f.positiveDouble("rope_theta", 10000.0);
        JsonNode ropeObject = v5Rope ? ropeParams : oldRope ? ropeScaling : null;
        double theta = ropeObject != null && ropeObject.isObject() && ropeObject.has("rope_theta") && !ropeObject.get("rope_theta").isNull()
                ? new Fields(ropeObject, source, (v5Rope ? "rope_parameters" : "rope_scaling") + ".").positiveDouble("rope_theta", topTheta)
                : topTheta;
        int defaultMaxPos = switch (modelType) {                 // HF's defaults per config class
            case "mistral" -> 4096 * 32;
            case "qwen2" -> 32768;
            default -> 2048;
        };
        int maxPos = f.positiveInt("max_position_embeddings", defaultMaxPos);
        boolean tie = f.bool("tie_word_embeddings", false);
        // LlamaConfig and MistralConfig default to bos 1, eos 2 when the fields are absent; Qwen2Config to none
        boolean ids12 = !modelType.equals("qwen2");
        Integer bos = !n.has("bos_token_id") && ids12 ? Integer.valueOf(1) : f.nullableInt("bos_token_id");
        List<Integer> eos = !n.has("eos_token_id") && ids12 ? List.of(2) : f.intOrIntList("eos_token_id");
        String dtypeName = f.string("torch_dtype", f.string("dtype", null));
        DType dtype = DType.F32;
        if (dtypeName != null) {
            dtype = DType.fromTorchName(dtypeName);
            if (dtype == null)
                throw new LoriException(source + ": torch_dtype '" + dtypeName + "' is not supported (float32, bfloat16, float16)");
        }
        // Qwen2 always has q/k/v biases; Mistral never (transformers hard-codes bias=False and ignores attention_bias)
        boolean bias = modelType.equals("qwen2") || modelType.equals("llama") && f.bool("attention_bias", false);
        // llama3 RoPE without original_max_position_embeddings: a top-level field, else max_position_embeddings
        Integer topOriginal = f.nullableInt("original_max_position_embeddings");
        int originalDefault = topOriginal != null ? topOriginal : maxPos;
        RopeScaling scaling = v5Rope ? parseRopeScaling(ropeParams, source, "rope_parameters", originalDefault)
                : parseRopeScaling(ropeScaling, source, "rope_scaling", originalDefault);
        // HF's defaults: MistralConfig sliding_window 4096 (null = none); Qwen2Config use_sliding_window false,
        // sliding_window 4096 from layer max_window_layers 28 on; Llama has no window.
        int window = 0, windowFrom = 0;
        boolean qwen2Window = modelType.equals("qwen2") && f.bool("use_sliding_window", false);
        if (modelType.equals("mistral") || qwen2Window) {
            Integer w = n.has("sliding_window") ? f.nullableInt("sliding_window") : Integer.valueOf(4096);
            window = w == null ? 0 : w;
        }
        if (qwen2Window) {
            Integer from = f.nullableInt("max_window_layers");
            windowFrom = from == null ? 28 : from;
            if (windowFrom < 0) throw new LoriException(source + ": field 'max_window_layers' must be >= 0, got " + windowFrom);
        }
        if (window < 0) throw new LoriException(source + ": field 'sliding_window' must be a positive integer or null, got " + window);
        // transformers 5 also writes layer_types, which then decides per layer (Qwen2 derives it from
        // max_window_layers; the window itself still comes from sliding_window / use_sliding_window)
        // (MistralConfig only warns about layer_types and windows every layer)
        JsonNode types = n.get("layer_types");
        if (types != null && !types.isNull() && window > 0 && !modelType.equals("mistral"))
            windowFrom = windowStartFromLayerTypes(types, layers, source);
        plausible(source, "hidden_size", hidden, MAX_HIDDEN);
        plausible(source, "intermediate_size", inter, MAX_INTERMEDIATE);
        plausible(source, "num_hidden_layers", layers, MAX_LAYERS);
        plausible(source, "num_attention_heads", heads, MAX_HEADS);
        plausible(source, "head_dim", headDim, MAX_HEAD_DIM);
        plausible(source, "vocab_size", vocab, MAX_VOCAB);
        plausible(source, "max_position_embeddings", maxPos, MAX_POSITIONS);
        if (kvHeads > heads)
            throw new LoriException(source + ": num_key_value_heads " + kvHeads + " is more than num_attention_heads " + heads);
        return new LlamaConfig(modelType, hidden, inter, layers, heads, kvHeads, headDim, vocab, eps, theta, scaling,
                maxPos, tie, bos, eos, dtype, bias, window, windowFrom);
    }

    // Plausibility limits, checked before anything is sized from the file: each is several times the largest
    // Llama-family model (Llama 3.1 405B: hidden 16384, intermediate 53248, 126 layers, 128 heads of 128; vocabularies
    // up to 256k; contexts up to 10M), and together they keep every product of them within int where code needs it.
    static final int MAX_HIDDEN = 1 << 16, MAX_INTERMEDIATE = 1 << 18, MAX_LAYERS = 1024, MAX_HEADS = 1024,
            MAX_HEAD_DIM = 2048, MAX_VOCAB = 1 << 22, MAX_POSITIONS = 1 << 26;

    private static void plausible(String source, String field, int value, int max) {
        if (value > max)
            throw new LoriException(source + ": field '" + field + "' is " + value + ", implausibly large (at most " + max + ")");
    }

    /**
     * The first sliding layer of layer_types = ["full_attention"] * k + ["sliding_attention"] * (layers - k); other
     * patterns (e.g. alternating) are refused, since lori4j applies the window to a suffix of the layers.
     */
    private static int windowStartFromLayerTypes(JsonNode types, int layers, String source) {
        if (!types.isArray() || types.size() != layers)
            throw new LoriException(source + ": field 'layer_types' must be a list of " + layers + " entries");
        int first = layers;
        for (int i = 0; i < layers; i++) {
            String t = types.get(i).asText();
            boolean sliding = t.equals("sliding_attention");
            if (!sliding && !t.equals("full_attention"))
                throw new LoriException(source + ": layer_types[" + i + "] is '" + t + "' (supported: full_attention, sliding_attention)");
            if (sliding && first == layers) first = i;
            if (!sliding && first < layers)
                throw new LoriException(source + ": layer_types has full_attention at layer " + i + " after sliding_attention at layer "
                        + first + "; only sliding windows on the last layers are supported");
        }
        return first;
    }

    private static RopeScaling parseRopeScaling(JsonNode r, String source, String field, int originalDefault) {
        if (r == null || r.isNull()) return null;
        if (!r.isObject()) throw new LoriException(source + ": field '" + field + "' must be an object or null");
        Fields f = new Fields(r, source, field + ".");
        String type = f.string("rope_type", f.string("type", null));
        if (type == null) throw new LoriException(source + ": field '" + field + ".rope_type' is missing");
        return switch (type) {
            case "default" -> null;
            case "linear" -> new RopeScaling("linear", f.positiveDouble("factor", null), 0, 0, 0);
            case "llama3" -> new RopeScaling("llama3", f.positiveDouble("factor", null),
                    f.positiveDouble("low_freq_factor", null), f.positiveDouble("high_freq_factor", null),
                    f.positiveInt("original_max_position_embeddings", originalDefault));
            default -> throw new LoriException(source + ": " + field + " type '" + type
                    + "' is not supported (supported: llama3, linear)");
        };
    }

    /** The fields of a Hugging Face config.json for this configuration (architectures, model_type, sizes, ids, dtype). */
    public ObjectNode toJson() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        String arch = switch (modelType) {
            case "mistral" -> "MistralForCausalLM";
            case "qwen2" -> "Qwen2ForCausalLM";
            default -> "LlamaForCausalLM";
        };
        o.putArray("architectures").add(arch);
        o.put("model_type", modelType);
        o.put("hidden_size", hiddenSize);
        o.put("intermediate_size", intermediateSize);
        o.put("num_hidden_layers", numLayers);
        o.put("num_attention_heads", numHeads);
        o.put("num_key_value_heads", numKvHeads);
        o.put("head_dim", headDim);
        o.put("hidden_act", "silu");
        o.put("vocab_size", vocabSize);
        o.put("rms_norm_eps", rmsNormEps);
        o.put("rope_theta", ropeTheta);
        if (ropeScaling == null) o.putNull("rope_scaling");
        else {
            ObjectNode r = o.putObject("rope_scaling");
            r.put("rope_type", ropeScaling.type());
            r.put("factor", ropeScaling.factor());
            if (ropeScaling.type().equals("llama3")) {
                r.put("low_freq_factor", ropeScaling.lowFreqFactor());
                r.put("high_freq_factor", ropeScaling.highFreqFactor());
                r.put("original_max_position_embeddings", ropeScaling.originalMaxPositionEmbeddings());
            }
        }
        o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("tie_word_embeddings", tieWordEmbeddings);
        if (bosTokenId == null) o.putNull("bos_token_id");
        else o.put("bos_token_id", bosTokenId);
        if (eosTokenIds.isEmpty()) o.putNull("eos_token_id");
        else if (eosTokenIds.size() == 1) o.put("eos_token_id", eosTokenIds.getFirst());
        else {
            ArrayNode a = o.putArray("eos_token_id");
            eosTokenIds.forEach(a::add);
        }
        if (!modelType.equals("qwen2")) o.put("attention_bias", attentionBias);
        if (modelType.equals("mistral")) {
            if (slidingWindow > 0) o.put("sliding_window", slidingWindow);
            else o.putNull("sliding_window");
        } else if (modelType.equals("qwen2")) {
            o.put("use_sliding_window", slidingWindow > 0);
            if (slidingWindow > 0) {
                o.put("sliding_window", slidingWindow);
                o.put("max_window_layers", slidingWindowFromLayer);
            }
        }
        o.put("torch_dtype", torchDtype.torchName());
        return o;
    }

    /** True when o_proj has a bias too (Llama's attention_bias covers all four projections; Qwen2 biases q/k/v only). */
    public boolean outputProjectionBias() { return attentionBias && !modelType.equals("qwen2"); }

    /** Every tensor name the HF checkpoint must contain, with its shape, in HF's order (lm_head only when untied). */
    public Map<String, long[]> expectedShapes() {
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put("model.embed_tokens.weight", new long[]{vocabSize, hiddenSize});
        for (int l = 0; l < numLayers; l++) {
            String p = "model.layers." + l + ".";
            m.put(p + "input_layernorm.weight", new long[]{hiddenSize});
            m.put(p + "self_attn.q_proj.weight", new long[]{qDim(), hiddenSize});
            m.put(p + "self_attn.k_proj.weight", new long[]{kvDim(), hiddenSize});
            m.put(p + "self_attn.v_proj.weight", new long[]{kvDim(), hiddenSize});
            m.put(p + "self_attn.o_proj.weight", new long[]{hiddenSize, qDim()});
            if (attentionBias) {
                m.put(p + "self_attn.q_proj.bias", new long[]{qDim()});
                m.put(p + "self_attn.k_proj.bias", new long[]{kvDim()});
                m.put(p + "self_attn.v_proj.bias", new long[]{kvDim()});
                if (outputProjectionBias()) m.put(p + "self_attn.o_proj.bias", new long[]{hiddenSize});
            }
            m.put(p + "post_attention_layernorm.weight", new long[]{hiddenSize});
            m.put(p + "mlp.gate_proj.weight", new long[]{intermediateSize, hiddenSize});
            m.put(p + "mlp.up_proj.weight", new long[]{intermediateSize, hiddenSize});
            m.put(p + "mlp.down_proj.weight", new long[]{hiddenSize, intermediateSize});
        }
        m.put("model.norm.weight", new long[]{hiddenSize});
        if (!tieWordEmbeddings) m.put("lm_head.weight", new long[]{vocabSize, hiddenSize});
        return m;
    }

    /** The names of {@link #expectedShapes()}. */
    public List<String> expectedTensorNames() { return new ArrayList<>(expectedShapes().keySet()); }

    /** Number of parameters the configuration implies (tied embeddings counted once). */
    public long parameterCount() {
        long n = 0;
        for (long[] s : expectedShapes().values()) n += Tensor.numel(s);
        return n;
    }

    /**
     * Checks that every expected tensor is present with the implied shape and a float dtype; extra tensors
     * (e.g. a redundant lm_head of a tied model, old rotary inv_freq buffers) are allowed.
     */
    public void checkShapes(TensorStore store) {
        for (Map.Entry<String, long[]> e : expectedShapes().entrySet()) {
            String name = e.getKey();
            if (!store.has(name))
                throw new LoriException(store.dir() + ": tensor " + name + " is missing (config.json implies shape "
                        + Arrays.toString(e.getValue()) + ")");
            Tensor t = store.get(name);
            Path file = store.fileOf(name);
            if (!Arrays.equals(t.shape(), e.getValue()))
                throw new LoriException(file + ": tensor " + name + " has shape " + Arrays.toString(t.shape())
                        + " but config.json implies " + Arrays.toString(e.getValue()));
            if (!t.dtype().isFloat())
                throw new LoriException(file + ": tensor " + name + " has dtype " + t.dtype() + " but weights must be F32, BF16, F16 or F64");
        }
    }

    /** Typed access to config.json fields with one-line errors. */
    private record Fields(JsonNode n, String source, String prefix) {
        Fields(JsonNode n, String source) { this(n, source, ""); }

        private JsonNode present(String key) {
            JsonNode v = n.get(key);
            return v == null || v.isNull() ? null : v;
        }

        private LoriException missing(String key) {
            return new LoriException(source + ": field '" + prefix + key + "' is missing");
        }

        private LoriException wrong(String key, JsonNode v, String what) {
            return new LoriException(source + ": field '" + prefix + key + "' must be " + what + ", got " + v);
        }

        String string(String key, String dflt) {
            JsonNode v = present(key);
            if (v == null) return dflt;
            if (!v.isTextual()) throw wrong(key, v, "a string");
            return v.asText();
        }

        int positiveInt(String key, Integer dflt) {
            JsonNode v = present(key);
            if (v == null) {
                if (dflt == null) throw missing(key);
                return dflt;
            }
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() <= 0) throw wrong(key, v, "a positive integer");
            return v.asInt();
        }

        Integer nullableInt(String key) {
            JsonNode v = present(key);
            if (v == null) return null;
            if (!v.isIntegralNumber() || !v.canConvertToInt()) throw wrong(key, v, "an integer");
            return v.asInt();
        }

        double positiveDouble(String key, Double dflt) {
            JsonNode v = present(key);
            if (v == null) {
                if (dflt == null) throw missing(key);
                return dflt;
            }
            if (!v.isNumber() || !(v.asDouble() > 0)) throw wrong(key, v, "a positive number");
            return v.asDouble();
        }

        boolean bool(String key, boolean dflt) {
            JsonNode v = present(key);
            if (v == null) return dflt;
            if (!v.isBoolean()) throw wrong(key, v, "true or false");
            return v.asBoolean();
        }

        List<Integer> intOrIntList(String key) {
            JsonNode v = present(key);
            if (v == null) return List.of();
            List<Integer> out = new ArrayList<>();
            if (v.isArray()) {
                for (JsonNode e : v) {
                    if (!e.isIntegralNumber() || !e.canConvertToInt()) throw wrong(key, v, "an integer or a list of integers");
                    out.add(e.asInt());
                }
            } else if (v.isIntegralNumber() && v.canConvertToInt()) {
                out.add(v.asInt());
            } else throw wrong(key, v, "an integer or a list of integers");
            return out;
        }
    }
}
