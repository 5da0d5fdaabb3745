package org.lori4j.generate;

import org.lori4j.io.LoriException;
import org.lori4j.model.KvCache;
import org.lori4j.model.LlamaModel;
import org.lori4j.text.StreamDecoder;
import org.lori4j.text.Tokenizer;

import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Autoregressive generation with a {@link LlamaModel} and a KV cache: one prompt with a
 * callback per token or text piece (streaming), a batch of prompts of different lengths
 * decoded together (each sequence at its own positions, stopping on its own), or a stream of
 * prompts through a fixed number of slots (continuous batching: a finished sequence's slot takes
 * the next prompt at once).
 */
public final class Generator {
    /** Receives each generated token as soon as it is chosen. */
    @FunctionalInterface
    public interface TokenListener {
        void onToken(int sequence, int token);
    }

    /**
     * Ends a sequence after a token of the caller's choosing (e.g. when a stop string appears in its text): asked
     * after each generated token, which is kept; true ends the sequence there.
     */
    @FunctionalInterface
    public interface StopRule {
        boolean stopsAfter(int prompt, int token);
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
     * Every prompt decoded together in one batch (prefill in one pass, then one token per unfinished sequence
     * per step). Sequence i samples with seed {@code seed + i * golden-ratio constant}, so sequence 0 matches a
     * single-prompt run with the same seed.
     */
    public List<int[]> generate(List<int[]> prompts, SamplingParams params, TokenListener listener) {
        int n = prompts.size();
        long[] seeds = new long[n];
        for (int i = 0; i < n; i++) seeds[i] = params.seed() + i * 0x9E3779B97F4A7C15L;
        int[][] out = new int[n][];
        generate(prompts, seeds, params, Math.max(1, n), listener, (i, tokens) -> out[i] = tokens);
        return Arrays.asList(out);
    }

    /** Receives a finished sequence: the new tokens of prompt {@code prompt} (a stop token is not included). */
    @FunctionalInterface
    public interface Finished {
        void accept(int prompt, int[] tokens);
    }

    /**
     * Continuous batching: up to {@code slots} sequences decode together; as soon as one finishes, its slot (and
     * its KV storage) takes the next prompt, whose prefill runs in the same forward pass as the others' next
     * tokens, so a long output never holds the rest of a batch up; the leading tokens a new prompt shares with
     * the slot's previous sequence (a prompt template) keep their cached keys and values. Prompt i samples with
     * seeds[i]: its tokens depend on its prompt and seed only (up to float rounding), never on its batch. Each prompt's tokens go to
     * {@code finished} as it completes (in completion order); {@code listener}, if not null, sees every token.
     */
    public void generate(List<int[]> prompts, long[] seeds, SamplingParams params, int slots, TokenListener listener,
                         Finished finished) {
        generate(prompts, seeds, null, params, slots, listener, finished);
    }

    /**
     * As {@link #generate(List, long[], SamplingParams, int, TokenListener, Finished)}, with prompt i generating at most
     * min(maxNew[i], params.maxNewTokens()) tokens (0: it finishes at once with none); maxNew null: no per-prompt cap.
     */
    public void generate(List<int[]> prompts, long[] seeds, int[] maxNew, SamplingParams params, int slots,
                         TokenListener listener, Finished finished) {
        generate(prompts, seeds, maxNew, params, slots, listener, null, finished);
    }

    /**
     * As {@link #generate(List, long[], int[], SamplingParams, int, TokenListener, Finished)}; {@code stopRule}, if
     * not null, may end a sequence after any generated token (after the listener has seen it).
     */
    public void generate(List<int[]> prompts, long[] seeds, int[] maxNew, SamplingParams params, int slots,
                         TokenListener listener, StopRule stopRule, Finished finished) {
        int n = prompts.size();
        if (maxNew != null && maxNew.length != n) throw new IllegalArgumentException(maxNew.length + " limits for " + n + " prompts");
        if (seeds.length != n) throw new IllegalArgumentException(seeds.length + " seeds for " + n + " prompts");
        if (slots < 1) throw new IllegalArgumentException("slots must be positive: " + slots);
        if (n == 0) return;
        int V = model.config().vocabSize();
        int maxPrompt = 0;
        for (int i = 0; i < n; i++) {
            if (prompts.get(i).length == 0) throw new LoriException("prompt " + i + " is empty: generation needs at least one token (e.g. BOS)");
            maxPrompt = Math.max(maxPrompt, prompts.get(i).length);
        }
        int most = params.maxNewTokens();
        int[] limit = new int[n];
        for (int i = 0; i < n; i++) {
            limit[i] = maxNew == null ? most : Math.min(most, maxNew[i]);
            if (limit[i] < 0) throw new IllegalArgumentException("prompt " + i + ": negative token limit " + limit[i]);
        }
        if (most == 0) {
            for (int i = 0; i < n; i++) finished.accept(i, new int[0]);
            return;
        }
        boolean[] stop = new boolean[Math.max(V, 1)];
        for (int id : params.stopIds()) if (id >= 0 && id < V) stop[id] = true;

        int S = Math.min(slots, n);
        KvCache cache = model.newCache(S, maxPrompt + most);
        int[] prompt = new int[S];            // the prompt a slot is decoding, -1 when free
        Arrays.fill(prompt, -1);
        Sampler[] samplers = new Sampler[S];
        int[][] history = new int[S][];
        int[] promptLen = new int[S], histLen = new int[S];
        int[][] feed = new int[S][];
        int next = 0, active = 0;
        while (true) {
            for (int s = 0; s < S && next < n; s++) {
                if (prompt[s] >= 0) continue;
                int i = next++;
                if (limit[i] == 0) {   // nothing to generate: done without taking the slot
                    finished.accept(i, new int[0]);
                    s--;
                    continue;
                }
                int[] p = prompts.get(i);
                // Prefix reuse: the slot's cache still holds the keys/values of its previous sequence, and a
                // position's keys/values depend only on the tokens up to it, so the part of the new prompt that
                // repeats the old tokens (a shared template, typically) is kept, not recomputed. At least one
                // token is fed, for the logits.
                int keep = 0;
                if (history[s] != null) {
                    int common = Math.min(cache.length(s), p.length - 1);
                    while (keep < common && history[s][keep] == p[keep]) keep++;
                }
                cache.truncate(s, keep);
                prompt[s] = i;
                samplers[s] = new Sampler(params, seeds[i]);
                history[s] = Arrays.copyOf(p, p.length + limit[i]);
                promptLen[s] = histLen[s] = p.length;
                feed[s] = keep == 0 ? p : Arrays.copyOfRange(p, keep, p.length);
                active++;
            }
            if (active == 0) return;
            float[] logits = model.forward(feed, cache);
            for (int s = 0; s < S; s++) {
                if (prompt[s] < 0) continue;
                feed[s] = null;
                int t = samplers[s].next(logits, s * V, V, history[s], histLen[s]);
                boolean done = stop[t];
                if (!done) {
                    history[s][histLen[s]++] = t;
                    if (listener != null) listener.onToken(prompt[s], t);
                    done = histLen[s] - promptLen[s] >= limit[prompt[s]] || stopRule != null && stopRule.stopsAfter(prompt[s], t);
                }
                if (done) {
                    finished.accept(prompt[s], Arrays.copyOfRange(history[s], promptLen[s], histLen[s]));
                    prompt[s] = -1;
                    active--;
                } else {
                    feed[s] = new int[]{t};
                }
            }
        }
    }
}
