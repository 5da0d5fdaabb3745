package org.lori4j.generate;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lori4j.adapter.ActiveAdapters;
import org.lori4j.adapter.AdapterDeltas;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.io.EmbeddedModel;
import org.lori4j.io.LoriException;
import org.lori4j.model.DeltaSet;
import org.lori4j.model.LlamaModel;
import org.lori4j.text.Tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The request-level engine on the embedded stories260K model against the path of {@code lori generate} (a
 * {@link Generator} on a model with the adapter attached through {@link ActiveAdapters}).
 */
class EngineTest {
    static LlamaModel model;
    static Tokenizer tok;
    static LoraAdapter dense, sparse;

    @BeforeAll
    static void load() {
        model = LlamaModel.load(EmbeddedModel.path());
        tok = Tokenizer.load(EmbeddedModel.path());
        dense = adapter(11, 0.0);
        sparse = adapter(12, 0.9);
    }

    @AfterAll
    static void close() {
        model.close();
        tok.close();
    }

    static LoraAdapter adapter(long seed, double zeros) {
        return ChatFixture.adapter(model.config(), seed, zeros, zeros > 0 ? 1.2 : 0.4);
    }

    /** What {@code lori generate --prompt TEXT [--adapter A] --lora-b MODE} gives: the tokens and the streamed text. */
    static Result reference(String prompt, SamplingParams p, LoraAdapter a, ActiveAdapters.Mode mode) {
        int[] ids = tok.encode(prompt, true);
        String text = ChatFixture.reference(tok, ids, p, a, mode);
        try (LlamaModel m = LlamaModel.load(EmbeddedModel.path())) {
            if (a != null) new ActiveAdapters(m, mode).add(a, 1.0);
            return new Result(new Generator(m).generate(ids, p, null), text, null);
        }
    }

    record Result(int[] tokens, String text, Engine.FinishReason reason) {}

    /** Collects a request's tokens (stop token left out), text and finish. */
    static class Collect implements Engine.Listener {
        final List<Integer> tokens = new ArrayList<>();
        final StringBuilder text = new StringBuilder();
        final CompletableFuture<Result> done = new CompletableFuture<>();
        final List<Integer> stopIds;
        Engine.Usage usage;

        Collect(List<Integer> stopIds) { this.stopIds = stopIds; }

        @Override public void onToken(int t) { if (!stopIds.contains(t)) tokens.add(t); }
        @Override public void onText(String piece) {
            assertFalse(piece.isEmpty());
            text.append(piece);
        }
        @Override public void onFinish(Engine.FinishReason reason, Engine.Usage u) {
            usage = u;
            done.complete(new Result(tokens.stream().mapToInt(Integer::intValue).toArray(), text.toString(), reason));
        }
        @Override public void onError(RuntimeException e) { done.completeExceptionally(e); }

        Result get() throws Exception { return done.get(60, TimeUnit.SECONDS); }
    }

    @Test
    void greedyOutputOfEachRequestEqualsGenerateWhateverSharesTheBatch() throws Exception {
        String[] prompts = {"Once upon a time", "The little dog", "Lily and Ben went to the park", "One day", "The sun", "Tom had a red ball"};
        ActiveAdapters.Mode[] modes = {null, ActiveAdapters.Mode.DENSE, ActiveAdapters.Mode.AUTO};
        LoraAdapter[] adapters = {null, dense, sparse};
        DeltaSet[] sets = {null, new AdapterDeltas(model, dense, 1.0, ActiveAdapters.Mode.DENSE),
                new AdapterDeltas(model, sparse, 1.0, ActiveAdapters.Mode.AUTO)};
        assertEquals(0, ((AdapterDeltas) sets[1]).sparseModules());
        assertEquals(sparse.modules().size(), ((AdapterDeltas) sets[2]).sparseModules(), "LoRI-S runs with its sparse B");
        SamplingParams p = SamplingParams.greedy(48, List.of(2));
        // four slots for six requests, two per kind of adapter: slots are refilled and every batch mixes adapters
        try (Engine e = new Engine(model, tok, new Engine.Options(4, 16, 7))) {
            List<Collect> got = new ArrayList<>();
            for (int i = 0; i < prompts.length; i++) {
                Collect c = new Collect(p.stopIds());
                e.submit(new Engine.Request(tok.encode(prompts[i], true), p, List.of(), sets[i % 3]), c);
                got.add(c);
            }
            List<String> outputs = new ArrayList<>();
            for (int i = 0; i < prompts.length; i++) {
                Result want = reference(prompts[i], p, adapters[i % 3], modes[i % 3]);
                Result r = got.get(i).get();
                assertArrayEquals(want.tokens(), r.tokens(), "request " + i + " (adapter " + (i % 3) + ")");
                assertEquals(want.text(), r.text(), "request " + i);
                assertEquals(want.tokens().length == 48 ? Engine.FinishReason.LENGTH : Engine.FinishReason.STOP, r.reason());
                assertEquals(new Engine.Usage(tok.encode(prompts[i], true).length, want.tokens().length), got.get(i).usage);
                outputs.add(r.text());
            }
            // the adapters do change the text (else the comparison above could not tell them apart)
            for (int i = 0; i < 3; i++) {
                Result base = reference(prompts[i], p, null, null);
                if (i > 0) assertNotEquals(base.text(), outputs.get(i), "adapter " + i + " changes the output");
            }
        }
    }

