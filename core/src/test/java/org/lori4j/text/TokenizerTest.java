package org.lori4j.text;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.TestPaths;
import org.lori4j.io.LoriException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Tokenizer against llama.cpp's Llama-3 reference ids (from HF) and the Mistral SentencePiece-BPE tokenizer. */
class TokenizerTest {

    static Path llama3Dir;
    static Path mistralDir;
    static Tokenizer llama3;
    static Tokenizer mistral;

    @BeforeAll
    static void load() {
        llama3Dir = TestPaths.realdata("llama3-tokenizer");
        mistralDir = TestPaths.realdata("mistral-tokenizer");
        llama3 = Tokenizer.load(llama3Dir);
        mistral = Tokenizer.load(mistralDir);
    }

    @AfterAll
    static void close() {
        llama3.close();
        mistral.close();
    }

    /** The .inp/.out pairs: inputs separated by "\n__ggml_vocab_test__\n" (each input is followed by one). */
    record Vector(String text, int[] ids) {}

    static List<Vector> llamaCppVectors(Path dir, String name) throws IOException {
        String inp = Files.readString(dir.resolve(name + ".inp"), StandardCharsets.UTF_8);
        String sep = "\n__ggml_vocab_test__\n";
        assertTrue(inp.endsWith(sep));
        String[] texts = inp.substring(0, inp.length() - sep.length()).split(sep, -1);
        List<String> lines = Files.readAllLines(dir.resolve(name + ".out"), StandardCharsets.UTF_8);
        assertEquals(texts.length, lines.size());
        List<Vector> out = new ArrayList<>();
        for (int i = 0; i < texts.length; i++) {
            String l = lines.get(i).strip();
            int[] ids = l.isEmpty() ? new int[0] : Arrays.stream(l.split(" ")).mapToInt(Integer::parseInt).toArray();
            out.add(new Vector(texts[i], ids));
        }
        return out;
    }

    @Test
    void nativeLibraryIsTheBundledCpuBuild() {
        // load() opened the Rust tokenizer: unless the environment chose a flavor, lori4j pinned DJL to "cpu", so a
        // machine with CUDA does not look for (or download) a GPU build the jar does not carry
        if (System.getenv("RUST_FLAVOR") == null) assertEquals("cpu", System.getProperty("RUST_FLAVOR"));
        assertArrayEquals(new int[]{2028, 374, 264, 1296, 11914, 13}, llama3.encode("This is a test sentence.", false));
    }

    @Test
    void llama3ReproducesEveryLlamaCppVector() throws IOException {
        List<Vector> vs = llamaCppVectors(llama3Dir, "ggml-vocab-llama-bpe.gguf");
        assertEquals(46, vs.size()); // 46 inputs (one is ""), each followed by the separator
        int checked = 0;
        for (Vector v : vs) {
            assertArrayEquals(v.ids(), llama3.encode(v.text(), false), () -> "encode " + v.text());
            assertEquals(v.text(), llama3.decode(v.ids(), false), "decode " + Arrays.toString(v.ids()));
            checked++;
        }
        assertEquals(46, checked);
    }

    @Test
    void encodeAllGivesEveryTextsIdsInOrder() throws IOException {
        // batch tokenization (the Rust library's, on several threads) against llama.cpp's ids, then with the
        // special tokens against one encode per text (Llama-3: whatever its tokenizer.json's post-processor adds;
        // Mistral: the BOS lori4j adds from tokenizer_config)
        List<Vector> vs = llamaCppVectors(llama3Dir, "ggml-vocab-llama-bpe.gguf");
        List<String> texts = vs.stream().map(Vector::text).toList();
        List<int[]> got = llama3.encodeAll(texts, false);
        assertEquals(vs.size(), got.size());
        for (int i = 0; i < vs.size(); i++) assertArrayEquals(vs.get(i).ids(), got.get(i), "text " + i);
        for (Tokenizer t : List.of(llama3, mistral)) {
            List<int[]> withSpecial = t.encodeAll(texts, true);
            for (int i = 0; i < texts.size(); i++) {
                assertArrayEquals(t.encode(texts.get(i), true), withSpecial.get(i), "text " + i);
                if (t == mistral) assertEquals(1, withSpecial.get(i)[0], "BOS first, text " + i);
            }
        }
        assertEquals(List.of(), llama3.encodeAll(List.of(), true));
    }

