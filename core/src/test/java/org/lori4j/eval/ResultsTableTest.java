package org.lori4j.eval;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ResultsTableTest {

    private static void write(Path dir, List<TaskResult> rs, Double avg) throws Exception {
        Files.createDirectories(dir);
        var o = Json.MAPPER.createObjectNode();
        var a = o.putArray("results");
        rs.forEach(r -> a.add(r.toJson()));
        if (avg != null) o.putObject("average").put("score", avg);
        Json.write(dir.resolve("results.json"), o);
    }

    @Test
    void compareShowsRunsSideBySideWithDashesForMissingTasks(@TempDir Path tmp) throws Exception {
        TaskResult boolqA = new TaskResult("boolq", "accuracy", 10, 1, 6, 60, Map.of(), Map.of());
        TaskResult piqaA = new TaskResult("piqa", "accuracy", 10, 1, 7, 70, Map.of(), Map.of());
        TaskResult boolqB = new TaskResult("boolq", "accuracy", 10, 1, 8, 80, Map.of(), Map.of());
        TaskResult hex = new TaskResult("hexphi", "safety", 33, 1, 30, 90.909090,
                Map.of("malware", new TaskResult.Category(3, 2, 66.666666)), Map.of());
        write(tmp.resolve("lora"), List.of(boolqA, piqaA), 65.0);
        write(tmp.resolve("lori-s"), List.of(boolqB, hex), null);
        String table = ResultsTable.compare(List.of(tmp.resolve("lora"), tmp.resolve("lori-s")));
        assertEquals("""
                | task | metric | lora | lori-s |
                | --- | --- | ---: | ---: |
                | boolq | accuracy | 60.00 | 80.00 |
                | piqa | accuracy | 70.00 | - |
                | hexphi | safety | - | 90.91 |
                | hexphi / malware | safety | - | 66.67 |
                | average | mean | 65.00 | - |
                """, table);
        LoriException e = assertThrows(LoriException.class, () -> ResultsTable.compare(List.of(tmp.resolve("none"))));
        assertTrue(e.getMessage().contains("none"), e.getMessage());
    }

    @Test
    void markdownOfOneRunListsPassAtKAndAverage() {
        TaskResult he = new TaskResult("humaneval", "pass@1", 164, 20, 500, 15.2, Map.of(),
                new java.util.LinkedHashMap<>(Map.of("pass@1", 15.2)));
        he.passAtK().put("pass@5", 25.0);
        String md = ResultsTable.markdown(List.of(he, new TaskResult("gsm8k", "accuracy", 5, 1, 1, 20, Map.of(), Map.of())), 17.6);
        assertEquals("""
                | task | metric | n | score |
                | --- | --- | ---: | ---: |
                | humaneval | pass@1 | 164 x 20 | 15.20 |
                | humaneval | pass@5 | 164 | 25.00 |
                | gsm8k | accuracy | 5 | 20.00 |
                | average | mean of 2 tasks |  | 17.60 |
                """, md);
    }

    @Test
    void aCorruptResultsJsonIsAnErrorNotADash(@TempDir Path dir) throws Exception {
        Path a = Files.createDirectories(dir.resolve("a")), b = Files.createDirectories(dir.resolve("b"));
        Files.writeString(a.resolve("results.json"), "{\"results\": \"oops\"}");
        Files.writeString(b.resolve("results.json"), "{\"results\": [{\"task\": \"boolq\", \"metric\": \"accuracy\", \"score\": \"high\"}]}");
        for (Path d : List.of(a, b)) {
            String m = assertThrows(LoriException.class, () -> ResultsTable.compare(List.of(d))).getMessage();
            org.junit.jupiter.api.Assertions.assertTrue(m.startsWith(d.resolve("results.json") + ": not a lori eval results.json"), m);
        }
    }
}
