package org.lori4j.eval;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lori4j.io.EmbeddedModel;
import org.lori4j.model.LlamaModel;
import org.lori4j.text.Tokenizer;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The reference's prompt truncation rule on the embedded model's tokenizer (512 pieces, so prompts are long in tokens). */
class ModelTextGeneratorTest {
    private static Tokenizer tok;
    private static LlamaModel model;

    @BeforeAll
    static void load() {
        tok = Tokenizer.load(EmbeddedModel.path());
        model = LlamaModel.load(EmbeddedModel.path());
    }

    @AfterAll
    static void close() {
        tok.close();
        model.close();
    }

    private static String textOfTokens(int n) {
        StringBuilder b = new StringBuilder();
        while (tok.encode(b.toString(), false).length < n) b.append("Once upon a time there was a dog. ");
        return b.toString();
    }

    @Test
    void promptIsCutToItsFirst256TokensOnlyWhenPromptTargetAndEosExceed512() {
        ModelTextGenerator g = new ModelTextGenerator(model, tok, new ModelTextGenerator.Options(false, 512, 256, List.of(2)));
        String prompt = textOfTokens(300);
        int p = tok.encode(prompt, false).length;
        String shortTarget = "yes";
        String longTarget = textOfTokens(512 - p);   // p + target + 1 > 512
        assertTrue(p + tok.encode(shortTarget, false).length + 1 <= 512);
        var out = g.generate(List.of(new TextGenerator.Request(prompt, shortTarget, 0),
                new TextGenerator.Request(prompt, longTarget, 0)), Decoding.greedy(4));
        assertNull(out.get(0).truncatedPrompt());
        String cut = out.get(1).truncatedPrompt();
        assertEquals(tok.decode(Arrays.copyOf(tok.encode(prompt, false), 256), true), cut);
        assertTrue(prompt.startsWith(cut));
        // the cut prompt is what the model continued: the same output as giving it directly
        var direct = g.generate(List.of(new TextGenerator.Request(cut, "", 0)), Decoding.greedy(4));
        assertEquals(direct.getFirst().text(), out.get(1).text());
        assertEquals(4, out.get(0).tokens());
    }

    @Test
    void zeroMaxLengthNeverTruncates() {
        ModelTextGenerator g = new ModelTextGenerator(model, tok, new ModelTextGenerator.Options(false, 0, 0, List.of(2)));
        var out = g.generate(List.of(new TextGenerator.Request(textOfTokens(300), textOfTokens(400), 0)), Decoding.greedy(2));
        assertNull(out.getFirst().truncatedPrompt());
    }
}