    @Test
    void llama2SentencePieceModelReproducesEveryLlamaCppVector() throws IOException {
        Path dir = TestPaths.realdata("llama2-tokenizer"); // tokenizer.model only, converted
        List<Vector> vs = llamaCppVectors(dir, "ggml-vocab-llama-spm.gguf");
        assertEquals(46, vs.size());
        try (Tokenizer t = Tokenizer.load(dir)) {
            for (Vector v : vs) {
                assertArrayEquals(v.ids(), t.encode(v.text(), false), () -> "encode " + v.text());
                assertEquals(v.text(), t.decode(v.ids(), false), "decode " + Arrays.toString(v.ids()));
            }
            // Llama 2's well-known ids, and the BOS the converted post-processor adds
            assertArrayEquals(new int[]{1, 15043, 3186}, t.encode("Hello world", true));
            assertEquals(1, t.bosId());
            assertEquals(List.of(2), t.eosIds());
            assertEquals("<s>", t.bosToken());
            assertEquals(32000, t.vocabSize());
            assertEquals("▁", t.idToToken(29871));
            assertTrue(t.isSpecial(2));
            assertFalse(t.isSpecial(13)); // <0x0A> is a byte piece, not special
        }
    }

    @Test
    void llama2cTok512ModelEncodesLikeRunC() {
        // fixture: llama2.c's encode over tok512.bin (src/test/python/llama2c_encode_fixtures.py)
        var fx = org.lori4j.io.Json.read(TestPaths.fixture("text/tok512_encode.json"));
        try (Tokenizer t = Tokenizer.load(TestPaths.realdata("stories260K/tok512.model"))) {
            assertEquals(512, t.vocabSize());
            assertEquals(1, t.bosId());
            assertEquals(List.of(2), t.eosIds());
            int n = 0;
            for (var c : fx.get("cases")) {
                String text = c.get("text").asText();
                int[] expected = new int[c.get("ids").size()];
                for (int i = 0; i < expected.length; i++) expected[i] = c.get("ids").get(i).asInt();
                assertArrayEquals(expected, t.encode(text, true), text);
                assertEquals(text, t.decode(expected, true), text);
                n++;
            }
            assertEquals(7, n);
        }
    }

    @Test
    void sentencePieceErrors(@TempDir Path tmp) throws IOException {
        Files.write(tmp.resolve("tokenizer.model"), new byte[]{0x0a, (byte) 0xff, 0x01});
        LoriException e = assertThrows(LoriException.class, () -> Tokenizer.load(tmp));
        assertEquals(tmp.resolve("tokenizer.model") + ": not a SentencePiece model (truncated or malformed protobuf)",
                e.getMessage());
        // babyllama's tok105.model is BPE too, without byte fallback: unknown characters become <unk>
        try (Tokenizer t = Tokenizer.load(TestPaths.realdata("babyllama-tok105/tok105.model"))) {
            assertEquals(105, t.vocabSize());
            int[] ids = t.encode("中", false); // not among its 105 pieces
            assertArrayEquals(new int[]{3, 0}, ids); // "▁", <unk>
        }
    }

