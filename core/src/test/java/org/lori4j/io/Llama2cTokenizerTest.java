package org.lori4j.io;

import org.lori4j.LoriCli;
import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.TestPaths;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The tokenizer.json made from tok512.bin, run by the HF tokenizers library (DJL), must give the same ids as
 * llama2.c's own encode() (reimplemented below from run.c: dummy " " prefix, code points looked up or byte
 * fallback, then repeatedly merge the adjacent pair whose concatenation has the highest score).
 */
class Llama2cTokenizerTest {
    static final Path TOK = TestPaths.realdata("stories260K/tok512.bin");

    static String[] vocab;      // llama2.c spelling, spaces as ' '
    static float[] scores;
    static Map<String, Integer> lookup = new HashMap<>();

    @TempDir
    static Path dir;
    static HuggingFaceTokenizer hf;

    @BeforeAll
    static void load() throws Exception {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(TOK)).order(ByteOrder.LITTLE_ENDIAN);
        b.getInt();
        List<String> v = new ArrayList<>();
        List<Float> s = new ArrayList<>();
        while (b.hasRemaining()) {
            s.add(b.getFloat());
            byte[] t = new byte[b.getInt()];
            b.get(t);
            v.add(new String(t, StandardCharsets.UTF_8));
        }
        vocab = v.toArray(String[]::new);
        scores = new float[s.size()];
        for (int i = 0; i < scores.length; i++) scores[i] = s.get(i);
        for (int i = 0; i < vocab.length; i++) lookup.putIfAbsent(vocab[i], i);

        Llama2cTokenizer tok = Llama2cTokenizer.read(TOK, 512);
        Json.write(dir.resolve("tokenizer.json"), tok.toTokenizerJson());
        System.setProperty("OPT_OUT_TRACKING", "true");
        hf = HuggingFaceTokenizer.newInstance(dir.resolve("tokenizer.json"),
                Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "true"));
    }

    /** llama2.c run.c encode() with bos=1, eos=0. */
    static long[] llama2cEncode(String text) {
        List<Integer> t = new ArrayList<>();
        t.add(1);
        if (!text.isEmpty()) t.add(lookup.get(" "));
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; ) {
            int len = 1;
            while (i + len < bytes.length && (bytes[i + len] & 0xC0) == 0x80 && len < 4) len++;
            String cp = new String(bytes, i, len, StandardCharsets.UTF_8);
            Integer id = lookup.get(cp);
            if (id != null) t.add(id);
            else for (int k = 0; k < len; k++) t.add((bytes[i + k] & 0xff) + 3);
            i += len;
        }
        while (true) {
            float best = -1e10f;
            int bestId = -1, bestIdx = -1;
            for (int i = 0; i < t.size() - 1; i++) {
                Integer id = lookup.get(vocab[t.get(i)] + vocab[t.get(i + 1)]);
                if (id != null && scores[id] > best) {
                    best = scores[id];
                    bestId = id;
                    bestIdx = i;
                }
            }
            if (bestIdx == -1) break;
            t.set(bestIdx, bestId);
            t.remove(bestIdx + 1);
        }
        return t.stream().mapToLong(Integer::longValue).toArray();
    }

    static final List<String> TEXTS = List.of(
            "Once upon a time, there was a little girl named Lily.",
            "There was a big",
            "She said, \"I want to play with your ball, but I can't find it.\"\nLily was sad.",
            "",
            "a",
            "  two leading spaces and  a double  space ",
            "tabs\tand\nnew lines\n\n",
            "naïve café, Zürich — 日本語 🙂 ÿ",
            "The 3 cats ate 12345 fish at 7:30pm!!! #wow @home ~[x]");

    @Test
    void hfTokenizerMatchesLlama2cEncode() {
        for (String text : TEXTS) {
            long[] expected = llama2cEncode(text);
            Encoding e = hf.encode(text);
            assertArrayEquals(expected, e.getIds(), () -> "text: " + text + "\nexpected " + Arrays.toString(expected)
                    + "\nactual   " + Arrays.toString(e.getIds()) + " " + Arrays.toString(e.getTokens()));
        }
    }

    @Test
    void referenceEncodeMergesAndFallsBackToBytes() {
        // guards the reference itself: merges happen, and characters outside the vocabulary become byte tokens
        long[] once = llama2cEncode(TEXTS.getFirst());
        assertTrue(once.length < TEXTS.getFirst().length() / 2, Arrays.toString(once));
        long[] emoji = llama2cEncode("🙂");   // F0 9F 99 82 -> ids 0xF0+3 ...
        assertArrayEquals(new long[]{1, lookup.get(" "), 0xF0 + 3, 0x9F + 3, 0x99 + 3, 0x82 + 3}, emoji);
    }

    @Test
    void tokenizeCommandDefaultsToTheEmbeddedModelWhoseTokenizerIsLlama2cs() {
        String text = "Once upon a time, there was a big dog.";
        var r = LoriCli.run("tokenize", "--special", "--text", text);
        assertEquals(0, r.code());
        String expected = Arrays.stream(llama2cEncode(text)).mapToObj(Long::toString)
                .collect(java.util.stream.Collectors.joining(" "));
        assertEquals(expected, r.out().strip());
    }

    @Test
    void decodeRestoresTheText() {
        for (String text : TEXTS) {
            assertEquals(text, hf.decode(llama2cEncode(text), true), "text: " + text);
        }
    }

    @Test
    void knownPiecesAndStructure() {
        Llama2cTokenizer tok = Llama2cTokenizer.read(TOK, 512);
        assertEquals(List.of("<unk>", "<s>", "</s>", "<0x00>"), tok.pieces().subList(0, 4));
        assertEquals("▁t", tok.pieces().get(259));
        assertEquals("▁The", tok.pieces().get(291));
        assertTrue(tok.hasByteFallback());
        assertEquals(7, tok.maxTokenLength());
        List<String[]> merges = tok.merges();
        // highest-scoring piece " t" (id 259, score -0.0) gives the first merge; "he" (score -1) the second
        assertArrayEquals(new String[]{"▁", "t"}, merges.get(0));
        assertArrayEquals(new String[]{"h", "e"}, merges.get(1));
        // the same SentencePiece model as .model protobuf gives the same conversion
        Llama2cTokenizer fromProto = Llama2cTokenizer.read(TOK.resolveSibling("tok512.model"), 512);
        assertEquals(tok.pieces(), fromProto.pieces());
        assertArrayEquals(tok.scores(), fromProto.scores());
    }

    @Test
    void badTokenizerFilesAreOneLineErrors(@TempDir Path tmp) throws Exception {
        LoriException e = assertThrows(LoriException.class, () -> Llama2cTokenizer.read(TOK, 500));
        assertEquals(TOK + ": holds 512 tokens but the checkpoint's vocab_size is 500", e.getMessage());
        Path cut = tmp.resolve("cut.bin");
        Files.write(cut, Arrays.copyOf(Files.readAllBytes(TOK), 1000));
        e = assertThrows(LoriException.class, () -> Llama2cTokenizer.read(cut, 512));
        assertTrue(e.getMessage().startsWith(cut + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("beyond the end of the file") || e.getMessage().contains("truncated"), e.getMessage());
    }
}
