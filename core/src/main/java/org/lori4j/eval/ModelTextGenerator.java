package org.lori4j.eval;

import org.lori4j.generate.Generator;
import org.lori4j.generate.SamplingParams;
import org.lori4j.io.LoriException;
import org.lori4j.model.LlamaModel;
import org.lori4j.text.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The harness's {@link TextGenerator} over a {@link LlamaModel}: tokenizes as the reference's evaluation
 * (no BOS, {@code add_special_tokens=False}, unless addBos), truncates a prompt to its first maxPromptLength
 * tokens when prompt + target + EOS exceed maxLength (the reference's 512/256, keep-start; 0 = never), generates
 * the batch with {@link Generator}, and decodes the new tokens in the context of the prompt (so SentencePiece
 * spacing is that of the full decoded sequence), skipping special tokens. With {@code maxTotalLength} (bigcode's
 * max_length_generation, for HumanEval) a prompt keeps its first maxTotalLength tokens and prompt + output stay
 * within it; with {@code rawText} the output is decoded as bigcode decodes it when the EOS text is a stop word:
 * special tokens kept, no clean-up of tokenization spaces, and it ends where the EOS token's text first appears.
 */
public final class ModelTextGenerator implements TextGenerator {

    /**
     * Tokenization and truncation settings; {@code stopStrings}: an output ends before the first of them (and its
     * generation there), as OpenAI's stop.
     */
    public record Options(boolean addBos, int maxLength, int maxPromptLength, List<Integer> stopIds, int maxTotalLength,
                          boolean rawText, List<String> stopStrings) {
        public Options(boolean addBos, int maxLength, int maxPromptLength, List<Integer> stopIds) {
            this(addBos, maxLength, maxPromptLength, stopIds, 0, false, List.of());
        }

        public Options(boolean addBos, int maxLength, int maxPromptLength, List<Integer> stopIds, int maxTotalLength, boolean rawText) {
            this(addBos, maxLength, maxPromptLength, stopIds, maxTotalLength, rawText, List.of());
        }

        public Options {
            if (maxLength < 0 || maxPromptLength < 0) throw new LoriException("--max-length and --max-prompt-length must be >= 0");
            if (maxTotalLength < 0) throw new LoriException("--max-length-generation must be >= 0, got " + maxTotalLength);
            if (maxLength > 0 && maxPromptLength < 1)
                throw new LoriException("--max-prompt-length must be >= 1 when prompts are truncated (--max-length " + maxLength + ")");
            if (maxLength > 0 && maxPromptLength >= maxLength)
                throw new LoriException("--max-prompt-length (" + maxPromptLength + ") must be below --max-length (" + maxLength + ")");
            stopIds = List.copyOf(stopIds);
            stopStrings = List.copyOf(stopStrings);
            for (String s : stopStrings) if (s.isEmpty()) throw new LoriException("--stop needs a non-empty text");
        }
    }

    private final Generator generator;
    private final Tokenizer tokenizer;
    private final Options options;

    public ModelTextGenerator(LlamaModel model, Tokenizer tokenizer, Options options) {
        this.generator = new Generator(model);
        this.tokenizer = tokenizer;
        this.options = options;
    }

    @Override
    public List<Completion> generate(List<Request> requests, Decoding decoding) {
        Completion[] out = new Completion[requests.size()];
        generate(requests, decoding, Math.max(1, requests.size()), (i, c) -> out[i] = c);
        return Arrays.asList(out);
    }

    /** Continuous batching ({@link Generator}): each request samples with its own seed, whatever its batch. */
    @Override
    public void generate(List<Request> requests, Decoding decoding, int slots, Sink sink) {
        int n = requests.size();
        List<int[]> prompts = new ArrayList<>(n);
        String[] truncated = new String[n];
        long[] seeds = new long[n];
        int[] maxNew = options.maxTotalLength() > 0 ? new int[n] : null;
        List<int[]> encoded = tokenizer.encodeAll(requests.stream().map(Request::prompt).toList(), options.addBos());
        List<int[]> targets = options.maxLength() > 0
                ? tokenizer.encodeAll(requests.stream().map(Request::target).toList(), false) : null;
        for (int r = 0; r < n; r++) {
            Request q = requests.get(r);
            int[] ids = encoded.get(r);
            if (options.maxLength() > 0) {
                // The reference: response = target + EOS; if prompt + response > max_length, keep the first
                // max_prompt_length prompt tokens (the response is never generated from, so only its length counts).
                int response = targets.get(r).length + 1;
                if (ids.length + response > options.maxLength() && ids.length > options.maxPromptLength()) {
                    ids = Arrays.copyOf(ids, options.maxPromptLength());
                    truncated[r] = tokenizer.decode(ids, true, tokenizer.cleanUpTokenizationSpaces());
                }
            }
            if (options.maxTotalLength() > 0) {
                // bigcode: the prompt tokenized with truncation to max_length (keep-start), and generate(max_length=...)
                // bounds prompt + output; a prompt that fills it gets no output (bigcode returns the input then).
                if (ids.length > options.maxTotalLength()) {
                    ids = Arrays.copyOf(ids, options.maxTotalLength());
                    truncated[r] = tokenizer.decode(ids, true, tokenizer.cleanUpTokenizationSpaces());
                }
                maxNew[r] = options.maxTotalLength() - ids.length;
            }
            if (ids.length == 0) {
                if (tokenizer.bosId() == null) throw new LoriException("an empty prompt cannot be continued by a tokenizer without BOS");
                ids = new int[]{tokenizer.bosId()};
            }
            prompts.add(ids);
            seeds[r] = q.seed();
        }
        SamplingParams params = new SamplingParams((float) decoding.temperature(), decoding.topK(), (float) decoding.topP(),
                0, 1f, decoding.maxNewTokens(), options.stopIds());
        List<String> stops = options.stopStrings();
        if (stops.isEmpty()) {
            generator.generate(prompts, seeds, maxNew, params, slots, null, (i, g) ->
                    sink.accept(i, new Completion(continuation(prompts.get(i), g), g.length, truncated[i],
                            decodedPrompt(requests.get(i).prompt(), prompts.get(i), truncated[i]))));
            return;
        }
        // each sequence's text as it grows, so that it ends as soon as a stop string appears
        java.util.Map<Integer, org.lori4j.text.StreamDecoder> text = new java.util.HashMap<>();
        java.util.Map<Integer, org.lori4j.generate.StopStrings> cut = new java.util.HashMap<>();
        generator.generate(prompts, seeds, maxNew, params, slots, (i, token) -> {
            org.lori4j.generate.StopStrings c = cut.computeIfAbsent(i, k -> new org.lori4j.generate.StopStrings(stops));
            c.push(text.computeIfAbsent(i, k -> tokenizer.streamDecoder(prompts.get(k), !options.rawText())).push(token));
        }, (i, token) -> cut.get(i).stopped(), (i, g) -> {
            text.remove(i);
            cut.remove(i);
            sink.accept(i, new Completion(org.lori4j.generate.StopStrings.cut(continuation(prompts.get(i), g), stops), g.length, truncated[i],
                    decodedPrompt(requests.get(i).prompt(), prompts.get(i), truncated[i])));
        });
    }

    /**
     * The prompt as the reference's answer rules see it: decode(prompt tokens), with special tokens skipped and the
     * tokenizer's clean-up (null when it equals the prompt text, when the prompt was truncated, whose text is already
     * decoded, and for code, which bigcode scores on the original prompt).
     */
    private String decodedPrompt(String text, int[] ids, String truncated) {
        if (options.rawText() || truncated != null) return null;
        String d = tokenizer.decode(ids, true, tokenizer.cleanUpTokenizationSpaces());
        return d.equals(text) ? null : d;
    }

    /** decode(prompt + new) minus decode(prompt): the output as it appears in the reference's decoded sequence. */
    private String continuation(int[] prompt, int[] generated) {
        if (generated.length == 0) return "";
        int[] all = Arrays.copyOf(prompt, prompt.length + generated.length);
        System.arraycopy(generated, 0, all, prompt.length, generated.length);
        String full = decode(all);
        String head = decode(prompt);
        String out;
        if (full.startsWith(head)) out = full.substring(head.length());
        else {
            int i = 0;
            while (i < head.length() && i < full.length() && full.charAt(i) == head.charAt(i)) i++;
            out = full.substring(i);
        }
        String eos = tokenizer.eosToken();
        if (options.rawText() && eos != null && !eos.isEmpty() && out.contains(eos)) out = out.substring(0, out.indexOf(eos));
        return out;
    }

    /** Text of ids: special tokens skipped and the tokenizer's clean-up, or (rawText) both off, as bigcode decodes code. */
    private String decode(int[] ids) {
        return options.rawText() ? tokenizer.decode(ids, false, false) : tokenizer.decode(ids, true, tokenizer.cleanUpTokenizationSpaces());
    }
}
