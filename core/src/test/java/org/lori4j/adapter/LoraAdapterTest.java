package org.lori4j.adapter;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.TestPaths;
import org.lori4j.io.Json;
import org.lori4j.io.LlamaConfig;
import org.lori4j.io.LoriException;
import org.lori4j.io.SafeTensors;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Reading, checking, creating and writing PEFT adapter folders. */
class LoraAdapterTest {
    private static final Path FIX = TestPaths.fixture("adapter");

    static LlamaConfig tinyConfig() { return LlamaConfig.load(FIX.resolve("tiny")); }

    @Test
    void loadsPatternsRsloraAndBf16() {
        LoraAdapter b = LoraAdapter.load(FIX.resolve("lora_b"));
        assertEquals(DType.BF16, b.dtype());
        assertEquals(6, b.modules().size());
        LoraAdapter.Module v1 = b.module("model.layers.1.self_attn.v_proj");
        assertEquals(2, v1.r());
        assertEquals(16 / Math.sqrt(2), v1.scaling(), 1e-12);
        assertEquals(4 / Math.sqrt(4), b.module("model.layers.0.mlp.down_proj").scaling(), 1e-12);
        assertEquals(List.of("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.0.mlp.down_proj",
                "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj", "model.layers.1.mlp.down_proj"),
                List.copyOf(b.modules().keySet()));
        b.checkAgainst(tinyConfig());
        LoraAdapter e = LoraAdapter.load(FIX.resolve("lora_embed"));
        assertEquals(65, e.embedTokens().dim(0));
        assertEquals(65, e.lmHead().dim(0));
        e.checkAgainst(tinyConfig());
    }

    @Test
    void saveThenLoadRoundTrips(@TempDir Path tmp) {
        LoraAdapter b = LoraAdapter.load(FIX.resolve("lora_b"));
        Path out = tmp.resolve("copy");
        b.save(out);
        LoraAdapter c = LoraAdapter.load(out);
        assertEquals(b.config(), c.config());
        assertEquals(DType.BF16, c.dtype());
        for (LoraAdapter.Module m : b.modules().values()) {
            assertArrayEquals(m.a(), c.module(m.name()).a());
            assertArrayEquals(m.b(), c.module(m.name()).b());
        }
        // saving again over an existing folder keeps other files there
        assertDoesNotThrow(() -> Files.writeString(out.resolve("keep.txt"), "x"));
        c.save(out);
        assertTrue(Files.exists(out.resolve("keep.txt")));
        try (var s = Files.list(tmp)) {
            assertEquals(1, s.count(), "no temporary folder is left behind");
        } catch (IOException ex) {
            throw new AssertionError(ex);
        }
    }

    @Test
    void createLoRIDrawsKaimingUniformAAndZeroB() {
        LlamaConfig c = tinyConfig();
        LoraAdapter a = LoraAdapter.createLoRI(c, 8, 16, List.of("q_proj", "down_proj"), 7, false);
        assertEquals(4, a.modules().size());
        for (LoraAdapter.Module m : a.modules().values()) {
            double bound = 1 / Math.sqrt(m.in()), sum = 0, sq = 0;
            for (float v : m.a()) { assertTrue(Math.abs(v) <= bound); sum += v; sq += v * v; }
            // U(-b, b): mean 0, variance b^2 / 3
            double mean = sum / m.a().length, var = sq / m.a().length;
            assertEquals(0, mean, 4 * bound / Math.sqrt(3 * m.a().length));
            assertEquals(bound * bound / 3, var, 0.25 * bound * bound / 3);
            for (float v : m.b()) assertEquals(0f, v);
            assertEquals(2.0, m.scaling());
        }
        LoraAdapter again = LoraAdapter.createLoRI(c, 8, 16, List.of("down_proj"), 7, false);
        String name = "model.layers.1.mlp.down_proj";
        assertArrayEquals(a.module(name).a(), again.module(name).a(), "values depend on seed and module name only");
        LoraAdapter other = LoraAdapter.createLoRI(c, 8, 16, List.of("down_proj"), 8, false);
        assertFalse(java.util.Arrays.equals(a.module(name).a(), other.module(name).a()));
        assertFalse(java.util.Arrays.equals(a.module(name).a(), a.module("model.layers.0.mlp.down_proj").a()));
        assertEquals(List.of("q_proj", "down_proj"), a.config().targetModules());
        assertThrows(LoriException.class, () -> LoraAdapter.createLoRI(c, 8, 16, List.of("qq_proj"), 7, false));
    }

    @Test
    void refusesShapesOfAnotherModelNamingTensorAndShapes() {
        LlamaConfig c = tinyConfig();
        ObjectNode j = c.toJson();
        j.put("intermediate_size", 48);
        LlamaConfig other = LlamaConfig.fromJson(j, "other");
        LoraAdapter a = LoraAdapter.load(FIX.resolve("lora_a"));
        LoriException e = assertThrows(LoriException.class, () -> a.checkAgainst(other));
        assertTrue(e.getMessage().contains("base_model.model.model.layers.0.mlp.gate_proj.lora_B.weight has shape [64, 4]"), e.getMessage());
        assertTrue(e.getMessage().contains("[48, 32]"), e.getMessage());
        ObjectNode j2 = c.toJson();
        j2.put("num_hidden_layers", 1);
        LoriException e2 = assertThrows(LoriException.class, () -> a.checkAgainst(LlamaConfig.fromJson(j2, "x")));
        assertTrue(e2.getMessage().contains("layers.1"), e2.getMessage());
    }

