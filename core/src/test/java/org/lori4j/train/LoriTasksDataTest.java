package org.lori4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.TestPaths;
import org.lori4j.io.Json;
import org.lori4j.text.ChatTemplate;
import org.lori4j.text.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The real LoRI task files (shared/data/lori-tasks) through the real Llama-3 tokenizer, as the reference's tasks/
 * loader sees them, and a chat record through Llama-3's chat template.
 */
class LoriTasksDataTest {
    static final String I16 = " ".repeat(16);
    static Tokenizer tok;

    @BeforeAll static void load() { tok = Tokenizer.load(TestPaths.realdata("llama3-tokenizer")); }
    @AfterAll static void close() { tok.close(); }

    static Path task(String name) { return TestPaths.realdata("lori-tasks/" + name + "/train.json"); }

    /** The reference get_default f-string, written out by hand. */
    static String referencePrompt(String instruction) {
        return "Below is an instruction that describes a task. Write a response that appropriately completes the request. \n\n"
                + I16 + "### Instruction:\n" + I16 + instruction + "\n\n" + I16 + "### Response:\n" + I16;
    }

    static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }

    @Test
    void boolqExamplesArePromptThenResponseThenEndOfTextWithoutBos() {
        TrainingData d = TrainingData.load(List.of(task("boolq")), DataOptions.defaults(), TextSide.of(tok));
        JsonNode raw = Json.read(task("boolq"));
        assertEquals(raw.size(), d.size()); // 9427 distinct instructions
        assertEquals(0, d.stats().duplicatePrompts());
        assertEquals(0, d.stats().promptTruncated() + d.stats().responseTruncated());
        assertEquals(128001, TextSide.of(tok).eosId()); // <|end_of_text|>, tokenizer_config's eos_token
        for (int i : new int[] {0, 1, raw.size() - 1}) {
            JsonNode r = raw.get(i);
            int[] prompt = tok.encode(referencePrompt(r.get("instruction").asText()), false);
            int[] response = tok.encode(r.get("output").asText(), false);
            Example e = d.get(i);
            assertArrayEquals(concat(prompt, response, new int[] {128001}), e.inputIds());
            assertNotEquals(128000, e.inputIds()[0]); // no <|begin_of_text|>
            int[] labels = e.labels();
            assertTrue(IntStream.range(0, prompt.length).allMatch(t -> labels[t] == Example.IGNORE));
            assertArrayEquals(concat(response, new int[] {128001}), Arrays.copyOfRange(labels, prompt.length, labels.length));
        }
        // "the correct answer is true" as its own text: the response starts with "the", not " the"
        assertEquals("the", tok.decode(new int[] {d.get(0).labels()[firstLabel(d.get(0))]}, false));
        // tokenizing separately differs from tokenizing prompt + response jointly at the 16-space seam
        String p = referencePrompt(raw.get(0).get("instruction").asText());
        int[] joint = tok.encode(p + raw.get(0).get("output").asText(), false);
        assertFalse(Arrays.equals(joint, Arrays.copyOf(d.get(0).inputIds(), d.get(0).length() - 1)));
    }

    static int firstLabel(Example e) {
        int t = 0;
        while (e.labels()[t] == Example.IGNORE) t++;
        return t;
    }

    @Test
    void openbookqaRepeatedQuestionsCollapseToTheLastAnswer() {
        TrainingData d = TrainingData.load(List.of(task("openbookqa")), DataOptions.defaults(), TextSide.of(tok));
        JsonNode raw = Json.read(task("openbookqa"));
        // the reference's dict keyed by prompt: first position, last output
        Map<String, String> byInstruction = new LinkedHashMap<>();
        for (JsonNode r : raw) byInstruction.put(r.get("instruction").asText(), r.get("output").asText());
        assertEquals(70, raw.size()); // the repository's subset: 60 records and five repeated questions
        assertTrue(byInstruction.size() < raw.size());
        assertEquals(byInstruction.size(), d.size());
        assertEquals(raw.size() - byInstruction.size(), d.stats().duplicatePrompts());
        int i = 0;
        for (var entry : byInstruction.entrySet()) {
            if (i % 700 == 0) {
                int[] want = concat(tok.encode(referencePrompt(entry.getKey()), false), tok.encode(entry.getValue(), false),
                        new int[] {128001});
                assertArrayEquals(want, d.get(i).inputIds(), "example " + i);
            }
            i++;
        }
        assertTrue(d.stats().summary().contains("repeat an earlier prompt"));
    }

    @Test
    void chatRecordTrainsOnTheLastAssistantTurnAfterTheRenderedConversation(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("chat.jsonl");
        Files.writeString(f, "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello!\"}]}\n");
        Path tokDir = TestPaths.realdata("llama3-tokenizer");
        ChatTemplate chat = ChatTemplate.load(tokDir).orElseThrow();
        for (boolean addBos : new boolean[] {false, true}) {
            TrainingData d = TrainingData.load(List.of(f), DataOptions.defaults().withAddBos(addBos), TextSide.of(tok, chat));
            // Llama-3's template, written out: BOS text, the user turn, then the assistant header
            String prompt = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                    + "<|start_header_id|>assistant<|end_header_id|>\n\n";
            int[] p = tok.encode(prompt, false);
            assertEquals(128000, p[0]); // the template's BOS text is the BOS token; --add-bos does not double it
            assertArrayEquals(concat(p, tok.encode("Hello!", false), new int[] {128001}), d.get(0).inputIds());
            assertEquals(3, d.get(0).scoredTokens()); // "Hello", "!", EOS
        }
    }
}
