package org.lori4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class ParallelTest {
    @Test
    void threadsFollowThePropertyThenTheVariableThenTheProcessors() {
        assertEquals(3, Parallel.configuredThreads("3", "5", 8));
        assertEquals(5, Parallel.configuredThreads(" ", "5", 8));
        assertEquals(8, Parallel.configuredThreads(null, null, 8));
        assertEquals(8, Parallel.configuredThreads("0", null, 8));      // not a thread count: the default
        assertEquals(8, Parallel.configuredThreads("many", null, 8));
        assertEquals(1024, Parallel.configuredThreads("5000", null, 8));
        assertEquals(1, Parallel.configuredThreads(null, null, 0));
        // and this JVM's pool is sized that way
        assertEquals(Parallel.configuredThreads(System.getProperty("lori.threads"), System.getenv("LORI_THREADS"),
                Runtime.getRuntime().availableProcessors()), Parallel.threads());
    }

    @Test
    void everyIndexRunsExactlyOnce() {
        for (int n : new int[] {0, 1, 2, 7, 64, 1000, 12345}) {
            for (int minChunk : new int[] {0, 1, 3, 100, 5000}) {
                AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(n, 1));
                Parallel.forRange(n, minChunk, (from, to) -> {
                    assertTrue(from < to, "empty chunk");
                    for (int i = from; i < to; i++) hits.incrementAndGet(i);
                });
                for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "n=" + n + " index " + i);
            }
        }
    }

    @Test
    void chunksRespectMinimumSize() {
        AtomicLong smallest = new AtomicLong(Long.MAX_VALUE);
        Parallel.forRange(1000, 300, (from, to) -> smallest.accumulateAndGet(to - from, Math::min));
        assertTrue(smallest.get() >= 250, "chunks of 1000 with minChunk 300 are >= 1000/4, got " + smallest.get());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void nestedCallsCompleteWithoutDeadlock() {
        AtomicLong sum = new AtomicLong();
        Parallel.forRange(64, 1, (a, b) -> {
            for (int i = a; i < b; i++) {
                Parallel.forRange(100, 1, (c, d) -> {
                    for (int j = c; j < d; j++) sum.addAndGet(j);
                });
            }
        });
        assertEquals(64L * (99 * 100 / 2), sum.get());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void concurrentCallersAllComplete() throws Exception {
        ExecutorService ex = Executors.newFixedThreadPool(4);
        try {
            Future<?>[] fs = new Future<?>[8];
            AtomicLong sum = new AtomicLong();
            for (int t = 0; t < fs.length; t++)
                fs[t] = ex.submit(() -> {
                    for (int r = 0; r < 200; r++)
                        Parallel.forRange(1000, 10, (a, b) -> sum.addAndGet(b - a));
                });
            for (Future<?> f : fs) f.get();
            assertEquals(8L * 200 * 1000, sum.get());
        } finally {
            ex.shutdownNow();
        }
    }

    /**
     * A job of two chunks that can only finish together (each waits until both have started): the caller runs one,
     * so a worker must run the other, also after every worker has had time to park (submit wakes only as many
     * parked workers as a job has chunks for).
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aParkedWorkerIsWokenForAJobThatNeedsIt() throws Exception {
        assumeTrue(Parallel.threads() >= 2, "needs a pool worker");
        for (int round = 0; round < 3; round++) {
            Thread.sleep(50);   // well past the workers' 0.2 ms of polling: they park
            CountDownLatch started = new CountDownLatch(2);
            AtomicBoolean together = new AtomicBoolean(true);
            Parallel.forRange(2, 1, (from, to) -> {
                started.countDown();
                try {
                    if (!started.await(10, TimeUnit.SECONDS)) together.set(false);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    together.set(false);
                }
            });
            assertTrue(together.get(), "round " + round + ": no worker ran the second chunk while the caller ran the first");
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void isolatedBodiesRunOnceEachAndTheirNestedCallsStayOnTheirThread() {
        int n = 5;
        AtomicIntegerArray runs = new AtomicIntegerArray(n);
        AtomicLong foreign = new AtomicLong();
        Parallel.forEachIsolated(n, i -> {
            runs.incrementAndGet(i);
            Thread mine = Thread.currentThread();
            // a nested call that would be split into many chunks runs entirely on the body's own thread
            Parallel.forRange(10_000, 1, (from, to) -> { if (Thread.currentThread() != mine) foreign.incrementAndGet(); });
        });
        for (int i = 0; i < n; i++) assertEquals(1, runs.get(i), "index " + i);
        assertEquals(0, foreign.get());
        // and afterwards the calling thread splits work again
        AtomicLong chunks = new AtomicLong();
        Parallel.forRange(10_000, 1, (from, to) -> chunks.incrementAndGet());
        assertEquals(Parallel.threads() > 1 ? Math.min(10_000, Parallel.threads() * 4) : 1, chunks.get());
    }

    @Test
    void exceptionInBodyReachesCaller() {
        IllegalStateException boom = new IllegalStateException("boom");
        IllegalStateException got = assertThrows(IllegalStateException.class,
                () -> Parallel.forRange(1000, 1, (a, b) -> {
                    if (a <= 500 && 500 < b) throw boom;
                }));
        assertSame(boom, got);
        // The pool still works afterwards.
        AtomicLong sum = new AtomicLong();
        Parallel.forRange(100, 1, (a, b) -> sum.addAndGet(b - a));
        assertEquals(100, sum.get());
    }
}
