package org.lori4j.tensor;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The one shared compute pool of lori4j: {@link #forRange} splits an index range over
 * {@link #threads()} threads (the caller included) and returns when every part is done.
 * Sized by the system property {@code lori.threads}, else the environment variable
 * {@code LORI_THREADS}, else {@code Runtime.availableProcessors()}.
 *
 * <p>Design: workers claim chunks of a job with an atomic counter and the caller claims chunks
 * too, so a caller never waits for a chunk no thread has started. That makes nested calls and
 * concurrent callers deadlock-free; a call made from inside a pool worker simply runs inline.
 * Idle workers poll briefly before parking, because decode issues ~150 small GEMVs per token
 * back to back and a park/unpark round trip per GEMV would cost several percent. They poll with
 * {@link Thread#yield()}, which returns at once on an idle core but hands the core to another
 * runnable thread on an oversubscribed machine instead of burning it. A worker keeps polling only while it
 * gets chunks to run, and a job wakes only as many parked workers as it has chunks for, so a pool larger than
 * the work (a tiny model's decode on 16 cores) settles at a few pollers instead of all of them contending
 * for every job.
 */
public final class Parallel {
    /** A piece of work over the index range [from, to). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    private static final int THREADS = configuredThreads();
    /** How long an idle worker (or a waiting caller) polls before parking. */
    private static final long SPIN_NANOS = 200_000;
    private static final Pool POOL = THREADS > 1 ? new Pool(THREADS - 1) : null;

    /**
     * Multiply-adds below which splitting a job is not worth a synchronisation (~0.3 us with a spinning
     * worker, much more with a parked one): about a microsecond of vector work.
     */
    public static final long GRAIN = 32_768;

    private Parallel() {}

    /** The minChunk for {@link #forRange} over units of {@code workPerUnit} multiply-adds each: at least {@link #GRAIN} per chunk. */
    public static int minChunk(long workPerUnit) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, GRAIN / Math.max(1, workPerUnit)));
    }

    /** Number of threads {@link #forRange} uses, the caller included (at least 1). */
    public static int threads() {
        return THREADS;
    }

    /**
     * Runs {@code body} over [0, n) split into contiguous chunks of at least {@code minChunk}
     * indices (the last may be shorter), in parallel on the pool and the calling thread.
     * Exceptions thrown by the body are rethrown in the caller (the first one wins).
     */
    public static void forRange(int n, int minChunk, RangeBody body) {
        if (n <= 0) return;
        int chunk = Math.max(1, minChunk);
        if (POOL == null || n <= chunk || Thread.currentThread() instanceof Worker || ISOLATED.get()[0] > 0) {
            body.run(0, n);
            return;
        }
        // A few chunks per thread so that a thread slowed by a noisy neighbour is compensated.
        int nChunks = Math.min((n + chunk - 1) / chunk, THREADS * 4);
        if (nChunks <= 1) {
            body.run(0, n);
            return;
        }
        Job job = new Job(body, n, nChunks, Thread.currentThread());
        POOL.submit(job);
        job.work();
        POOL.retire(job);
        job.awaitDone();
    }

    /** Per thread: how many {@link #forEachIsolated} bodies it is running (nested forRange calls then run inline). */
    private static final ThreadLocal<int[]> ISOLATED = ThreadLocal.withInitial(() -> new int[1]);

    /** Runs one index of {@link #forEachIsolated}. */
    @FunctionalInterface
    public interface IndexBody {
        void run(int i);
    }

    /**
     * Runs body(i) for i in [0, n) in parallel, one index per chunk, with every forRange call made inside a
     * body running inline on its thread. For independent pieces of work each too small to be worth splitting
     * further (the sequences of a small model's decode step): they then cost one synchronisation in all
     * instead of one per operation.
     */
    public static void forEachIsolated(int n, IndexBody body) {
        forRange(n, 1, (from, to) -> {
            int[] depth = ISOLATED.get();
            depth[0]++;
            try {
                for (int i = from; i < to; i++) body.run(i);
            } finally {
                depth[0]--;
            }
        });
    }

    private static int configuredThreads() {
        return configuredThreads(System.getProperty("lori.threads"), System.getenv("LORI_THREADS"),
                Runtime.getRuntime().availableProcessors());
    }

    /** The thread count for these settings: the property, else the variable, else the processors (1 to 1024). */
    static int configuredThreads(String property, String env, int processors) {
        int def = processors;
        String s = property;
        if (s == null || s.isBlank()) s = env;
        if (s == null || s.isBlank()) return Math.max(1, def);
        try {
            int t = Integer.parseInt(s.trim());
            return t >= 1 ? Math.min(t, 1024) : Math.max(1, def);
        } catch (NumberFormatException e) {
            return Math.max(1, def);
        }
    }

    /** One forRange call: chunk i covers [i*n/nChunks, (i+1)*n/nChunks). */
    private static final class Job {
        final RangeBody body;
        final int n;
        final int nChunks;
        final Thread caller;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable error;

        Job(RangeBody body, int n, int nChunks, Thread caller) {
            this.body = body;
            this.n = n;
            this.nChunks = nChunks;
            this.caller = caller;
        }

        /** Claims and runs chunks until none is left; returns whether it ran any. */
        boolean work() {
            int c;
            boolean ran = false;
            // read before incrementing: pollers that find the job exhausted leave its counter's line unwritten
            while (next.get() < nChunks && (c = next.getAndIncrement()) < nChunks) {
                ran = true;
                int from = (int) ((long) c * n / nChunks);
                int to = (int) ((long) (c + 1) * n / nChunks);
                try {
                    if (error == null) body.run(from, to);
                } catch (Throwable t) {
                    if (error == null) error = t;
                } finally {
                    if (done.incrementAndGet() == nChunks) LockSupport.unpark(caller);
                }
            }
            return ran;
        }

        boolean exhausted() {
            return next.get() >= nChunks;
        }

        void awaitDone() {
            long start = System.nanoTime();
            while (done.get() < nChunks) {
                if (System.nanoTime() - start < SPIN_NANOS) Thread.yield();
                else LockSupport.park(this);
            }
            Throwable t = error;
            if (t instanceof RuntimeException re) throw re;
            if (t instanceof Error e) throw e;
            if (t != null) throw new RuntimeException(t);
        }
    }

    /** Marker type so nested forRange calls from a worker run inline. */
    private static final class Worker extends Thread {
        private final Pool pool;
        /** Set from just before the worker counts itself parked until it runs again. */
        volatile boolean parked;

        Worker(Pool pool, int index) {
            super("lori-compute-" + index);
            this.pool = pool;
            setDaemon(true);
        }

        @Override
        public void run() {
            long idleSince = System.nanoTime();
            while (true) {
                Job job = pool.jobs.peek();
                // Only running a chunk counts as work: a worker that keeps finding jobs taken by others (a pool
                // larger than the jobs' chunk counts) parks after SPIN_NANOS instead of polling on, so the pollers
                // left are about as many as the jobs use.
                if (job != null) {
                    if (job.exhausted()) pool.jobs.remove(job);
                    else if (job.work()) idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.yield();
                } else {
                    parked = true;
                    pool.parked.incrementAndGet();
                    if (pool.jobs.isEmpty()) LockSupport.park(pool);
                    pool.parked.decrementAndGet();
                    parked = false;
                    idleSince = System.nanoTime();
                }
            }
        }
    }

    private static final class Pool {
        final ConcurrentLinkedQueue<Job> jobs = new ConcurrentLinkedQueue<>();
        final AtomicInteger parked = new AtomicInteger();
        final Worker[] workers;

        Pool(int size) {
            workers = new Worker[size];
            for (int i = 0; i < size; i++) {
                workers[i] = new Worker(this, i);
                workers[i].start();
            }
        }

        /**
         * Queues a job and wakes as many parked workers as the job has chunks for beyond the caller's and the
         * running workers' share, the lowest-numbered first (so that a pool larger than the work keeps the same few
         * workers busy and the rest asleep). Waking every parked worker on every job cost a futex wake each: on a
         * 16-core VM, batch-1 decode of a tiny model (one job of 2 chunks per layer) was a quarter slower with 16
         * threads than with 8. A worker marks itself parked before re-checking the queue, so it either sees this
         * job or is counted here; one woken too few only leaves a chunk to the caller, which runs every chunk
         * no one has claimed.
         */
        void submit(Job job) {
            jobs.add(job);
            int wanted = job.nChunks - 1 - (workers.length - parked.get());
            for (int i = 0; i < workers.length && wanted > 0; i++) {
                Worker w = workers[i];
                if (w.parked) {
                    LockSupport.unpark(w);
                    wanted--;
                }
            }
        }

        void retire(Job job) {
            jobs.remove(job);
        }
    }
}
