package org.lori4j.eval;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.TestPaths;
import org.lori4j.io.LoriException;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EvalDataTest {

    private static String error(String name, String text) {
        return assertThrows(LoriException.class, () -> EvalData.parse(name, text)).getMessage();
    }

    @Test
    void jsonArrayRecordsKnowTheirLine() {
        List<EvalData.Row> rows = EvalData.parse("a.json", "[\n  {\"x\": \"1\"},\n\n  {\n \"x\": \"2\"}\n]\n");
        assertEquals(2, rows.size());
        assertEquals(2, rows.get(0).line());
        assertEquals(4, rows.get(1).line());
        assertEquals("a.json:4", rows.get(1).where());
    }

    @Test
    void jsonLinesSkipBlankLinesAndKeepNumbers() {
        List<EvalData.Row> rows = EvalData.parse("a.jsonl", "{\"x\": \"1\"}\n\n{\"x\": \"2\"}\r\n");
        assertEquals(List.of(1, 3), rows.stream().map(EvalData.Row::line).toList());
    }

    @Test
    void formatErrorsNameFileAndLine() {
        assertTrue(error("a.jsonl", "{\"x\": \"1\"}\n{\"x\": ").startsWith("a.jsonl:2: invalid JSON: "));
        assertTrue(error("a.json", "[\n{\"x\": \"1\"},\n{\"x\" 2}]").startsWith("a.json:3: invalid JSON: "));
        assertEquals("a.json:3: expected a JSON object, found a string", error("a.json", "[\n{\"x\": \"1\"},\n\"oops\"]"));
        assertEquals("a.jsonl:2: expected a JSON object, found array", error("a.jsonl", "{}\n[1]\n"));
        assertEquals("a.txt:2: expected a JSON array of objects or JSON lines (one object per line)", error("a.txt", "\nhello"));
        assertEquals("a.json: no records (the file is empty)", error("a.json", "  \n"));
        EvalData.Row row = EvalData.parse("b.jsonl", "{}\n{\"q\": 3}").get(1);
        assertEquals("b.jsonl:2: missing field 'instruction'", assertThrows(LoriException.class, () -> row.text("instruction")).getMessage());
        assertEquals("b.jsonl:2: field 'q' must be a string, found number", assertThrows(LoriException.class, () -> row.text("q")).getMessage());
    }

    @Test
    void gzipFilesAreRead(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("x.jsonl.gz");
        try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(f))) {
            o.write("{\"a\": \"b\"}\n".getBytes(StandardCharsets.UTF_8));
        }
        assertEquals("b", EvalData.read(f).getFirst().text("a"));
        assertEquals(dir.resolve("nope.json") + ": file not found",
                assertThrows(LoriException.class, () -> EvalData.read(dir.resolve("nope.json"))).getMessage());
    }

    @Test
    void readsTheRealLoriTaskFiles() {
        List<EvalData.Row> rows = EvalData.read(TestPaths.realdata("lori-tasks/openbookqa/test.json"));
        assertEquals(60, rows.size()); // the repository's subset
        assertEquals("answer2", new CommonsenseTask("openbookqa").item(rows.getFirst(), 0, "alpaca-lori16").gold());
        // the whole file, where the project's shared folder is beside the checkout
        TestPaths.shared().ifPresent(shared ->
                assertEquals(500, EvalData.read(shared.resolve("data/lori-tasks/openbookqa/test.json")).size()));
    }

    @Test
    void repeatedPromptsCountOnceAtTheFirstPositionWithTheLastAnswerAsTheReferenceDict(@TempDir Path dir) throws Exception {
        // juzhengz/LoRI get_datasets.py keys its data by prompt: a repeat keeps the first slot, its target is overwritten
        Path f = dir.resolve("g.jsonl");
        Files.writeString(f, """
                {"question": "Q1", "answer": "#### 1"}
                {"question": "Q2", "answer": "#### 2"}
                {"question": "Q1", "answer": "#### 3"}
                {"question": "Q1", "answer": "#### 4"}
                {"question": "Q5", "answer": "#### 5"}
                """);
        var t = EvalInputs.load("gsm8k", f, null, null, null).getFirst();
        assertEquals(List.of("0", "1", "4"), t.items().stream().map(EvalItem::id).toList());
        assertEquals(List.of("4.0", "2.0", "5.0"), t.items().stream().map(EvalItem::gold).toList());
        assertEquals(List.of(0, 1, 4), t.items().stream().map(EvalItem::index).toList());
        assertEquals(2, t.repeats());
        // --limit slices the records first, as the reference's data_fraction
        var limited = EvalInputs.load("gsm8k", f, null, 3, null).getFirst();
        assertEquals(List.of("3.0", "2.0"), limited.items().stream().map(EvalItem::gold).toList());
        // --no-dedup keeps every record; the generic exact-match task always does
        assertEquals(5, EvalInputs.load("gsm8k", f, null, null, null, true).getFirst().items().size());
        Path e = dir.resolve("e.jsonl");
        Files.writeString(e, "{\"prompt\": \"p\", \"answer\": \"a\"}\n{\"prompt\": \"p\", \"answer\": \"b\"}\n");
        var exact = EvalInputs.load("exact", e, null, null, null).getFirst();
        assertEquals(2, exact.items().size());
        assertEquals(0, exact.repeats());
    }

    @Test
    void commonsensePromptsIgnoreTheInputFieldAsTheReference(@TempDir Path dir) throws Exception {
        // get_default builds the prompt from the instruction alone, so these two records are one prompt
        Path f = dir.resolve("boolq").resolve("test.json");
        Files.createDirectories(f.getParent());
        Files.writeString(f, "[{\"instruction\": \"Is it?\", \"input\": \"ctx A\", \"output\": \"the correct answer is true\"},"
                + "{\"instruction\": \"Is it?\", \"input\": \"\", \"output\": \"the correct answer is false\"}]");
        var t = EvalInputs.load("boolq", f, null, null, null).getFirst();
        assertEquals(1, t.items().size());
        assertEquals("false", t.items().getFirst().gold());
        assertTrue(!t.items().getFirst().prompt().contains("ctx A"));
    }
}
