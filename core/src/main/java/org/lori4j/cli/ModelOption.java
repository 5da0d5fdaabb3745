package org.lori4j.cli;

import org.lori4j.io.EmbeddedModel;
import org.lori4j.io.ModelFolder;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The shared {@code -m/--model DIR} option; without it commands use the embedded stories260K model.
 * Use as {@code @Mixin ModelOption model;} and call {@code model.resolve()}.
 */
public final class ModelOption {
    @Option(names = {"-m", "--model"}, paramLabel = "DIR",
            description = "Hugging Face model folder (config.json, *.safetensors, tokenizer.json); "
                    + "default: the embedded stories260K model")
    Path model;

    /**
     * The --model folder, or the embedded model's folder when the option was not given. A path that is not a model
     * folder (missing, a hub id, a GGUF or llama2.c file, an adapter folder, ...) is an error saying what it is.
     */
    public Path resolve() { return model != null ? ModelFolder.check(model) : EmbeddedModel.path(); }

    /**
     * As {@link #resolve()}, for commands that need only the tokenizer: a folder with tokenizer.json, tokenizer.model
     * or tokenizer_config.json (no config.json needed), or a SentencePiece .model file, passes as it is.
     */
    public Path resolveTokenizer() {
        if (model == null) return EmbeddedModel.path();
        boolean spm = Files.isRegularFile(model) && model.getFileName().toString().endsWith(".model");
        boolean tokenizerFolder = Files.isDirectory(model) && (Files.isRegularFile(model.resolve("tokenizer.json"))
                || Files.isRegularFile(model.resolve("tokenizer.model")) || Files.isRegularFile(model.resolve("tokenizer_config.json")));
        return spm || tokenizerFolder ? model : ModelFolder.check(model);
    }

    /** True when the user passed --model. */
    public boolean given() { return model != null; }
}
