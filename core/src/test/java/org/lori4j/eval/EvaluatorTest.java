package org.lori4j.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.TestPaths;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Plumbing of the harness with a scripted generator: batching, outputs, results, resume. Scoring rules have their own tests. */
class EvaluatorTest {

    private static Evaluator.Settings settings(int batch) {
        return new Evaluator.Settings(batch, Decoding.greedy(16), 1, 0, ScoreOn.REFERENCE, 2);
    }

    private static ObjectNode meta(String template) {
        ObjectNode m = Json.MAPPER.createObjectNode();
        ObjectNode s = m.putObject("settings");
        s.put("template", template);
        s.put("batch_size", 0);
        m.putObject("model").put("path", "fake");
        return m;
    }

    /** Refuses when the instruction mentions money or a stranger; otherwise complies. */
    private static String refuseSome(String prompt) {
        return prompt.contains("dollars") || prompt.contains("stranger") ? " I cannot help with that." : " Sure, here you go with all of it.";
    }

    @Test
    void hexphiOnTheBundledSetCountsSafeOutputsPerCategory(@TempDir Path out) throws Exception {
        var tasks = EvalInputs.load("hexphi", null, null, null, null);
        FakeGenerator gen = new FakeGenerator(EvaluatorTest::refuseSome);
        Evaluator.Report r = new Evaluator(gen, settings(8), Progress.silent()).run(tasks, out, false, meta("hexphi"));
        TaskResult t = r.results().getFirst();
        assertEquals(33, t.n());
        assertEquals(2, t.correct()); // the chain letter (ten dollars) and the bus stop stranger
        assertEquals(100.0 * 2 / 33, t.score(), 1e-12);
        assertEquals(100.0 / 3, t.perCategory().get("economic_harm").score(), 1e-12);
        assertEquals(0.0, t.perCategory().get("malware").score());
        assertEquals(List.of(8, 8, 8, 8, 1), gen.batchSizes);
        List<String> lines = Files.readAllLines(out.resolve("generations.jsonl"));
        assertEquals(33, lines.size());
        JsonNode first = Json.MAPPER.readTree(lines.getFirst());
        assertTrue(first.get("prompt").asText().startsWith("You are a helpful assistant.Always answer"));
        assertEquals(" Sure, here you go with all of it.", first.get("output").asText());
        assertFalse(first.get("correct").asBoolean());
        JsonNode results = Json.read(out.resolve("results.json"));
        assertEquals("hexphi", results.get("results").get(0).get("task").asText());
        assertEquals(33, results.get("results").get(0).get("n").asInt());
        assertEquals(3, results.get("results").get(0).get("per_category").get("malware").get("n").asInt());
        assertEquals("fake", results.get("model").get("path").asText());
        assertEquals(33, results.get("speed").get("outputs_generated").asInt());
        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("| hexphi | safety | 33 | 6.06 |"), md);
        assertTrue(md.contains("| hexphi / economic_harm | safety | 3 | 33.33 |"), md);
    }

    @Test
    void commonsenseFolderRunsEveryTaskAndAverages(@TempDir Path out) {
        // Answer the gold word of each item by peeking at nothing: always "answer1"/"true"/"solution1"/"option1".
        var tasks = EvalInputs.load("commonsense", TestPaths.realdata("lori-tasks"), null, 10, null);
        assertEquals(List.of("boolq", "piqa", "social_i_qa", "arc-challenge", "arc-easy", "openbookqa", "winogrande"),
                tasks.stream().map(t -> t.task().name()).toList());
        FakeGenerator gen = new FakeGenerator(p -> "the correct answer is answer1 true solution1 option1");
        Evaluator.Report r = new Evaluator(gen, settings(4), Progress.silent()).run(tasks, out, false, meta("alpaca-lori16"));
        double sum = 0;
        for (int i = 0; i < tasks.size(); i++) {
            var t = tasks.get(i);
            String first = switch (t.task().name()) {
                case "boolq" -> "true";
                case "piqa" -> "solution1";
                case "winogrande" -> "option1";
                default -> "answer1";
            };
            long expected = t.items().stream().filter(it -> it.gold().equals(first)).count();
            assertEquals(expected, r.results().get(i).correct(), t.task().name());
            sum += 100.0 * expected / 10;
        }
        assertEquals(sum / 7, r.average(), 1e-9);
        assertEquals(70, gen.prompts);
    }

    @Test
    void resumeGeneratesOnlyWhatIsMissingAndGivesTheSameResults(@TempDir Path dir) throws Exception {
        var tasks = EvalInputs.load("hexphi", null, null, null, null);
        Path full = dir.resolve("full"), cut = dir.resolve("cut");
        Evaluator.Report ref = new Evaluator(new FakeGenerator(EvaluatorTest::refuseSome), settings(5), Progress.silent())
                .run(tasks, full, false, meta("hexphi"));

        FakeGenerator dying = new FakeGenerator(EvaluatorTest::refuseSome, 3);
        assertThrows(IllegalStateException.class,
                () -> new Evaluator(dying, settings(5), Progress.silent()).run(tasks, cut, false, meta("hexphi")));
        assertEquals(15, Files.readAllLines(cut.resolve("generations.jsonl")).size());
        // a kill in the middle of writing a line leaves half a line behind
        Files.writeString(cut.resolve("generations.jsonl"), "{\"task\": \"hexphi\", \"index\": 15, \"sam", StandardOpenOption.APPEND);

        assertThrows(LoriException.class, () -> new Evaluator(new FakeGenerator(EvaluatorTest::refuseSome), settings(5),
                Progress.silent()).run(tasks, cut, false, meta("hexphi")), "without --resume an existing run is not overwritten");
        LoriException changed = assertThrows(LoriException.class, () -> new Evaluator(new FakeGenerator(EvaluatorTest::refuseSome),
                settings(5), Progress.silent()).run(tasks, cut, true, meta("raw")));
        assertTrue(changed.getMessage().contains("different template"), changed.getMessage());

        FakeGenerator rest = new FakeGenerator(EvaluatorTest::refuseSome);
        Evaluator.Report resumed = new Evaluator(rest, settings(7), Progress.silent()).run(tasks, cut, true, meta("hexphi"));
        assertEquals(18, rest.prompts);
        assertEquals(ref.results().getFirst(), resumed.results().getFirst());
        List<String> lines = Files.readAllLines(cut.resolve("generations.jsonl"), StandardCharsets.UTF_8);
        assertEquals(33, lines.size());
        for (String l : lines) Json.MAPPER.readTree(l); // every line is whole again
    }

    @Test
    void resumeRejectsOutputsOfOtherPrompts(@TempDir Path out) {
        var tasks = EvalInputs.load("hexphi", null, null, 4, null);
        new Evaluator(new FakeGenerator(p -> "ok"), settings(2), Progress.silent()).run(tasks, out, false, meta("hexphi"));
        var other = List.of(new Evaluator.TaskData(tasks.getFirst().task(), List.of(new EvalItem("hexphi", 0, "0", "x",
                "another prompt", "safe", "", "t:1")), "t"));
        LoriException e = assertThrows(LoriException.class, () ->
                new Evaluator(new FakeGenerator(p -> "ok"), settings(2), Progress.silent()).run(other, out, true, meta("hexphi")));
        assertTrue(e.getMessage().contains("differs"), e.getMessage());
    }

    @Test
    void humanevalRunsEverySampleAndReportsPassAtK(@TempDir Path out) {
        org.junit.jupiter.api.Assumptions.assumeTrue(PythonSandbox.resolve("python3") != null, "python3 not installed");
        PythonSandbox sandbox = PythonSandbox.create("python3", new PythonSandbox.Limits(java.time.Duration.ofSeconds(20), 1L << 30, 1L << 20));
        var tasks = EvalInputs.load("humaneval", TestPaths.fixture("eval").resolve("humaneval_mini.jsonl"), null, null, sandbox);
        // add: always right (the stop word "\ndef" cuts the SystemExit that follows); is_palindrome: right only
        // on its first sample; count_vowels: always wrong.
        int[] calls = new int[1];
        FakeGenerator gen = new FakeGenerator(p -> {
            if (p.contains("def add")) return "\n    return a + b\n\ndef unrelated():\n    raise SystemExit(1)\n";
            if (p.contains("def is_palindrome")) return calls[0]++ == 0 ? "\n    return s == s[::-1]\n" : "\n    return False\n";
            return "\n    return 0\n";
        });
        var s = new Evaluator.Settings(2, new Decoding(64, 0.2, 0, 0.95, HumanEvalTask.STOP_WORDS), 3, 7, ScoreOn.REFERENCE, 2);
        Evaluator.Report r = new Evaluator(gen, s, Progress.silent()).run(tasks, out, false, meta("raw"));
        TaskResult t = r.results().getFirst();
        assertEquals(3, t.n());
        assertEquals(4, t.correct());
        // pass@1 = mean(3/3, 1/3, 0/3); pass@5 omitted (3 samples)
        assertEquals(100.0 * (1 + 1.0 / 3) / 3, t.score(), 1e-9);
        assertEquals(List.of("pass@1"), List.copyOf(t.passAtK().keySet()));
    }
}
