package org.lori4j.text;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

class RegexRiskTest {
    /** Pre-tokenizer patterns of real tokenizers (as in their tokenizer.json files). */
    static final List<String> REAL = List.of(
            // GPT-2, RoBERTa
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            // Llama 3 (Qwen2 has \\p{N} for \\p{N}{1,3})
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            // Mistral Tekken (Mistral Nemo), close to GPT-4o's o200k
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            // DeepSeek
            "[\\r\\n]", "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-Ρ]+", "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$",
            "[一-龥ࠀ-一가-퟿]+", "\\p{N}+", "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            " ", "▁");

    @Test
    void realTokenizerPatternsPass() {
        for (String r : REAL) assertNull(RegexRisk.check(r), r);
    }

    @Test
    void backtrackingBombsAreRefused() {
        for (String r : List.of("(a+)+$", "(a|a)+$", "(.*)*x", "((a*)*)*b", "(?:\\s|\\s)*x", "\\s*\\s*x", ".*a.*b",
                "(\\w+\\s?)+$", "(x+x+)+y", "(a)\\1", "(?<n>a)\\k<n>", "(?:a{1,10}){1,10}b", "([a-z]+)*=",
                "\\s*[\\r\\n]*(?=x)", "[".repeat(2000) + "a" + "]".repeat(2000), "(".repeat(2000) + "a" + ")".repeat(2000),
                "a".repeat(60_000)))
            assertNotNull(RegexRisk.check(r), r);
    }
}
