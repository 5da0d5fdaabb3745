package org.lori4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import org.lori4j.TestPaths;
import org.lori4j.io.Json;
import org.lori4j.io.SafeTensors;
import org.lori4j.io.SafeTensorsFile;
import org.lori4j.model.LlamaModel;
import org.lori4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Helpers over the train fixture (src/test/python/make_train_fixtures.py): data, adapters, masks, configs. */
final class TrainFixture {
    static final Path FIX = TestPaths.fixture("train");

    private TrainFixture() {}

    static TrainingData data(String file) throws IOException {
        List<Example> ex = new ArrayList<>();
        for (String line : Files.readAllLines(FIX.resolve(file))) {
            JsonNode n = Json.MAPPER.readTree(line);
            ex.add(new Example(Json.MAPPER.convertValue(n.get("input_ids"), int[].class), Json.MAPPER.convertValue(n.get("labels"), int[].class)));
        }
        return TrainingData.of(ex);
    }

    static Map<String, float[]> tensors(Path file) {
        Map<String, float[]> m = new HashMap<>();
        try (SafeTensorsFile f = SafeTensors.read(file)) {
            for (Map.Entry<String, Tensor> e : f.tensors().entrySet()) m.put(e.getKey(), e.getValue().toFloatArray());
        }
        return m;
    }

    static String key(LoraSlot s, String which) { return "base_model.model." + s.proj().module(s.layer()) + ".lora_" + which + ".weight"; }

    /** A TrainModel with the fixture's r = 4, alpha = 8 adapter from FOLDER, B masked by MASK (may be null). */
    static TrainModel model(LlamaModel base, String folder, TrainConfig.Method method, Map<String, float[]> mask) {
        TrainModel m = new TrainModel(base);
        Map<String, float[]> t = tensors(FIX.resolve(folder).resolve("adapter_model.safetensors"));
        for (int l = 0; l < base.config().numLayers(); l++)
            for (Proj p : Proj.values()) {
                LoraSlot probe = new LoraSlot(l, p, p.in(base.config()), p.out(base.config()), 4, 2f,
                        new float[4 * p.in(base.config())], new float[p.out(base.config()) * 4], false, false, null);
                boolean[] keep = null;
                if (mask != null) {
                    float[] mk = mask.get(key(probe, "B").replace(".lora_B.weight", ".lora_B.default.weight"));
                    keep = new boolean[mk.length];
                    for (int i = 0; i < mk.length; i++) keep[i] = mk[i] != 0;
                }
                m.attach(new LoraSlot(l, p, probe.in, probe.out, 4, 2f, t.get(key(probe, "A")), t.get(key(probe, "B")),
                        method.trainsA(), true, keep));
            }
        return m;
    }

    static TrainConfig config(TrainConfig.Method method, double maxNorm, long steps, TrainConfig.Accumulation acc) {
        return TrainConfig.lori(method, 1e-2).withSteps(steps).withEpochs(10).withBatch(4, 2)
                .withOptimizer(2, maxNorm, GradClip.Strategy.EVEN, acc, AdamW.Config.lori()).withData(0, false);
    }

    static final Trainer.Listener QUIET = () -> {};

    static double relErr(TrainModel m, Map<String, float[]> want, String which) {
        double num = 0, den = 0;
        for (LoraSlot s : m.slots()) {
            float[] got = which.equals("A") ? s.a() : s.b(), w = want.get(key(s, which));
            for (int i = 0; i < got.length; i++) { num += Math.pow(got[i] - w[i], 2); den += Math.pow(w[i], 2); }
        }
        return Math.sqrt(num / den);
    }
}
