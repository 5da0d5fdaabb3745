package org.lori4j.cli;

import org.lori4j.io.LoriException;
import org.lori4j.io.SafeTensors;
import org.lori4j.model.LlamaModel;
import org.lori4j.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.Map;

/** {@code lori logits}: the full-sequence logits of given token ids, written as a safetensors file. */
@Command(name = "logits", mixinStandardHelpOptions = true,
        description = {"Write the logits of every position of a token sequence to a safetensors file.",
                "No BOS is added; one F32 tensor \"logits\" [n_tokens, vocab], to compare with a reference implementation."})
public final class LogitsCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Option(names = "--tokens", required = true, split = ",", paramLabel = "IDS", description = "comma-separated token ids")
    int[] tokens;

    @Option(names = "--out", required = true, paramLabel = "FILE.safetensors", description = "output file (written atomically)")
    Path out;

    @Mixin
    AdapterOptions adapterOptions;

    @Override
    public void run() {
        if (tokens.length == 0) throw new LoriException("--tokens: give at least one token id");
        try (LlamaModel m = LlamaModel.load(model.resolve())) {
            adapterOptions.apply(m);
            int V = m.config().vocabSize();
            for (int t : tokens)
                if (t < 0 || t >= V) throw new LoriException("--tokens: id " + t + " is outside the vocabulary [0, " + V + ")");
            float[] logits = m.logits(tokens);
            SafeTensors.write(out, Map.of("logits", Tensor.of(logits, tokens.length, V)), Map.of("format", "pt"));
            spec.commandLine().getOut().printf("wrote logits [%d, %d] to %s%n", tokens.length, V, out);
            spec.commandLine().getOut().flush();
        }
    }
}
