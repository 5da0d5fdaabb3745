package org.lori4j.adapter;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.LoriCli;
import org.lori4j.io.EmbeddedModel;
import org.lori4j.io.Json;
import org.lori4j.io.LlamaConfig;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Adapter folders as PEFT's save_pretrained leaves them: base_model_name_or_path in adapter_config.json and a model card
 * README.md with PEFT's metadata header; a user's own README.md is never overwritten; a merge keeps the first adapter's
 * generation_config.json.
 */
class AdapterConventionsTest {
    static LoraAdapter fresh(long seed) {
        return LoraAdapter.createLoRI(LlamaConfig.load(EmbeddedModel.path()), 4, 8, AdapterConfig.LLAMA_PROJECTIONS, seed, false);
    }

    @Test
    void aSavedAdapterNamesItsBaseModelAndCarriesAModelCard(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("a");
        LoraAdapter a = fresh(1).withBaseModel("karpathy/stories260K");
        a.save(dir);
        assertEquals("karpathy/stories260K", Json.read(dir.resolve("adapter_config.json")).get("base_model_name_or_path").asText());
        String card = Files.readString(dir.resolve("README.md"));
        assertTrue(card.startsWith("---\nbase_model: karpathy/stories260K\nlibrary_name: peft\n"), card);
        assertTrue(card.contains("- rank 4, alpha 8 (scaling 2), 35 modules"), card);
        assertTrue(card.contains("- B: 0 of "), card);   // a fresh adapter's B is 0
        assertEquals("karpathy/stories260K", LoraAdapter.load(dir).config().baseModelNameOrPath());

        // saved again with a nonzero B: lori4j's card follows the adapter
        LoraAdapter.Module m = a.modules().values().iterator().next();
        m.b()[0] = 1f;
        a.save(dir);
        assertTrue(Files.readString(dir.resolve("README.md")).contains("- B: 1 of "), Files.readString(dir.resolve("README.md")));

        // a README.md the user wrote stays
        Files.writeString(dir.resolve("README.md"), "my notes\n");
        a.save(dir);
        assertEquals("my notes\n", Files.readString(dir.resolve("README.md")));
    }

    @Test
    void aMergeKeepsTheFirstAdaptersGenerationConfig(@TempDir Path tmp) throws Exception {
        Path a = tmp.resolve("a"), b = tmp.resolve("b"), out = tmp.resolve("ab");
        fresh(1).save(a);
        fresh(2).save(b);
        LoraAdapter.writeGenerationConfig(a, 1, 1);
        LoriCli.Result r = LoriCli.run("merge", "--adapter", a + ":1", "--adapter", b + ":1", "--method", "cat", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(1, Json.read(out.resolve("generation_config.json")).get("eos_token_id").asInt());
        assertTrue(Files.isRegularFile(out.resolve("README.md")));
    }
}
