package org.lori4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.TestPaths;
import org.lori4j.io.Json;
import org.lori4j.io.SafeTensors;
import org.lori4j.io.SafeTensorsFile;
import org.lori4j.model.LlamaModel;
import org.lori4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;
import static org.lori4j.train.TrainFixture.*;

/**
 * The trainer against LoRI's step semantics as implemented in torch by src/test/python/make_train_fixtures.py
 * (LoRI-D, LoRI-S with a mask and reference accumulation, LoRA, continual LoRI-S), on the library API;
 * the CLI path is checked the same way in TrainCommandTest.
 */
class TrainerReferenceTest {
    static LlamaModel base;

    @BeforeAll static void open() { base = LlamaModel.load(FIX.resolve("model")); }
    @AfterAll static void close() { base.close(); }

    @Test
    void loriDMatchesTorchReference(@TempDir Path out) throws IOException {
        TrainModel m = model(base, "init", TrainConfig.Method.LORI_D, null);
        Map<String, float[]> init = tensors(FIX.resolve("init/adapter_model.safetensors"));
        Trainer t = new Trainer(m, data("data.jsonl"), config(TrainConfig.Method.LORI_D, 1.0, 4, TrainConfig.Accumulation.STANDARD), out, null, QUIET);
        Trainer.Result r = t.train(null);
        assertEquals(4, r.batchesDone());
        double err = relErr(m, tensors(FIX.resolve("lorid/adapter_model.safetensors")), "B");
        assertTrue(err < 1e-3, "relative error of B vs torch: " + err);
        for (LoraSlot s : m.slots()) assertArrayEquals(init.get(key(s, "A")), s.a(), 0f, "A is frozen");
        // the sequence losses of metrics.jsonl are the reference's batch losses
        JsonNode want = Json.read(FIX.resolve("expected/runs.json")).get("lori-d").get("losses");
        List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(4, lines.size());
        for (int i = 0; i < 4; i++)
            assertEquals(want.get(i).asDouble(), Json.MAPPER.readTree(lines.get(i)).get("sequence_loss").asDouble(), 1e-4 * want.get(i).asDouble());
    }

    @Test
    void loriSWithMaskAndReferenceAccumulationMatchesTorch(@TempDir Path out) throws IOException {
        Map<String, float[]> mask = tensors(FIX.resolve("lorid/masks/0.5_mask.safetensors"));
        TrainModel m = model(base, "init", TrainConfig.Method.LORI_S, mask);
        Map<String, float[]> init = tensors(FIX.resolve("init/adapter_model.safetensors"));
        new Trainer(m, data("data.jsonl"), config(TrainConfig.Method.LORI_S, 0.8, 4, TrainConfig.Accumulation.REFERENCE), out, null, QUIET).train(null);
        double err = relErr(m, tensors(FIX.resolve("expected/lori-s/adapter_model.safetensors")), "B");
        assertTrue(err < 1e-3, "relative error of B vs torch: " + err);
        for (LoraSlot s : m.slots()) {
            assertArrayEquals(init.get(key(s, "A")), s.a(), 0f, "A is frozen");
            for (int i = 0; i < s.b().length; i++)
                if (!s.maskB()[i]) assertEquals(0, Float.floatToRawIntBits(s.b()[i]), "B outside the mask stays +0.0");
        }
    }

    @Test
    void loraTrainsBothMatricesLikeTorch(@TempDir Path out) throws IOException {
        TrainModel m = model(base, "init", TrainConfig.Method.LORA, null);
        new Trainer(m, data("data.jsonl"), config(TrainConfig.Method.LORA, 1.0, 4, TrainConfig.Accumulation.STANDARD), out, null, QUIET).train(null);
        Map<String, float[]> want = tensors(FIX.resolve("expected/lora/adapter_model.safetensors"));
        assertTrue(relErr(m, want, "B") < 1e-3, "B: " + relErr(m, want, "B"));
        assertTrue(relErr(m, want, "A") < 1e-3, "A: " + relErr(m, want, "A"));
    }

    @Test
    void continualLoriSChangesOnlyTheNewMasksEntries(@TempDir Path out) throws IOException {
        Map<String, float[]> mask = tensors(FIX.resolve("continual_mask.safetensors"));
        TrainModel m = model(base, "lorid", TrainConfig.Method.LORI_S, mask);
        Map<String, float[]> before = tensors(FIX.resolve("lorid/adapter_model.safetensors"));
        new Trainer(m, data("data2.jsonl"), config(TrainConfig.Method.LORI_S, 0.5, 3, TrainConfig.Accumulation.STANDARD), out, null, QUIET).train(null);
        double err = relErr(m, tensors(FIX.resolve("expected/continual/adapter_model.safetensors")), "B");
        assertTrue(err < 1e-3, "relative error of B vs torch: " + err);
        int changed = 0;
        for (LoraSlot s : m.slots()) {
            float[] b0 = before.get(key(s, "B"));
            for (int i = 0; i < b0.length; i++) {
                if (!s.maskB()[i]) assertEquals(Float.floatToRawIntBits(b0[i]), Float.floatToRawIntBits(s.b()[i]), "task-1 entry kept bit for bit");
                else if (b0[i] != s.b()[i]) changed++;
            }
        }
        assertTrue(changed > 0);
    }
}
