package org.lori4j.text;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lori4j.TestPaths;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Streaming decode must concatenate to the one-shot decode and never emit half a character. */
class StreamDecoderTest {

    static Tokenizer llama3;
    static Tokenizer mistral;

    @BeforeAll
    static void load() {
        llama3 = Tokenizer.load(TestPaths.realdata("llama3-tokenizer"));
        mistral = Tokenizer.load(TestPaths.realdata("mistral-tokenizer"));
    }

    @AfterAll
    static void close() {
        llama3.close();
        mistral.close();
    }

    static List<String> stream(StreamDecoder d, int[] ids) {
        List<String> pieces = new ArrayList<>();
        for (int id : ids) pieces.add(d.push(id));
        pieces.add(d.finish());
        return pieces;
    }

    @Test
    void piecesConcatenateToFullDecodeOnEveryLlamaCppInput() throws IOException {
        var vs = TokenizerTest.llamaCppVectors(TestPaths.realdata("llama3-tokenizer"),
                "ggml-vocab-llama-bpe.gguf");
        for (Tokenizer t : List.of(llama3, mistral)) {
            for (var v : vs) {
                int[] ids = t.encode(v.text(), true);
                List<String> pieces = stream(t.streamDecoder(true), ids);
                assertEquals(t.decode(ids, true), String.join("", pieces), v.text());
                for (String p : pieces) assertFalse(p.contains("\uFFFD"), () -> "half character in " + pieces);
            }
        }
    }

    @Test
    void byteFallbackCharacterIsEmittedOnceComplete() {
        // 🦙 is "▁" + four byte tokens in the Mistral vocabulary
        int[] ids = mistral.encode("a 🦙b", false);
        assertEquals(List.of("▁a", "▁", "<0xF0>", "<0x9F>", "<0xA6>", "<0x99>", "b"),
                java.util.Arrays.stream(ids).mapToObj(mistral::idToToken).toList());
        assertEquals(List.of("a", " ", "", "", "", "🦙", "b", ""), stream(mistral.streamDecoder(false), ids));
    }

    @Test
    void sentencePieceLeadingSpaceKeptAfterContext() {
        int[] prompt = mistral.encode("Hello", true);
        int[] gen = mistral.encode("world peace", false); // "▁world", "▁peace"
        StreamDecoder d = mistral.streamDecoder(prompt, true);
        assertEquals(" world", d.push(gen[0]));
        assertEquals(" peace", d.push(gen[1]));
        assertEquals("", d.finish());
        // without context the first piece is stripped as at the start of a text
        assertEquals(List.of("world", " peace", ""), stream(mistral.streamDecoder(true), gen));
    }

    @Test
    void llama3SplitUtf8WaitsForTheLastByte() {
        int[] ids = llama3.encode("🦙", false); // byte-level BPE splits the llama emoji over several tokens
        assertTrue(ids.length > 1);
        List<String> pieces = stream(llama3.streamDecoder(true), ids);
        assertEquals("🦙", String.join("", pieces));
        assertEquals(1, pieces.stream().filter(p -> !p.isEmpty()).count());
    }

    @Test
    void aCharacterSplitBetweenPromptAndOutputIsEmittedWhenComplete() {
        // prompt ids end with the first two byte tokens of 🦙, the generated ids bring the last two
        int[] ids = mistral.encode("Hello 🦙", false);   // ..., "▁", <0xF0>, <0x9F>, <0xA6>, <0x99>
        int cut = ids.length - 2;
        StreamDecoder d = mistral.streamDecoder(java.util.Arrays.copyOf(ids, cut), true);
        assertEquals("", d.push(ids[cut]));
        assertEquals("🦙", d.push(ids[cut + 1]));
        assertEquals("", d.finish());
    }

    @Test
    void finishFlushesAnIncompleteCharacter() {
        int[] ids = mistral.encode("🦙", false);
        StreamDecoder d = mistral.streamDecoder(false);
        for (int i = 0; i < ids.length - 1; i++) d.push(ids[i]);
        String rest = d.finish();
        assertTrue(rest.startsWith("\uFFFD"), rest);       // the 3 bytes of an unfinished 4-byte character
        assertEquals("", d.finish());                       // and the buffer is empty afterwards
    }

    @Test
    void specialTokensSkippedOrShown() {
        int[] ids = {128000, 9906, 128009};
        assertEquals("Hello", String.join("", stream(llama3.streamDecoder(true), ids)));
        assertEquals("<|begin_of_text|>Hello<|eot_id|>", String.join("", stream(llama3.streamDecoder(false), ids)));
    }
}
