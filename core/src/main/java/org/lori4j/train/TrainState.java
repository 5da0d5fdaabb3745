package org.lori4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;
import org.lori4j.io.SafeTensors;
import org.lori4j.io.SafeTensorsFile;
import org.lori4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Everything needed to continue a run exactly where it stopped: the position in the data (epoch and
 * next step; the order follows from the seed), the optimiser step count, and per trainable module its
 * A, B and AdamW moments. Stored as {@code training_state/state.json} + {@code state.safetensors}
 * (f32, so resuming is bit-exact); the folder is replaced as a whole by renames.
 *
 * @param batchesDone     batches (training steps) completed in all
 * @param epoch           epoch of the next batch
 * @param stepInEpoch     index of the next batch within its epoch
 * @param optimizerSteps  AdamW updates done (= batchesDone, times M under reference accumulation)
 * @param tensors         "MODULE.lora_A", "MODULE.lora_B", "MODULE.exp_avg_A", ... as float arrays
 * @param run             the options of the run, checked when resuming
 */
public record TrainState(long batchesDone, int epoch, int stepInEpoch, long optimizerSteps,
                         Map<String, float[]> tensors, JsonNode run) {
    public static final String DIR = "training_state";
    private static final String JSON = "state.json", TENSORS = "state.safetensors";

    /** Captures the slots' current tensors and optimiser moments. */
    public static TrainState capture(long batchesDone, int epoch, int stepInEpoch, long optimizerSteps,
                                     Iterable<LoraSlot> slots, Map<float[], AdamW> optimizers, JsonNode run) {
        Map<String, float[]> t = new LinkedHashMap<>();
        for (LoraSlot s : slots) {
            String m = s.proj.module(s.layer);
            t.put(m + ".lora_A", s.a.clone());
            t.put(m + ".lora_B", s.b.clone());
            AdamW oa = optimizers.get(s.a), ob = optimizers.get(s.b);
            if (oa != null) { t.put(m + ".exp_avg_A", oa.m().clone()); t.put(m + ".exp_avg_sq_A", oa.v().clone()); }
            if (ob != null) { t.put(m + ".exp_avg_B", ob.m().clone()); t.put(m + ".exp_avg_sq_B", ob.v().clone()); }
        }
        return new TrainState(batchesDone, epoch, stepInEpoch, optimizerSteps, t, run);
    }

    /** Writes {@code outDir/training_state} by filling a temporary folder and swapping it in. */
    public void write(Path outDir) {
        Path target = outDir.resolve(DIR), tmp = outDir.resolve("." + DIR + ".tmp"), old = outDir.resolve("." + DIR + ".old");
        try {
            Files.createDirectories(outDir);
            deleteTree(tmp);
            Files.createDirectories(tmp);
            org.lori4j.io.OutputDir.inProgress(tmp, true);   // Ctrl-C while writing: no hidden folder left
            Map<String, Tensor> ts = new LinkedHashMap<>();
            tensors.forEach((k, v) -> ts.put(k, Tensor.of(v.clone(), v.length)));
            SafeTensors.write(tmp.resolve(TENSORS), ts, Map.of("format", "lori4j-training-state"));
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("batches_done", batchesDone);
            o.put("epoch", epoch);
            o.put("step_in_epoch", stepInEpoch);
            o.put("optimizer_steps", optimizerSteps);
            o.set("run", run);
            Json.write(tmp.resolve(JSON), o);
            deleteTree(old);
            if (Files.exists(target)) Files.move(target, old);
            Files.move(tmp, target);
            deleteTree(old);
        } catch (IOException e) {
            throw new LoriException(target + ": cannot write the training state: " + e.getMessage(), e);
        } finally {
            org.lori4j.io.OutputDir.inProgress(tmp, false);
        }
    }

    /** Whether {@code outDir} holds a state (or one left half-swapped by a kill). */
    public static boolean exists(Path outDir) {
        return Files.isRegularFile(outDir.resolve(DIR).resolve(JSON)) || Files.isRegularFile(outDir.resolve("." + DIR + ".old").resolve(JSON));
    }

    /** Reads the state of {@code outDir}; a swap interrupted by a kill falls back to the previous state. */
    public static TrainState read(Path outDir) {
        Path dir = outDir.resolve(DIR);
        if (!Files.isRegularFile(dir.resolve(JSON))) dir = outDir.resolve("." + DIR + ".old");
        if (!Files.isRegularFile(dir.resolve(JSON)))
            throw new LoriException(outDir + ": no " + DIR + "/ to resume from (run without --resume first, or with --save-every)");
        JsonNode o = Json.read(dir.resolve(JSON));
        Map<String, float[]> t = new LinkedHashMap<>();
        try (SafeTensorsFile f = SafeTensors.read(dir.resolve(TENSORS))) {
            f.tensors().forEach((k, v) -> t.put(k, v.toFloatArray()));
        }
        for (String f : new String[]{"batches_done", "epoch", "step_in_epoch", "optimizer_steps"}) {
            if (!o.has(f)) throw new LoriException(dir.resolve(JSON) + ": field '" + f + "' is missing");
            if (!o.get(f).canConvertToLong() || !o.get(f).isIntegralNumber() || o.get(f).asLong() < 0)
                throw new LoriException(dir.resolve(JSON) + ": field '" + f + "' must be a non-negative integer, got " + o.get(f));
        }
        return new TrainState(o.get("batches_done").asLong(), o.get("epoch").asInt(), o.get("step_in_epoch").asInt(),
                o.get("optimizer_steps").asLong(), t, o.get("run"));
    }

    /** Copies the saved tensors into the slots and returns the restored optimisers (keyed by the parameter arrays). */
    public Map<float[], AdamW> restoreInto(Iterable<LoraSlot> slots, AdamW.Config adam, String where) {
        Map<float[], AdamW> opts = new java.util.IdentityHashMap<>();
        for (LoraSlot s : slots) {
            String m = s.proj.module(s.layer);
            copy(m + ".lora_A", s.a, where);
            copy(m + ".lora_B", s.b, where);
            if (s.gradA != null) opts.put(s.a, new AdamW(adam, need(m + ".exp_avg_A", s.a.length, where), need(m + ".exp_avg_sq_A", s.a.length, where), optimizerSteps));
            if (s.gradB != null) opts.put(s.b, new AdamW(adam, need(m + ".exp_avg_B", s.b.length, where), need(m + ".exp_avg_sq_B", s.b.length, where), optimizerSteps));
        }
        return opts;
    }

    private void copy(String key, float[] dst, String where) {
        float[] src = need(key, dst.length, where);
        System.arraycopy(src, 0, dst, 0, dst.length);
    }

    private float[] need(String key, int len, String where) {
        float[] v = tensors.get(key);
        if (v == null) throw new LoriException(where + ": tensor " + key + " is missing (was the state written by another method or adapter?)");
        if (v.length != len) throw new LoriException(where + ": tensor " + key + " has " + v.length + " values, the run needs " + len);
        return v;
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }
}
