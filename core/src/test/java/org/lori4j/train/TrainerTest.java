package org.lori4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.io.Json;
import org.lori4j.model.LlamaModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;
import static org.lori4j.train.TrainFixture.*;

/** Behaviour of the training loop on the tiny fixture model: exact resume, learning, divergence handling. */
class TrainerTest {
    static LlamaModel base;

    @BeforeAll static void open() { base = LlamaModel.load(FIX.resolve("model")); }
    @AfterAll static void close() { base.close(); }

    @Test
    void resumeAfterStopEqualsUninterruptedRunBitForBit(@TempDir Path a, @TempDir Path b) throws IOException {
        TrainConfig cfg = config(TrainConfig.Method.LORI_D, 1.0, 6, TrainConfig.Accumulation.STANDARD).withData(7, true);
        TrainingData d = data("data.jsonl");
        TrainModel full = model(base, "init", TrainConfig.Method.LORI_D, null);
        new Trainer(full, d, cfg, a, null, QUIET).train(null);

        TrainModel first = model(base, "init", TrainConfig.Method.LORI_D, null);
        Trainer.Result r = new Trainer(first, d, cfg.withCheckpoints(0, 3), b, null, QUIET).train(null);
        assertTrue(r.stopped());
        assertEquals(3, r.batchesDone());
        TrainState st = TrainState.read(b);
        assertEquals(3, st.batchesDone());
        assertEquals(1, st.epoch());          // 2 batches per epoch: the next batch is epoch 1, step 1
        assertEquals(1, st.stepInEpoch());
        TrainModel resumed = model(base, "init", TrainConfig.Method.LORI_D, null);   // fresh process: state replaces tensors
        Trainer.Result r2 = new Trainer(resumed, d, cfg, b, null, QUIET).train(st);
        assertEquals(6, r2.batchesDone());
        for (int i = 0; i < full.slots().size(); i++) {
            LoraSlot x = full.slots().get(i), y = resumed.slots().get(i);
            for (int j = 0; j < x.b().length; j++)
                assertEquals(Float.floatToRawIntBits(x.b()[j]), Float.floatToRawIntBits(y.b()[j]), x.proj() + " B[" + j + "]");
        }
        assertEquals(Files.readAllLines(a.resolve("metrics.jsonl")).size(), Files.readAllLines(b.resolve("metrics.jsonl")).size());
        JsonNode lastA = Json.MAPPER.readTree(Files.readAllLines(a.resolve("metrics.jsonl")).get(5));
        JsonNode lastB = Json.MAPPER.readTree(Files.readAllLines(b.resolve("metrics.jsonl")).get(5));
        assertEquals(lastA.get("loss").asDouble(), lastB.get("loss").asDouble(), 0.0);
    }

    @Test
    void tinyModelLearnsAFixedResponse(@TempDir Path out) throws IOException {
        // every example: 3 random prompt tokens, then the same 5-token answer; the loss on the answer must collapse
        Random rnd = new Random(5);
        List<Example> ex = new ArrayList<>();
        int[] answer = {10, 20, 30, 40, 2};
        for (int i = 0; i < 16; i++) {
            int[] ids = new int[8], labels = new int[8];
            for (int t = 0; t < 3; t++) { ids[t] = 3 + rnd.nextInt(60); labels[t] = -100; }
            for (int t = 0; t < 5; t++) { ids[3 + t] = answer[t]; labels[3 + t] = answer[t]; }
            ex.add(new Example(ids, labels));
        }
        TrainModel m = model(base, "init", TrainConfig.Method.LORI_D, null);
        TrainConfig cfg = TrainConfig.lori(TrainConfig.Method.LORI_D, 5e-2).withEpochs(20).withBatch(8, 4).withData(0, true);
        new Trainer(m, TrainingData.of(ex), cfg, out, null, QUIET).train(null);
        List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(40, lines.size());
        double first = Json.MAPPER.readTree(lines.get(0)).get("loss").asDouble();
        double last = Json.MAPPER.readTree(lines.get(39)).get("loss").asDouble();
        assertTrue(last < first / 10, "loss " + first + " -> " + last + " should fall by 10x");
    }

    @Test
    void divergenceStopsBeforeTheBadUpdateAndKeepsTheLastGoodState(@TempDir Path out) throws IOException {
        TrainModel m = model(base, "init", TrainConfig.Method.LORI_D, null);
        TrainConfig cfg = TrainConfig.lori(TrainConfig.Method.LORI_D, 1e30).withEpochs(50).withBatch(4, 4)
                .withOptimizer(0, 0, GradClip.Strategy.EVEN, TrainConfig.Accumulation.STANDARD, AdamW.Config.lori()).withData(0, false);
        int[] saved = {0};
        Trainer.Listener l = () -> saved[0]++;
        Trainer.TrainingDivergedException e = assertThrows(Trainer.TrainingDivergedException.class,
                () -> new Trainer(m, data("data.jsonl"), cfg, out, null, l).train(null));
        TrainState st = TrainState.read(out);
        assertTrue(e.getMessage().startsWith("step " + (st.batchesDone() + 1) + ": "), e.getMessage());
        assertTrue(st.batchesDone() >= 1);
        assertEquals(1, saved[0]);
        assertEquals(st.batchesDone(), Files.readAllLines(out.resolve("metrics.jsonl")).size());
        for (LoraSlot s : m.slots()) for (float v : s.b()) assertTrue(Float.isFinite(v), "no NaN reached the parameters");
    }
}
