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

    @Test
    void maxTotalLengthBoundsPromptPlusOutputAndKeepsThePromptStart() {
        // bigcode's max_length_generation: the prompt is tokenized with truncation to the limit, generate(max_length=)
        // bounds prompt + output, and a prompt that fills the limit gets nothing
        ModelTextGenerator g = new ModelTextGenerator(model, tok, new ModelTextGenerator.Options(false, 0, 0, List.of(), 305, false));
        String p300 = textOfTokens(300), p310 = textOfTokens(310);
        int n300 = tok.encode(p300, false).length;
        var out = g.generate(List.of(new TextGenerator.Request(p300, "", 0), new TextGenerator.Request(p310, "", 0)), Decoding.greedy(64));
        assertEquals(305 - n300, out.get(0).tokens());
        assertNull(out.get(0).truncatedPrompt());
        assertEquals(0, out.get(1).tokens());
        assertEquals("", out.get(1).text());
        assertEquals(tok.decode(Arrays.copyOf(tok.encode(p310, false), 305), true), out.get(1).truncatedPrompt());
        // the first output is the start of what an unbounded run generates
        ModelTextGenerator free = new ModelTextGenerator(model, tok, new ModelTextGenerator.Options(false, 0, 0, List.of()));
        String longer = free.generate(List.of(new TextGenerator.Request(p300, "", 0)), Decoding.greedy(64)).getFirst().text();
        assertTrue(longer.startsWith(out.get(0).text()) && longer.length() > out.get(0).text().length());
    }

    @Test
    void rawTextKeepsSpecialTokens() {
        // llama2.c's stories end with BOS (id 1, "<s>") and the next story follows: decoded skipping special tokens it
        // disappears; decoded raw, as bigcode decodes code, it stays, and spaces are not cleaned up
        var req = List.of(new TextGenerator.Request("Once upon a time", "", 0));
        String plain = new ModelTextGenerator(model, tok, new ModelTextGenerator.Options(false, 0, 0, List.of()))
                .generate(req, Decoding.greedy(400)).getFirst().text();
        String raw = new ModelTextGenerator(model, tok, new ModelTextGenerator.Options(false, 0, 0, List.of(), 0, true))
                .generate(req, Decoding.greedy(400)).getFirst().text();
        int[] ids = tok.encode("Once upon a time", false);
        int[] gen = new org.lori4j.generate.Generator(model).generate(ids,
                new org.lori4j.generate.SamplingParams(0f, 0, 1f, 0, 1f, 400, List.of()), null);
        assertTrue(Arrays.stream(gen).anyMatch(t -> t == 1), "the fixture needs a greedy story that ends within 400 tokens");
        assertTrue(raw.contains("<s>") && !plain.contains("<s>"), raw);
        int[] all = Arrays.copyOf(ids, ids.length + gen.length);
        System.arraycopy(gen, 0, all, ids.length, gen.length);
        assertEquals(tok.decode(all, false, false).substring(tok.decode(ids, false, false).length()), raw);
    }
}
