package org.lori4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.LoriCli;
import org.lori4j.eval.EvalData;
import org.lori4j.eval.EvalItem;
import org.lori4j.eval.EvalTask;
import org.lori4j.io.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** eval's --tasks list (one table), --stop, and exact-match data in the quickstart's {instruction, output} form. */
class EvalOptionsTest {
    static List<JsonNode> lines(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(file)) if (!l.isBlank()) out.add(Json.MAPPER.readTree(l));
        return out;
    }

    @Test
    void exactReadsInstructionAndOutputRecordsAsPromptAndAnswer() {
        List<EvalData.Row> rows = EvalData.parse("q.jsonl", """
                {"instruction": "Q: Is Mia happy or sad?\\nA:", "output": "sad", "category": "sad"}
                {"prompt": "2+2=", "answer": "4"}
                """);
        EvalTask exact = EvalTask.of("exact", null);
        EvalItem a = exact.item(rows.get(0), 0, "raw"), b = exact.item(rows.get(1), 1, "raw");
        assertEquals("Q: Is Mia happy or sad?\nA:", a.prompt());
        assertEquals("sad", a.gold());
        assertEquals("2+2=", b.prompt());
        assertEquals("4", b.gold());
        assertTrue(exact.judge(a, " sad ", null).correct());
    }

    @Test
    void severalTasksShareOneRunAndOneTableAndStopCutsOutputs(@TempDir Path tmp) throws Exception {
        Path data = Files.createDirectories(tmp.resolve("data"));
        Files.writeString(data.resolve("exact.jsonl"), """
                {"instruction": "Once upon a time", "output": "there"}
                {"instruction": "One day", "output": "Lily"}
                """);
        Path out = tmp.resolve("run");
        LoriCli.Result r = LoriCli.run("eval", "--tasks", "hexphi,exact", "--data", data.toString(), "--limit", "2",
                "--max-new-tokens", "16", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("| hexphi | safety | 2 |") && r.out().contains("| exact | exact_match | 2 |"), r.out());
        assertTrue(r.out().contains("average"), r.out());
        JsonNode results = Json.read(out.resolve("results.json"));
        assertEquals(2, results.get("results").size());
        assertEquals("hexphi,exact", results.get("settings").get("task").asText());

        // --stop: the same outputs, each cut before the first stop string
        List<JsonNode> plain = lines(out.resolve("generations.jsonl"));
        String some = plain.stream().map(g -> g.get("output").asText()).filter(o -> o.length() > 8).findFirst().orElseThrow();
        String stop = some.substring(4, 7);
        Path cut = tmp.resolve("cut");
        LoriCli.Result s = LoriCli.run("eval", "--task", "hexphi,exact", "--data", data.toString(), "--limit", "2",
                "--max-new-tokens", "16", "--stop", stop, "--out", cut.toString());
        assertEquals(0, s.code(), s.err());
        List<JsonNode> stopped = lines(cut.resolve("generations.jsonl"));
        assertEquals(plain.size(), stopped.size());
        for (JsonNode p : plain) {
            JsonNode q = stopped.stream().filter(g -> g.get("task").equals(p.get("task")) && g.get("index").equals(p.get("index")))
                    .findFirst().orElseThrow();
            String o = p.get("output").asText();
            assertEquals(o.contains(stop) ? o.substring(0, o.indexOf(stop)) : o, q.get("output").asText());
            assertTrue(q.get("tokens").asInt() <= p.get("tokens").asInt());
        }
        assertEquals(stop, Json.read(cut.resolve("results.json")).get("settings").get("stop").get(0).asText());
    }

    @Test
    void aListOfTasksNeedsAFolderAndNamesWhatIsMissing(@TempDir Path tmp) throws Exception {
        Path file = Files.writeString(tmp.resolve("x.jsonl"), "{\"prompt\": \"a\", \"answer\": \"b\"}\n");
        LoriCli.Result f = LoriCli.run("eval", "--tasks", "hexphi,exact", "--data", file.toString());
        assertEquals(2, f.code());
        assertTrue(f.err().contains("several tasks read their data from a folder"), f.err());
        LoriCli.Result m = LoriCli.run("eval", "--tasks", "hexphi,gsm8k", "--data", tmp.toString());
        assertEquals(2, m.code());
        assertTrue(m.err().contains("no data for gsm8k"), m.err());
        LoriCli.Result h = LoriCli.run("eval", "--tasks", "humaneval,exact", "--data", tmp.toString());
        assertTrue(h.err().contains("humaneval cannot share a run"), h.err());
    }
}
