package org.lori4j.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.lori4j.TestPaths;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** PEFT's matching rules and the file format of adapter_config.json. */
class AdapterConfigTest {

    private static AdapterConfig parse(String json) {
        try {
            return AdapterConfig.fromJson(Json.MAPPER.readTree(json), "adapter_config.json");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void rankAndAlphaPatternsMatchTheEndOfTheModuleName() {
        AdapterConfig c = AdapterConfig.read(TestPaths.fixture("adapter").resolve("lora_b"));
        assertEquals(4, c.rankFor("model.layers.0.self_attn.v_proj"));
        assertEquals(2, c.rankFor("model.layers.1.self_attn.v_proj"));
        assertEquals(4, c.rankFor("model.layers.11.self_attn.v_proj"), "the key must match after a dot");
        assertEquals(4.0, c.alphaFor("model.layers.0.mlp.down_proj"));
        assertEquals(16.0, c.alphaFor("model.layers.0.self_attn.q_proj"));
        assertEquals(16.0 / Math.sqrt(4), c.scalingFor("model.layers.0.self_attn.q_proj"), 1e-15);
        assertEquals(4.0 / Math.sqrt(4), c.scalingFor("model.layers.1.mlp.down_proj"), 1e-15);
        assertEquals(16.0 / Math.sqrt(2), c.scalingFor("model.layers.1.self_attn.v_proj"), 1e-15);
        assertEquals(4, c.maxRank());
        assertEquals("q_proj", AdapterConfig.patternKey(List.of("q_proj"), "model.layers.0.self_attn.q_proj"));
        assertNull(AdapterConfig.patternKey(List.of("q_proj"), "model.layers.0.self_attn.xq_proj"));
        assertEquals("layers\\.\\d+\\.mlp.*", AdapterConfig.patternKey(List.of("k_proj", "layers\\.\\d+\\.mlp.*"), "model.layers.7.mlp.up_proj"));
    }

    @Test
    void targetModulesFollowPeft() {
        AdapterConfig list = AdapterConfig.of(4, 8, List.of("q_proj", "mlp.down_proj"), false, null);
        assertTrue(list.targets("model.layers.0.self_attn.q_proj"));
        assertTrue(list.targets("model.layers.3.mlp.down_proj"));
        assertFalse(list.targets("model.layers.3.self_attn.xq_proj"));
        assertFalse(list.targets("model.layers.3.mlp.up_proj"));
        AdapterConfig regex = AdapterConfig.read(TestPaths.fixture("adapter").resolve("lora_c"));
        assertTrue(regex.targets("model.layers.1.self_attn.k_proj"));
        assertFalse(regex.targets("model.layers.1.self_attn.v_proj"));
        assertFalse(regex.targets("x.model.layers.1.self_attn.k_proj"), "a regex must match the whole name");
        AdapterConfig layers = parse("{\"r\":4,\"target_modules\":[\"q_proj\"],\"layers_to_transform\":[1]}");
        assertFalse(layers.targets("model.layers.0.self_attn.q_proj"));
        assertTrue(layers.targets("model.layers.1.self_attn.q_proj"));
        AdapterConfig ex = parse("{\"r\":4,\"target_modules\":[\"q_proj\",\"v_proj\"],\"exclude_modules\":[\"layers.0.self_attn.v_proj\"]}");
        assertFalse(ex.targets("model.layers.0.self_attn.v_proj"));
        assertTrue(ex.targets("model.layers.1.self_attn.v_proj"));
    }

    @Test
    void writesExactlyThePeft012FieldsSorted() {
        AdapterConfig c = AdapterConfig.of(64, 128, List.of("q_proj", "v_proj"), true, "meta-llama/Meta-Llama-3-8B");
        ObjectNode j = c.toJson();
        List<String> keys = new ArrayList<>();
        j.fieldNames().forEachRemaining(keys::add);
        assertEquals(List.of("alpha_pattern", "auto_mapping", "base_model_name_or_path", "bias", "fan_in_fan_out",
                "inference_mode", "init_lora_weights", "layer_replication", "layers_pattern", "layers_to_transform",
                "loftq_config", "lora_alpha", "lora_dropout", "megatron_config", "megatron_core", "modules_to_save",
                "peft_type", "r", "rank_pattern", "revision", "target_modules", "task_type", "use_dora", "use_rslora"), keys);
        assertEquals(128, j.get("lora_alpha").asInt());
        assertTrue(j.get("lora_alpha").isIntegralNumber());
        assertEquals("LORA", j.get("peft_type").asText());
        assertTrue(j.get("use_rslora").asBoolean());
        // and it reads back to the same rules
        AdapterConfig back = AdapterConfig.fromJson(j, "x");
        assertEquals(c, back);
        // the fixture written by the Python reference has the same key set
        JsonNode ref = Json.read(TestPaths.fixture("adapter").resolve("lora_a/adapter_config.json"));
        List<String> refKeys = new ArrayList<>();
        ref.fieldNames().forEachRemaining(refKeys::add);
        assertEquals(refKeys, keys);
    }

    @Test
    void refusesWhatCannotBeApplied() {
        assertTrue(assertThrows(LoriException.class, () -> parse("{\"r\":4,\"target_modules\":[\"q_proj\"],\"use_dora\":true}"))
                .getMessage().contains("DoRA"));
        assertTrue(assertThrows(LoriException.class, () -> parse("{\"r\":4,\"target_modules\":[\"q_proj\"],\"bias\":\"all\"}"))
                .getMessage().contains("bias"));
        assertTrue(assertThrows(LoriException.class, () -> parse("{\"peft_type\":\"IA3\",\"target_modules\":[\"q_proj\"]}"))
                .getMessage().contains("IA3"));
        assertThrows(LoriException.class, () -> parse("{\"r\":0,\"target_modules\":[\"q_proj\"]}"));
        // PEFT's newer variants that change the forward are refused; their null/false defaults (PEFT 0.21 writes them all) are not
        assertEquals("adapter_config.json: alora_invocation_tokens is set: not supported", assertThrows(LoriException.class,
                () -> parse("{\"r\":4,\"target_modules\":[\"q_proj\"],\"alora_invocation_tokens\":[5, 6]}")).getMessage());
        assertTrue(assertThrows(LoriException.class, () -> parse("{\"r\":4,\"target_modules\":[\"q_proj\"],\"kasa_config\":{\"x\":1}}"))
                .getMessage().contains("kasa_config"));
        assertTrue(assertThrows(LoriException.class, () -> parse("{\"r\":4,\"target_modules\":[\"q_proj\"],\"use_qalora\":true}"))
                .getMessage().contains("QA-LoRA"));
        assertEquals(4, parse("{\"r\":4,\"target_modules\":[\"q_proj\"],\"alora_invocation_tokens\":null,\"use_bdlora\":null,"
                + "\"arrow_config\":null,\"kasa_config\":null,\"monteclora_config\":null,\"use_qalora\":false,\"velora_config\":null}").r());
        assertEquals(List.of("q_proj", "v_proj"), parse("{\"r\":4}").targetModules(), "PEFT's default for Llama");
        assertThrows(LoriException.class, () -> parse("{\"r\":4,\"target_modules\":\"(unclosed\"}"));
        assertThrows(LoriException.class, () -> parse("{\"r\":4,\"target_modules\":[\"q_proj\"],\"rank_pattern\":{\"q_proj\":-1}}"));
        // defaults as PEFT: r 8, alpha 8
        AdapterConfig d = parse("{\"target_modules\":[\"q_proj\"]}");
        assertEquals(8, d.r());
        assertEquals(1.0, d.scalingFor("model.layers.0.self_attn.q_proj"));
        assertEquals(Map.of(), d.rankPattern());
    }

    @Test
    void targetPatternsMatchInLinearTime() {
        // a pattern a backtracking engine needs minutes for: RE2/J answers at once
        String evil = "(".repeat(12) + "(.*)*" + ")*".repeat(12) + "x";
        AdapterConfig c = parse("{\"r\":4,\"target_modules\":" + Json.MAPPER.valueToTree(evil) + ",\"rank_pattern\":{\"(a+)+$\":2}}");
        long t0 = System.nanoTime();
        for (String name : LoraAdapter.llamaModuleNames(32)) {
            assertFalse(c.targets(name + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"));
            assertEquals(4, c.rankFor(name + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"));
        }
        assertTrue(System.nanoTime() - t0 < 5e9, (System.nanoTime() - t0) / 1e9 + " s");
        // Python syntax that RE2 has (named groups) works; back-references are a one-line error
        assertTrue(parse("{\"target_modules\":\".*\\\\.(?P<p>q|v)_proj\"}").targets("model.layers.0.self_attn.q_proj"));
        LoriException e = assertThrows(LoriException.class, () -> parse("{\"target_modules\":\"(?P<a>q)(?P=a)\"}"));
        assertFalse(e.getMessage().contains("\n"));
        // layer numbers beyond int in a module name are no layer (not an exception)
        AdapterConfig layers = parse("{\"target_modules\":[\"q_proj\"],\"layers_to_transform\":[0]}");
        assertFalse(layers.targets("model.layers.2147483648.self_attn.q_proj"));
        assertFalse(layers.targets("model.layers.00.self_attn.q_proj"));
        assertTrue(layers.targets("model.layers.0.self_attn.q_proj"));
    }
}