    @Test
    void llama3MetaVectorsAndSpecialTokens() {
        assertArrayEquals(new int[]{2028, 374, 264, 1296, 11914, 13}, llama3.encode("This is a test sentence.", false));
        assertArrayEquals(new int[]{271}, llama3.encode("\n\n", false));
        // special-token text is matched whole, as HF does
        assertArrayEquals(new int[]{128006, 882, 128007, 271, 9906, 128009},
                llama3.encode("<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>", false));
        // April-2024 Llama-3 post-processor is ByteLevel: add_special_tokens adds no BOS
        assertArrayEquals(new int[]{9906}, llama3.encode("Hello", true));
        assertEquals(128000, llama3.bosId());
        assertEquals("<|begin_of_text|>", llama3.bosToken());
        assertEquals(List.of(128001), llama3.eosIds());
        assertEquals("<|end_of_text|>", llama3.eosToken());
        assertEquals(128256, llama3.vocabSize());
        assertEquals(128009, llama3.tokenToId("<|eot_id|>"));
        assertEquals("This", llama3.idToToken(2028));
        assertEquals("Ġis", llama3.idToToken(374));
        assertTrue(llama3.isSpecial(128009));
        assertFalse(llama3.isSpecial(2028));
        assertNull(llama3.idToToken(128256));
        assertNull(llama3.tokenToId("no such token"));
        assertTrue(llama3.cleanUpTokenizationSpaces());
    }

    @Test
    void decodeSkipsSpecialTokensOnlyWhenAsked() {
        int[] ids = {128000, 9906, 128009};
        assertEquals("<|begin_of_text|>Hello<|eot_id|>", llama3.decode(ids, false));
        assertEquals("Hello", llama3.decode(ids, true));
        assertEquals("", llama3.decode(new int[0], true));
        LoriException e = assertThrows(LoriException.class, () -> llama3.decode(new int[]{200000}, false));
        assertTrue(e.getMessage().contains("200000"), e.getMessage());
    }

    @Test
    void cleanUpMatchesTransformersRules() {
        assertEquals("Hello, world. I'm sure it isn't!", Tokenizer.cleanUp("Hello , world . I 'm sure it is n't !"));
        assertEquals("a.b", llama3.decode(llama3.encode("a.b", false), true, true));
        assertEquals("a.", llama3.decode(llama3.encode("a .", false), true, true));
        assertEquals("a .", llama3.decode(llama3.encode("a .", false), true, false));
    }

    @Test
    void noTruncationAtDjlsDefault512() {
        String text = "word ".repeat(3000);
        int[] ids = llama3.encode(text, false);
        assertEquals(3001, ids.length); // "word" + 2999 " word" + trailing " "
        assertEquals(text, llama3.decode(ids, false));
    }

    @Test
    void mistralAddsBosAndKnownIds() {
        assertEquals(1, mistral.bosId());
        assertEquals(List.of(2), mistral.eosIds());
        assertEquals(32000, mistral.vocabSize());
        // "[INST]" with the prepended "▁": '▁[' 733, 'INST' 16289, ']' 28793
        assertArrayEquals(new int[]{1, 733, 16289, 28793}, mistral.encode("[INST]", true));
        assertArrayEquals(new int[]{733, 16289, 28793}, mistral.encode("[INST]", false));
        assertArrayEquals(new int[]{1}, mistral.encode("", true));
        assertEquals("▁", mistral.idToToken(28705));
        assertEquals("<0x0A>", mistral.idToToken(13));
    }

    @Test
    void mistralRoundTripsIncludingByteFallback() {
        for (String s : List.of("Hello world", "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～",
                "нещо на Български", "  two leading spaces", "tabs\tand\nnewlines\n\n", "🦙.cpp Cửa Việt",
                "ied 4 ½ months")) {
            int[] ids = mistral.encode(s, true);
            assertEquals(1, ids[0]);
            assertEquals(s, mistral.decode(ids, true), s);
        }
        // 🦙 is not in the vocabulary: it falls back to its 4 UTF-8 bytes <0xF0><0x9F><0xA6><0x99>
        int[] ids = mistral.encode("🦙", false);
        assertEquals(List.of("▁", "<0xF0>", "<0x9F>", "<0xA6>", "<0x99>"),
                Arrays.stream(ids).mapToObj(mistral::idToToken).toList());
    }

