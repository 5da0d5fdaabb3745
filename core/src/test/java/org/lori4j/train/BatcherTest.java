package org.lori4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.lori4j.TestPaths;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Epoch order against the reference's numpy/CPython RNG replay (fixture from src/test/python/reference_shuffle.py),
 * micro-batch splitting, drop-last and exact resume.
 */
class BatcherTest {

    /** N one-token-prompt examples whose first token is their index, so order is visible in the batches. */
    static TrainingData data(int n) {
        List<Example> ex = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = 2 + i % 3;
            int[] ids = new int[len];
            int[] labels = new int[len];
            ids[0] = i;
            labels[0] = Example.IGNORE;
            for (int t = 1; t < len; t++) { ids[t] = 1000 + t; labels[t] = 1000 + t; }
            ex.add(new Example(ids, labels));
        }
        return TrainingData.of(ex);
    }

    static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asInt();
        return out;
    }

    @Test
    void epochSeedsAndOrdersMatchTheReferenceRng() {
        JsonNode fixture = Json.read(TestPaths.fixture("train/reference_shuffle.json"));
        int checked = 0;
        for (JsonNode c : fixture.get("cases")) {
            int n = c.get("n").asInt();
            long seed = c.get("seed").asLong();
            PythonRandom seeds = PythonRandom.numpySeeded(seed);
            for (JsonNode s : c.get("epoch_seeds")) assertEquals(s.asLong(), seeds.nextUint32(), "epoch seed, seed " + seed);
            Batcher b = new Batcher(data(n), 1, 1, true, seed, false);
            int epochs = c.get("epoch_seeds").size();
            for (int e = 0; e < epochs; e++) {
                int[] order = b.order(e);
                if (c.has("orders")) {
                    assertArrayEquals(ints(c.get("orders").get(e)), order, "n=" + n + " seed=" + seed + " epoch " + e);
                } else {
                    assertArrayEquals(ints(c.get("heads").get(e)), Arrays.copyOf(order, 20));
                    assertArrayEquals(ints(c.get("tails").get(e)), Arrays.copyOfRange(order, n - 20, n));
                }
                checked++;
            }
        }
        assertTrue(checked >= 10);
    }

    @Test
    void noShuffleKeepsFileOrderEveryEpoch() {
        Batcher b = new Batcher(data(5), 2, 1, false, 0, false);
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, b.order(0));
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, b.order(3));
    }

    @Test
    void batchesAreSplitIntoContiguousMicroBatchesAndTheTailIsDropped() {
        Batcher b = new Batcher(data(10), 4, 2, false, 0, false);
        assertEquals(2, b.stepsPerEpoch()); // 10 // 4; examples 8, 9 dropped as upstream
        List<Batcher.Step> steps = new ArrayList<>();
        b.iterator(1, 0, 0).forEachRemaining(steps::add);
        assertEquals(2, steps.size());
        Batcher.Step s1 = steps.get(1);
        assertEquals(1, s1.step());
        assertEquals(2, s1.microBatches().size());
        assertArrayEquals(new int[] {4, 5}, s1.microBatches().get(0).indices());
        assertArrayEquals(new int[] {6, 7}, s1.microBatches().get(1).indices());
        // first token of each row is the example index; T is the longest of the micro-batch (6: len 2+6%3=2... )
        Batch m = s1.microBatches().get(1);
        assertEquals(6, m.tokens()[0]);
        assertEquals(7, m.tokens()[m.t()]);
        assertEquals(Math.max(2 + 6 % 3, 2 + 7 % 3), m.t());
    }

    @Test
    void keepLastYieldsTheShortFinalBatch() {
        Batcher b = new Batcher(data(10), 4, 2, false, 0, true);
        assertEquals(3, b.stepsPerEpoch());
        Batcher.Step last = b.step(0, 2, b.order(0));
        assertEquals(2, last.sequences());
        assertArrayEquals(new int[] {8}, last.microBatches().get(0).indices());
        assertArrayEquals(new int[] {9}, last.microBatches().get(1).indices());
    }

    @Test
    void resumingAtAnyStepReproducesTheUninterruptedRun() {
        Batcher b = new Batcher(data(23), 4, 2, true, 7, false);
        List<Batcher.Step> all = new ArrayList<>();
        b.iterator(3, 0, 0).forEachRemaining(all::add);
        assertEquals(3 * 5, all.size());
        for (int k = 0; k < all.size(); k++) {
            Batcher.Step first = all.get(k);
            Iterator<Batcher.Step> resumed = new Batcher(data(23), 4, 2, true, 7, false)
                    .iterator(3, first.epoch(), first.step());
            for (int j = k; j < all.size(); j++) {
                Batcher.Step want = all.get(j), got = resumed.next();
                assertEquals(want.globalStep(), got.globalStep());
                for (int m = 0; m < 2; m++) {
                    Batch w = want.microBatches().get(m), g = got.microBatches().get(m);
                    assertArrayEquals(w.indices(), g.indices());
                    assertArrayEquals(w.tokens(), g.tokens());
                    assertArrayEquals(w.targets(), g.targets());
                }
            }
            assertFalse(resumed.hasNext());
        }
        // and epochs really differ (shuffled), while each epoch covers distinct examples
        assertFalse(Arrays.equals(all.get(0).microBatches().get(0).indices(), all.get(5).microBatches().get(0).indices()));
    }

    @Test
    void epochOrdersCompoundLikeTheReferenceInPlaceShuffle() {
        Batcher b = new Batcher(data(12), 3, 1, true, 0, false);
        int[] e0 = b.order(0);
        int[] e1 = b.order(1);
        PythonRandom seeds = PythonRandom.numpySeeded(0);
        seeds.nextUint32();
        int[] manual = e0.clone();
        PythonRandom.pythonSeeded(seeds.nextUint32()).shuffle(manual);
        assertArrayEquals(manual, e1);
        // the iterator's incremental advance agrees with order(e)
        List<Batcher.Step> steps = new ArrayList<>();
        b.iterator(2, 0, 0).forEachRemaining(steps::add);
        assertArrayEquals(Arrays.copyOf(e1, 3), steps.get(4).microBatches().get(0).indices());
    }

    @Test
    void badSettingsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new Batcher(data(4), 4, 3, true, 0, false));
        assertThrows(IllegalArgumentException.class, () -> new Batcher(data(4), 4, 1, true, -1, false));
        assertThrows(LoriException.class, () -> new Batcher(data(3), 4, 1, true, 0, false).iterator(1, 0, 0));
    }
}
