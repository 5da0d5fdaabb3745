package org.lori4j.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.LoriCli;
import org.lori4j.TestPaths;
import org.lori4j.io.Json;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.*;

/**
 * lori train/eval --cluster against a real Spark standalone cluster on 127.0.0.1: a master and two workers of one
 * core, each its own JVM ({@link StandaloneCluster}), shared by the tests of this class and stopped after them, with
 * the embedded model. Data-parallel training on 2 workers gives the adapter of one process with the same global batch
 * bit for bit (LoRI-D, LoRI-S, LoRA), resumes exactly, and survives a worker killed mid-run; sharded evaluation writes
 * the local run's results and generations item for item, also when a worker is killed mid-run; a worker that cannot
 * load the model or runs out of memory fails the command with one line naming it, leaving nothing written.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StandaloneClusterTest {
    static final String DATA = TestPaths.realdata("lori-tasks/boolq/train.json").toString();
    static final String EVAL_DATA = TestPaths.realdata("lori-tasks/boolq/test.json").toString();
    static final String[] PROPS = {"spark.driver.host", "spark.driver.bindAddress", "spark.executor.extraClassPath",
            "spark.executor.memory", "spark.executor.extraJavaOptions"};

    @TempDir static Path tmp;
    static StandaloneCluster cluster;
    /** The application the commands run in (as a Spark application calling lori would): executors stay up between them. */
    static SparkContext app;

    @BeforeAll
    static void startCluster() throws Exception {
        cluster = new StandaloneCluster(tmp.resolve("spark-home"), 2);
        System.setProperty("spark.driver.host", "127.0.0.1");
        System.setProperty("spark.driver.bindAddress", "127.0.0.1");
        System.setProperty("spark.executor.extraClassPath", String.join(File.pathSeparator, cluster.classFolders));
        System.setProperty("spark.executor.memory", "640m");
        System.setProperty("spark.executor.extraJavaOptions", "-Dlori.threads=1");
        app = new SparkContext(new SparkConf().setMaster(cluster.url).setAppName("StandaloneClusterTest").set("spark.ui.enabled", "false"));
    }

    @AfterAll
    static void stopCluster() {
        try {
            if (app != null) app.stop();
        } finally {
            for (String p : PROPS) System.clearProperty(p);
            if (cluster != null) {
                cluster.close();
                assertEquals(List.of(), cluster.processes(), "processes left running");
            }
        }
    }

    static String[] train(Path out, String... extra) {
        return train(out, 3, extra);
    }

    static String[] train(Path out, int steps, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--out", out.toString(), "--data", DATA, "--max-length", "96",
                "--max-prompt-length", "64", "--batch-size", "8", "--micro-batch-size", "4", "--steps", String.valueOf(steps), "--lr", "1e-3"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    static String[] onCluster(String[] args, String... extra) {
        List<String> a = new ArrayList<>(List.of(args));
        a.addAll(List.of("--cluster", cluster.url, "--workers", "2"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    static void ok(LoriCli.Result r) {
        assertEquals(0, r.code(), r.err() + r.out());
    }

    static void assertSameAdapter(Path want, Path got) throws Exception {
        assertArrayEquals(Files.readAllBytes(want.resolve("adapter_model.safetensors")), Files.readAllBytes(got.resolve("adapter_model.safetensors")),
                "adapter of " + got + " vs " + want);
        assertArrayEquals(Files.readAllBytes(want.resolve("training_state/state.safetensors")), Files.readAllBytes(got.resolve("training_state/state.safetensors")),
                "optimiser state of " + got + " vs " + want);
        assertEquals(lossesOf(want), lossesOf(got));
    }

    static List<Double> lossesOf(Path run) throws Exception {
        List<Double> l = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) l.add(Json.MAPPER.readTree(line).get("loss").asDouble());
        return l;
    }

    @Test
    @Order(1)
    void loriDOnTwoWorkersEqualsOneProcessAndResumesExactly() throws Exception {
        Path one = tmp.resolve("d-one"), two = tmp.resolve("d-two"), resumed = tmp.resolve("d-resumed");
        ok(LoriCli.run(train(one)));
        LoriCli.Result r = LoriCli.run(onCluster(train(two)));
        ok(r);
        assertTrue(r.err().contains("2 data-parallel workers"), r.err());   // progress goes to stderr
        assertSameAdapter(one, two);
        // stopped after step 2 (with a checkpoint), then resumed on the cluster: the uninterrupted run's adapter
        ok(LoriCli.run(onCluster(train(resumed, "--stop-after", "2"))));
        assertEquals(2, lossesOf(resumed).size());
        ok(LoriCli.run(onCluster(train(resumed, "--resume"))));
        assertSameAdapter(one, resumed);
    }

    @Test
    @Order(2)
    void loriSWithOnlyMaskedEntriesExchangedAndLoraEqualOneProcess() throws Exception {
        Path d = tmp.resolve("s-lorid");
        ok(LoriCli.run(train(d)));
        ok(LoriCli.run("masks", "--adapter", d.toString(), "--sparsity", "0.9", "--format", "safetensors"));
        String mask = d.resolve("masks/0.9_mask.safetensors").toString();
        Path one = tmp.resolve("s-one"), two = tmp.resolve("s-two");
        ok(LoriCli.run(train(one, "--method", "lori-s", "--mask", mask)));
        LoriCli.Result r = LoriCli.run(onCluster(train(two, "--method", "lori-s", "--mask", mask)));
        ok(r);
        assertSameAdapter(one, two);
        // 10% of B travels: a step's 2 micro-batches (one per worker), 4 bytes per kept entry plus 36 bytes of count, index, loss and token counts
        JsonNode args = Json.read(one.resolve("training_args.json"));
        long kept = args.get("trainable_parameters").asLong();
        assertTrue(kept < 0.11 * 96_000 && kept > 0.09 * 96_000, "kept " + kept);
        assertTrue(r.err().contains(String.format(java.util.Locale.ROOT, "%,d bytes of gradients", 2 * (4 + 28 + 4 + 4 * kept))), r.err());

        Path lone = tmp.resolve("lora-one"), ltwo = tmp.resolve("lora-two");
        ok(LoriCli.run(train(lone, "--method", "lora")));
        ok(LoriCli.run(onCluster(train(ltwo, "--method", "lora"))));
        assertSameAdapter(lone, ltwo);
    }

    static String[] eval(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("eval", "--task", "boolq", "--data", EVAL_DATA, "--limit", "32", "--max-new-tokens", "96",
                "--batch-size", "2", "--out", out.toString()));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    static void assertSameEval(Path want, Path got) throws Exception {
        assertEquals(Files.readString(want.resolve("generations.jsonl")), Files.readString(got.resolve("generations.jsonl")));
        ObjectNode a = (ObjectNode) Json.read(want.resolve("results.json")), b = (ObjectNode) Json.read(got.resolve("results.json"));
        for (ObjectNode o : List.of(a, b)) { o.remove("finished"); o.remove("speed"); }
        assertEquals(a, b);
        assertEquals(Files.readString(want.resolve("results.md")), Files.readString(got.resolve("results.md")));
    }

    @Test
    @Order(3)
    void shardedEvalEqualsLocalItemForItem() throws Exception {
        Path one = tmp.resolve("e-one"), two = tmp.resolve("e-two");
        ok(LoriCli.run(eval(one)));
        ok(LoriCli.run(onCluster(eval(two))));
        assertEquals(32, Files.readAllLines(two.resolve("generations.jsonl")).size());
        assertSameEval(one, two);
    }

    @Test
    @Order(4)
    void aWorkerThatCannotLoadTheModelFailsWithOneLineAndWritesNothing() throws Exception {
        // a folder that looks like a model to the driver (which does not load it) but whose weights are cut short:
        // the workers fail to load it
        Path model = tmp.resolve("no-model"), out = tmp.resolve("e-bad");
        Files.createDirectories(model);
        try (var files = Files.list(org.lori4j.io.EmbeddedModel.path())) {
            for (Path f : files.toList()) Files.copy(f, model.resolve(f.getFileName()));
        }
        Path weights = model.resolve("model.safetensors");
        byte[] all = Files.readAllBytes(weights);
        Files.write(weights, java.util.Arrays.copyOf(all, all.length / 2));
        LoriCli.Result r = LoriCli.run(onCluster(eval(out, "--model", model.toString())));
        assertEquals(2, r.code(), r.err());
        String err = r.err().strip();
        assertTrue(err.matches("error: worker 127\\.0\\.0\\.1 \\(executor \\d+\\): .*no-model.*"), err);
        assertEquals(1, err.lines().count(), err);
        assertFalse(Files.exists(out), "nothing written");
    }

    /**
     * Kills worker I (and starts a replacement, as a cluster manager would) once READY holds, while COMMAND runs;
     * returns the command's result and fails unless the kill happened.
     */
    static LoriCli.Result killingWorker(int i, java.util.function.BooleanSupplier ready, String[] command) throws Exception {
        AtomicBoolean finished = new AtomicBoolean(), killed = new AtomicBoolean();
        java.util.concurrent.atomic.AtomicReference<Exception> failure = new java.util.concurrent.atomic.AtomicReference<>();
        Thread killer = Thread.ofPlatform().start(() -> {
            try {
                while (!ready.getAsBoolean()) {
                    if (finished.get()) return;
                    Thread.sleep(10);
                }
                cluster.killWorker(i);
                killed.set(true);
                cluster.startWorker();
            } catch (Exception e) {
                failure.set(e);
            }
        });
        LoriCli.Result r;
        try {
            r = LoriCli.run(command);
        } finally {
            finished.set(true);
            killer.join();
        }
        if (failure.get() != null) throw failure.get();
        assertTrue(killed.get(), "the command ended before the worker was killed");
        return r;
    }

    static boolean exists(Path p) {
        try {
            return Files.exists(p) && Files.size(p) > 0;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    @Test
    @Order(5)
    void aWorkerKilledMidTrainingIsReplacedAndTheRunEndsWithTheSameAdapter() throws Exception {
        Path one = tmp.resolve("k-one"), two = tmp.resolve("k-two");
        ok(LoriCli.run(train(one, 6, "--save-every", "2")));
        // after the first checkpoint, while steps 3.. run: the barrier stage fails and runs again from step 2's state
        LoriCli.Result r = killingWorker(1, () -> exists(two.resolve("training_state/state.json")),
                onCluster(train(two, 6, "--save-every", "2")));
        ok(r);
        assertSameAdapter(one, two);
    }

    @Test
    @Order(6)
    void aWorkerKilledMidEvalLosesNoItemAndCountsNoneTwice() throws Exception {
        Path one = tmp.resolve("e-one"), two = tmp.resolve("ek-two");
        // after the first shard's outputs arrived, while the others generate: the lost shards run again elsewhere
        LoriCli.Result r = killingWorker(2, () -> exists(two.resolve("generations.jsonl")), onCluster(eval(two)));
        ok(r);
        assertSameEval(one, two);
    }
}