    @Test
    void tokenizerConfigAddBosAddEosAreHonoured(@TempDir Path tmp) throws IOException {
        Files.createSymbolicLink(tmp.resolve("tokenizer.json"), mistralDir.resolve("tokenizer.json"));
        Files.writeString(tmp.resolve("tokenizer_config.json"), """
                {"tokenizer_class": "LlamaTokenizer", "add_bos_token": false, "add_eos_token": true,
                 "bos_token": "<s>", "eos_token": {"content": "</s>", "special": true}}""");
        try (Tokenizer t = Tokenizer.load(tmp)) {
            assertArrayEquals(new int[]{733, 16289, 28793, 2}, t.encode("[INST]", true));
            assertArrayEquals(new int[]{733, 16289, 28793}, t.encode("[INST]", false));
            assertEquals("</s>", t.eosToken());
        }
    }

    @Test
    void otherTokenizerClassesIgnoreAddBosAndAddEosAsTransformers(@TempDir Path tmp) throws IOException {
        // Llama-3's class is PreTrainedTokenizerFast: transformers keeps tokenizer.json's post-processor (which adds
        // no BOS in the April-2024 file) whatever add_bos_token / add_eos_token say
        Files.createSymbolicLink(tmp.resolve("tokenizer.json"), llama3Dir.resolve("tokenizer.json"));
        Files.writeString(tmp.resolve("tokenizer_config.json"), """
                {"tokenizer_class": "PreTrainedTokenizerFast", "add_bos_token": true, "add_eos_token": true,
                 "bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}""");
        try (Tokenizer t = Tokenizer.load(tmp)) {
            assertArrayEquals(new int[]{9906}, t.encode("Hello", true));
        }
    }

    @Test
    void idsFromConfigAndGenerationConfigWhenTokenizerConfigLacksThem(@TempDir Path tmp) throws IOException {
        Files.createSymbolicLink(tmp.resolve("tokenizer.json"), llama3Dir.resolve("tokenizer.json"));
        Files.writeString(tmp.resolve("config.json"), "{\"bos_token_id\": 128000, \"eos_token_id\": 128001}");
        Files.writeString(tmp.resolve("generation_config.json"), "{\"eos_token_id\": [128001, 128009]}");
        try (Tokenizer t = Tokenizer.load(tmp)) {
            assertEquals(128000, t.bosId());
            assertEquals("<|begin_of_text|>", t.bosToken());
            assertEquals(List.of(128001, 128009), t.eosIds());
            assertEquals("<|end_of_text|>", t.eosToken());
            assertArrayEquals(new int[]{9906}, t.encode("Hello", true)); // no tokenizer_config: post-processor decides
        }
    }

    @Test
    void missingOrBrokenTokenizerJsonIsAOneLineError(@TempDir Path tmp) throws IOException {
        LoriException e = assertThrows(LoriException.class, () -> Tokenizer.load(tmp));
        assertEquals(tmp.resolve("tokenizer.json") + ": file not found", e.getMessage());

        Files.writeString(tmp.resolve("tokenizer.json"), "{\"model\": {\"vocab\": {\"a\": 0,}}");
        e = assertThrows(LoriException.class, () -> Tokenizer.load(tmp));
        assertTrue(e.getMessage().startsWith(tmp.resolve("tokenizer.json") + ": invalid JSON at line 1"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));

        Files.writeString(tmp.resolve("tokenizer.json"), "{\"model\": {\"type\": \"NoSuchModel\", \"vocab\": {\"a\": 0}}}");
        e = assertThrows(LoriException.class, () -> Tokenizer.load(tmp));
        assertTrue(e.getMessage().startsWith(tmp.resolve("tokenizer.json") + ": "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }
}
