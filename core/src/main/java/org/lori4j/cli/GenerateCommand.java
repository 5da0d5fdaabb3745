package org.lori4j.cli;

import org.lori4j.generate.GenerationConfig;
import org.lori4j.generate.Generator;
import org.lori4j.generate.SamplingParams;
import org.lori4j.generate.StopStrings;
import org.lori4j.io.LoriException;
import org.lori4j.model.LlamaModel;
import org.lori4j.text.ChatTemplate;
import org.lori4j.text.StreamDecoder;
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
import java.util.Locale;

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
        @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "text to continue (gets BOS if the tokenizer adds one); - reads it from stdin")
        String prompt;

        @Option(names = "--chat", paramLabel = "TEXT", description = "a user message, rendered with the model's chat template; - reads it from stdin")
        String chat;
    }

    @Option(names = {"-n", "--max-new-tokens"}, paramLabel = "N", description = "most tokens to generate (default: generation_config, else "
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

    @Option(names = "--stop", paramLabel = "TEXT", description = "end the text before TEXT when it appears (repeatable)")
    List<String> stops = List.of();

    @Option(names = "--stop-token", paramLabel = "ID", description = "end at this token id, as at EOS (repeatable; the adapters' "
            + "generation_config.json and the model's EOS ids stop too)")
    List<Integer> stopTokens = List.of();

    @Mixin
    AdapterOptions adapterOptions;

    @Override
    public void run() {
        for (String st : stops) if (st.isEmpty()) throw new LoriException("--stop needs a non-empty text");
        Path dir = model.resolve();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        // The tokenizer (a native library and a JSON file) loads beside the weights. Decoding then starts at once:
        // the first tokens run partly interpreted while the JIT compiles the kernels this model's shapes use (a
        // warm-up of every kernel beforehand cost seconds of CPU on 2 cores before the first token).
        java.util.concurrent.CompletableFuture<Tokenizer> tokenizer = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> Tokenizer.load(dir), r -> Thread.ofPlatform().daemon().name("lori-tokenizer").start(r));
        try (LlamaModel m = loadModel(dir, tokenizer); Tokenizer tok = join(tokenizer)) {
            adapterOptions.apply(m);
            String text;
            int[] prompt;
            if (input.chat != null) {
                ChatTemplate t = ChatTemplate.load(dir).orElseThrow(() ->
                        new LoriException(dir + ": no chat template (" + ChatTemplate.WHERE + "); use --prompt"));
                text = t.render(List.of(new ChatTemplate.Message("user", input.chat.equals("-") ? readStdin() : input.chat)), true);
                prompt = tok.encode(text, false);   // the template writes the special tokens itself
            } else {
                text = input.prompt.equals("-") ? readStdin() : input.prompt;
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
            long t0 = System.nanoTime();
            long[] firstToken = {0};
            StreamDecoder dec = tok.streamDecoder(prompt, true);
            StopStrings cut = new StopStrings(stops);
            int[][] generated = new int[1][];
            new Generator(m).generate(List.of(prompt), new long[]{p.seed()}, null, p, 1, (seq, token) -> {
                if (firstToken[0] == 0) firstToken[0] = System.currentTimeMillis();
                String piece = cut.push(dec.push(token));
                if (!piece.isEmpty()) {
                    out.print(piece);
                    out.flush();
                }
            }, (seq, token) -> cut.stopped(), (i, tokens) -> generated[0] = tokens);
            out.print(cut.push(dec.finish()));
            out.print(cut.finish());
            double s = (System.nanoTime() - t0) / 1e9;
            out.println();
            out.flush();
            err.println(summary(prompt.length, generated[0].length, s, firstToken[0], Main.launchedMillis(), System.currentTimeMillis()));
            err.flush();
        }
    }

    /** All of stdin as UTF-8 text (for --prompt -), less one final line end (what echo and most editors add). */
    static String readStdin() {
        try {
            return new String(System.in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).replaceFirst("\\r?\\n\\z", "");
        } catch (java.io.IOException e) {
            throw new LoriException("cannot read the prompt from stdin: " + LoriException.reason(e));
        }
    }

    /** The model in DIR; if it cannot be loaded, the tokenizer loading beside it is closed once it is there. */
    static LlamaModel loadModel(Path dir, java.util.concurrent.CompletableFuture<Tokenizer> tokenizer) {
        try {
            return LlamaModel.load(dir);
        } catch (RuntimeException e) {
            tokenizer.thenAccept(Tokenizer::close);
            throw e;
        }
    }

    /** The value of a loading task, with its own exception (a LoriException stays one). */
    static <T> T join(java.util.concurrent.CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw e;
        }
    }

    /** The stderr line after a run: token counts and speed, then when the first token came and the whole run's time since launch. */
    static String summary(int promptTokens, int generated, double seconds, long firstTokenMillis, long launchedMillis, long nowMillis) {
        String first = firstTokenMillis == 0 ? "no token" : String.format(Locale.ROOT, "first token %.2f s", (firstTokenMillis - launchedMillis) / 1e3);
        return String.format(Locale.ROOT, "[%d prompt tokens, %d generated in %.2f s (%.1f tokens/s); %s and the whole run %.2f s after launch]",
                promptTokens, generated, seconds, generated / Math.max(seconds, 1e-9), first, (nowMillis - launchedMillis) / 1e3);
    }

    SamplingParams samplingParams(GenerationConfig g, int promptLength, Tokenizer tok, LlamaModel m) {
        SamplingParams p = g.toSamplingParams(promptLength, DEFAULT_MAX_NEW_TOKENS, seed);
        // transformers stops at generation_config's eos_token_id, which without generation_config.json comes from
        // config.json; lori4j falls back to the tokenizer's EOS only when neither names one
        List<Integer> eos = g.stopIds(m.config(), tok);
        // and the ids an adapter was trained to end with (its generation_config.json), and --stop-token
        java.util.LinkedHashSet<Integer> stopIds = new java.util.LinkedHashSet<>(eos);
        stopIds.addAll(adapterOptions.stopIds());
        for (int id : stopTokens) {
            if (id < 0 || id >= m.config().vocabSize())
                throw new LoriException("--stop-token " + id + " is not a token id of this model (0.." + (m.config().vocabSize() - 1) + ")");
            stopIds.add(id);
        }
        try {
            p = p.withStopIds(List.copyOf(stopIds));
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
