package org.lori4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lori4j.TestPaths;
import org.lori4j.io.Json;
import org.lori4j.io.LlamaConfig;
import org.lori4j.model.LlamaModel;
import org.lori4j.GradCheck;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * End-to-end checks of the training forward/backward on the tiny random Llama of the train fixture
 * (src/test/python/make_train_fixtures.py): the loss against the torch reference and the LoRA gradients
 * of every projection against finite differences of the whole model.
 */
class TrainModelTest {
    static LlamaModel base;
    static LlamaConfig cfg;
    static List<int[][]> data; // {inputIds, labels} per example

    @BeforeAll
    static void open() throws IOException {
        Path dir = TestPaths.fixture("train");
        base = LlamaModel.load(dir.resolve("model"));
        cfg = base.config();
        data = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("data.jsonl"))) {
            JsonNode n = Json.MAPPER.readTree(line);
            int[] ids = Json.MAPPER.convertValue(n.get("input_ids"), int[].class);
            int[] labels = Json.MAPPER.convertValue(n.get("labels"), int[].class);
            data.add(new int[][]{ids, labels});
        }
    }

    @AfterAll
    static void close() { base.close(); }

    static PackedBatch batch(int from, int to) {
        int[][] ids = new int[to - from][], labels = new int[to - from][];
        for (int i = from; i < to; i++) { ids[i - from] = data.get(i)[0]; labels[i - from] = data.get(i)[1]; }
        return PackedBatch.ofExamples(ids, labels);
    }

    static TrainModel withRandomLora(long seed, boolean trainA) {
        TrainModel m = new TrainModel(base);
        Random rnd = new Random(seed);
        for (int l = 0; l < cfg.numLayers(); l++)
            for (Proj p : Proj.values()) {
                int in = p.in(cfg), out = p.out(cfg), r = 4;
                m.attach(new LoraSlot(l, p, in, out, r, 2f, GradCheck.random(rnd, r * in, 0.3f),
                        GradCheck.random(rnd, out * r, 0.3f), trainA, true, null));
            }
        return m;
    }

    @Test
    void baseLossMatchesTorchReference() throws IOException {
        // runs.json: the LoRI-D run's first batch (B = 0, so the base model's loss) = mean over 4 sequences,
        // computed as two micro-batches of 2 whose means are averaged
        JsonNode runs = Json.read(TestPaths.fixture("train").resolve("expected/runs.json"));
        double want = runs.get("lori-d").get("losses").get(0).asDouble();
        TrainModel m = new TrainModel(base);
        double[] a = m.loss(batch(0, 2)), b = m.loss(batch(2, 4));
        double got = (a[0] + a[1] + b[0] + b[1]) / 4;
        assertEquals(want, got, 1e-5 * want);
        // packing several sequences together changes nothing
        double[] all = m.loss(batch(0, 4));
        assertEquals(a[0], all[0], 1e-4);
        assertEquals(b[1], all[3], 1e-4);
    }

    @Test
    void loraGradientsOfEveryProjectionMatchFiniteDifferences() {
        TrainModel m = withRandomLora(11, true);
        PackedBatch mb = batch(0, 3);
        m.forwardBackward(mb, 1f);
        java.util.function.DoubleSupplier f = () -> {
            double s = 0;
            for (double x : m.loss(mb)) s += x;
            return s;
        };
        Random pick = new Random(3);
        for (LoraSlot s : m.slots()) {
            int[] ea = pick.ints(6, 0, s.a.length).toArray(), eb = pick.ints(6, 0, s.b.length).toArray();
            GradCheck.check(s.proj.module(s.layer) + " dA", s.a, s.gradA, f, 2e-3f, 1e-2, ea);
            GradCheck.check(s.proj.module(s.layer) + " dB", s.b, s.gradB, f, 2e-3f, 1e-2, eb);
        }
    }

    @Test
    void frozenAGetsNoGradientAndBatchGradientIsSumOfSequenceGradients() {
        TrainModel m = withRandomLora(12, false);
        assertNull(m.slots().get(0).gradA);
        m.forwardBackward(batch(0, 2), 1f);
        float[] both = m.slots().get(3).gradB.clone();
        for (LoraSlot s : m.slots()) s.zeroGrad();
        m.forwardBackward(batch(0, 1), 1f);
        m.forwardBackward(batch(1, 2), 1f);
        float[] split = m.slots().get(3).gradB;
        for (int i = 0; i < both.length; i++) assertEquals(both[i], split[i], 1e-4f * (1 + Math.abs(both[i])));
    }

    @Test
    void recomputingLayersGivesBitIdenticalGradients() {
        float[][] grads = new float[2][];
        double[][] losses = new double[2][];
        TrainModel.Checkpointing[] modes = {TrainModel.Checkpointing.ALWAYS, TrainModel.Checkpointing.NEVER};
        for (int i = 0; i < 2; i++) {
            TrainModel m = withRandomLora(13, true);
            m.setCheckpointing(modes[i]);
            losses[i] = m.forwardBackward(batch(0, 4), 0.25f);
            grads[i] = m.slots().get(2).gradA.clone();
        }
        assertArrayEquals(losses[0], losses[1], 0.0);
        for (int j = 0; j < grads[0].length; j++) assertEquals(Float.floatToRawIntBits(grads[0][j]), Float.floatToRawIntBits(grads[1][j]));
    }
}
