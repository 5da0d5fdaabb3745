package org.lori4j.fuzz;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lori4j.TestPaths;
import org.lori4j.io.LoriException;
import org.lori4j.text.Tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Texts never kill the process (the server tokenizes user text): the real Llama 3 and Mistral tokenizers on long
 * adversarial texts (runs of spaces, digits, apostrophes, newlines, mixed scripts, unpaired surrogates, NULs),
 * each encoded within a time bound and decoded back (Llama 3's byte-level BPE exactly). Length per text:
 * {@code -Dlori.fuzz.textChars=N} (default 65,536; the 1 MB: 1048576), random mixtures: {@code lori.fuzz.cases}.
 */
class TokenizerTextFuzzTest {
    private static Tokenizer llama3, mistral;

    @BeforeAll
    static void load() {
        llama3 = Tokenizer.load(TestPaths.realdata("llama3-tokenizer"));
        mistral = Tokenizer.load(TestPaths.realdata("mistral-tokenizer"));
    }

    @AfterAll
    static void close() {
        if (llama3 != null) llama3.close();
        if (mistral != null) mistral.close();
    }

    static final String[] FRAGMENTS = {" ", "  ", "\t", "\n", "\r\n", "\r", "1", "12345", "'", "'s", "n't", "'''", "!", "?!",
            "a", "Hello", "\u00e9", "e\u0301", "\u4e2d\u6587", "\u0645\u0631\u062d\u0628\u0627", "\u202e", "\ud83d\ude00", "\ud800",
            "\udc00", "\u0000", "\uffff", "\u00a0", "\u3000", "<|eot_id|>", "<s>", "</s>", "\u2581", "\\", "\"", "{{", "%"};

    @Test
    void adversarialTextsEncodeWithinBoundsAndRoundTrip() {
        int chars = Integer.getInteger("lori.fuzz.textChars", 1 << 16);
        int mixtures = Integer.getInteger("lori.fuzz.cases", ReaderFuzzTest.DEFAULT_CASES) / 6;
        List<String> texts = new ArrayList<>();
        for (String f : new String[]{" ", "1", "'", "\n", " \n", "\t", "a", "!", "\u4e2d", "\ud83d\ude00", "\u00a0", "'s"})
            texts.add(f.repeat(chars / f.length()) + "x");
        Random rnd = new Random(Long.getLong("lori.fuzz.seed", 19L));
        for (int m = 0; m < mixtures; m++) {
            StringBuilder sb = new StringBuilder(chars + 16);
            while (sb.length() < chars) {
                String f = FRAGMENTS[rnd.nextInt(FRAGMENTS.length)];
                sb.append(f.repeat(1 + (rnd.nextInt(4) == 0 ? rnd.nextInt(2000) : rnd.nextInt(4))));
            }
            texts.add(sb.toString());
        }
        for (String text : texts) {
            for (Tokenizer t : List.of(llama3, mistral)) {
                long t0 = System.nanoTime();
                int[] ids = t.encode(text, true);
                String back = t.decode(ids, true);
                double s = (System.nanoTime() - t0) / 1e9;
                assertTrue(s < 60, "took " + s + " s");
                assertTrue(ids.length > 0);
                boolean wellFormed = text.codePoints().noneMatch(c -> c >= 0xd800 && c <= 0xdfff);
                if (t == llama3 && wellFormed && !text.contains("<|") && !text.contains("<s>") && !text.contains("</s>"))
                    assertEquals(text, back, "Llama 3 round trip");
            }
        }
    }

    @Test
    void aTextBeyondTheLimitIsOneLineNotAnAbort() {
        // 10 million spaces exceed Oniguruma's retry limit with Llama 3's pattern: the library would abort the JVM
        String huge = " ".repeat(Tokenizer.MAX_TEXT_CHARS + 1);
        for (Tokenizer t : List.of(llama3, mistral)) {
            LoriException e = assertThrows(LoriException.class, () -> t.encode(huge, false));
            assertFalse(e.getMessage().contains("\n"));
            assertThrows(LoriException.class, () -> t.encodeAll(List.of("a", huge), false));
        }
    }
}
