package org.lori4j.cli;

import org.lori4j.io.Llama2cImporter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import org.lori4j.io.LlamaConfig;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code lori import <format>}: converts models from other formats into Hugging Face folders. */
@Command(name = "import", mixinStandardHelpOptions = true,
        description = "Convert a model from another format into a Hugging Face folder.",
        subcommands = {ImportCommand.Llama2c.class})
public final class ImportCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() { spec.commandLine().usage(spec.commandLine().getOut()); }

    /** {@code lori import llama2c}: a llama2.c checkpoint (version 0) plus tokenizer.bin. */
    @Command(name = "llama2c", mixinStandardHelpOptions = true,
            description = "Convert a llama2.c checkpoint (legacy version-0 .bin) and its tokenizer.bin into a Hugging Face "
                    + "folder: config.json, model.safetensors (F32, q/k rows permuted for HF RoPE), tokenizer.json, "
                    + "tokenizer_config.json, generation_config.json.")
    public static final class Llama2c implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--checkpoint", required = true, paramLabel = "FILE", description = "llama2.c model .bin (version 0)")
        Path checkpoint;

        @Option(names = "--tokenizer", required = true, paramLabel = "FILE", description = "llama2.c tokenizer: its .bin, or the SentencePiece .model it was exported from")
        Path tokenizer;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "new output folder (must not exist or be empty)")
        Path out;

        @Override
        public Integer call() {
            LlamaConfig c = Llama2cImporter.importModel(checkpoint, tokenizer, out);
            spec.commandLine().getOut().printf("wrote %s: llama, %d layers, hidden %d, %d heads (%d kv), vocab %d, %,d parameters%n",
                    out, c.numLayers(), c.hiddenSize(), c.numHeads(), c.numKvHeads(), c.vocabSize(), c.parameterCount());
            return 0;
        }
    }
}
