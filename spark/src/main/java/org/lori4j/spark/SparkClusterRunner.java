package org.lori4j.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.lori4j.cluster.ClusterRunner;
import org.lori4j.eval.EvalRun;
import org.lori4j.eval.Evaluator;
import org.lori4j.eval.Progress;
import org.lori4j.io.LoriException;
import org.lori4j.train.TrainRun;
import org.lori4j.train.TrainState;
import org.lori4j.train.Trainer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@link ClusterRunner} on Apache Spark: {@code --cluster spark://HOST:7077} (a standalone cluster) or {@code local[N]}.
 * Training runs data-parallel in barrier stages ({@link SparkTraining}); evaluation shards its prompts
 * ({@link ShardedGenerator}). This JVM is Spark's driver: it writes the output folder; the executors read the model and
 * data from the same paths. Spark settings come as usual from {@code spark.*} system properties (spark-submit, or
 * {@code JAVA_OPTS=-Dspark.executor.memory=4g ./lori ...}). A SparkContext already active in this JVM (a Spark
 * application calling lori) is used when its master is the target's, and left running.
 */
public final class SparkClusterRunner implements ClusterRunner {

    @Override
    public TrainRun.Summary train(Target target, TrainRun.Request request, TrainRun.Reporter reporter) {
        Session session = new Session(target, "lori train " + request.outDir().getFileName());
        try {
            Lazy remote = new Lazy(session, TrainJob.of(request), reporter);
            TrainRun.Summary s = TrainRun.run(request, reporter, remote);
            if (remote.training != null && remote.training.steps > 0) {
                SparkTraining t = remote.training;
                reporter.info(String.format(Locale.ROOT, "cluster: %d steps on %d workers in %d barrier stage(s); gradients exchanged per step: "
                                + "%,d bytes of gradients and losses (%,d as sent: base64), each worker sending %,d and receiving %,d bytes on average",
                        t.steps, remote.workers, t.segments, t.payloadBytes / t.steps, t.receivedBytes / t.steps / remote.workers,
                        t.sentBytes / t.steps / remote.workers, t.receivedBytes / t.steps / remote.workers));
            }
            return s;
        } catch (Exception e) {   // SparkException is checked, though Scala throws it undeclared
            throw oneLine(e);
        } finally {
            session.close();
        }
    }

    @Override
    public Evaluator.Report eval(Target target, EvalRun run, Path model, EvalRun.Adapters adapters, EvalRun.Stops stops, Path out,
                                 boolean resume, Progress progress) {
        Session session = new Session(target, "lori eval " + out.getFileName());
        try {
            JavaSparkContext sc = session.start();
            int workers = session.workers();
            EvalRun.GeneratorSpec spec = run.generatorSpec(model.toAbsolutePath().normalize(), adapters, stops);
            Loading.everywhere(sc, spec, workers);   // a worker that cannot load the model fails here, before anything is written
            return run.run(model, adapters, stops, out, resume, progress, s -> new ShardedGenerator(sc, s, workers));
        } catch (Exception e) {   // SparkException is checked, though Scala throws it undeclared
            throw oneLine(e);
        } finally {
            session.close();
        }
    }

    /** Starts Spark at the first segment, so that a run refused for its options or data never starts it. */
    private static final class Lazy implements Trainer.StepRunner {
        private final Session session;
        private final TrainJob job;
        private final TrainRun.Reporter reporter;
        SparkTraining training;
        int workers;

        Lazy(Session session, TrainJob job, TrainRun.Reporter reporter) {
            this.session = session;
            this.job = job;
            this.reporter = reporter;
        }

        @Override
        public Trainer.Segment run(TrainState from, long end) {
            if (training == null) {
                JavaSparkContext sc = session.start();
                workers = session.workers();
                int m = job.config().microBatches();
                reporter.info("cluster " + session.target.master() + ": " + workers + " data-parallel workers, " + m + " micro-batch(es) of "
                        + job.config().microBatchSize() + " per step" + (m % workers != 0 ? " (shares of " + m / workers + " to " + ((m + workers - 1) / workers)
                        + "; --micro-batch-size " + job.config().batchSize() / workers + " gives each worker one)" : ""));
                training = new SparkTraining(sc, job, workers);
            }
            return training.run(from, end);
        }
    }

    /** A SparkContext for one command, stopped (and a local run's models released) when the command ends. */
    static final class Session implements AutoCloseable {
        final Target target;
        private final String name;
        private JavaSparkContext sc;
        private boolean borrowed;
        private int workers;

        Session(Target target, String name) {
            this.target = target;
            this.name = name;
        }

        JavaSparkContext start() {
            if (sc != null) return sc;
            scala.Option<org.apache.spark.SparkContext> active = org.apache.spark.SparkContext$.MODULE$.getActive();
            if (active.isDefined()) {
                // a Spark application calling lori (or a test): its context is used and stays running afterwards
                if (!active.get().master().equals(target.master()))
                    throw new LoriException("--cluster " + target.master() + ": this JVM already runs Spark on " + active.get().master());
                sc = JavaSparkContext.fromSparkContext(active.get());
                borrowed = true;
                workers = resolveWorkers();
                return sc;
            }
            SparkConf conf = new SparkConf().setMaster(target.master()).setAppName(name);
            conf.setIfMissing("spark.ui.enabled", "false");
            conf.setIfMissing("spark.scheduler.barrier.maxConcurrentTasksCheck.interval", "1s");
            conf.setIfMissing("spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures", "60");
            if (!target.master().startsWith("local") && !conf.contains("spark.jars")) {
                List<String> jars = appJars();
                if (!jars.isEmpty()) conf.set("spark.jars", String.join(",", jars));
            }
            try {
                sc = new JavaSparkContext(conf);
            } catch (RuntimeException e) {
                throw new LoriException("cannot start Spark for " + target.master() + ": " + firstLine(e));
            }
            workers = resolveWorkers();
            return sc;
        }

        int workers() { return workers; }

        /** --workers, or N of local[N], or every task slot of the cluster; waits (up to 2 minutes) for that many slots. */
        private int resolveWorkers() {
            String m = target.master();
            Matcher local = Pattern.compile("local\\[(\\d+|\\*)(,\\d+)?]").matcher(m);
            int slotsLocal = m.equals("local") ? 1 : local.matches()
                    ? (local.group(1).equals("*") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(local.group(1))) : -1;
            int want = target.workers() > 0 ? target.workers() : slotsLocal;
            long deadline = System.nanoTime() + 120_000_000_000L;
            int slots;
            while (true) {
                slots = sc.sc().maxNumConcurrentTasks(sc.sc().resourceProfileManager().defaultResourceProfile());
                if (want > 0 ? slots >= want : slots > 0) break;
                if (System.nanoTime() > deadline) {
                    throw new LoriException("the cluster at " + m + " offers " + slots + " task slot(s) after 2 minutes"
                            + (want > 0 ? ", --workers " + want + " needs " + want : "") + " (start workers, or lower --workers)");
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new LoriException("interrupted while waiting for the cluster's workers");
                }
            }
            return want > 0 ? want : slots;
        }

        @Override
        public void close() {
            if (borrowed) return;
            try {
                if (sc != null) sc.stop();
            } finally {
                WorkerPool.closeAll();
            }
        }
    }

    /**
     * The jars the executors need besides Spark: core, its libraries and this module, as listed by the build in
     * target/spark/app.classpath (empty when this module runs from classes, as in tests).
     */
    static List<String> appJars() {
        List<String> jars = new ArrayList<>();
        try {
            Path self = Path.of(SparkClusterRunner.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (!Files.isRegularFile(self)) return jars;
            Path home = self.getParent().getParent();   // target/spark/lib/lori4j-spark.jar -> target/spark
            Path list = home.resolve("app.classpath");
            if (!Files.isRegularFile(list)) return jars;
            jars.add(self.toString());
            for (String e : Files.readString(list).strip().split("[:;]"))
                if (!e.isBlank()) jars.add(home.resolve(e.strip()).toString());
        } catch (IOException | java.net.URISyntaxException | RuntimeException e) {
            throw new LoriException("cannot list lori4j's jars for the executors: " + e);
        }
        return jars;
    }

    /** A failure as one line: a worker's own message when one reached here, else the first line of Spark's. */
    static LoriException oneLine(Exception e) {
        for (Throwable t = e; t != null; t = t.getCause()) if (t instanceof LoriException le) return le;
        String msg = String.valueOf(e.getMessage());
        Matcher lori = Pattern.compile("LoriException: ([^\\n]*)").matcher(msg);
        if (lori.find()) return new LoriException(lori.group(1));
        return new LoriException("the cluster job failed: " + firstLine(e));
    }

    static String firstLine(Throwable e) {
        String m = e.getMessage() == null ? e.toString() : e.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
