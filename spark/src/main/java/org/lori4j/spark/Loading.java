package org.lori4j.spark;

import org.apache.spark.BarrierTaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.lori4j.eval.EvalRun;
import org.lori4j.io.LoriException;
import scala.collection.Iterator;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

import java.io.Serializable;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Loads an evaluation's model on every worker before the run writes anything: a barrier stage of one task per worker
 * (all at once, so each lands on its own slot), each opening the spec into its executor's pool, where the shards then
 * find it. A worker that cannot load it fails the command with its message; nothing is retried.
 */
final class Loading {
    private Loading() {}

    static void everywhere(JavaSparkContext sc, EvalRun.GeneratorSpec spec, int workers) {
        ClassTag<String> tag = ClassTag$.MODULE$.apply(String.class);
        var stage = sc.parallelize(IntStream.range(0, workers).boxed().toList(), workers).rdd().barrier()
                .mapPartitions(new Load(spec), false, tag);
        for (String error : new JavaRDD<>(stage, tag).collect()) if (!error.isEmpty()) throw new LoriException(error);
    }

    static final class Load extends AbstractFunction1<Iterator<Integer>, Iterator<String>> implements Serializable {
        private final EvalRun.GeneratorSpec spec;

        Load(EvalRun.GeneratorSpec spec) { this.spec = spec; }

        @Override
        public Iterator<String> apply(Iterator<Integer> ignored) {
            BarrierTaskContext ctx = BarrierTaskContext.get();
            String error = "";
            try {
                WorkerPool.release(spec, WorkerPool.acquire(spec, spec::open));
            } catch (OutOfMemoryError e) {
                error = SparkTraining.workerName() + ": out of memory loading the model (raise spark.executor.memory)";
            } catch (RuntimeException e) {
                error = SparkTraining.workerName() + ": " + SparkTraining.reason(e);
            }
            ctx.barrier();
            return SparkTraining.single(error);
        }
    }
}
