package org.lori4j.cli;

import org.lori4j.generate.GenerationConfig;
import org.lori4j.generate.Generator;
import org.lori4j.generate.SamplingParams;
import org.lori4j.io.LoriException;
import org.lori4j.model.LlamaModel;
import org.lori4j.tensor.MatMul;
import org.lori4j.text.ChatTemplate;
import org.lori4j.text.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;

/** {@code lori generate}: continues a prompt (or answers a chat message) and streams the new text to stdout. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate text with a model, streaming it to stdout (--prompt text first, then the new text).",
                "Defaults come from the model's generation_config.json (greedy when it has none);",
                "a rate summary goes to stderr."})
public final class GenerateCommand implements Runnable {
    /** New tokens when neither the option nor generation_config.json sets a budget. */
    static final int DEFAULT_MAX_NEW_TOKENS = 256;

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--prompt", paramLabel = "TEXT", description = "text to continue (gets BOS if the tokenizer adds one)")
        String prompt;

        @Option(names = "--chat", paramLabel = "TEXT", description = "a user message, rendered with the model's chat template")
        String chat;
    }

    @Option(names = "--max-new-tokens", paramLabel = "N", description = "most tokens to generate (default: generation_config, else "
            + DEFAULT_MAX_NEW_TOKENS + ")")
    Integer maxNewTokens;

    @Option(names = "--temperature", paramLabel = "T", description = "0 = greedy; > 0 samples (default: generation_config)")
    Float temperature;

    @Option(names = "--top-k", paramLabel = "K", description = "sample among the K most likely tokens; 0 = all (default: generation_config, else 50)")
    Integer topK;

    @Option(names = "--top-p", paramLabel = "P", description = "nucleus sampling threshold in (0, 1] (default: generation_config, else 1)")
    Float topP;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "random seed for sampling (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--repetition-penalty", paramLabel = "R", description = "HF repetition penalty, 1 = off (default: generation_config, else 1)")
    Float repetitionPenalty;

    @Option(names = "--no-bos", description = "do not add BOS (or other special tokens) to --prompt")
    boolean noBos;

    @Option(names = "--no-echo", description = "print only the generated text, not the --prompt text before it")
    boolean noEcho;

    @Mixin
    AdapterOptions adapterOptions;

    @Override
    public void run() {
        Path dir = model.resolve();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        // Compile the vector kernels while the model loads: interpreted, the first tokens would take seconds.
        Thread warmUp = Thread.ofPlatform().daemon().name("lori-warmup").start(MatMul::warmUp);
        try (Tokenizer tok = Tokenizer.load(dir); LlamaModel m = LlamaModel.load(dir)) {
            adapterOptions.apply(m);
            String text;
            int[] prompt;
            if (input.chat != null) {
                ChatTemplate t = ChatTemplate.load(dir).orElseThrow(() ->
                        new LoriException(dir + ": no chat template (" + ChatTemplate.WHERE + "); use --prompt"));
                text = t.render(List.of(new ChatTemplate.Message("user", input.chat)), true);
                prompt = tok.encode(text, false);   // the template writes the special tokens itself
            } else {
                text = input.prompt;
                prompt = tok.encode(text, !noBos);
            }
            if (prompt.length == 0) throw new LoriException("the prompt is empty after tokenization; give some text or drop --no-bos");
            SamplingParams p = samplingParams(GenerationConfig.load(dir), prompt.length, tok, m);
            int maxPos = m.config().maxPositionEmbeddings();
            if (prompt.length + (long) p.maxNewTokens() > maxPos) {
                err.println("warning: the prompt (" + prompt.length + " tokens) and up to " + p.maxNewTokens() + " new tokens go past the"
                        + " model's max_position_embeddings (" + maxPos + "); later positions were never trained");
                err.flush();
            }
            List<String> unapplied = GenerationConfig.unapplied(dir);
            if (!unapplied.isEmpty()) {
                err.println("warning: " + dir.resolve(GenerationConfig.FILE) + " sets " + String.join(", ", unapplied)
                        + ", which lori4j does not apply (transformers would)");
                err.flush();
            }
            if (input.prompt != null && !noEcho) {
                out.print(text);
                out.flush();
            }
            joinQuietly(warmUp);
            long t0 = System.nanoTime();
            int[] generated = new Generator(m).generate(prompt, p, tok, piece -> {
                out.print(piece);
                out.flush();
            });
            double s = (System.nanoTime() - t0) / 1e9;
            out.println();
            out.flush();
            err.printf("[%d prompt tokens, %d generated in %.2f s, %.1f tokens/s]%n", prompt.length, generated.length, s,
                    generated.length / Math.max(s, 1e-9));
            err.flush();
        }
    }

    private static void joinQuietly(Thread t) {
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    SamplingParams samplingParams(GenerationConfig g, int promptLength, Tokenizer tok, LlamaModel m) {
        SamplingParams p = g.toSamplingParams(promptLength, DEFAULT_MAX_NEW_TOKENS, seed);
        // transformers stops at generation_config's eos_token_id, which without generation_config.json comes from
        // config.json; lori4j falls back to the tokenizer's EOS only when neither names one
        List<Integer> stops = g.stopIds(m.config(), tok);
        try {
            p = p.withStopIds(List.copyOf(stops));
            if (maxNewTokens != null) p = p.withMaxNewTokens(maxNewTokens);
            if (temperature != null) p = p.withTemperature(temperature);
            if (topK != null) p = p.withTopK(topK);
            if (topP != null) p = p.withTopP(topP);
            if (repetitionPenalty != null) p = p.withRepetitionPenalty(repetitionPenalty);
        } catch (IllegalArgumentException e) {
            throw new LoriException(e.getMessage());
        }
        return p;
    }
}
