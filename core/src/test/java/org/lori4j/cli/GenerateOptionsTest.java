package org.lori4j.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.LoriCli;
import org.lori4j.adapter.AdapterConfig;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.generate.Generator;
import org.lori4j.generate.SamplingParams;
import org.lori4j.io.EmbeddedModel;
import org.lori4j.io.LlamaConfig;
import org.lori4j.model.LlamaModel;
import org.lori4j.text.Tokenizer;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.lori4j.LoriCli.run;

/**
 * generate's stop options (--stop, --stop-token, an adapter's generation_config.json), the llama.cpp-style aliases
 * (-p, -n), the prompt on stdin and the summary line, on the embedded model. The expectation is the greedy text and
 * tokens of the same prompt without any stop, generated in-process.
 */
class GenerateOptionsTest {
    static final String PROMPT = "Once upon a time";
    static final int N = 40;
    static String full;        // the generated text without stops (no echo)
    static int[] tokens;       // its tokens

    @BeforeAll
    static void greedyContinuation() {
        Path dir = EmbeddedModel.path();
        try (Tokenizer tok = Tokenizer.load(dir); LlamaModel m = LlamaModel.load(dir)) {
            int[] prompt = tok.encode(PROMPT, true);
            tokens = new Generator(m).generate(prompt, SamplingParams.greedy(N, tok.eosIds()), null);
        }
        LoriCli.Result r = run("generate", "--prompt", PROMPT, "--max-new-tokens", Integer.toString(N), "--no-echo");
        assertEquals(0, r.code(), r.err());
        full = r.out().substring(0, r.out().length() - 1);   // println's newline
        assertEquals(N, tokens.length);
    }

    @Test
    void stopCutsTheTextBeforeTheFirstStopStringAndEndsGeneration() {
        String stop = "Lily";
        int at = full.indexOf(stop);
        assertTrue(at > 0, full);
        LoriCli.Result r = run("generate", "--prompt", PROMPT, "--max-new-tokens", Integer.toString(N), "--stop", "nowhere in it", "--stop", stop);
        assertEquals(0, r.code(), r.err());
        assertEquals(PROMPT + full.substring(0, at) + "\n", r.out());
        int generated = Integer.parseInt(r.err().replaceAll("(?s).*prompt tokens, (\\d+) generated.*", "$1"));
        assertTrue(generated < N, r.err());
        assertEquals(2, run("generate", "--prompt", PROMPT, "--stop", "").code());
    }

    @Test
    void stopTokenEndsGenerationThereAsAnEos() {
        int k = 6, id = tokens[k];
        int first = 0;
        while (tokens[first] != id) first++;
        LoriCli.Result r = run("generate", "--prompt", PROMPT, "-n", Integer.toString(N), "--stop-token", Integer.toString(id));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains(", " + first + " generated"), r.err());
        LoriCli.Result bad = run("generate", "--prompt", PROMPT, "--stop-token", "99999");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--stop-token 99999 is not a token id"), bad.err());
    }

    @Test
    void anAdaptersGenerationConfigNamesTheTokenItEndsWith(@TempDir Path tmp) {
        // an adapter with B = 0 computes exactly the base model; its generation_config.json says it ends with tokens[k]
        Path dir = tmp.resolve("adapter");
        LoraAdapter.createLoRI(LlamaConfig.load(EmbeddedModel.path()), 4, 8, AdapterConfig.LLAMA_PROJECTIONS, 1, false).save(dir);
        int k = 9, first = 0;
        while (tokens[first] != tokens[k]) first++;
        LoraAdapter.writeGenerationConfig(dir, 1, tokens[k]);
        LoriCli.Result r = run("generate", "--prompt", PROMPT, "-n", Integer.toString(N), "--adapter", dir.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains(", " + first + " generated"), r.err());
    }

    @Test
    void shortAliasesAndThePromptOnStdinGiveTheSameText() {
        LoriCli.Result longForm = run("generate", "--prompt", PROMPT, "--max-new-tokens", "12");
        LoriCli.Result shortForm = run("generate", "-p", PROMPT, "-n", "12");
        assertEquals(longForm.out(), shortForm.out());
        InputStream in = System.in;
        try {
            System.setIn(new ByteArrayInputStream((PROMPT + "\n").getBytes(StandardCharsets.UTF_8)));   // as echo writes it
            LoriCli.Result stdin = run("generate", "-p", "-", "-n", "12");
            assertEquals(0, stdin.code(), stdin.err());
            assertEquals(longForm.out(), stdin.out());
        } finally {
            System.setIn(in);
        }
    }

    @Test
    void theSummaryLineGivesTheTimeToTheFirstTokenAndOfTheWholeRun() {
        LoriCli.Result r = run("generate", "-p", PROMPT, "-n", "3");
        assertTrue(r.err().strip().matches("\\[5 prompt tokens, 3 generated in [0-9.]+ s \\([0-9.]+ tokens/s\\); "
                + "first token [0-9.]+ s and the whole run [0-9.]+ s after launch]"), r.err());
        assertEquals("[2 prompt tokens, 0 generated in 0.50 s (0.0 tokens/s); no token and the whole run 2.00 s after launch]",
                GenerateCommand.summary(2, 0, 0.5, 0, 1000, 3000));
        assertEquals("[2 prompt tokens, 4 generated in 0.50 s (8.0 tokens/s); first token 1.25 s and the whole run 2.00 s after launch]",
                GenerateCommand.summary(2, 4, 0.5, 2250, 1000, 3000));
    }

    @Test
    void theOptionsAreListedInTheHelp() {
        String help = run("generate", "--help").out();
        for (String o : List.of("-p, --prompt", "-n, --max-new-tokens", "--stop=TEXT", "--stop-token=ID")) assertTrue(help.contains(o), o + "\n" + help);
    }
}
