package org.lori4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.adapter.Masks;
import org.lori4j.io.Json;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;
import static org.lori4j.cli.TrainCommandTest.f;

/** lori pipeline on the tiny train fixture: LoRI-D, a 90% mask, LoRI-S with ~5% of LoRA's parameters. */
class PipelineCommandTest {
    @Test
    void pipelineChainsTheThreeStagesAndSkipsFinishedOnes(@TempDir Path out) throws Exception {
        String[] args = {"pipeline", "--model", f("model"), "--data", f("data.jsonl"), "--out", out.toString(), "--rank", "4", "--alpha", "8",
                "--steps", "3", "--batch-size", "4", "--lr-d", "1e-2", "--lr-s", "1e-2", "--sparsity", "0.9"};
        TextCommandsTest.Result r = TextCommandsTest.lori(args);
        assertEquals(0, r.code(), r.err() + r.out());
        LoraAdapter d = LoraAdapter.load(out.resolve("lori-d")), s = LoraAdapter.load(out.resolve("lori-s"));
        Map<String, Masks.Mask> mask = Masks.read(out.resolve("lori-d/masks/0.9_mask.safetensors"));
        long kept = 0, b = 0, lora = 0;
        for (LoraAdapter.Module m : s.modules().values()) {
            assertArrayEquals(d.module(m.name()).a(), m.a(), 0f, "LoRI-S uses the LoRI-D adapter's A");
            boolean[] keep = mask.get(m.keyB()).keep();
            for (int i = 0; i < keep.length; i++) {
                if (keep[i]) kept++;
                else assertEquals(0f, m.b()[i], 0f);
            }
            b += m.b().length;
            lora += m.a().length + m.b().length;
        }
        assertEquals((int) (0.1 * b), kept);   // k = int((1 - 0.9) * n), no ties among trained values
        long trainable = Json.read(out.resolve("lori-s/training_args.json")).get("trainable_parameters").asLong();
        assertEquals(kept, trainable);
        assertEquals(0.05, (double) trainable / lora, 0.01, "about 5% of LoRA's parameters at sparsity 0.9");
        // a second run finds both stages finished and trains nothing
        byte[] before = Files.readAllBytes(out.resolve("lori-s/adapter_model.safetensors"));
        r = TextCommandsTest.lori(args);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("skipped"), r.out());
        assertArrayEquals(before, Files.readAllBytes(out.resolve("lori-s/adapter_model.safetensors")));
    }
}
