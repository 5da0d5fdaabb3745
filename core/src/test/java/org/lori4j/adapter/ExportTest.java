package org.lori4j.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.TestPaths;
import org.lori4j.io.Json;
import org.lori4j.io.LlamaConfig;
import org.lori4j.io.LoriException;
import org.lori4j.io.SafeTensors;
import org.lori4j.io.SafeTensorsFile;
import org.lori4j.io.TensorStore;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Merge-into-base checkpoints against merge_and_unload computed in torch (make_adapter_fixtures.py). */
class ExportTest {
    private static final Path FIX = TestPaths.fixture("adapter");

    private static List<LoraAdapter> ab() {
        return List.of(LoraAdapter.load(FIX.resolve("lora_a")), LoraAdapter.load(FIX.resolve("lora_b")));
    }

    /** Every adapted entry within tol (relative) of the fixture, and at most maxInexact of them not bit-equal. */
    private static void compare(Path exported, String expectedDir, DType dtype, double tol, double maxInexact) {
        try (TensorStore got = TensorStore.openModelDir(exported); TensorStore base = TensorStore.openModelDir(FIX.resolve("tiny"));
             SafeTensorsFile exp = SafeTensors.read(FIX.resolve(expectedDir).resolve("expected.safetensors"))) {
            assertEquals(base.names(), got.names());
            for (String name : base.names()) {
                Tensor g = got.get(name);
                assertEquals(dtype, g.dtype(), name);
                Tensor e = exp.get(name);
                if (e == null) { // not adapted: the base converted to dtype
                    Tensor b = base.get(name);
                    for (long i = 0; i < b.numel(); i++) assertEquals(Export.round(b.getFloat(i), dtype), g.getFloat(i), 0f, name);
                    continue;
                }
                assertArrayEquals(e.shape(), g.shape());
                long off = 0, inexact = 0;
                for (long i = 0; i < e.numel(); i++) {
                    float x = e.getFloat(i), y = g.getFloat(i);
                    if (Math.abs(x - y) > tol * (1e-3 + Math.abs(x))) off++;
                    if (x != y) inexact++;
                }
                assertEquals(0, off, name + ": entries off");
                assertTrue(inexact <= maxInexact * e.numel(), name + ": " + inexact + " of " + e.numel() + " entries not bit-equal");
            }
        }
    }

    @Test
    void f32ExportMatchesMergeAndUnload(@TempDir Path tmp) {
        Path out = tmp.resolve("merged");
        List<String> log = new ArrayList<>();
        Export.export(FIX.resolve("tiny"), ab(), new double[]{1.0, 0.5}, out, null, Export.parseSize("5GB"), log::add);
        assertTrue(Files.exists(out.resolve("model.safetensors")));
        compare(out, "export_f32", DType.F32, 1e-5, 1);
        LlamaConfig c = LlamaConfig.load(out);
        assertEquals(LlamaConfig.load(FIX.resolve("tiny")), c);
    }