    /** Copies an adapter folder, lets the caller change it. */
    private static Path variant(Path tmp, String from, java.util.function.Consumer<Path> change) throws IOException {
        Path d = Files.createTempDirectory(tmp, from + "-variant");
        for (String f : List.of("adapter_config.json", "adapter_model.safetensors"))
            Files.copy(FIX.resolve(from).resolve(f), d.resolve(f));
        change.accept(d);
        return d;
    }

    private static void editConfig(Path d, java.util.function.Consumer<ObjectNode> edit) {
        ObjectNode j = (ObjectNode) Json.read(d.resolve("adapter_config.json"));
        edit.accept(j);
        Json.write(d.resolve("adapter_config.json"), j);
    }

    @Test
    void badAdaptersFailWithOneClearLine(@TempDir Path tmp) throws IOException {
        Path noWeights = variant(tmp, "lora_a", d -> d.resolve("adapter_model.safetensors").toFile().delete());
        assertTrue(assertThrows(LoriException.class, () -> LoraAdapter.load(noWeights)).getMessage().contains("no adapter_model.safetensors"));
        assertTrue(assertThrows(LoriException.class, () -> LoraAdapter.load(tmp.resolve("nope"))).getMessage().contains("not found"));

        // as PEFT: a target entry naming nothing is fine beside others that match; nothing matching at all is an error
        Path extraTarget = variant(tmp, "lora_r8", d -> editConfig(d, j -> j.putArray("target_modules").add("q_proj").add("v_proj").add("qkv_proj")));
        LoraAdapter.load(extraTarget).checkAgainst(tinyConfig());
        Path noTarget = variant(tmp, "lora_r8", d -> editConfig(d, j -> j.putArray("target_modules").add("qkv_proj")));
        LoriException e = assertThrows(LoriException.class, () -> LoraAdapter.load(noTarget));   // its weights are untargeted
        assertTrue(e.getMessage().contains("not matched by target_modules"), e.getMessage());
        AdapterConfig none = AdapterConfig.read(noTarget);
        LoraAdapter empty = LoraAdapter.load(FIX.resolve("lora_r8"));
        LoriException e0 = assertThrows(LoriException.class, () -> empty.with(none, empty.modules().values()).checkAgainst(tinyConfig()));
        assertTrue(e0.getMessage().contains("matches no module of the base model"), e0.getMessage());

        // init_lora_weights with which PEFT rewrites the base weights on loading; regex targets with layer filters
        for (String init : List.of("pissa", "pissa_niter_16", "olora", "corda", "loftq", "lora_ga")) {
            Path p = variant(tmp, "lora_r8", d -> editConfig(d, j -> j.put("init_lora_weights", init)));
            assertTrue(assertThrows(LoriException.class, () -> LoraAdapter.load(p)).getMessage().contains("rewrites the base weights"), init);
        }
        Path eva = variant(tmp, "lora_r8", d -> editConfig(d, j -> j.put("init_lora_weights", "eva")));
        // read; written back as true, which PEFT 0.12 (which has no "eva") accepts; the saved weights replace any init
        assertTrue(LoraAdapter.load(eva).config().toJson().get("init_lora_weights").asBoolean());
        Path regexLayers = variant(tmp, "lora_r8", d -> editConfig(d, j -> { j.put("target_modules", ".*proj"); j.putArray("layers_to_transform").add(0); }));
        assertTrue(assertThrows(LoriException.class, () -> LoraAdapter.load(regexLayers)).getMessage().contains("cannot be used"));

        Path dora = variant(tmp, "lora_c", d -> editConfig(d, j -> j.put("use_dora", true)));
        assertTrue(assertThrows(LoriException.class, () -> LoraAdapter.load(dora)).getMessage().contains("DoRA"));

        Path wrongRank = variant(tmp, "lora_r8", d -> editConfig(d, j -> j.put("r", 4)));
        assertTrue(assertThrows(LoriException.class, () -> LoraAdapter.load(wrongRank)).getMessage().contains("gives r = 4"));

        Path notTargeted = variant(tmp, "lora_r8", d -> editConfig(d, j -> j.putArray("target_modules").add("q_proj")));
        assertTrue(assertThrows(LoriException.class, () -> LoraAdapter.load(notTargeted)).getMessage().contains("not matched by target_modules"));
    }

