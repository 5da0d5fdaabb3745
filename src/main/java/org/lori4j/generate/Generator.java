package org.lori4j.generate;

import org.lori4j.io.LoriException;
import org.lori4j.model.KvCache;
import org.lori4j.model.LlamaModel;
import org.lori4j.text.StreamDecoder;
import org.lori4j.text.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Autoregressive generation with a {@link LlamaModel} and a KV cache: one prompt with a
 * callback per token or text piece (streaming), or a batch of prompts of different lengths
 * decoded together (each sequence at its own positions, stopping on its own).
 */
public final class Generator {
    /** Receives each generated token as soon as it is chosen. */
    @FunctionalInterface
    public interface TokenListener {
        void onToken(int sequence, int token);
    }

    private final LlamaModel model;

    public Generator(LlamaModel model) {
        this.model = model;
    }

    /** Generates for one prompt; returns the new tokens (a stop token is not included). */
    public int[] generate(int[] prompt, SamplingParams params, TokenListener listener) {
        return generate(List.of(prompt), params, listener).getFirst();
    }

    /**
     * Generates for one prompt and streams the decoded text to {@code onText} piece by piece
     * (a piece may be empty while a multi-byte character is incomplete; none is passed then).
     */
    public int[] generate(int[] prompt, SamplingParams params, Tokenizer tokenizer, Consumer<String> onText) {
        StreamDecoder dec = tokenizer.streamDecoder(prompt, true);
        int[] out = generate(prompt, params, (s, t) -> {
            String piece = dec.push(t);
            if (!piece.isEmpty()) onText.accept(piece);
        });
        String rest = dec.finish();
        if (!rest.isEmpty()) onText.accept(rest);
        return out;
    }

    /** Generates for every prompt together; returns each sequence's new tokens (stop tokens not included). */
    public List<int[]> generate(List<int[]> prompts, SamplingParams params) {
        return generate(prompts, params, null);
    }

    /**
     * The batched loop: prefill every prompt in one pass, then one token per unfinished
     * sequence per step. Sequence i samples with seed {@code seed + i * golden-ratio constant},
     * so sequence 0 matches a single-prompt run with the same seed.
     */
    public List<int[]> generate(List<int[]> prompts, SamplingParams params, TokenListener listener) {
        int B = prompts.size();
        if (B == 0) return List.of();
        int V = model.config().vocabSize();
        int maxPrompt = 0;
        for (int i = 0; i < B; i++) {
            if (prompts.get(i).length == 0) throw new LoriException("prompt " + i + " is empty: generation needs at least one token (e.g. BOS)");
            maxPrompt = Math.max(maxPrompt, prompts.get(i).length);
        }
        int maxNew = params.maxNewTokens();
        boolean[] stop = new boolean[Math.max(V, 1)];
        for (int id : params.stopIds()) if (id >= 0 && id < V) stop[id] = true;

        Sampler[] samplers = new Sampler[B];
        int[][] history = new int[B][];
        int[] histLen = new int[B];
        int[] generated = new int[B];
        boolean[] finished = new boolean[B];
        for (int i = 0; i < B; i++) {
            samplers[i] = new Sampler(params, params.seed() + i * 0x9E3779B97F4A7C15L);
            int[] p = prompts.get(i);
            history[i] = Arrays.copyOf(p, p.length + maxNew);
            histLen[i] = p.length;
            finished[i] = maxNew == 0;
        }
        if (maxNew == 0) return emptyResults(B);

        KvCache cache = model.newCache(B, maxPrompt + maxNew);
        int[][] feed = new int[B][];
        for (int i = 0; i < B; i++) feed[i] = prompts.get(i);
        int active = B;
        while (active > 0) {
            float[] logits = model.forward(feed, cache);
            for (int i = 0; i < B; i++) {
                feed[i] = null;
                if (finished[i]) continue;
                int t = samplers[i].next(logits, i * V, V, history[i], histLen[i]);
                if (stop[t]) {
                    finished[i] = true;
                    active--;
                    continue;
                }
                history[i][histLen[i]++] = t;
                generated[i]++;
                if (listener != null) listener.onToken(i, t);
                if (generated[i] >= maxNew) {
                    finished[i] = true;
                    active--;
                } else {
                    feed[i] = new int[]{t};
                }
            }
        }
        List<int[]> out = new ArrayList<>(B);
        for (int i = 0; i < B; i++) out.add(Arrays.copyOfRange(history[i], prompts.get(i).length, histLen[i]));
        return out;
    }

    private static List<int[]> emptyResults(int n) {
        List<int[]> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(new int[0]);
        return out;
    }
}