    @Test
    void samplingWithASeedEqualsGenerateWithThatSeed() throws Exception {
        SamplingParams p = new SamplingParams(0.8f, 0, 0.9f, 4242, 1f, 30, List.of(2));
        Result want = reference("Once upon a time", p, sparse, ActiveAdapters.Mode.AUTO);
        try (Engine e = new Engine(model, tok, new Engine.Options(2, 4, 64))) {
            Collect other = new Collect(p.stopIds());
            e.submit(new Engine.Request(tok.encode("The little dog", true), p.withSeed(7), List.of(), null), other);
            Collect c = new Collect(p.stopIds());
            e.submit(new Engine.Request(tok.encode("Once upon a time", true), p, List.of(),
                    new AdapterDeltas(model, sparse, 1.0, ActiveAdapters.Mode.AUTO)), c);
            assertArrayEquals(want.tokens(), c.get().tokens());
            other.get();
        }
    }

    @Test
    void stopStringsCutTheTextAsOpenAiDoes() throws Exception {
        SamplingParams p = SamplingParams.greedy(60, List.of(2));
        Result full = reference("Once upon a time", p, null, null);
        String stop = full.text().substring(20, 24);
        try (Engine e = new Engine(model, tok, Engine.Options.defaults())) {
            Collect c = new Collect(p.stopIds());
            e.submit(new Engine.Request(tok.encode("Once upon a time", true), p, List.of(stop, "zzzz"), null), c);
            Result r = c.get();
            assertEquals(full.text().substring(0, full.text().indexOf(stop)), r.text());
            assertEquals(Engine.FinishReason.STOP, r.reason());
            assertTrue(r.tokens().length < full.tokens().length, "generation ends at the stop string");
        }
    }

    @Test
    void aCancelledRequestFreesItsSlotForTheNextAndAFullQueueRefuses() throws Exception {
        SamplingParams longRun = SamplingParams.greedy(400, List.of());
        try (Engine e = new Engine(model, tok, new Engine.Options(1, 1, 64))) {
            CountDownLatch started = new CountDownLatch(1);
            Collect first = new Collect(List.of()) {
                @Override public void onToken(int t) { super.onToken(t); started.countDown(); }
            };
            Engine.Handle h = e.submit(new Engine.Request(new int[]{1}, longRun, List.of(), null), first);
            assertTrue(started.await(30, TimeUnit.SECONDS));
            Collect second = new Collect(List.of(2));
            e.submit(new Engine.Request(tok.encode("The sun", true), SamplingParams.greedy(5, List.of(2)), List.of(), null), second);
            // one slot running, one request waiting: the queue (1) is full
            assertThrows(Engine.QueueFull.class, () -> e.submit(new Engine.Request(new int[]{1}, longRun, List.of(), null), new Collect(List.of())));
            h.cancel();
            Result r = first.get();
            assertEquals(Engine.FinishReason.CANCELLED, r.reason());
            assertTrue(r.tokens().length < 400);
            assertEquals(reference("The sun", SamplingParams.greedy(5, List.of(2)), null, null).text(), second.get().text());
        }
    }

    @Test
    void requestsThatCanNeverRunAreRefusedAtOnce() {
        try (Engine e = new Engine(model, tok, Engine.Options.defaults())) {
            var l = new Collect(List.of());
            LoriException ctx = assertThrows(LoriException.class, () ->
                    e.submit(new Engine.Request(new int[]{1, 2, 3}, SamplingParams.greedy(510, List.of()), List.of(), null), l));
            assertTrue(ctx.getMessage().contains("context holds 512"), ctx.getMessage());
            assertThrows(LoriException.class, () -> e.submit(new Engine.Request(new int[0], SamplingParams.greedy(5, List.of()), List.of(), null), l));
            assertThrows(LoriException.class, () -> e.submit(new Engine.Request(new int[]{1, 9999}, SamplingParams.greedy(5, List.of()), List.of(), null), l));
        }
    }

    @Test
    void shutdownLetsRunningRequestsFinishAndRefusesNewOnes() throws Exception {
        Engine e = new Engine(model, tok, Engine.Options.defaults());
        Collect c = new Collect(List.of());
        e.submit(new Engine.Request(new int[]{1}, SamplingParams.greedy(20, List.of()), List.of(), null), c);
        assertTrue(e.shutdown(30_000));
        assertEquals(Engine.FinishReason.LENGTH, c.get().reason());
        assertThrows(Engine.QueueFull.class, () -> e.submit(new Engine.Request(new int[]{1}, SamplingParams.greedy(2, List.of()), List.of(), null), c));
    }
}
