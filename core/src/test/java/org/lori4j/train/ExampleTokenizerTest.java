package org.lori4j.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** LoRI's truncation and masking rule on a character-level encoder (token id = character code), hand-computed. */
class ExampleTokenizerTest {
    static final int EOS = 0, BOS = 1, I = Example.IGNORE;

    static int[] chars(String s) { return s.chars().toArray(); }

    static ExampleTokenizer tok(int maxLength, int maxPrompt, ExampleTokenizer.Truncation t, boolean bos) {
        return new ExampleTokenizer(ExampleTokenizerTest::chars, EOS, bos ? BOS : -1, maxLength, maxPrompt, t);
    }

    static ExampleTokenizer tok() { return tok(10, 4, ExampleTokenizer.Truncation.KEEP_START, false); }

    @Test
    void shortExampleIsPromptPlusResponsePlusEosWithPromptMasked() {
        var r = tok().tokenize("abcde", "xyz", true); // 5 + 4 = 9 <= 10
        assertArrayEquals(new int[] {'a', 'b', 'c', 'd', 'e', 'x', 'y', 'z', EOS}, r.example().inputIds());
        assertArrayEquals(new int[] {I, I, I, I, I, 'x', 'y', 'z', EOS}, r.example().labels());
        assertFalse(r.promptTruncated());
        assertFalse(r.responseTruncated());
    }

    @Test
    void exactlyMaxLengthIsNotTruncatedEvenWithALongPrompt() {
        var r = tok().tokenize("abcdef", "xyz", true); // 6 + 4 = 10: prompt longer than 4 but no cut
        assertEquals(10, r.example().length());
        assertFalse(r.promptTruncated());
    }

    @Test
    void oneOverCutsThePromptToItsFirstMaxPromptTokens() {
        var r = tok().tokenize("abcde", "vwxyz", true); // 5 + 6 = 11 > 10 -> prompt "abcd"; 4 + 6 = 10 fits
        assertArrayEquals(new int[] {'a', 'b', 'c', 'd', 'v', 'w', 'x', 'y', 'z', EOS}, r.example().inputIds());
        assertArrayEquals(new int[] {I, I, I, I, 'v', 'w', 'x', 'y', 'z', EOS}, r.example().labels());
        assertTrue(r.promptTruncated());
        assertFalse(r.responseTruncated());
    }

    @Test
    void responseIsCutToMaxLengthMinusMaxPromptEvenWhenThePromptIsShorter() {
        // 3 + 8 = 11 > 10; prompt (3 <= 4) unchanged; still 11 -> response keeps 10 - 4 = 6 tokens, EOS lost
        var r = tok().tokenize("abc", "qrstuvw", true);
        assertArrayEquals(new int[] {'a', 'b', 'c', 'q', 'r', 's', 't', 'u', 'v'}, r.example().inputIds());
        assertArrayEquals(new int[] {I, I, I, 'q', 'r', 's', 't', 'u', 'v'}, r.example().labels());
        assertFalse(r.promptTruncated());
        assertTrue(r.responseTruncated());
    }

    @Test
    void bothCutGiveExactlyMaxLength() {
        var r = tok().tokenize("abcdefgh", "qrstuvw", true); // 8 + 8 -> 4 + 8 = 12 -> 4 + 6
        assertArrayEquals(new int[] {'a', 'b', 'c', 'd', 'q', 'r', 's', 't', 'u', 'v'}, r.example().inputIds());
        assertTrue(r.promptTruncated());
        assertTrue(r.responseTruncated());
    }

    @Test
    void keepEndKeepsThePromptsLastTokens() {
        var r = tok(10, 4, ExampleTokenizer.Truncation.KEEP_END, false).tokenize("abcdefgh", "xy", true);
        // 8 + 3 = 11 -> prompt "efgh"; 4 + 3 = 7
        assertArrayEquals(new int[] {'e', 'f', 'g', 'h', 'x', 'y', EOS}, r.example().inputIds());
    }

    @Test
    void bosOptionPrependsBosAsAMaskedPromptTokenThatCountsTowardsTheLimit() {
        var r = tok(10, 4, ExampleTokenizer.Truncation.KEEP_START, true).tokenize("abcd", "vwxyz", true);
        // [BOS]abcd = 5, + 6 = 11 -> prompt [BOS]abc
        assertArrayEquals(new int[] {BOS, 'a', 'b', 'c', 'v', 'w', 'x', 'y', 'z', EOS}, r.example().inputIds());
        assertEquals(I, r.example().labels()[0]);
        assertEquals(I, r.example().labels()[3]);
        assertEquals('v', r.example().labels()[4]);
    }

    @Test
    void bosIsNotDoubledWhenThePromptAlreadyStartsWithIt() {
        ExampleTokenizer t = new ExampleTokenizer(s -> s.startsWith("<s>") ? new int[] {BOS, 'a'} : chars(s), EOS, BOS,
                10, 4, ExampleTokenizer.Truncation.KEEP_START);
        assertArrayEquals(new int[] {BOS, 'a', 'x', EOS}, t.tokenize("<s>a", "x", true).example().inputIds());
    }

    @Test
    void eosInsideTheTextIsRejectedLikeTheReferenceAssertion() {
        String withEos = "a" + (char) EOS;
        var e = assertThrows(IllegalArgumentException.class, () -> tok().tokenize("p", withEos, true));
        assertTrue(e.getMessage().contains("response contains the EOS"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> tok().tokenize(withEos, "r", true));
        // chat prompts may contain end-of-turn tokens
        assertEquals(4, tok().tokenize(withEos, "r", false).example().length());
    }

    @Test
    void referenceLimitsTruncateA600TokenExampleTo256Plus256() {
        ExampleTokenizer t = tok(512, 256, ExampleTokenizer.Truncation.KEEP_START, false);
        var r = t.tokenize("p".repeat(300), "r".repeat(299), true); // 300 + 300 > 512
        assertEquals(512, r.example().length());
        assertEquals(256, java.util.Arrays.stream(r.example().labels()).filter(v -> v == I).count());
        assertEquals('r', r.example().inputIds()[511]); // EOS was cut off
    }

    @Test
    void invalidLimitsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> tok(10, 10, ExampleTokenizer.Truncation.KEEP_START, false));
        assertThrows(IllegalArgumentException.class, () -> tok(10, 0, ExampleTokenizer.Truncation.KEEP_START, false));
    }
}
