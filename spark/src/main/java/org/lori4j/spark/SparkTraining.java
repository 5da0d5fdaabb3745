package org.lori4j.spark;

import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.lori4j.io.LoriException;
import org.lori4j.train.TrainRun;
import org.lori4j.train.TrainState;
import org.lori4j.train.Trainer;
import scala.collection.Iterator;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

import java.io.Serializable;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Data-parallel training on Spark, the driver's side of {@link Trainer.StepRunner}: every stretch of steps between two
 * checkpoints is one barrier stage of N tasks (all start together). Each task builds the run's setup from the job
 * (once per executor JVM), takes the stretch's start state from a broadcast, runs {@link Trainer#runSegment} with the
 * other tasks through {@link BarrierExchange}, and sends back the state it reached (task 0) or its digest (the others,
 * checked to be equal). When a task or its executor dies, Spark runs the whole stage again (up to
 * spark.stage.maxConsecutiveAttempts, 4 by default) from the same start state, that is from the last checkpoint, so
 * the run ends with the same adapter.
 */
final class SparkTraining implements Trainer.StepRunner {
    private final JavaSparkContext sc;
    private final TrainJob job;
    private final int workers;
    long segments, steps, sentBytes, receivedBytes, payloadBytes, stateBytes;

    SparkTraining(JavaSparkContext sc, TrainJob job, int workers) {
        this.sc = sc;
        this.job = job;
        this.workers = workers;
    }

    @Override
    public Trainer.Segment run(TrainState from, long end) {
        byte[] start = Wire.state(from);
        Broadcast<byte[]> state = sc.broadcast(start);
        ClassTag<Outcome> tag = ClassTag$.MODULE$.apply(Outcome.class);
        try {
            List<Integer> ranks = IntStream.range(0, workers).boxed().toList();
            var stage = sc.parallelize(ranks, workers).rdd().barrier().mapPartitions(new SegmentTask(job, state, end), false, tag);
            // Spark retries a failed barrier stage only when it is a shuffle-map stage (a failed barrier result stage
            // aborts the job), so the outcomes reach the driver through a shuffle into one partition
            List<Outcome> outs = new ArrayList<>(new JavaRDD<>(stage, tag).repartition(1).collect());
            outs.sort(java.util.Comparator.comparingInt(Outcome::rank));
            for (Outcome o : outs) if (o.error() != null) throw new LoriException(o.error());
            Outcome first = outs.getFirst();
            for (Outcome o : outs)
                if (!o.digest().equals(first.digest()))
                    throw new IllegalStateException("workers " + first.worker() + " and " + o.worker() + " reached different states");
            segments++;
            steps += first.steps().size();
            stateBytes += (long) start.length * workers + first.state().length;
            for (Outcome o : outs) {
                sentBytes += o.sent();
                receivedBytes += o.received();
            }
            payloadBytes += first.payload();
            TrainState reached = Wire.state(first.state());
            return new Trainer.Segment(reached, first.steps(), first.divergence());
        } finally {
            state.destroy();
        }
    }

    /** One worker's report of a segment: the state (task 0 only) or its digest, the steps, the bytes it exchanged. */
    record Outcome(int rank, String worker, byte[] state, String digest, List<Trainer.StepMetrics> steps,
                   Trainer.Divergence divergence, long sent, long received, long payload, String error) implements Serializable {
        static Outcome failed(int rank, String worker, String error) {
            return new Outcome(rank, worker, new byte[0], "", List.of(), null, 0, 0, 0, error);
        }
    }

    /** The task of a barrier stage: rank = partition. */
    static final class SegmentTask extends AbstractFunction1<Iterator<Integer>, Iterator<Outcome>> implements Serializable {
        private final TrainJob job;
        private final Broadcast<byte[]> state;
        private final long end;

        SegmentTask(TrainJob job, Broadcast<byte[]> state, long end) {
            this.job = job;
            this.state = state;
            this.end = end;
        }

        @Override
        public Iterator<Outcome> apply(Iterator<Integer> ignored) {
            BarrierTaskContext ctx = BarrierTaskContext.get();
            int rank = ctx.partitionId();
            String worker = workerName();
            TrainRun.Setup setup = null;
            String error = null;
            try {
                setup = WorkerPool.acquire(job, () -> TrainRun.setup(job.request(), line -> { }));
            } catch (OutOfMemoryError e) {
                error = worker + ": out of memory loading the model and data (raise spark.executor.memory)";
            } catch (RuntimeException e) {
                error = worker + ": " + reason(e);
            }
            // every worker learns whether every worker could load, so none waits for one that cannot
            for (String s : ctx.allGather(error == null ? "" : error))
                if (error == null && !s.isEmpty()) error = s;
            if (error != null) {
                if (setup != null) WorkerPool.release(job, setup);
                return single(Outcome.failed(rank, worker, error));
            }
            BarrierExchange ex = new BarrierExchange(ctx);
            try {
                Trainer.Segment seg = setup.workerTrainer(job.config()).runSegment(Wire.state(state.value()), end, ex);
                byte[] reached = Wire.state(seg.state());
                WorkerPool.release(job, setup);
                return single(new Outcome(rank, worker, rank == 0 ? reached : new byte[0], digest(reached), seg.steps(), seg.divergence(),
                        ex.sentBytes, ex.receivedBytes, ex.payloadBytes, null));
            } catch (BarrierExchange.WorkerFailed e) {
                WorkerPool.discard(setup);
                return single(Outcome.failed(rank, worker, e.getMessage()));
            } catch (OutOfMemoryError e) {
                WorkerPool.discard(setup);
                String msg = worker + ": out of memory in a training step (raise spark.executor.memory, or lower --micro-batch-size or --max-length)";
                ex.fail(msg);
                return single(Outcome.failed(rank, worker, msg));
            } catch (LoriException e) {
                WorkerPool.discard(setup);
                String msg = worker + ": " + e.getMessage();
                ex.fail(msg);
                return single(Outcome.failed(rank, worker, msg));
            }
        }
    }

    /** "worker HOST (executor ID)": the executor this task runs on. */
    static String workerName() {
        SparkEnv env = SparkEnv.get();
        return "worker " + env.blockManager().blockManagerId().host() + " (executor " + env.executorId() + ")";
    }

    static String reason(Throwable e) {
        return e instanceof LoriException ? e.getMessage() : e.toString();
    }

    static <T> Iterator<T> single(T t) {
        return scala.jdk.javaapi.CollectionConverters.asScala(List.of(t).iterator());
    }

    static String digest(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
