package org.lori4j.train;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.model.LlamaModel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;
import static org.lori4j.train.TrainFixture.*;

/**
 * The data-parallel step against the one-process step: workers (threads here, each with its own model) computing
 * contiguous shares of the micro-batches and exchanging their packed gradients reach the parameters of one process
 * bit for bit, for LoRI-D, LoRI-S (only the mask's entries exchanged) and LoRA, with uneven shares and idle workers.
 */
class DataParallelTest {
    static LlamaModel base;

    @BeforeAll static void open() { base = LlamaModel.load(FIX.resolve("model")); }
    @AfterAll static void close() { base.close(); }

    /** Workers in one JVM: allGather puts each worker's list in its place and returns them all in rank order. */
    static final class ThreadExchange {
        final int workers;
        final CyclicBarrier barrier;
        final List<List<GradientExchange.MicroResult>> slots = new ArrayList<>();
        long values;

        ThreadExchange(int workers) {
            this.workers = workers;
            this.barrier = new CyclicBarrier(workers);
            for (int i = 0; i < workers; i++) slots.add(null);
        }

        GradientExchange rank(int r) {
            return new GradientExchange() {
                @Override public int rank() { return r; }
                @Override public int workers() { return workers; }
                @Override public List<MicroResult> allGather(long step, List<MicroResult> mine) {
                    try {
                        synchronized (slots) {
                            slots.set(r, mine);
                            for (MicroResult m : mine) values += m.gradient().length;
                        }
                        barrier.await();
                        List<MicroResult> all = new ArrayList<>();
                        synchronized (slots) { for (List<MicroResult> l : slots) all.addAll(l); }
                        barrier.await();
                        return all;
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
            };
        }
    }

    /** Runs every segment on WORKERS fresh models (as fresh worker JVMs would) and checks they agree bit for bit. */
    static Trainer.StepRunner threads(int workers, TrainConfig cfg, TrainConfig.Method method, Map<String, float[]> mask, long[] exchanged) {
        return (from, end) -> {
            ThreadExchange ex = new ThreadExchange(workers);
            ExecutorService pool = Executors.newFixedThreadPool(workers);
            try {
                List<Future<Trainer.Segment>> fs = new ArrayList<>();
                for (int r = 0; r < workers; r++) {
                    int rank = r;
                    fs.add(pool.submit(() -> new Trainer(model(base, "init", method, mask), data("data.jsonl"), cfg, null, null, null)
                            .runSegment(from, end, ex.rank(rank))));
                }
                List<Trainer.Segment> segs = new ArrayList<>();
                for (Future<Trainer.Segment> f : fs) segs.add(f.get());
                for (Trainer.Segment s : segs) assertSameTensors(segs.getFirst().state().tensors(), s.state().tensors());
                exchanged[0] += ex.values;
                return segs.getFirst();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            } finally {
                pool.shutdownNow();
            }
        };
    }

    static void assertSameTensors(Map<String, float[]> want, Map<String, float[]> got) {
        assertEquals(want.keySet(), got.keySet());
        for (String k : want.keySet()) {
            float[] a = want.get(k), b = got.get(k);
            assertEquals(a.length, b.length, k);
            for (int i = 0; i < a.length; i++)
                if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) fail(k + "[" + i + "]: " + a[i] + " vs " + b[i]);
        }
    }

    static Map<String, float[]> state(TrainModel m) {
        return TrainState.capture(0, 0, 0, 0, m.slots(), Map.of(), null).tensors();
    }

    void check(TrainConfig.Method method, Map<String, float[]> mask, int workers, Path a, Path b) throws Exception {
        // batch 8 of micro-batches of 2: M = 4 micro-batches per step, 3 steps, a checkpoint after step 2
        TrainConfig cfg = TrainConfig.lori(method, 1e-2).withSteps(3).withEpochs(10).withBatch(8, 2)
                .withOptimizer(1, 0.5, GradClip.Strategy.EVEN, TrainConfig.Accumulation.STANDARD, AdamW.Config.lori())
                .withData(3, true).withCheckpoints(2, -1);
        TrainModel local = model(base, "init", method, mask);
        new Trainer(local, data("data.jsonl"), cfg, a, null, QUIET).train(null);

        TrainModel driver = model(base, "init", method, mask);
        long[] exchanged = {0};
        Trainer.Result r = new Trainer(driver, data("data.jsonl"), cfg, b, null, QUIET).train(null, threads(workers, cfg, method, mask, exchanged));
        assertEquals(3, r.batchesDone());
        assertSameTensors(state(local), state(driver));
        assertSameTensors(TrainState.read(a).tensors(), TrainState.read(b).tensors());
        assertEquals(Files.readAllLines(a.resolve("metrics.jsonl")).stream().map(DataParallelTest::withoutTimes).toList(),
                Files.readAllLines(b.resolve("metrics.jsonl")).stream().map(DataParallelTest::withoutTimes).toList());
        // each step exchanges M = 4 packed gradients of the trainable values (the mask's entries only for LoRI-S)
        long trainable = 0;
        for (LoraSlot s : local.slots()) trainable += s.trainableParameters();
        assertEquals(3 * 4 * trainable, exchanged[0]);
    }

    static String withoutTimes(String line) {
        return line.replaceAll("\"(seconds|tokens_per_second)\":[^,}]*", "");
    }

    @Test
    void loriDOnTwoWorkersEqualsOneProcess(@TempDir Path a, @TempDir Path b) throws Exception {
        check(TrainConfig.Method.LORI_D, null, 2, a, b);
    }

    @Test
    void loriSExchangesOnlyMaskedEntriesAndEqualsOneProcessOnThreeWorkers(@TempDir Path a, @TempDir Path b) throws Exception {
        // 4 micro-batches over 3 workers: shares of 1, 1 and 2
        check(TrainConfig.Method.LORI_S, tensors(FIX.resolve("lorid/masks/0.5_mask.safetensors")), 3, a, b);
    }

    @Test
    void loraWithMoreWorkersThanMicroBatchesEqualsOneProcess(@TempDir Path a, @TempDir Path b) throws Exception {
        check(TrainConfig.Method.LORA, null, 5, a, b);
    }

    @Test
    void sharesAreContiguousAndCoverEveryMicroBatchOnce() {
        for (int m = 1; m <= 9; m++)
            for (int n = 1; n <= 6; n++) {
                int next = 0;
                for (int r = 0; r < n; r++) {
                    GradientExchange ex = new ThreadExchange(n).rank(r);
                    assertEquals(next, ex.first(m));
                    next += ex.count(m);
                }
                assertEquals(m, next);
            }
    }

    @Test
    void referenceAccumulationIsRefusedOnWorkers(@TempDir Path out) throws Exception {
        TrainConfig cfg = config(TrainConfig.Method.LORI_D, 1.0, 2, TrainConfig.Accumulation.REFERENCE);
        Trainer t = new Trainer(model(base, "init", TrainConfig.Method.LORI_D, null), data("data.jsonl"), cfg, out, null, QUIET);
        var e = assertThrows(org.lori4j.io.LoriException.class, () -> t.train(null, (from, end) -> { throw new AssertionError(); }));
        assertTrue(e.getMessage().contains("--accumulation standard"), e.getMessage());
    }
}