    @Test
    void bf16ExportRoundsLikePeftInBf16AndShards(@TempDir Path tmp) {
        Path out = tmp.resolve("merged");
        Export.export(FIX.resolve("tiny"), ab(), new double[]{1.0, 0.5}, out, DType.BF16, 10_000, x -> { });
        // PEFT adds the f32 delta to the bf16 weight in f32 and rounds once; rounding the delta to bf16 first (as
        // safe_merge and PEFT < 0.12 do) leaves ~18% of these entries 1 ulp off. A 1-ulp difference is allowed only
        // where f32 summation order moves a sum across a bf16 rounding boundary: rare, so at most 0.1% of entries.
        compare(out, "export_bf16", DType.BF16, 1.0 / 128, 1e-3);
        JsonNode index = Json.read(out.resolve(SafeTensors.INDEX_FILE));
        assertTrue(index.get("weight_map").size() > 0);
        try (var s = Files.list(out)) {
            assertTrue(s.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors")).count() > 2);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        assertEquals("bfloat16", Json.read(out.resolve("config.json")).get("torch_dtype").asText());
    }

    @Test
    void transformersV5ConfigGetsItsDtypeFieldUpdatedToo(@TempDir Path tmp) {
        // saved by transformers 5 (config "dtype", rope_parameters) with a PEFT 0.21 adapter
        Path hf = TestPaths.fixture("hf");
        Path out = tmp.resolve("merged");
        Export.export(hf.resolve("llama3_v5"), List.of(LoraAdapter.load(hf.resolve("peft_b"))), new double[]{1.0}, out,
                DType.BF16, Export.parseSize("5GB"), x -> { });
        JsonNode c = Json.read(out.resolve("config.json"));
        assertEquals("bfloat16", c.get("dtype").asText());
        assertEquals("bfloat16", c.get("torch_dtype").asText());
        assertEquals(500000.0, c.get("rope_parameters").get("rope_theta").asDouble());
        assertEquals(DType.BF16, LlamaConfig.load(out).torchDtype());
    }

    @Test
    void sideFilesIncludingChatTemplateJinjaAndLicencesAreCopied(@TempDir Path tmp) throws IOException {
        Path model = tmp.resolve("model");
        Files.createDirectories(model);
        try (var s = Files.list(FIX.resolve("tiny"))) {
            for (Path p : s.toList()) Files.copy(p, model.resolve(p.getFileName()));
        }
        Files.writeString(model.resolve("chat_template.jinja"), "{% for m in messages %}{{ m.content }}{% endfor %}");
        Files.writeString(model.resolve("generation_config.json"), "{\"do_sample\": false}");
        Files.writeString(model.resolve("LICENSE"), "licence text\n");   // the base model's terms go with the merge
        Files.writeString(model.resolve("USE_POLICY.md"), "policy\n");
        Path out = tmp.resolve("merged");
        Export.export(model, ab(), new double[]{1.0, 0.5}, out, null, Export.parseSize("5GB"), x -> { });
        assertEquals(Files.readString(model.resolve("chat_template.jinja")), Files.readString(out.resolve("chat_template.jinja")));
        assertEquals("{\"do_sample\": false}", Files.readString(out.resolve("generation_config.json")));
        assertEquals("licence text\n", Files.readString(out.resolve("LICENSE")));
        assertEquals("policy\n", Files.readString(out.resolve("USE_POLICY.md")));
        assertFalse(Files.exists(out.resolve("NOTICE")));
    }

    @Test
    void embeddingsFromTheAdapterGrowTheVocabulary(@TempDir Path tmp) {
        Path out = tmp.resolve("merged");
        LoraAdapter e = LoraAdapter.load(FIX.resolve("lora_embed"));
        Export.export(FIX.resolve("tiny"), List.of(e), new double[]{1.0}, out, null, Export.parseSize("5GB"), x -> { });
        assertEquals(65, LlamaConfig.load(out).vocabSize());
        try (TensorStore got = TensorStore.openModelDir(out)) {
            Tensor emb = got.get("model.embed_tokens.weight");
            assertEquals(65, emb.dim(0));
            for (long i = 0; i < emb.numel(); i++) assertEquals(e.embedTokens().getFloat(i), emb.getFloat(i));
        }
    }

    @Test
    void anAdapterWithOnlyEmbedTokensForAnUntiedModelIsRefused(@TempDir Path tmp) {
        // 65 embedding rows against the base's 64-row lm_head: transformers would not load such a checkpoint
        LoraAdapter e = LoraAdapter.load(FIX.resolve("lora_embed"));
        LoraAdapter embedOnly = new LoraAdapter(e.config(), e.modules().values(), e.embedTokens(), null, e.dtype(), null);
        Path out = tmp.resolve("merged");
        LoriException x = assertThrows(LoriException.class, () ->
                Export.export(FIX.resolve("tiny"), List.of(embedOnly), new double[]{1.0}, out, null, Export.parseSize("5GB"), m -> { }));
        assertTrue(x.getMessage().contains("carries only embed_tokens (65 rows), but the base model's untied lm_head has 64"), x.getMessage());
        assertFalse(Files.exists(out));
    }

    @Test
    void shardSizesAsTransformersReadThem() {
        assertEquals(5_000_000_000L, Export.parseSize("5GB"));
        assertEquals(625_000_000L, Export.parseSize("5Gb"));   // a lowercase b: bits
        assertEquals(5L << 30, Export.parseSize("5GiB"));
        assertEquals(1234L, Export.parseSize("1234"));
    }

    @Test
    void badInputLeavesNoOutputFolder(@TempDir Path tmp) throws IOException {
        // an adapter for another shape
        Path other = tmp.resolve("other-model");
        Files.createDirectories(other);
        var j = (com.fasterxml.jackson.databind.node.ObjectNode) Json.read(FIX.resolve("tiny/config.json"));
        j.put("intermediate_size", 48);
        Json.write(other.resolve("config.json"), j);
        Path out = tmp.resolve("out");
        assertThrows(LoriException.class, () -> Export.export(other, ab(), new double[]{1, 1}, out, null, 1 << 30, x -> { }));
        assertFalse(Files.exists(out));
        // an existing, non-empty output folder is refused
        Files.createDirectories(out);
        Files.writeString(out.resolve("x"), "x");
        assertThrows(LoriException.class, () -> Export.export(FIX.resolve("tiny"), ab(), new double[]{1, 1}, out, null, 1 << 30, x -> { }));
        try (var s = Files.list(tmp)) {
            assertEquals(2, s.count(), "no temporary folder is left behind");
        }
    }

    @Test
    void sizesParseLikeTransformers() {
        assertEquals(5_000_000_000L, Export.parseSize("5GB"));
        assertEquals(5L << 30, Export.parseSize("5GiB"));
        assertEquals(500_000_000L, Export.parseSize("500MB"));
        assertEquals(1234, Export.parseSize("1234"));
        assertThrows(LoriException.class, () -> Export.parseSize("5 parsecs"));
    }
}