    @Test
    void refusesModulesToSaveWeightsAndBiases(@TempDir Path tmp) throws IOException {
        Path mts = variant(tmp, "lora_embed", d -> editConfig(d, j -> j.putArray("modules_to_save").add("lm_head")));
        assertTrue(assertThrows(LoriException.class, () -> LoraAdapter.load(mts)).getMessage().contains("modules_to_save"));
        Path bias = tmp.resolve("bias");
        Files.createDirectories(bias);
        Files.copy(FIX.resolve("lora_r8/adapter_config.json"), bias.resolve("adapter_config.json"));
        Map<String, Tensor> t = new LinkedHashMap<>(LoraAdapter.load(FIX.resolve("lora_r8")).tensors());
        t.put("base_model.model.model.layers.0.self_attn.q_proj.bias", Tensor.of(new float[32], 32));
        SafeTensors.write(bias.resolve("adapter_model.safetensors"), t, Map.of());
        assertTrue(assertThrows(LoriException.class, () -> LoraAdapter.load(bias)).getMessage().contains("bias"));
    }

    @Test
    void allLinearKeysWithoutThePeftPrefixAndANullTaskTypeAreReadAsPeftAndTransformersDo(@TempDir Path tmp) throws IOException {
        LoraAdapter ref = LoraAdapter.load(FIX.resolve("lora_r8"));
        // PEFT's "all-linear" shorthand: the seven projections of a Llama-family model
        Path all = variant(tmp, "lora_r8", d -> editConfig(d, j -> j.put("target_modules", "ALL-LINEAR")));
        assertEquals(AdapterConfig.LLAMA_PROJECTIONS, LoraAdapter.load(all).config().targetModules());
        // keys without base_model.model. (transformers' load_adapter strips the prefix only when present)
        Path bare = tmp.resolve("bare");
        Files.createDirectories(bare);
        Files.copy(FIX.resolve("lora_r8/adapter_config.json"), bare.resolve("adapter_config.json"));
        Map<String, Tensor> t = new LinkedHashMap<>();
        ref.tensors().forEach((k, v) -> t.put(k.substring(LoraAdapter.PREFIX.length()), v));
        SafeTensors.write(bare.resolve("adapter_model.safetensors"), t, Map.of());
        LoraAdapter b = LoraAdapter.load(bare);
        assertEquals(ref.modules().keySet(), b.modules().keySet());
        for (LoraAdapter.Module m : ref.modules().values()) assertArrayEquals(m.b(), b.module(m.name()).b(), 0f);
        // task_type null (PEFT 0.21 writes it for a bare PeftModel) stays null when written back
        Path nullTask = variant(tmp, "lora_r8", d -> editConfig(d, j -> j.putNull("task_type")));
        assertTrue(LoraAdapter.load(nullTask).config().toJson().get("task_type").isNull());
        assertEquals("CAUSAL_LM", ref.config().toJson().get("task_type").asText());
    }

    @Test
    void excludeModulesIsWrittenAsTheListOfModulesPresent(@TempDir Path tmp) throws IOException {
        // PEFT 0.12 has no exclude_modules: the written config names the modules the adapter has instead, so PEFT
        // puts no LoRA layer on an excluded module
        LoraAdapter ref = LoraAdapter.load(FIX.resolve("lora_r8"));
        String first = ref.modules().keySet().iterator().next();
        Path ex = variant(tmp, "lora_r8", d -> editConfig(d, j -> j.putArray("exclude_modules").add(first)));
        assertThrows(LoriException.class, () -> LoraAdapter.load(ex));   // its weights include the excluded module
        List<LoraAdapter.Module> kept = ref.modules().values().stream().filter(m -> !m.name().equals(first)).toList();
        AdapterConfig withEx = AdapterConfig.read(ex);
        Path out = tmp.resolve("saved");
        ref.with(withEx, kept).save(out);
        var j = Json.read(out.resolve("adapter_config.json"));
        assertFalse(j.has("exclude_modules"));
        assertEquals(kept.size(), j.get("target_modules").size());
        assertEquals(kept.stream().map(LoraAdapter.Module::name).collect(java.util.stream.Collectors.toSet()),
                LoraAdapter.load(out).modules().keySet());
    }

    @Test
    void nonCanonicalOrHugeLayerNumbersInKeysAreOneLineErrors() {
        AdapterConfig c = AdapterConfig.of(2, 4, List.of("q_proj"), false, null);
        for (String layer : List.of("00", "2147483648", "99999999999999999999")) {
            String p = "base_model.model.model.layers." + layer + ".self_attn.q_proj.";
            java.util.Map<String, Tensor> t = new java.util.LinkedHashMap<>();
            t.put(p + "lora_A.weight", Tensor.zeros(org.lori4j.tensor.DType.F32, new long[]{2, 4}));
            t.put(p + "lora_B.weight", Tensor.zeros(org.lori4j.tensor.DType.F32, new long[]{4, 2}));
            org.lori4j.io.LoriException e = assertThrows(org.lori4j.io.LoriException.class,
                    () -> LoraAdapter.fromTensors(c, t, java.nio.file.Path.of("adapter_model.safetensors"), null));
            assertTrue(e.getMessage().contains("layer number '" + layer + "'"), e.getMessage());
        }
    }
}
