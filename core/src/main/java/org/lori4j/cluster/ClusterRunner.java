package org.lori4j.cluster;

import org.lori4j.eval.EvalRun;
import org.lori4j.eval.Evaluator;
import org.lori4j.eval.Progress;
import org.lori4j.io.LoriException;
import org.lori4j.train.TrainRun;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * Data-parallel training and sharded evaluation on a cluster. The lori4j-spark module implements it (listed in
 * {@code META-INF/services/org.lori4j.cluster.ClusterRunner}); core only calls it, so core never depends on Spark.
 * The process that calls it writes the output folder; the workers read the model and data from the same paths.
 */
public interface ClusterRunner {

    /**
     * Where to run.
     *
     * @param master  the cluster's master URL: {@code spark://HOST:7077}, or {@code local[N]} for N workers in this JVM
     * @param workers how many workers take part (each one task slot), or 0 for the cluster's default
     */
    record Target(String master, int workers) {
        public Target {
            if (master == null || master.isBlank()) throw new LoriException("--cluster needs a master URL (spark://HOST:7077 or local[N])");
            if (workers < 0) throw new LoriException("--workers must be >= 1, got " + workers);
        }
    }

    /** Trains REQUEST data-parallel on the target's workers; checkpoints and the adapter are written here. */
    TrainRun.Summary train(Target target, TrainRun.Request request, TrainRun.Reporter reporter);

    /** Evaluates RUN with its prompts sharded over the target's workers; the output folder is written here. */
    Evaluator.Report eval(Target target, EvalRun run, Path model, EvalRun.Adapters adapters, EvalRun.Stops stops, Path out, boolean resume,
                          Progress progress);

    /** The runner on this class path, if a module provides one. */
    static Optional<ClusterRunner> find() {
        Iterator<ClusterRunner> it = ServiceLoader.load(ClusterRunner.class).iterator();
        return it.hasNext() ? Optional.of(it.next()) : Optional.empty();
    }
}
