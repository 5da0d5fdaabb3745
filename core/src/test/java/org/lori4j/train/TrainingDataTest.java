package org.lori4j.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.io.LoriException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Record formats, detection, bad records with FILE:LINE messages, de-duplication and data fraction, on a
 * character-level fake tokenizer (id = character code, EOS 0, BOS 1) and a visible fake template, so every
 * expected example can be written by hand.
 */
class TrainingDataTest {
    static final int I = Example.IGNORE;
    @TempDir Path dir;

    /** Template "T" renders "[instruction|input]"; the chat renderer joins "role:content;" and adds "A:" when asked. */
    static final TextSide TEXT = new TextSide(s -> s.chars().toArray(), 0, 1, 0,
            (template, ins, inp) -> {
                if (template.equals("bad")) throw new LoriException("unknown prompt template 'bad'");
                if (template.equals("noinput") && !inp.isEmpty()) throw new LoriException("prompt template noinput takes no input, but one was given");
                return template + "[" + ins + "|" + inp + "]";
            },
            (msgs, gen) -> msgs.stream().map(m -> m.role().charAt(0) + ":" + m.content() + ";").collect(Collectors.joining())
                    + (gen ? "A:" : ""));

    Path file(String name, String content) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, content);
        return p;
    }

    static String text(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) sb.append(id == 0 ? "<eos>" : id == 1 ? "<bos>" : String.valueOf((char) id));
        return sb.toString();
    }

    static int masked(Example e) {
        int n = 0;
        for (int l : e.labels()) if (l == I) n++;
        return n;
    }

    static TrainingData load(Path f, DataOptions o) { return TrainingData.load(List.of(f), o, TEXT); }

    @Test
    void alpacaJsonlUsesTheTwentySpaceTemplateByDefault() throws IOException {
        Path f = file("a.jsonl", """
                {"instruction": "Say hi", "input": "", "output": "hi"}

                {"instruction": "Add", "input": "1 2", "output": "3"}
                """);
        TrainingData d = load(f, DataOptions.defaults());
        assertEquals(2, d.size());
        assertEquals("alpaca-lori20[Say hi|]hi<eos>", text(d.get(0).inputIds()));
        assertEquals("alpaca-lori20[Add|1 2]3<eos>", text(d.get(1).inputIds()));
        assertEquals("alpaca-lori20[Add|1 2]".length(), masked(d.get(1)));
        assertEquals(2, d.stats().records()); // the blank line is not a record
    }

    @Test
    void loriTaskArrayUsesTheSixteenSpaceTemplate() throws IOException {
        Path f = file("t.json", """
                [
                  {"instruction": "Q1", "input": "", "output": "the correct answer is true", "answer": "true"},
                  {"instruction": "Q2", "input": "", "output": "the correct answer is false", "answer": "false"}
                ]
                """);
        TrainingData d = load(f, DataOptions.defaults());
        assertEquals("alpaca-lori16[Q1|]the correct answer is true<eos>", text(d.get(0).inputIds()));
        assertEquals("alpaca-lori16[Q2|]the correct answer is false<eos>", text(d.get(1).inputIds()));
    }

    @Test
    void gsm8kRewritesTheAnswerMarker() throws IOException {
        Path f = file("g.jsonl", "{\"question\": \"1+1?\", \"answer\": \"1+1=2\\n#### 2\"}\n");
        TrainingData d = load(f, DataOptions.defaults());
        assertEquals("gsm8k[1+1?|]1+1=2\nThe final answer is:  2<eos>", text(d.get(0).inputIds()));
        assertEquals("gsm8k[1+1?|]".length(), masked(d.get(0)));
    }

    @Test
    void chatRendersAllButTheLastAssistantTurnWithTheGenerationPrompt() throws IOException {
        Path f = file("c.jsonl", """
                {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}, {"role": "assistant", "content": "R"}]}
                {"messages": [{"role": "user", "content": "U"}, {"role": "user", "content": "V"}]}
                """);
        LoriException e = assertThrows(LoriException.class, () -> load(f, DataOptions.defaults()));
        assertEquals(f + ":2: chat record: the last message must be the assistant's (the trained response), found role \"user\"",
                e.getMessage());
        TrainingData d = load(f, DataOptions.defaults().withSkipBadLines(true));
        assertEquals(1, d.size());
        assertEquals("s:S;u:U;A:R<eos>", text(d.get(0).inputIds()));
        assertEquals("s:S;u:U;A:".length(), masked(d.get(0)));
        assertEquals(1, d.stats().skipped());
    }

    @Test
    void tokensRecordsAreUsedAsGivenWithDefaultLabelsAndMaskStripping() throws IOException {
        Path f = file("k.jsonl", """
                {"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}
                {"input_ids": [5, 6, 7]}
                {"input_ids": [9, 5, 6, 9], "labels": [-100, -100, 6, -100], "attention_mask": [0, 1, 1, 0]}
                {"input_ids": [5, 6, 7], "attention_mask": [1, 0, 1]}
                {"input_ids": [5, 6], "labels": [-100]}
                {"input_ids": [5, -6]}
                """);
        TrainingData d = load(f, DataOptions.defaults().withSkipBadLines(true));
        assertEquals(3, d.size());
        assertEquals(new Example(new int[] {5, 6, 7}, new int[] {I, 6, 7}), d.get(0));
        assertEquals(new Example(new int[] {5, 6, 7}, new int[] {5, 6, 7}), d.get(1));
        assertEquals(new Example(new int[] {5, 6}, new int[] {I, 6}), d.get(2));
        assertEquals(3, d.stats().skipped());
        assertEquals(List.of(
                f + ":4: tokens record: attention_mask[1] = 0; only 1 for tokens and 0 for leading/trailing padding are supported",
                f + ":5: tokens record: \"labels\" has 1 entries, \"input_ids\" 2",
                f + ":6: tokens record: input_ids[1] = -6 is not a token id"), d.stats().skippedMessages());
    }

    @Test
    void longTokensRecordsKeepTheirFirstMaxLengthTokens() throws IOException {
        Path f = file("k.jsonl", "{\"input_ids\": [2, 3, 4, 5, 6, 7]}\n");
        TrainingData d = load(f, DataOptions.defaults().withLengths(4, 2));
        assertArrayEquals(new int[] {2, 3, 4, 5}, d.get(0).inputIds());
        assertEquals(1, d.stats().responseTruncated());
    }

    @Test
    void badJsonLinesNameFileAndLineAndCanBeSkippedAndCounted() throws IOException {
        Path f = file("b.jsonl", """
                {"instruction": "A", "output": "a"}
                {"instruction": "B", "output": "b"
                {"instruction": "C"}
                [1, 2]
                {"foo": 1}
                {"instruction": "D", "output": 4}
                {"instruction": "E", "output": "e"}
                """);
        LoriException e = assertThrows(LoriException.class, () -> load(f, DataOptions.defaults()));
        assertTrue(e.getMessage().startsWith(f + ":2: invalid JSON"), e.getMessage());
        TrainingData d = load(f, DataOptions.defaults().withSkipBadLines(true));
        assertEquals(2, d.size());
        assertEquals(5, d.stats().skipped());
        List<String> m = d.stats().skippedMessages();
        assertTrue(m.get(0).startsWith(f + ":2: invalid JSON"));
        assertEquals(f + ":3: cannot tell the record format from its fields [instruction]; expected instruction+output"
                + " (alpaca, lori-task), question+answer (gsm8k), messages (chat) or input_ids (tokens); or pass --format", m.get(1));
        assertEquals(f + ":4: expected a JSON object, found array", m.get(2));
        assertTrue(m.get(3).startsWith(f + ":5: cannot tell"));
        assertEquals(f + ":6: alpaca record: field \"output\" must be a string", m.get(4));
        assertTrue(d.stats().summary().contains("skipped 5 bad records"));
    }

    @Test
    void explicitFormatReportsMissingFields() throws IOException {
        Path f = file("g.jsonl", "{\"question\": \"q\", \"answer\": \"a\"}\n{\"question\": \"q2\"}\n");
        LoriException e = assertThrows(LoriException.class, () -> load(f, DataOptions.defaults().withFormat(RecordFormat.GSM8K)));
        assertEquals(f + ":2: gsm8k record: missing field \"answer\"", e.getMessage());
        e = assertThrows(LoriException.class, () -> load(f, DataOptions.defaults().withFormat(RecordFormat.ALPACA)));
        assertEquals(f + ":1: alpaca record: missing field \"instruction\"", e.getMessage());
    }

    @Test
    void aJsonArrayElementThatIsBadNamesItsStartLine() throws IOException {
        Path f = file("a.json", "[\n {\"instruction\": \"A\", \"output\": \"a\"},\n {\n  \"instruction\": \"B\"\n }\n]\n");
        LoriException e = assertThrows(LoriException.class, () -> load(f, DataOptions.defaults().withFormat(RecordFormat.ALPACA)));
        assertEquals(f + ":3: alpaca record: missing field \"output\"", e.getMessage());
        Path broken = file("broken.json", "[\n {\"instruction\": \"A\", \"output\": \"a\"},\n {\"instruction\" \"B\"}\n]\n");
        e = assertThrows(LoriException.class, () -> load(broken, DataOptions.defaults().withSkipBadLines(true)));
        assertTrue(e.getMessage().startsWith(broken + ":3: invalid JSON"), e.getMessage());
    }

    @Test
    void templateOverrideAndTemplateErrors() throws IOException {
        Path f = file("a.jsonl", "{\"instruction\": \"X\", \"input\": \"in\", \"output\": \"y\"}\n{\"instruction\": \"Z\", \"output\": \"w\"}\n");
        assertEquals("T[X|in]y<eos>", text(load(f, DataOptions.defaults().withTemplate("T")).get(0).inputIds()));
        LoriException e = assertThrows(LoriException.class, () -> load(f, DataOptions.defaults().withTemplate("bad")));
        assertEquals("unknown prompt template 'bad'", e.getMessage());
        e = assertThrows(LoriException.class, () -> load(f, DataOptions.defaults().withTemplate("noinput")));
        assertEquals(f + ":1: prompt template noinput takes no input, but one was given", e.getMessage());
    }

    @Test
    void repeatedPromptsCollapseLikeThePythonDictUpstream() throws IOException {
        Path f = file("d.jsonl", """
                {"instruction": "A", "output": "1"}
                {"instruction": "B", "output": "2"}
                {"instruction": "A", "output": "3"}
                """);
        TrainingData d = load(f, DataOptions.defaults());
        assertEquals(2, d.size());
        assertEquals("alpaca-lori20[A|]3<eos>", text(d.get(0).inputIds())); // first position, last response
        assertEquals("alpaca-lori20[B|]2<eos>", text(d.get(1).inputIds()));
        assertEquals(1, d.stats().duplicatePrompts());
        assertEquals(3, load(f, DataOptions.defaults().withDedupPrompts(false)).size());
    }

    @Test
    void dataFractionTakesTheFirstRecordsOfEachFile() throws IOException {
        Path f = file("f.jsonl", """
                {"instruction": "A", "output": "1"}
                {"instruction": "B", "output": "2"}
                {"instruction": "C", "output": "3"}
                """);
        TrainingData d = TrainingData.load(List.of(f, f), DataOptions.defaults().withDataFraction(0.7), TEXT);
        assertEquals(4, d.size()); // int(3 * 0.7) = 2 per file; dedup is per file
        assertEquals("alpaca-lori20[B|]2<eos>", text(d.get(3).inputIds()));
    }

    @Test
    void eosInsideAResponseIsABadRecord() throws IOException {
        Path f = file("e.jsonl", "{\"instruction\": \"A\", \"output\": \"x\\u0000\"}\n");
        LoriException e = assertThrows(LoriException.class, () -> load(f, DataOptions.defaults()));
        assertEquals(f + ":1: the response contains the EOS token (id 0)", e.getMessage());
    }

    @Test
    void addBosPrependsTheTokenizersBos() throws IOException {
        Path f = file("a.jsonl", "{\"instruction\": \"A\", \"output\": \"b\"}\n");
        assertEquals("<bos>T[A|]b<eos>", text(load(f, DataOptions.defaults().withTemplate("T").withAddBos(true)).get(0).inputIds()));
    }

    @Test
    void emptyDatasetsAreAClearError() throws IOException {
        Path empty = file("empty.jsonl", "\n\n");
        LoriException e = assertThrows(LoriException.class, () -> load(empty, DataOptions.defaults()));
        assertEquals(empty + ": no training examples (0 records read, 0 skipped as bad)", e.getMessage());
        Path arr = file("empty.json", "[]");
        assertThrows(LoriException.class, () -> load(arr, DataOptions.defaults()));
        Path allBad = file("bad.jsonl", "nope\n");
        e = assertThrows(LoriException.class, () -> load(allBad, DataOptions.defaults().withSkipBadLines(true)));
        assertEquals(allBad + ": no training examples (1 records read, 1 skipped as bad)", e.getMessage());
        e = assertThrows(LoriException.class, () -> load(dir.resolve("missing.jsonl"), DataOptions.defaults()));
        assertEquals(dir.resolve("missing.jsonl") + ": file not found", e.getMessage());
    }

    @Test
    void textPairsFollowTheSameRule() {
        List<TrainingData.TextPair> pairs = List.of(new TrainingData.TextPair("abcde", "vwxyz"),
                new TrainingData.TextPair("p", "q\u0000"), new TrainingData.TextPair("abcde", "r"));
        LoriException e = assertThrows(LoriException.class,
                () -> TrainingData.fromText("quickstart", pairs, DataOptions.defaults().withLengths(10, 4), TEXT));
        assertEquals("quickstart#1: the response contains the EOS token (id 0)", e.getMessage());
        TrainingData d = TrainingData.fromText("quickstart", pairs,
                DataOptions.defaults().withLengths(10, 4).withSkipBadLines(true).withDedupPrompts(false), TEXT);
        assertEquals(2, d.size());
        assertEquals("abcdvwxyz<eos>", text(d.get(0).inputIds())); // 5 + 6 > 10: prompt cut to 4
        assertEquals("abcder<eos>", text(d.get(1).inputIds()));
        assertEquals(1, d.stats().promptTruncated());
        assertEquals(1, d.stats().skipped());
    }

    @Test
    void chatRecordsWithTheSamePromptAreNotMerged() throws IOException {
        Path f = file("c.jsonl", """
                {"messages": [{"role": "user", "content": "U"}, {"role": "assistant", "content": "R1"}]}
                {"messages": [{"role": "user", "content": "U"}, {"role": "assistant", "content": "R2"}]}
                """);
        TrainingData d = load(f, DataOptions.defaults());
        assertEquals(2, d.size());
        assertEquals(0, d.stats().duplicatePrompts());
    }

    @Test
    void aFileThatIsNotUtf8IsNamed() throws IOException {
        Path f = dir.resolve("latin1.jsonl");
        Files.write(f, new byte[] {'{', '"', 'a', (byte) 0xE9, '"', ':', '1', '}', '\n'});
        LoriException e = assertThrows(LoriException.class, () -> load(f, DataOptions.defaults()));
        assertEquals(f + ": not UTF-8 text", e.getMessage());
    }
}
