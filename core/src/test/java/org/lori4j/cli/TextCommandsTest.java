package org.lori4j.cli;

import org.lori4j.LoriCli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.TestPaths;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** lori tokenize / lori template end to end through Main. */
class TextCommandsTest {

    static String llama3() { return TestPaths.realdata("llama3-tokenizer").toString(); }

    static String mistral() { return TestPaths.realdata("mistral-tokenizer").toString(); }

    @Test
    void tokenizePrintsIdsOnOneLine() {
        LoriCli.Result r = LoriCli.run("tokenize", "--model", llama3(), "--text", "This is a test sentence.");
        assertEquals(0, r.code(), r.err());
        assertEquals("2028 374 264 1296 11914 13\n", r.out());
        r = LoriCli.run("tokenize", "--model", mistral(), "--text", "[INST]", "--special");
        assertEquals("1 733 16289 28793\n", r.out());
    }

    @Test
    void tokenizeFileAndDecode(@TempDir Path tmp) throws IOException {
        Path f = tmp.resolve("in.txt");
        Files.writeString(f, " Hello, world!", StandardCharsets.UTF_8);
        assertEquals("22691 11 1917 0\n", LoriCli.run("tokenize", "--model", llama3(), "--file", f.toString()).out());
        assertEquals(" Hello, world! 🦙\n", LoriCli.run("tokenize", "--model", llama3(), "--decode", "22691,11,1917,0,11410,99,247").out());
        assertEquals("<|begin_of_text|>Hi\n", LoriCli.run("tokenize", "--model", llama3(), "--decode", "128000,13347").out());
        assertEquals("Hi\n", LoriCli.run("tokenize", "--model", llama3(), "--decode", "128000,13347", "--skip-special").out());
    }

    @Test
    void tokenizeDefaultsToTheEmbeddedModel() {
        // stories260K's tokenizer: BOS, then " There" " was" " a" " big" as llama2.c encodes them
        assertEquals("1 291 276 286 261 370\n", LoriCli.run("tokenize", "--text", "There was a big", "--special").out());
    }

    @Test
    void tokenizeErrorsAreOneLine(@TempDir Path tmp) {
        LoriCli.Result r = LoriCli.run("tokenize", "--model", tmp.toString(), "--text", "x");
        assertEquals(2, r.code());
        assertEquals("error: " + tmp + ": no config.json, so not a Hugging Face model folder (expected config.json, *.safetensors, "
                + "tokenizer.json)\n", r.err());
        r = LoriCli.run("tokenize", "--model", llama3(), "--file", tmp.resolve("nope.txt").toString());
        assertEquals(2, r.code());
        assertEquals("error: " + tmp.resolve("nope.txt") + ": file not found\n", r.err());
    }

    @Test
    void templateRendersChatTemplate(@TempDir Path tmp) throws IOException {
        Path m = tmp.resolve("m.json");
        Files.writeString(m, "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi é\"}]}");
        LoriCli.Result r = LoriCli.run("template", "--model", llama3(), "--messages", m.toString(), "--add-generation-prompt");
        assertEquals(0, r.code(), r.err());
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi é<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
                r.out());
        Files.writeString(m, "[{\"role\": \"user\"}]");
        r = LoriCli.run("template", "--model", llama3(), "--messages", m.toString());
        assertEquals(2, r.code());
        assertEquals("error: " + m + ": message 0 needs string fields \"role\" and \"content\"\n", r.err());
        r = LoriCli.run("template", "--model", mistral(), "--messages", m.toString());
        assertEquals(2, r.code());
    }

    @Test
    void templateFixedPrompts() {
        LoriCli.Result r = LoriCli.run("template", "--prompt", "gsm8k", "--instruction", "What is 2+3?");
        assertEquals("What is 2+3?\nAnswer the above question. First think step by step and then answer the final number.\n", r.out());
        r = LoriCli.run("template", "--prompt", "nope", "--instruction", "x");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("error: unknown prompt template 'nope'; valid: alpaca-lori16"), r.err());
        r = LoriCli.run("template", "--list-prompts");
        assertTrue(r.out().startsWith("alpaca-lori16\t"), r.out());
        assertEquals(6, r.out().lines().count());
    }
}
