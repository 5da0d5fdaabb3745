package org.lori4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.LoriCli;
import org.lori4j.TestPaths;
import org.lori4j.adapter.AdapterConfig;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.io.EmbeddedModel;
import org.lori4j.io.LlamaConfig;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Messages a user can act on: what a wrong --model or --adapter is and what to do, the nearest option, no doubled prefix. */
class MessagesTest {
    /** Runs lori ARGS, expects exit 2 and one error line; returns it without "error: ". */
    static String error(String... args) {
        LoriCli.Result r = LoriCli.run(args);
        assertEquals(2, r.code(), String.join(" ", args) + ": " + r.out() + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("error: "), r.err());
        assertFalse(r.err().toLowerCase().startsWith("error: error"), r.err());
        return r.err().strip().substring("error: ".length());
    }

    @Test
    void theModelOptionSaysWhatItWasGivenAndWhatToDo(@TempDir Path tmp) {
        Path s260 = TestPaths.realdata("stories260K");
        assertEquals(tmp.resolve("none") + ": not found", error("generate", "--model", tmp.resolve("none").toString(), "-p", "a"));
        assertTrue(error("generate", "--model", "meta-llama/Llama-3.2-1B", "-p", "a").contains(
                "looks like a Hugging Face hub id, and lori4j does not download models: download the folder first"));
        String gguf = error("generate", "--model", s260.resolve("stories260K.gguf").toString(), "-p", "a");
        assertTrue(gguf.contains("GGUF: not supported yet"), gguf);
        String folder = error("generate", "--model", s260.toString(), "-p", "a");
        assertTrue(folder.contains("a llama2.c checkpoint folder (stories260K.bin); convert it first: lori import llama2c --checkpoint "
                + s260.resolve("stories260K.bin") + " --tokenizer " + s260.resolve("tok512.bin")), folder);
        assertTrue(error("info", "--model", s260.resolve("stories260K.bin").toString()).contains("a llama2.c checkpoint; convert it first"));
        Path adapter = tmp.resolve("adapter");
        LoraAdapter.createLoRI(LlamaConfig.load(EmbeddedModel.path()), 2, 4, AdapterConfig.LLAMA_PROJECTIONS, 0, false).save(adapter);
        assertTrue(error("generate", "--model", adapter.toString(), "-p", "a").contains("an adapter folder (adapter_config.json), not a model: "
                + "pass it as --adapter " + adapter));
        assertTrue(error("eval", "--task", "hexphi", "--model", adapter.resolve("adapter_model.safetensors").toString())
                .contains("is a file; --model takes the folder that holds it"));
        // a tokenizer folder is enough where only the tokenizer is needed
        assertEquals(0, LoriCli.run("tokenize", "--model", TestPaths.realdata("llama3-tokenizer").toString(), "--text", "hi").code());
    }

    @Test
    void theAdapterOptionSaysWhatItWasGiven(@TempDir Path tmp) throws Exception {
        Path adapter = tmp.resolve("adapter");
        LoraAdapter.createLoRI(LlamaConfig.load(EmbeddedModel.path()), 2, 4, AdapterConfig.LLAMA_PROJECTIONS, 0, false).save(adapter);
        assertEquals(adapter.resolve("adapter_model.safetensors") + ": is a file; an adapter is the folder that holds adapter_config.json "
                + "and adapter_model.safetensors: give " + adapter, error("generate", "-p", "a", "--adapter", adapter.resolve("adapter_model.safetensors").toString()));
        assertEquals("--adapter " + adapter + ":abc: weight 'abc' is not a number (DIR:W, e.g. " + adapter + ":0.5)",
                error("generate", "-p", "a", "--adapter", adapter + ":abc"));
        assertTrue(error("info", "--adapter", EmbeddedModel.path().toString()).contains("a model folder (config.json), not an adapter"));
        assertEquals(0, LoriCli.run("generate", "-p", "a", "-n", "1", "--adapter", adapter + ":0.5").code());
    }

    @Test
    void aMistypedOptionOrCommandGetsTheNearestOneAndNoMessageIsPrefixedTwice() {
        assertTrue(error("generate", "--stops", "x", "-p", "a").contains("did you mean --stop?"));
        assertTrue(error("eval", "--taks", "hexphi").contains("did you mean --task"));
        assertTrue(error("generat").contains("did you mean generate?"));
        // picocli starts this message with "Error: " itself
        assertTrue(error("generate").startsWith("Missing required argument"));
    }
}
