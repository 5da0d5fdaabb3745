package org.lori4j.generate;

import org.lori4j.io.LoriException;
import org.lori4j.model.DeltaSet;
import org.lori4j.model.KvCache;
import org.lori4j.model.LlamaModel;
import org.lori4j.text.StreamDecoder;
import org.lori4j.text.Tokenizer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Request-level continuous batching: requests arrive at any time from any thread ({@link #submit}), wait in a
 * bounded queue, and decode together in one loop on the engine's own thread, up to {@code maxBatch} at a time; a
 * finished or cancelled request's slot takes the next waiting one at once. Each request has its own prompt,
 * {@link SamplingParams} (seed, temperature, top-p, ..., token budget, stop ids), stop strings and adapter: requests
 * for different adapters share a step, the base projections running once for all rows and each row adding its own
 * adapter's delta ({@link LlamaModel#forward(int[][], KvCache, DeltaSet[])}). A request's text is streamed to its
 * {@link Listener} piece by piece ({@link StreamDecoder}: a multi-byte character is never split), cut OpenAI's way
 * at its first stop string ({@link StopStrings}). A long prompt is prefilled in chunks of at most
 * {@code maxPrefillPerStep} tokens per step, so that it never stalls the others' decoding for long.
 *
 * <p>Greedy output of a request is what {@link Generator} gives for the same prompt, model and adapter, whatever
 * shares its batch, up to float rounding (a batch's row count picks the kernels, which sum in different orders).
 */
public final class Engine implements AutoCloseable {

    /**
     * @param maxBatch          requests decoded together at most (slots)
     * @param maxQueue          requests waiting for a slot at most (besides those about to take a free one); beyond,
     *                          {@link #submit} refuses ({@link QueueFull})
     * @param maxPrefillPerStep prompt tokens fed per step at most (at least one request's chunk progresses)
     */
    public record Options(int maxBatch, int maxQueue, int maxPrefillPerStep) {
        public Options {
            if (maxBatch < 1) throw new LoriException("max batch must be at least 1, got " + maxBatch);
            if (maxQueue < 0) throw new LoriException("max queue must be at least 0, got " + maxQueue);
            if (maxPrefillPerStep < 1) throw new LoriException("max prefill per step must be at least 1, got " + maxPrefillPerStep);
        }

        public static Options defaults() { return new Options(8, 64, 256); }
    }

    /** Why a request ended: a stop id or stop string (STOP), its token budget (LENGTH), or {@link Handle#cancel} (CANCELLED). */
    public enum FinishReason {
        STOP("stop"), LENGTH("length"), CANCELLED("cancelled");

        private final String openAi;

        FinishReason(String openAi) { this.openAi = openAi; }

        /** The name OpenAI's API gives it. */
        public String openAiName() { return openAi; }
    }

    /** Tokens of a finished request: its prompt and what it generated (a stop token is not counted). */
    public record Usage(int promptTokens, int completionTokens) {
        public int totalTokens() { return promptTokens + completionTokens; }
    }

    /**
     * A request.
     *
     * @param prompt      token ids, not empty
     * @param params      sampling, seed, token budget ({@code maxNewTokens}) and stop ids
     * @param stopStrings the text is cut before the first of these and the request ends (empty: none)
     * @param adapter     the adapter its rows add, or null for the base model
     */
    public record Request(int[] prompt, SamplingParams params, List<String> stopStrings, DeltaSet adapter) {
        public Request {
            prompt = prompt.clone();
            stopStrings = List.copyOf(stopStrings);
        }
    }

    /**
     * Receives a request's progress, on the engine's thread: every method must return quickly (hand the work to
     * another thread). An exception thrown from one cancels the request.
     */
    public interface Listener {
        /** Each generated token as it is chosen (a stop token included), before its text. */
        default void onToken(int token) {}

        /** The next piece of text (never empty). */
        void onText(String piece);

        /** The request ended; nothing follows. */
        void onFinish(FinishReason reason, Usage usage);

        /** The request failed (e.g. the model threw); nothing follows. */
        default void onError(RuntimeException e) { onFinish(FinishReason.CANCELLED, new Usage(0, 0)); }
    }

    /** A submitted request: cancel it to free its slot (or its place in the queue) before the next step. */
    public interface Handle {
        void cancel();
    }

    /** {@link #submit} when the queue is full (or the engine is closing); the caller may retry later. */
    public static final class QueueFull extends RuntimeException {
        QueueFull(String message) { super(message, null, false, false); }
    }

    /** Counts for monitoring, read without locking (each value is current, the set is not atomic). */
    public record Stats(int waiting, int running, long steps) {}

    private final LlamaModel model;
    private final Tokenizer tokenizer;
    private final Options options;
    private final int maxLen;
    private final int vocab;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final Condition idle = lock.newCondition();
    private final ArrayDeque<Seq> waiting = new ArrayDeque<>();
    private boolean closing;

    // engine thread only
    private final Seq[] slots;
    private final int[][] history;          // per slot: tokens whose keys/values the cache holds (prefix reuse)
    private final DeltaSet[] historyAdapter; // per slot: the adapter those keys/values were computed with
    private final KvCache cache;
    private final Thread thread;

    private volatile int running;
    private volatile long steps;

    /**
     * An engine over MODEL (its projections may carry attached deltas, which then apply to every request) with
     * TOKENIZER for the text; requests may use up to the model's max_position_embeddings positions.
     */
    public Engine(LlamaModel model, Tokenizer tokenizer, Options options) {
        this(model, tokenizer, options, model.config().maxPositionEmbeddings());
    }

    /** As {@link #Engine(LlamaModel, Tokenizer, Options)} with a context of {@code maxLen} positions per request. */
    public Engine(LlamaModel model, Tokenizer tokenizer, Options options, int maxLen) {
        if (maxLen < 1) throw new LoriException("context length must be at least 1, got " + maxLen);
        this.model = model;
        this.tokenizer = tokenizer;
        this.options = options;
        this.maxLen = maxLen;
        this.vocab = model.config().vocabSize();
        this.slots = new Seq[options.maxBatch()];
        this.history = new int[options.maxBatch()][];
        this.historyAdapter = new DeltaSet[options.maxBatch()];
        this.cache = model.newCache(options.maxBatch(), maxLen);
        this.thread = Thread.ofPlatform().name("lori-engine").daemon().start(this::loop);
    }

    /** Positions a request may use: prompt plus new tokens. */
    public int contextLength() { return maxLen; }

    public Options options() { return options; }

    public LlamaModel model() { return model; }

    public Tokenizer tokenizer() { return tokenizer; }

    public Stats stats() {
        int w;
        lock.lock();
        try {
            w = waiting.size();
        } finally {
            lock.unlock();
        }
        return new Stats(w, running, steps);
    }

    /**
     * Queues a request; its listener hears from the engine's thread. Throws {@link LoriException} for a request that
     * can never run (empty prompt, a token outside the vocabulary, prompt plus budget beyond the context) and
     * {@link QueueFull} when {@code maxQueue} requests are already waiting or the engine is closing.
     */
    public Handle submit(Request request, Listener listener) {
        int[] p = request.prompt();
        if (p.length == 0) throw new LoriException("the prompt is empty: generation needs at least one token");
        for (int id : p) if (id < 0 || id >= vocab) throw new LoriException("token id " + id + " is outside the vocabulary [0, " + vocab + ")");
        long need = (long) p.length + request.params().maxNewTokens();
        if (need > maxLen)
            throw new LoriException("the prompt (" + p.length + " tokens) plus at most " + request.params().maxNewTokens()
                    + " new tokens need " + need + " positions; the context holds " + maxLen);
        Seq s = new Seq(request, listener);
        lock.lock();
        try {
            if (closing) throw new QueueFull("the server is shutting down");
            // free slots take requests too: a burst that arrives during one step is not refused for want of queue places
            int free = Math.max(0, options.maxBatch() - running);
            if (waiting.size() >= options.maxQueue() + free) throw new QueueFull("the queue is full (" + options.maxQueue() + " waiting)");
            waiting.add(s);
            work.signal();
        } finally {
            lock.unlock();
        }
        return s;
    }

    /**
     * Stops accepting requests and waits up to {@code timeoutMillis} for the queued and running ones to finish; those
     * still unfinished then are cancelled. Returns whether everything finished in time.
     */
    public boolean shutdown(long timeoutMillis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        boolean drained;
        lock.lock();
        try {
            closing = true;
            work.signal();
            while (!(waiting.isEmpty() && running == 0)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) break;
                idle.awaitNanos(left);
            }
            drained = waiting.isEmpty() && running == 0;
            for (Seq s : waiting) s.cancelled = true;
            for (Seq s : slots) if (s != null) s.cancelled = true;
            work.signal();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            drained = false;
        } finally {
            lock.unlock();
        }
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return drained;
    }

    /** {@link #shutdown} with no time for unfinished requests: they are cancelled. */
    @Override
    public void close() { shutdown(0); }

    // ------------------------------------------------------------------ the loop

    /** One request's state. */
    private final class Seq implements Handle {
        final Request req;
        final Listener listener;
        volatile boolean cancelled;
        Sampler sampler;
        int[] tokens;        // prompt, then generated tokens
        int len;             // tokens filled
        int fed;             // tokens whose keys/values are in the cache (the last generated one is not yet)
        StreamDecoder decoder;
        StopStrings stops;
        boolean[] stopId;

        Seq(Request req, Listener listener) {
            this.req = req;
            this.listener = listener;
        }

        @Override
        public void cancel() {
            cancelled = true;
        }

        int generated() { return len - req.prompt().length; }
    }

    private void loop() {
        try {
            while (true) {
                List<Seq> dropped = new ArrayList<>();
                lock.lock();
                try {
                    while (true) {
                        for (var it = waiting.iterator(); it.hasNext(); ) {
                            Seq s = it.next();
                            if (s.cancelled) { it.remove(); dropped.add(s); }
                        }
                        for (int i = 0; i < slots.length && !waiting.isEmpty(); i++)
                            if (slots[i] == null) slots[i] = waiting.poll();
                        int active = 0;
                        for (Seq s : slots) if (s != null) active++;
                        running = active;
                        if (active > 0 || !dropped.isEmpty()) break;
                        idle.signalAll();
                        if (closing) return;
                        work.await();
                    }
                } finally {
                    lock.unlock();
                }
                for (Seq s : dropped) finish(s, FinishReason.CANCELLED);
                step();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            // a bug in the loop itself: fail whatever is left rather than leave clients waiting forever
            RuntimeException e = t instanceof RuntimeException r ? r : new IllegalStateException(t);
            lock.lock();
            try {
                closing = true;
                for (Seq s : waiting) safeError(s, e);
                waiting.clear();
                for (int i = 0; i < slots.length; i++) if (slots[i] != null) { safeError(slots[i], e); slots[i] = null; }
                running = 0;
                idle.signalAll();
            } finally {
                lock.unlock();
            }
            if (t instanceof Error err) throw err;
        }
    }

    /** One forward pass for every slot: a prompt chunk or the last generated token each, then a token for each that is due. */
    private void step() {
        int S = slots.length;
        for (int i = 0; i < S; i++) {
            Seq s = slots[i];
            if (s != null && s.cancelled) free(i, FinishReason.CANCELLED);
            else if (s != null && s.tokens == null) start(i, s);
        }
        int[][] feed = new int[S][];
        DeltaSet[] deltas = new DeltaSet[S];
        boolean[] due = new boolean[S];
        boolean any = false;
        int budget = options.maxPrefillPerStep();
        for (int i = 0; i < S; i++) {
            Seq s = slots[i];
            if (s == null) continue;
            int promptLen = s.req.prompt().length;
            if (s.fed < promptLen) {
                int take = Math.min(promptLen - s.fed, budget);   // the first prefilling slot always gets >= 1
                if (take <= 0) continue;
                feed[i] = Arrays.copyOfRange(s.tokens, s.fed, s.fed + take);
                budget -= take;
                due[i] = s.fed + take == promptLen;
            } else {
                feed[i] = new int[]{s.tokens[s.len - 1]};
                due[i] = true;
            }
            deltas[i] = s.req.adapter();
            any = true;
        }
        if (!any) return;
        float[] logits;
        try {
            logits = model.forward(feed, cache, deltas);
        } catch (RuntimeException e) {
            // the failed step may have left partial keys/values behind: every request in it is failed and its slot reset
            for (int i = 0; i < S; i++) {
                if (feed[i] == null) continue;
                Seq s = slots[i];
                slots[i] = null;
                cache.reset(i);
                history[i] = null;
                historyAdapter[i] = null;
                safeError(s, e);
            }
            return;
        }
        steps++;
        for (int i = 0; i < S; i++) {
            if (feed[i] == null) continue;
            Seq s = slots[i];
            s.fed += feed[i].length;
            if (!due[i]) continue;
            int t = s.sampler.next(logits, i * vocab, vocab, s.tokens, s.len);
            try {
                s.listener.onToken(t);
                if (t < s.stopId.length && s.stopId[t]) {
                    free(i, FinishReason.STOP);
                    continue;
                }
                s.tokens[s.len++] = t;
                String piece = s.stops.push(s.decoder.push(t));
                if (!piece.isEmpty()) s.listener.onText(piece);
                if (s.stops.stopped()) free(i, FinishReason.STOP);
                else if (s.generated() >= s.req.params().maxNewTokens()) free(i, FinishReason.LENGTH);
            } catch (RuntimeException e) {
                s.cancelled = true;   // the listener failed: its client is gone
                free(i, FinishReason.CANCELLED);
            }
        }
    }

    /** Puts a newly admitted request into slot i: keeps the cached keys/values of a prefix its previous sequence shares. */
    private void start(int i, Seq s) {
        int[] p = s.req.prompt();
        SamplingParams params = s.req.params();
        int keep = 0;
        if (history[i] != null && historyAdapter[i] == s.req.adapter()) {
            int common = Math.min(Math.min(cache.length(i), history[i].length), p.length - 1);
            while (keep < common && history[i][keep] == p[keep]) keep++;
        }
        cache.truncate(i, Math.min(keep, cache.length(i)));
        s.sampler = new Sampler(params, params.seed());
        s.tokens = Arrays.copyOf(p, p.length + params.maxNewTokens());
        s.len = p.length;
        s.fed = keep;
        s.decoder = tokenizer.streamDecoder(p, true);
        s.stops = new StopStrings(s.req.stopStrings());
        s.stopId = new boolean[vocab];
        for (int id : params.stopIds()) if (id >= 0 && id < vocab) s.stopId[id] = true;
        history[i] = s.tokens;
        historyAdapter[i] = s.req.adapter();
        if (params.maxNewTokens() == 0) free(i, FinishReason.LENGTH);
    }

    /** Ends slot i's request and frees the slot; its cache rows stay for prefix reuse. */
    private void free(int i, FinishReason reason) {
        Seq s = slots[i];
        slots[i] = null;
        if (s.tokens != null) {
            history[i] = Arrays.copyOf(s.tokens, Math.min(s.fed, s.len));
            historyAdapter[i] = s.req.adapter();
            if (cache.length(i) > history[i].length) cache.truncate(i, history[i].length);
        }
        finish(s, reason);
    }

    private void finish(Seq s, FinishReason reason) {
        if (s.tokens != null && reason != FinishReason.CANCELLED) {
            try {
                String rest = s.stops.push(s.decoder.finish()) + s.stops.finish();
                if (!rest.isEmpty()) s.listener.onText(rest);
            } catch (RuntimeException e) {
                reason = FinishReason.CANCELLED;
            }
        }
        int completion = s.tokens == null ? 0 : s.generated();
        try {
            s.listener.onFinish(reason, new Usage(s.req.prompt().length, completion));
        } catch (RuntimeException ignored) {
            // the listener's own failure: nothing more to tell it
        }
    }

    private static void safeError(Seq s, RuntimeException e) {
        try {
            s.listener.onError(e);
        } catch (RuntimeException ignored) {
            // nothing more to tell it
        }
    }
}
