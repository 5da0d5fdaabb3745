package org.lori4j.cli;

import org.lori4j.io.EmbeddedModel;
import picocli.CommandLine.Option;

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

    /** The --model folder, or the embedded model's folder when the option was not given. */
    public Path resolve() { return model != null ? model : EmbeddedModel.path(); }

    /** True when the user passed --model. */
    public boolean given() { return model != null; }
}
