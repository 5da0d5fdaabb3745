package org.lori4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.adapter.Masks;
import org.lori4j.LoriCli;
import org.lori4j.TestPaths;
import org.lori4j.io.EmbeddedModel;
import org.lori4j.io.Json;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;
import static org.lori4j.cli.TrainCommandTest.f;

/** lori pipeline on the tiny train fixture: LoRI-D, a 90% mask, LoRI-S with ~5% of LoRA's parameters. */
class PipelineCommandTest {
    @Test
    void pipelineChainsTheThreeStagesAndSkipsFinishedOnes(@TempDir Path out) throws Exception {
        String[] args = {"pipeline", "--model", f("model"), "--data", f("data.jsonl"), "--out", out.toString(), "--rank", "4", "--alpha", "8",
                "--steps", "3", "--batch-size", "4", "--lr-d", "1e-2", "--lr-s", "1e-2", "--sparsity", "0.9"};
        LoriCli.Result r = LoriCli.run(args);
        assertEquals(0, r.code(), r.err() + r.out());
        LoraAdapter d = LoraAdapter.load(out.resolve("lori-d")), s = LoraAdapter.load(out.resolve("lori-s"));
        Map<String, Masks.Mask> mask = Masks.read(out.resolve("lori-d/masks/0.9_mask.safetensors"));
        Map<String, Masks.Mask> pt = Masks.read(out.resolve("lori-d/masks/0.9_mask.pt"));   // upstream LoRI's format, the same mask
        for (var e : mask.entrySet()) assertArrayEquals(e.getValue().keep(), pt.get(e.getKey()).keep());
        long kept = 0, b = 0, lora = 0;
        for (LoraAdapter.Module m : s.modules().values()) {
            assertArrayEquals(d.module(m.name()).a(), m.a(), 0f, "LoRI-S uses the LoRI-D adapter's A");
            boolean[] keep = mask.get(m.keyB()).keep();
            for (int i = 0; i < keep.length; i++) {
                if (keep[i]) kept++;
                else assertEquals(0f, m.b()[i], 0f);
            }
            b += m.b().length;
            lora += m.a().length + m.b().length;
        }
        assertEquals((int) (0.1 * b), kept);   // k = int((1 - 0.9) * n), no ties among trained values
        long trainable = Json.read(out.resolve("lori-s/training_args.json")).get("trainable_parameters").asLong();
        assertEquals(kept, trainable);
        assertEquals(0.05, (double) trainable / lora, 0.01, "about 5% of LoRA's parameters at sparsity 0.9");
        // a second run finds both stages finished and trains nothing
        byte[] before = Files.readAllBytes(out.resolve("lori-s/adapter_model.safetensors"));
        r = LoriCli.run(args);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("skipped"), r.err());
        assertArrayEquals(before, Files.readAllBytes(out.resolve("lori-s/adapter_model.safetensors")));
        // a rerun asking for other settings does not silently keep the old adapters
        String[] rank8 = args.clone();
        rank8[java.util.Arrays.asList(rank8).indexOf("--rank") + 1] = "8";
        LoriCli.Result other = LoriCli.run(rank8);
        assertEquals(2, other.code(), other.out());
        assertTrue(other.err().contains("lori-d was finished with rank 4, this run asks for 8"), other.err());
        String[] sparser = args.clone();
        sparser[java.util.Arrays.asList(sparser).indexOf("--sparsity") + 1] = "0.5";
        LoriCli.Result s5 = LoriCli.run(sparser);
        assertEquals(2, s5.code(), s5.out());
        assertTrue(s5.err().contains("lori-s was finished with mask"), s5.err());
    }

    /** The first N records of the shared boolq FILE (train.json or test.json) written to DEST. */
    private static Path boolq(String file, int n, Path dest) throws Exception {
        JsonNode all = Json.read(TestPaths.realdata("lori-tasks/boolq").resolve(file));
        ArrayNode some = Json.MAPPER.createArrayNode();
        for (int i = 0; i < n; i++) some.add(all.get(i));
        Files.writeString(dest, Json.MAPPER.writeValueAsString(some));
        return dest;
    }

    private static List<String> outputs(Path evalDir) throws Exception {
        List<String> out = new ArrayList<>();
        for (String l : Files.readAllLines(evalDir.resolve("generations.jsonl"))) out.add(Json.MAPPER.readTree(l).get("output").asText());
        return out;
    }

    @Test
    void pipelineEvaluatesBaseAndBothStagesLikeLoriEvalAndComparesThem(@TempDir Path tmp) throws Exception {
        Path train = boolq("train.json", 8, tmp.resolve("train.json")), test = boolq("test.json", 3, tmp.resolve("test.json"));
        Path out = tmp.resolve("run");
        String[] args = {"pipeline", "--model", EmbeddedModel.path().toString(), "--data", train.toString(), "--out", out.toString(),
                "--rank", "4", "--alpha", "8", "--steps", "2", "--batch-size", "4", "--lr-d", "1e-2", "--lr-s", "1e-2",
                "--eval-task", "boolq", "--eval-data", test.toString(), "--eval-limit", "3", "--eval-max-new-tokens", "5",
                "--eval-batch-size", "2", "--eval-base"};
        LoriCli.Result r = LoriCli.run(args);
        assertEquals(0, r.code(), r.err() + r.out());

        List<String> stages = List.of("base", "lori-d", "lori-s");
        StringBuilder row = new StringBuilder("| boolq | accuracy |");
        for (String stage : stages) {
            Path dir = out.resolve(stage).resolve("eval");
            for (String f : List.of("results.json", "generations.jsonl", "results.md")) assertTrue(Files.isRegularFile(dir.resolve(f)), dir + "/" + f);
            JsonNode res = Json.read(dir.resolve("results.json"));
            assertEquals(3, res.get("results").get(0).get("n").asInt());
            assertEquals(5, res.get("settings").get("max_new_tokens").asInt());
            row.append(String.format(java.util.Locale.ROOT, " %.2f |", res.get("results").get(0).get("score").asDouble()));
            JsonNode adapters = res.get("adapters");
            if (stage.equals("base")) { assertEquals(0, adapters.size()); continue; }
            // the stage's own adapter, recorded by its weights' hash
            assertEquals(out.resolve(stage).toAbsolutePath().normalize().toString(), adapters.get(0).get("path").asText());
            byte[] w = Files.readAllBytes(out.resolve(stage).resolve("adapter_model.safetensors"));
            assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(w)),
                    adapters.get(0).get("weights_sha256").get("adapter_model.safetensors").asText());
        }
        assertTrue(r.out().contains("| task | metric | base | lori-d | lori-s |"), r.out());
        assertTrue(r.out().contains(row.toString()), row + " in\n" + r.out());

        // the same outputs as lori eval with the LoRI-S adapter on the same settings
        Path alone = tmp.resolve("alone");
        LoriCli.Result e = LoriCli.run("eval", "--model", EmbeddedModel.path().toString(), "--adapter", out.resolve("lori-s").toString(),
                "--task", "boolq", "--data", test.toString(), "--limit", "3", "--max-new-tokens", "5", "--batch-size", "2", "--out", alone.toString());
        assertEquals(0, e.code(), e.err());
        assertEquals(outputs(alone), outputs(out.resolve("lori-s/eval")));

        // a rerun trains nothing and generates nothing: every output is reused
        r = LoriCli.run(args);
        assertEquals(0, r.code(), r.err() + r.out());
        for (String stage : stages)
            assertEquals(0, Json.read(out.resolve(stage).resolve("eval/results.json")).get("speed").get("outputs_generated").asInt(), stage);
        assertTrue(r.out().contains(row.toString()), r.out());
    }

    @Test
    void evalOptionsWithoutEvalTaskAreRejected(@TempDir Path out) {
        LoriCli.Result r = LoriCli.run("pipeline", "--model", f("model"), "--data", f("data.jsonl"), "--out", out.toString(),
                "--eval-limit", "3");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--eval-limit needs --eval-task"), r.err());
        assertFalse(Files.exists(out.resolve("lori-d")));
    }
}
