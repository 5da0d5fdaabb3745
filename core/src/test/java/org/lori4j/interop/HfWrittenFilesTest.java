package org.lori4j.interop;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lori4j.TestPaths;
import org.lori4j.adapter.ActiveAdapters;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.io.LlamaConfig;
import org.lori4j.io.SafeTensors;
import org.lori4j.io.SafeTensorsFile;
import org.lori4j.model.LlamaModel;
import org.lori4j.tensor.Tensor;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.io.Json;
import org.lori4j.text.ChatTemplate;
import org.lori4j.text.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.lori4j.model.LlamaModelTest.assertClose;

/**
 * "The other way round": files written by the real libraries load in lori4j and compute what those libraries
 * compute. Models saved by transformers 5.17's save_pretrained (its config.json: rope_parameters instead of
 * rope_theta/rope_scaling, dtype, layer_types; its safetensors writer and sharding) and LoRA adapters saved by
 * PEFT 0.21 (its adapter_config.json with every newer field), with the logits transformers/PEFT computed
 * (src/test/python/hf_crosscheck/make_hf_fixtures.py; versions in fixtures/hf/versions.json).
 */
class HfWrittenFilesTest {
    private static final Path FIX = TestPaths.fixture("hf");

    private static int[] ints(Tensor t) {
        int[] v = new int[(int) t.numel()];
        for (int i = 0; i < v.length; i++) v[i] = (int) t.getLong(i);
        return v;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama3_v5", "llama_bf16_tied", "qwen2_window", "mistral_window"})
    void transformersSavedModelsGiveTransformersLogits(String name) {
        Path dir = FIX.resolve(name);
        try (SafeTensorsFile exp = SafeTensors.read(dir.resolve("expected.safetensors"));
             LlamaModel model = LlamaModel.load(dir)) {
            assertClose(exp.get("logits").toFloatArray(), model.logits(ints(exp.get("tokens"))), 1e-4, name);
        }
    }

    @Test
    void transformersV5RopeParametersAreRead() {
        LlamaConfig c = LlamaConfig.load(FIX.resolve("llama3_v5"));
        assertEquals(500000.0, c.ropeTheta());
        assertEquals(new LlamaConfig.RopeScaling("llama3", 8, 1, 4, 64), c.ropeScaling());
        LlamaConfig q = LlamaConfig.load(FIX.resolve("qwen2_window"));
        assertEquals(10000.0, q.ropeTheta());
        assertNull(q.ropeScaling());
        // lori info lists the five shards in order
        var info = org.lori4j.model.ModelInfo.of(FIX.resolve("llama3_v5"));
        assertEquals(List.of("model-00001-of-00005.safetensors", "model-00002-of-00005.safetensors", "model-00003-of-00005.safetensors",
                "model-00004-of-00005.safetensors", "model-00005-of-00005.safetensors"),
                info.files().stream().map(org.lori4j.model.ModelInfo.FileSize::name).toList());
    }

    @Test
    void peftSavedAdaptersGivePeftLogits() {
        try (SafeTensorsFile ref = SafeTensors.read(FIX.resolve("adapter_logits.safetensors"));
             LlamaModel model = LlamaModel.load(FIX.resolve("llama3_v5"))) {
            int[] tokens = ints(ref.get("tokens"));
            assertClose(ref.get("base").toFloatArray(), model.logits(tokens), 1e-4, "base");
            ActiveAdapters active = new ActiveAdapters(model, ActiveAdapters.Mode.AUTO);
            for (String name : new String[]{"peft_a", "peft_b", "peft_cat"}) {
                ActiveAdapters.Handle h = active.add(LoraAdapter.load(FIX.resolve(name)), 1.0);
                assertClose(ref.get(name).toFloatArray(), model.logits(tokens), 1e-4, name);
                active.remove(h);
            }
            active.add(LoraAdapter.load(FIX.resolve("peft_a")), 1.0);
            active.add(LoraAdapter.load(FIX.resolve("peft_b")), 0.5);
            assertClose(ref.get("multi").toFloatArray(), model.logits(tokens), 1e-4, "peft_a + 0.5 peft_b");
        }
    }

    @Test
    void transformersV5SavedTokenizerFolderGivesTransformersIdsAndChatPrompt(@TempDir Path tmp) throws IOException {
        // transformers 5 saves the template as chat_template.jinja and a new-style tokenizer_config.json
        // ("backend", "TokenizersBackend", no chat_template); its tokenizer.json is the shared one, re-serialised
        Path v5 = FIX.resolve("llama3_tokenizer_v5");
        for (String f : List.of("tokenizer_config.json", "chat_template.jinja")) Files.copy(v5.resolve(f), tmp.resolve(f));
        Files.copy(TestPaths.realdata("llama3-tokenizer/tokenizer.json"), tmp.resolve("tokenizer.json"));
        JsonNode exp = Json.read(v5.resolve("expected.json"));
        try (Tokenizer tok = Tokenizer.load(tmp)) {
            for (int i = 0; i < exp.get("texts").size(); i++) {
                String text = exp.get("texts").get(i).asText();
                assertArrayEquals(ints(exp.get("ids_special").get(i)), tok.encode(text, true), text);
                assertArrayEquals(ints(exp.get("ids_plain").get(i)), tok.encode(text, false), text);
            }
        }
        List<ChatTemplate.Message> msgs = new ArrayList<>();
        for (JsonNode m : exp.get("messages")) msgs.add(new ChatTemplate.Message(m.get("role").asText(), m.get("content").asText()));
        assertEquals(exp.get("chat").asText(), ChatTemplate.load(tmp).orElseThrow().render(msgs, true));
    }

    private static int[] ints(JsonNode a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) v[i] = a.get(i).asInt();
        return v;
    }
}
