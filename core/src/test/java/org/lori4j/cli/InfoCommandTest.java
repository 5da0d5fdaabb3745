package org.lori4j.cli;

import org.lori4j.LoriCli;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.io.Json;
import org.lori4j.io.LlamaConfig;
import org.lori4j.io.SafeTensors;
import org.lori4j.model.ModelInfo;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class InfoCommandTest {
    @TempDir
    Path tmp;

    @Test
    void defaultModelIsTheEmbeddedStories260K() throws Exception {
        var r = LoriCli.run("info", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = Json.MAPPER.readTree(r.out());
        assertEquals(64, j.get("config").get("hidden_size").asInt());
        assertEquals(260_032, j.get("parameters").asLong());
        assertEquals(260_032, j.get("parameters_by_dtype").get("F32").asLong());
        assertEquals(260_032L * 4, j.get("memory").get("weights_bytes").asLong());
        // k and v, 5 layers, 512 positions, 4 kv heads x 8 dims, 4 bytes
        assertEquals(2L * 5 * 512 * 32 * 4, j.get("memory").get("kv_cache_bytes").asLong());
        assertEquals(Files.size(Path.of(j.get("model").asText()).resolve("model.safetensors")),
                j.get("files").get(0).get("bytes").asLong());
        assertTrue(j.get("tokenizer").asBoolean());
        var text = LoriCli.run("info");
        assertEquals(0, text.code());
        assertTrue(text.out().contains("heads        8 query, 4 key/value, head dim 8"), text.out());
        assertTrue(text.out().contains("parameters   260,032 in 47 tensors"), text.out());
        assertTrue(text.out().contains("rms eps      0.00001"), text.out());
    }

    /** A tiny Qwen2-style model in bf16 shards with a redundant tied lm_head. */
    @Test
    void reportsDtypesShardsAndStoredExtras() throws Exception {
        LlamaConfig c = LlamaConfig.fromJson(Json.MAPPER.readTree("""
                {"model_type":"qwen2","hidden_size":8,"intermediate_size":16,"num_hidden_layers":2,"num_attention_heads":2,
                 "num_key_value_heads":1,"vocab_size":10,"max_position_embeddings":100,"tie_word_embeddings":true,
                 "torch_dtype":"bfloat16"}"""), "config.json");
        Map<String, Tensor> t = new LinkedHashMap<>();
        c.expectedShapes().forEach((n, s) -> t.put(n, Tensor.zeros(n.endsWith("norm.weight") ? DType.F32 : DType.BF16, s)));
        t.put("lm_head.weight", Tensor.zeros(DType.BF16, 10, 8));
        Json.write(tmp.resolve("config.json"), c.toJson());
        List<String> files = SafeTensors.writeSharded(tmp, t, 400, Map.of());
        assertTrue(files.size() > 2, files.toString());
        ModelInfo info = ModelInfo.of(tmp);
        long norms = 8 * (2 * 2 + 1);
        assertEquals(c.parameterCount() + 80, info.storedParameters());
        assertEquals(norms, info.parametersByDtype().get(DType.F32));
        assertEquals(info.storedParameters() - norms, info.parametersByDtype().get(DType.BF16));
        assertEquals(norms * 4 + (info.storedParameters() - norms) * 2, info.weightBytes());
        assertEquals(2L * 2 * 100 * 4 * 4, info.kvCacheBytes());
        assertEquals(files.size() - 1, info.files().size());
        assertFalse(info.hasTokenizer());
        String text = info.toText();
        assertTrue(text.contains("architecture qwen2 (q/k/v bias)"), text);
        assertTrue(text.contains("(" + String.format("%,d", info.storedParameters()) + " stored)"), text);
    }

    @Test
    void badModelsExitWithOneLineErrors() throws Exception {
        var r = LoriCli.run("info", "--model", tmp.resolve("nope").toString());
        assertEquals(2, r.code());
        assertEquals("error: " + tmp.resolve("nope") + ": not found", r.err().strip());
        Files.writeString(tmp.resolve("config.json"), "{\"model_type\":\"gpt2\"}");
        r = LoriCli.run("info", "--model", tmp.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().strip().endsWith("model_type 'gpt2' is not supported (supported: llama, mistral, qwen2)"), r.err());
        assertEquals(1, r.err().strip().lines().count());
    }
}
