package org.lori4j.spark;

import org.apache.spark.SimpleFutureAction;
import org.apache.spark.api.java.JavaSparkContext;
import org.lori4j.eval.Decoding;
import org.lori4j.eval.EvalRun;
import org.lori4j.eval.TextGenerator;
import org.lori4j.io.LoriException;
import scala.collection.Iterator;
import scala.runtime.AbstractFunction0;
import scala.runtime.AbstractFunction1;
import scala.runtime.AbstractFunction2;
import scala.runtime.BoxedUnit;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

/**
 * A {@link TextGenerator} whose requests are generated on a Spark cluster: the list is cut into contiguous shards, one
 * task each; a task generates its shard with the executor's model (loaded once per executor JVM from the run's
 * {@link EvalRun.GeneratorSpec}) and returns the completions. The driver hands them to the sink as shards finish. Spark
 * runs a shard again when its task or executor is lost and takes exactly one result per shard, so no output is lost or
 * delivered twice; the evaluator checks that too.
 */
final class ShardedGenerator implements TextGenerator {
    private final JavaSparkContext sc;
    private final EvalRun.GeneratorSpec spec;
    private final int workers;

    ShardedGenerator(JavaSparkContext sc, EvalRun.GeneratorSpec spec, int workers) {
        this.sc = sc;
        this.spec = spec;
        this.workers = workers;
    }

    @Override
    public List<Completion> generate(List<Request> requests, Decoding decoding) {
        Completion[] out = new Completion[requests.size()];
        generate(requests, decoding, Math.max(1, requests.size()), (i, c) -> out[i] = c);
        return Arrays.asList(out);
    }

    @Override
    public void generate(List<Request> requests, Decoding decoding, int slots, Sink sink) {
        int n = requests.size();
        if (n == 0) return;
        // shards of at least one batch; several per worker so that a lost worker's share spreads over the others
        int shards = Math.max(1, Math.min((n + slots - 1) / slots, 4 * workers));
        int[] starts = new int[shards + 1];
        for (int s = 0; s <= shards; s++) starts[s] = (int) ((long) n * s / shards);
        List<List<Request>> parts = new ArrayList<>();
        for (int s = 0; s < shards; s++) parts.add(new ArrayList<>(requests.subList(starts[s], starts[s + 1])));
        var rdd = sc.parallelize(parts, shards).rdd();
        LinkedBlockingQueue<Object[]> done = new LinkedBlockingQueue<>();
        SimpleFutureAction<BoxedUnit> job = sc.sc().submitJob(rdd, new ShardTask(spec, decoding, slots),
                scala.jdk.javaapi.CollectionConverters.asScala(IntStream.range(0, shards).boxed().map(i -> (Object) i).toList()).toSeq(),
                new AbstractFunction2<Object, ShardResult, BoxedUnit>() {
                    @Override public BoxedUnit apply(Object shard, ShardResult r) {
                        done.add(new Object[]{shard, r});
                        return BoxedUnit.UNIT;
                    }
                },
                new AbstractFunction0<BoxedUnit>() {
                    @Override public BoxedUnit apply() { return BoxedUnit.UNIT; }
                });
        boolean[] seen = new boolean[shards];
        int received = 0;
        try {
            while (received < shards) {
                Object[] next = done.poll(200, TimeUnit.MILLISECONDS);
                if (next == null) {
                    if (job.isCompleted() && done.isEmpty()) {
                        job.value().get().get();   // rethrows the job's failure
                        if (received < shards) throw new IllegalStateException("the job ended with " + received + " of " + shards + " shards");
                    }
                    continue;
                }
                int s = (Integer) next[0];
                ShardResult r = (ShardResult) next[1];
                if (r.error() != null) throw new LoriException(r.error());
                if (seen[s]) throw new IllegalStateException("shard " + s + " delivered twice");
                seen[s] = true;
                received++;
                if (r.completions().size() != starts[s + 1] - starts[s])
                    throw new IllegalStateException("shard " + s + " returned " + r.completions().size() + " outputs for " + (starts[s + 1] - starts[s]));
                for (int i = 0; i < r.completions().size(); i++) sink.accept(starts[s] + i, r.completions().get(i));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LoriException("evaluation interrupted");
        } catch (Exception e) {   // SparkException is checked, though Scala throws it undeclared
            throw SparkClusterRunner.oneLine(e);
        } finally {
            if (!job.isCompleted()) job.cancel();
        }
    }

    /** A shard's outputs in request order, or the error that stopped it (naming the worker). */
    record ShardResult(List<Completion> completions, String error) implements Serializable {}

    /** Generates one shard with the executor's model. */
    static final class ShardTask extends AbstractFunction1<Iterator<List<Request>>, ShardResult> implements Serializable {
        private final EvalRun.GeneratorSpec spec;
        private final Decoding decoding;
        private final int slots;

        ShardTask(EvalRun.GeneratorSpec spec, Decoding decoding, int slots) {
            this.spec = spec;
            this.decoding = decoding;
            this.slots = slots;
        }

        @Override
        public ShardResult apply(Iterator<List<Request>> it) {
            List<Request> shard = it.hasNext() ? it.next() : List.of();
            String worker = SparkTraining.workerName();
            EvalRun.LoadedGenerator gen;
            try {
                gen = WorkerPool.acquire(spec, spec::open);
            } catch (OutOfMemoryError e) {
                return new ShardResult(List.of(), worker + ": out of memory loading the model (raise spark.executor.memory)");
            } catch (RuntimeException e) {
                return new ShardResult(List.of(), worker + ": " + SparkTraining.reason(e));
            }
            try {
                Completion[] out = new Completion[shard.size()];
                gen.generate(shard, decoding, slots, (i, c) -> out[i] = c);
                WorkerPool.release(spec, gen);
                return new ShardResult(List.of(out), null);
            } catch (OutOfMemoryError e) {
                WorkerPool.discard(gen);
                return new ShardResult(List.of(), worker + ": out of memory generating (raise spark.executor.memory or lower --batch-size)");
            } catch (LoriException e) {
                WorkerPool.discard(gen);
                return new ShardResult(List.of(), worker + ": " + e.getMessage());
            }
        }
    }
}
