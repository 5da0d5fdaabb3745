package org.lori4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class LlamaConfigTest {
    @TempDir
    Path tmp;

    private static JsonNode json(String s) throws Exception { return Json.MAPPER.readTree(s); }

    /** Llama 3.2 1B's published config.json (values as on the HF hub). */
    private static final String LLAMA32_1B = """
            {"architectures":["LlamaForCausalLM"],"attention_bias":false,"attention_dropout":0.0,"bos_token_id":128000,
             "eos_token_id":[128001,128008,128009],"head_dim":64,"hidden_act":"silu","hidden_size":2048,
             "initializer_range":0.02,"intermediate_size":8192,"max_position_embeddings":131072,"mlp_bias":false,
             "model_type":"llama","num_attention_heads":32,"num_hidden_layers":16,"num_key_value_heads":8,
             "pretraining_tp":1,"rms_norm_eps":1e-05,
             "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,
               "original_max_position_embeddings":8192,"rope_type":"llama3"},
             "rope_theta":500000.0,"tie_word_embeddings":true,"torch_dtype":"bfloat16","transformers_version":"4.45.0.dev0",
             "use_cache":true,"vocab_size":128256}""";

    @Test
    void parsesLlama32WithLlama3RopeScalingAndCountsItsParameters() throws Exception {
        LlamaConfig c = LlamaConfig.fromJson(json(LLAMA32_1B), "config.json");
        assertEquals("llama", c.modelType());
        assertEquals(2048, c.hiddenSize());
        assertEquals(8, c.numKvHeads());
        assertEquals(64, c.headDim());
        assertEquals(new LlamaConfig.RopeScaling("llama3", 32, 1, 4, 8192), c.ropeScaling());
        assertEquals(List.of(128001, 128008, 128009), c.eosTokenIds());
        assertEquals(128000, c.bosTokenId());
        assertEquals(DType.BF16, c.torchDtype());
        assertTrue(c.tieWordEmbeddings());
        assertFalse(c.attentionBias());
        assertEquals(500000.0, c.ropeTheta());
        // Llama 3.2 1B has 1,235,814,400 parameters (embedding counted once):
        // 128256*2048 + 16*(2048*2048*2 + 512*2048*2 + 3*2048*8192 + 2*2048) + 2048
        assertEquals(1_235_814_400L, c.parameterCount());
        assertFalse(c.expectedTensorNames().contains("lm_head.weight"));
    }

    @Test
    void defaultsFollowHuggingFace() throws Exception {
        LlamaConfig c = LlamaConfig.fromJson(json("""
                {"model_type":"llama","hidden_size":64,"intermediate_size":172,"num_hidden_layers":5,
                 "num_attention_heads":8,"vocab_size":512,"eos_token_id":2}"""), "config.json");
        assertEquals(8, c.numKvHeads());
        assertEquals(8, c.headDim());
        assertEquals(10000.0, c.ropeTheta());
        assertEquals(1e-6, c.rmsNormEps());
        assertEquals(2048, c.maxPositionEmbeddings());
        assertFalse(c.tieWordEmbeddings());
        assertEquals(1, c.bosTokenId());   // LlamaConfig's default bos_token_id
        assertEquals(List.of(2), c.eosTokenIds());
        assertEquals(DType.F32, c.torchDtype());
        assertNull(c.ropeScaling());
        assertTrue(c.expectedTensorNames().contains("lm_head.weight"));
    }

    @Test
    void qwen2HasQkvBiasAndLlamaHonoursAttentionBias() throws Exception {
        String base = "\"hidden_size\":64,\"intermediate_size\":128,\"num_hidden_layers\":1,\"num_attention_heads\":4,"
                + "\"num_key_value_heads\":2,\"vocab_size\":10";
        LlamaConfig q = LlamaConfig.fromJson(json("{\"model_type\":\"qwen2\"," + base + "}"), "config.json");
        assertTrue(q.attentionBias());
        Map<String, long[]> s = q.expectedShapes();
        assertArrayEquals(new long[]{32}, s.get("model.layers.0.self_attn.k_proj.bias"));
        assertFalse(s.containsKey("model.layers.0.self_attn.o_proj.bias"));
        LlamaConfig l = LlamaConfig.fromJson(json("{\"model_type\":\"llama\",\"attention_bias\":true," + base + "}"), "config.json");
        assertTrue(l.expectedShapes().containsKey("model.layers.0.self_attn.o_proj.bias"));
        LlamaConfig m = LlamaConfig.fromJson(json("{\"model_type\":\"mistral\"," + base + "}"), "config.json");
        assertFalse(m.attentionBias());
        assertEquals(131072, m.maxPositionEmbeddings());
    }

    @Test
    void slidingWindowsFollowHuggingFaceDefaultsAndRoundTrip() throws Exception {
        String base = "\"hidden_size\":64,\"intermediate_size\":128,\"num_hidden_layers\":30,\"num_attention_heads\":4,"
                + "\"num_key_value_heads\":2,\"vocab_size\":10";
        // Mistral: 4096 when absent (MistralConfig's default), none when null, every layer
        LlamaConfig m = LlamaConfig.fromJson(json("{\"model_type\":\"mistral\"," + base + "}"), "config.json");
        assertEquals(4096, m.window(0));
        assertEquals(0, LlamaConfig.fromJson(json("{\"model_type\":\"mistral\",\"sliding_window\":null," + base + "}"),
                "config.json").window(0));
        // Qwen2: only with use_sliding_window, from max_window_layers (default 28) on
        assertEquals(0, LlamaConfig.fromJson(json("{\"model_type\":\"qwen2\",\"sliding_window\":64," + base + "}"),
                "config.json").window(29));
        LlamaConfig q = LlamaConfig.fromJson(json("{\"model_type\":\"qwen2\",\"use_sliding_window\":true," + base + "}"), "config.json");
        assertEquals(0, q.window(27));
        assertEquals(4096, q.window(28));
        // Llama has none; a negative window is refused
        assertEquals(0, LlamaConfig.fromJson(json("{\"model_type\":\"llama\",\"sliding_window\":8," + base + "}"), "config.json").window(0));
        assertEquals("config.json: field 'sliding_window' must be a positive integer or null, got -1",
                assertThrows(LoriException.class, () -> LlamaConfig.fromJson(
                        json("{\"model_type\":\"mistral\",\"sliding_window\":-1," + base + "}"), "config.json")).getMessage());
        // what toJson writes reads back the same
        for (LlamaConfig c : List.of(m, q))
            assertEquals(c, LlamaConfig.fromJson(c.toJson(), "written"));
    }

    @Test
    void transformersV5RopeParametersAndLayerTypes() throws Exception {
        String base = "\"hidden_size\":64,\"intermediate_size\":128,\"num_hidden_layers\":4,\"num_attention_heads\":4,"
                + "\"num_key_value_heads\":2,\"vocab_size\":10";
        // rope_parameters carries theta and the scaling; its theta wins over the top-level field, as in transformers 5
        LlamaConfig c = LlamaConfig.fromJson(json("{\"model_type\":\"llama\",\"rope_theta\":1.0," + base
                + ",\"rope_parameters\":{\"rope_type\":\"llama3\",\"rope_theta\":500000.0,\"factor\":32.0,"
                + "\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,\"original_max_position_embeddings\":8192}}"), "config.json");
        assertEquals(500000.0, c.ropeTheta());
        assertEquals(new LlamaConfig.RopeScaling("llama3", 32, 1, 4, 8192), c.ropeScaling());
        LlamaConfig d = LlamaConfig.fromJson(json("{\"model_type\":\"llama\"," + base
                + ",\"rope_parameters\":{\"rope_type\":\"default\"}}"), "config.json");
        assertEquals(10000.0, d.ropeTheta());
        assertNull(d.ropeScaling());
        assertEquals("config.json: rope_parameters type 'yarn' is not supported (supported: llama3, linear)",
                assertThrows(LoriException.class, () -> LlamaConfig.fromJson(json("{\"model_type\":\"llama\"," + base
                        + ",\"rope_parameters\":{\"rope_type\":\"yarn\",\"factor\":4.0}}"), "config.json")).getMessage());
        assertEquals("config.json: field 'rope_parameters' must be an object with rope_type (per-layer-type RoPE parameters are not supported)",
                assertThrows(LoriException.class, () -> LlamaConfig.fromJson(json("{\"model_type\":\"llama\"," + base
                        + ",\"rope_parameters\":{\"full_attention\":{\"rope_type\":\"default\"}}}"), "config.json")).getMessage());
        // layer_types decides which layers slide (a suffix of them); without a window it changes nothing
        String qwen = "{\"model_type\":\"qwen2\",\"use_sliding_window\":true,\"sliding_window\":8,\"max_window_layers\":3," + base;
        LlamaConfig q = LlamaConfig.fromJson(json(qwen + ",\"layer_types\":[\"full_attention\",\"sliding_attention\","
                + "\"sliding_attention\",\"sliding_attention\"]}"), "config.json");
        assertEquals(List.of(0, 8, 8, 8), List.of(q.window(0), q.window(1), q.window(2), q.window(3)));
        assertEquals(q, LlamaConfig.fromJson(q.toJson(), "written"));
        assertEquals(0, LlamaConfig.fromJson(json("{\"model_type\":\"qwen2\"," + base + ",\"layer_types\":[\"full_attention\","
                + "\"sliding_attention\",\"sliding_attention\",\"sliding_attention\"]}"), "config.json").window(3));
        assertEquals("config.json: layer_types has full_attention at layer 1 after sliding_attention at layer 0; only sliding"
                        + " windows on the last layers are supported",
                assertThrows(LoriException.class, () -> LlamaConfig.fromJson(json(qwen + ",\"layer_types\":[\"sliding_attention\","
                        + "\"full_attention\",\"sliding_attention\",\"full_attention\"]}"), "config.json")).getMessage());
        assertEquals("config.json: field 'layer_types' must be a list of 4 entries",
                assertThrows(LoriException.class, () -> LlamaConfig.fromJson(json(qwen + ",\"layer_types\":[]}"), "config.json")).getMessage());
    }

    @Test
    void configDefaultsAndPrecedencesAsTransformers5() throws Exception {
        String base = "\"hidden_size\":64,\"intermediate_size\":128,\"num_hidden_layers\":4,\"num_attention_heads\":32,"
                + "\"vocab_size\":10";
        // num_key_value_heads absent: MistralConfig 8, Qwen2Config 32, LlamaConfig the query heads; null: the query heads
        assertEquals(8, LlamaConfig.fromJson(json("{\"model_type\":\"mistral\"," + base + "}"), "c").numKvHeads());
        assertEquals(32, LlamaConfig.fromJson(json("{\"model_type\":\"qwen2\"," + base + "}"), "c").numKvHeads());
        assertEquals(32, LlamaConfig.fromJson(json("{\"model_type\":\"mistral\",\"num_key_value_heads\":null," + base + "}"), "c").numKvHeads());
        // bos/eos absent: 1 and 2 for Llama and Mistral, none for Qwen2
        LlamaConfig m = LlamaConfig.fromJson(json("{\"model_type\":\"mistral\"," + base + "}"), "c");
        assertEquals(1, m.bosTokenId());
        assertEquals(List.of(2), m.eosTokenIds());
        LlamaConfig q = LlamaConfig.fromJson(json("{\"model_type\":\"qwen2\"," + base + "}"), "c");
        assertNull(q.bosTokenId());
        assertEquals(List.of(), q.eosTokenIds());
        // a non-empty rope_scaling wins over rope_parameters; rope_theta from the chosen object, else the top level
        LlamaConfig r = LlamaConfig.fromJson(json("{\"model_type\":\"llama\",\"rope_theta\":500000.0," + base
                + ",\"rope_scaling\":{\"rope_type\":\"linear\",\"factor\":4.0},\"rope_parameters\":{\"rope_type\":\"default\"}}"), "c");
        assertEquals(new LlamaConfig.RopeScaling("linear", 4, 0, 0, 0), r.ropeScaling());
        assertEquals(500000.0, r.ropeTheta());
        assertEquals(500000.0, LlamaConfig.fromJson(json("{\"model_type\":\"llama\",\"rope_theta\":500000.0," + base
                + ",\"rope_parameters\":{\"rope_type\":\"default\"}}"), "c").ropeTheta());
        // llama3 without original_max_position_embeddings: max_position_embeddings
        assertEquals(new LlamaConfig.RopeScaling("llama3", 8, 1, 4, 4096), LlamaConfig.fromJson(json("{\"model_type\":\"llama\","
                + "\"max_position_embeddings\":4096," + base + ",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8.0,"
                + "\"low_freq_factor\":1.0,\"high_freq_factor\":4.0}}"), "c").ropeScaling());
        // Mistral: transformers ignores attention_bias, mlp_bias and layer_types (one window on every layer)
        LlamaConfig mb = LlamaConfig.fromJson(json("{\"model_type\":\"mistral\",\"attention_bias\":true,\"mlp_bias\":true,"
                + "\"sliding_window\":16,\"layer_types\":[\"full_attention\",\"full_attention\",\"sliding_attention\","
                + "\"sliding_attention\"]," + base + "}"), "c");
        assertFalse(mb.attentionBias());
        assertEquals(List.of(16, 16, 16, 16), List.of(mb.window(0), mb.window(1), mb.window(2), mb.window(3)));
    }

    @Test
    void linearScalingAcceptsOldTypeKeyOthersAreRefused() throws Exception {
        String base = "\"model_type\":\"llama\",\"hidden_size\":64,\"intermediate_size\":128,\"num_hidden_layers\":1,"
                + "\"num_attention_heads\":4,\"vocab_size\":10,";
        LlamaConfig c = LlamaConfig.fromJson(json("{" + base + "\"rope_scaling\":{\"type\":\"linear\",\"factor\":2.0}}"), "config.json");
        assertEquals(new LlamaConfig.RopeScaling("linear", 2, 0, 0, 0), c.ropeScaling());
        LoriException e = assertThrows(LoriException.class, () -> LlamaConfig.fromJson(
                json("{" + base + "\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4.0}}"), "config.json"));
        assertEquals("config.json: rope_scaling type 'yarn' is not supported (supported: llama3, linear)", e.getMessage());
        e = assertThrows(LoriException.class, () -> LlamaConfig.fromJson(
                json("{" + base + "\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":4.0}}"), "config.json"));
        assertEquals("config.json: field 'rope_scaling.low_freq_factor' is missing", e.getMessage());
    }

    @Test
    void missingAndWrongTypedFieldsAndUnknownArchitecturesAreOneLineErrors() throws Exception {
        ObjectNode n = (ObjectNode) json(LLAMA32_1B);
        n.remove("hidden_size");
        assertEquals("config.json: field 'hidden_size' is missing",
                assertThrows(LoriException.class, () -> LlamaConfig.fromJson(n, "config.json")).getMessage());
        n.put("hidden_size", "2048");
        assertEquals("config.json: field 'hidden_size' must be a positive integer, got \"2048\"",
                assertThrows(LoriException.class, () -> LlamaConfig.fromJson(n, "config.json")).getMessage());
        n.put("hidden_size", 2048);
        n.put("model_type", "gpt2");
        assertEquals("config.json: model_type 'gpt2' is not supported (supported: llama, mistral, qwen2)",
                assertThrows(LoriException.class, () -> LlamaConfig.fromJson(n, "config.json")).getMessage());
        n.put("model_type", "llama");
        n.put("num_key_value_heads", 5);
        assertTrue(assertThrows(LoriException.class, () -> LlamaConfig.fromJson(n, "config.json")).getMessage()
                .contains("num_attention_heads 32 is not a multiple of num_key_value_heads 5"));
        n.put("num_key_value_heads", 8);
        n.put("mlp_bias", true);
        assertTrue(assertThrows(LoriException.class, () -> LlamaConfig.fromJson(n, "config.json")).getMessage()
                .startsWith("config.json: mlp_bias true is not supported"));
        n.put("mlp_bias", false);
        n.put("eos_token_id", "x");
        assertTrue(assertThrows(LoriException.class, () -> LlamaConfig.fromJson(n, "config.json")).getMessage()
                .startsWith("config.json: field 'eos_token_id' must be an integer or a list of integers"));
    }

    @Test
    void loadNamesTheFileAndToJsonRoundTrips() throws Exception {
        LoriException e = assertThrows(LoriException.class, () -> LlamaConfig.load(tmp));
        assertEquals(tmp.resolve("config.json") + ": file not found", e.getMessage());
        LlamaConfig c = LlamaConfig.fromJson(json(LLAMA32_1B), "config.json");
        Json.write(tmp.resolve("config.json"), c.toJson());
        assertEquals(c, LlamaConfig.load(tmp));
        JsonNode j = c.toJson();
        assertEquals("LlamaForCausalLM", j.get("architectures").get(0).asText());
        assertEquals("bfloat16", j.get("torch_dtype").asText());
        assertEquals("llama3", j.get("rope_scaling").get("rope_type").asText());
        assertEquals(3, j.get("eos_token_id").size());
    }

    @Test
    void checkShapesNamesTheFileTensorAndBothShapes() throws Exception {
        LlamaConfig c = LlamaConfig.fromJson(json("""
                {"model_type":"llama","hidden_size":8,"intermediate_size":12,"num_hidden_layers":1,
                 "num_attention_heads":2,"num_key_value_heads":1,"vocab_size":5,"tie_word_embeddings":true}"""), "config.json");
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (var e : c.expectedShapes().entrySet()) t.put(e.getKey(), Tensor.zeros(DType.F32, e.getValue()));
        assertArrayEquals(new long[]{4, 8}, c.expectedShapes().get("model.layers.0.self_attn.k_proj.weight"));
        SafeTensors.write(tmp.resolve("model.safetensors"), t, Map.of());
        try (TensorStore s = TensorStore.openModelDir(tmp)) {
            c.checkShapes(s);
        }
        t.put("model.layers.0.self_attn.q_proj.weight", Tensor.zeros(DType.F32, 4, 8));
        SafeTensors.write(tmp.resolve("model.safetensors"), t, Map.of());
        try (TensorStore s = TensorStore.openModelDir(tmp)) {
            LoriException e = assertThrows(LoriException.class, () -> c.checkShapes(s));
            assertEquals(tmp.resolve("model.safetensors") + ": tensor model.layers.0.self_attn.q_proj.weight has shape [4, 8]"
                    + " but config.json implies [8, 8]", e.getMessage());
        }
        t.put("model.layers.0.self_attn.q_proj.weight", Tensor.zeros(DType.F32, 8, 8));
        t.remove("model.norm.weight");
        Files.delete(tmp.resolve("model.safetensors"));
        SafeTensors.write(tmp.resolve("model.safetensors"), t, Map.of());
        try (TensorStore s = TensorStore.openModelDir(tmp)) {
            LoriException e = assertThrows(LoriException.class, () -> c.checkShapes(s));
            assertEquals(tmp + ": tensor model.norm.weight is missing (config.json implies shape [8])", e.getMessage());
        }
    }

    @Test
    void implausibleSizesAreRefusedBeforeAnythingIsSized() throws Exception {
        for (String[] f : new String[][]{{"num_hidden_layers", "1000000000"}, {"head_dim", "1000000000"}, {"vocab_size", "2000000000"},
                {"hidden_size", "1073741824"}, {"intermediate_size", "2147483647"}, {"num_attention_heads", "2048"},
                {"max_position_embeddings", "2147483647"}}) {
            String json = LLAMA32_1B.replaceFirst("\"" + f[0] + "\":[0-9]+", "\"" + f[0] + "\":" + f[1]);
            if (f[0].equals("num_attention_heads")) json = json.replace("\"num_key_value_heads\":8", "\"num_key_value_heads\":2048");
            long t0 = System.nanoTime();
            String jsonF = json;
            LoriException e = assertThrows(LoriException.class, () -> LlamaConfig.fromJson(json(jsonF), "config.json"), f[0]);
            assertTrue(e.getMessage().contains("'" + f[0] + "'") && e.getMessage().contains("implausibly large"), e.getMessage());
            assertTrue(System.nanoTime() - t0 < 1e9);
        }
        LoriException e = assertThrows(LoriException.class, () -> LlamaConfig.fromJson(json(LLAMA32_1B.replace("\"num_hidden_layers\":16",
                "\"num_hidden_layers\":1e9")), "config.json"));
        assertTrue(e.getMessage().contains("must be a positive integer"), e.getMessage());
    }
}
