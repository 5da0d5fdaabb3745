package org.lori4j.cli;

import org.lori4j.LoriCli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.TestPaths;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** lori eval through Main: user errors are one line and exit 2; --compare prints a table. */
class EvalCommandTest {

    private static LoriCli.Result lori(String... args) { return LoriCli.run(args); }

    private static void assertOneLineError(LoriCli.Result r, String expectedStart) {
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().startsWith("error: " + expectedStart), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    @Test
    void unknownTaskIsAOneLineError(@TempDir Path tmp) {
        assertOneLineError(lori("eval", "--model", tmp.toString(), "--task", "mmlu", "--data", tmp.toString()), "unknown task 'mmlu'");
    }

    @Test
    void wrongDataFormatNamesFileAndLine(@TempDir Path tmp) throws Exception {
        Path f = Files.writeString(tmp.resolve("gsm.jsonl"), "{\"question\": \"1+1?\", \"answer\": \"#### 2\"}\n{\"question\": \"2+2?\"}\n");
        assertOneLineError(lori("eval", "--model", tmp.toString(), "--task", "gsm8k", "--data", f.toString()), f + ":2: missing field 'answer'");
        Path g = Files.writeString(tmp.resolve("boolq.json"), "[{\"instruction\": \"x\", \"output\": \"the correct answer is maybe\"}]");
        assertOneLineError(lori("eval", "--model", tmp.toString(), "--task", "boolq", "--data", g.toString()),
                g + ":1: 'the correct answer is maybe' holds no boolq answer");
        assertOneLineError(lori("eval", "--model", tmp.toString(), "--task", "commonsense", "--data", tmp.toString()),
                tmp + ": no commonsense task folders found");
        assertOneLineError(lori("eval", "--model", tmp.toString(), "--task", "hexphi", "--template", "nope"),
                "unknown prompt template 'nope'");
    }

    @Test
    void humanevalNeedsPermissionAndPython(@TempDir Path tmp) {
        String data = TestPaths.fixture("eval").resolve("humaneval_mini.jsonl").toString();
        assertOneLineError(lori("eval", "--model", tmp.toString(), "--task", "humaneval", "--data", data),
                "humaneval runs model-written Python code: pass --allow-code-execution");
        assertOneLineError(lori("eval", "--model", tmp.toString(), "--task", "humaneval", "--data", data, "--allow-code-execution",
                "--python", "/nonexistent/python3"), "/nonexistent/python3: not found");
    }

    @Test
    void compareNamesAMissingResultsFile(@TempDir Path tmp) {
        assertOneLineError(lori("eval", "--compare", tmp.toString()), tmp.resolve("results.json") + ": file not found");
    }
}
