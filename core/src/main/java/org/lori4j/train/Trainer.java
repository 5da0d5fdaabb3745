package org.lori4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * LoRI's training loop over a {@link TrainModel}: batches from the {@link Batcher}, per-sequence summed NLL
 * averaged over the batch, gradient accumulation over M micro-batches, masking of B's gradient (LoRI-S),
 * clipping, one AdamW per trainable tensor with the warm-up schedule, and resumable checkpoints.
 * A NaN or infinite loss or gradient stops the run before it touches the parameters.
 *
 * <p>Each micro-batch's gradient is computed on its own and the step's gradient is their sum in micro-batch order
 * ({@link GradientSum}); the micro-batches may be spread over data-parallel workers ({@link GradientExchange},
 * {@link #runSegment}), which then reach the same parameters bit for bit as this process alone.
 */
public final class Trainer {
    /**
     * What one step did. {@code loss} is Hugging Face's: the mean negative log-likelihood per scored token of the
     * batch; {@code sequenceLoss} is the objective LoRI's trainer minimises: the mean over the batch's sequences of each
     * one's summed NLL. {@code epochs} counts epochs fractionally (HF's {@code epoch}): 1.5 is half-way through the second.
     */
    public record StepMetrics(long step, long totalSteps, int epoch, double loss, long tokens, long scoredTokens,
                              double seconds, double lr, float gradNorm, int clipped, int tensors, double sequenceLoss,
                              double epochs) implements java.io.Serializable {
        public double tokensPerSecond() { return seconds > 0 ? tokens / seconds : 0; }
    }

    /** Receives progress; also asked to save the adapter at checkpoints. */
    public interface Listener {
        default void onStart(long startStep, long totalSteps) {}
        default void onStep(StepMetrics m) {}
        /** Writes the adapter (the slots' current A and B) into the output folder. */
        void saveAdapter();
        default void onCheckpoint(long step) {}
    }

    /** How a run ended. */
    public record Result(long batchesDone, long totalSteps, boolean stopped, double lastLoss) {}

    private final TrainModel model;
    private final TrainingData data;
    private final TrainConfig cfg;
    private final Path out;
    private final Listener listener;
    private final JsonNode runInfo;
    private final List<LoraSlot> slots;
    private final List<float[]> params = new ArrayList<>(), grads = new ArrayList<>();
    private final List<boolean[]> masks = new ArrayList<>();
    private Map<float[], AdamW> optimizers = new IdentityHashMap<>();
    private final LrSchedule schedule;
    private final int packedLength;
    private long optimizerSteps;

    /**
     * @param out     output folder: metrics.jsonl and training_state/ are written here (the listener saves the adapter);
     *                null, with runInfo and listener, for a data-parallel worker, which only runs {@link #runSegment}
     * @param runInfo the run's options as JSON, stored with checkpoints and compared on resume
     */
    public Trainer(TrainModel model, TrainingData data, TrainConfig cfg, Path out, JsonNode runInfo, Listener listener) {
        this.model = model;
        this.data = data;
        this.cfg = cfg;
        this.out = out;
        this.runInfo = runInfo;
        this.listener = listener;
        this.slots = model.slots();
        if (slots.isEmpty()) throw new LoriException("no LoRA modules to train (check --targets)");
        for (LoraSlot s : slots) {
            if (s.gradA != null) { params.add(s.a); grads.add(s.gradA); masks.add(null); }
            if (s.gradB != null) { params.add(s.b); grads.add(s.gradB); masks.add(s.maskB); }
        }
        for (float[] p : params) optimizers.put(p, new AdamW(cfg.adam(), p.length));
        this.schedule = new LrSchedule(cfg.lr(), cfg.warmupSteps());
        this.packedLength = packedGradientLength();
    }

    /** Trainable scalars (mask-restricted for LoRI-S). */
    public long trainableParameters() {
        long n = 0;
        for (LoraSlot s : slots) n += s.trainableParameters();
        return n;
    }

    /** Number of batches the run makes. */
    public long totalSteps(Batcher b) {
        long all = (long) cfg.epochs() * b.stepsPerEpoch();
        return cfg.maxSteps() > 0 ? Math.min(all, cfg.maxSteps()) : all;
    }

    /** Training drops a last partial batch, so it needs at least one full batch of examples. */
    static void requireFullBatch(int examples, int batchSize) {
        if (examples < batchSize)
            throw new LoriException(examples + " examples make no full batch of " + batchSize + "; lower --batch-size");
    }

    /** Runs from the start, or from {@code resume} (its tensors and moments replace the slots' values), in this process. */
    public Result train(TrainState resume) {
        return train(resume, null);
    }

    /**
     * Runs from the start or from {@code resume}; with {@code remote}, each stretch of steps between two checkpoints
     * runs on data-parallel workers ({@link #runSegment} there) and this trainer only adopts the state they reach,
     * writes metrics and checkpoints. Without it the steps run here ({@link GradientExchange#LOCAL}), through the
     * same step code.
     */
    public Result train(TrainState resume, StepRunner remote) {
        requireFullBatch(data.size(), cfg.batchSize());
        if (remote != null) requireStandardAccumulation();
        Batcher batcher = batcher();
        long total = totalSteps(batcher);
        Position pos = new Position(0, 0, 0);
        if (resume != null) {
            optimizers = resume.restoreInto(slots, cfg.adam(), out.resolve(TrainState.DIR).toString());
            optimizerSteps = resume.optimizerSteps();
            pos = new Position(resume.batchesDone(), resume.epoch(), resume.stepInEpoch());
        }
        // A resumed run that already has its steps (a finished run, or --steps lowered) trains nothing and writes nothing.
        if (resume != null && pos.done() >= total) return new Result(pos.done(), total, false, Double.NaN);
        MetricsLog metrics = new MetricsLog(out.resolve("metrics.jsonl"), pos.done());
        listener.onStart(pos.done(), total);
        double[] lastLoss = {Double.NaN};
        Consumer<StepMetrics> sink = m -> {
            lastLoss[0] = m.loss();
            metrics.append(m);
            listener.onStep(m);
        };
        try (metrics) {
            while (pos.done() < total) {
                long end = segmentEnd(pos.done(), total);
                Ran ran;
                if (remote == null) {
                    ran = runSteps(batcher, pos, end, total, GradientExchange.LOCAL, sink);
                } else {
                    Segment seg = remote.run(TrainState.capture(pos.done(), pos.epoch(), pos.step(), optimizerSteps, slots, optimizers, runInfo), end);
                    optimizers = seg.state().restoreInto(slots, cfg.adam(), "the workers' state");
                    optimizerSteps = seg.state().optimizerSteps();
                    seg.steps().forEach(sink);
                    ran = new Ran(new Position(seg.state().batchesDone(), seg.state().epoch(), seg.state().stepInEpoch()), seg.divergence());
                    if (ran.end().done() != pos.done() + seg.steps().size() || ran.divergence() == null && ran.end().done() != end)
                        throw new IllegalStateException("the workers ran steps " + (pos.done() + 1) + ".." + ran.end().done() + " of " + (pos.done() + 1) + ".." + end);
                }
                pos = ran.end();
                if (ran.divergence() != null) diverged(pos, ran.divergence());
                boolean stop = cfg.stopAfter() > 0 && pos.done() >= cfg.stopAfter() && pos.done() < total;
                checkpoint(pos);
                if (stop) return new Result(pos.done(), total, true, lastLoss[0]);
            }
        }
        return new Result(pos.done(), total, false, lastLoss[0]);
    }

    /**
     * On a data-parallel worker: takes the state {@code from}, runs the steps up to {@code end} (exclusive, counted in
     * batches of the whole run) with the other workers through {@code exchange}, and returns the state reached and the
     * steps' metrics. Writes nothing; a divergence ends the segment at the failing batch with the state before it.
     */
    public Segment runSegment(TrainState from, long end, GradientExchange exchange) {
        requireFullBatch(data.size(), cfg.batchSize());
        requireStandardAccumulation();
        Batcher batcher = batcher();
        long total = totalSteps(batcher);
        if (end <= from.batchesDone() || end > total)
            throw new IllegalArgumentException("segment end " + end + " outside (" + from.batchesDone() + ", " + total + "]");
        optimizers = from.restoreInto(slots, cfg.adam(), "the segment's start state");
        optimizerSteps = from.optimizerSteps();
        List<StepMetrics> steps = new ArrayList<>();
        Ran ran = runSteps(batcher, new Position(from.batchesDone(), from.epoch(), from.stepInEpoch()), end, total, exchange, steps::add);
        Position p = ran.end();
        return new Segment(TrainState.capture(p.done(), p.epoch(), p.step(), optimizerSteps, slots, optimizers, from.run()),
                List.copyOf(steps), ran.divergence());
    }

    /** Runs ranges of a run's steps somewhere else (data-parallel workers) and brings back the state they reach. */
    @FunctionalInterface
    public interface StepRunner {
        /** Runs the steps from {@code from}'s position up to batch {@code end} (exclusive). */
        Segment run(TrainState from, long end);
    }

    /** What a segment of steps did: the state after its last step, each step's metrics, and a divergence that ended it, if any. */
    public record Segment(TrainState state, List<StepMetrics> steps, Divergence divergence) {}

    /** A NaN or infinite loss or gradient norm in micro-batch {@code micro} (0-based) of the batch after the segment's last step. */
    public record Divergence(String what, int micro) implements java.io.Serializable {}

    /** Batches done and the position (epoch, step in epoch) of the next batch. */
    private record Position(long done, int epoch, int step) {}

    private record Ran(Position end, Divergence divergence) {}

    /** Thrown inside a step before any parameter changes. */
    private static final class DivergedSignal extends RuntimeException {
        final Divergence divergence;

        DivergedSignal(String what, int micro) {
            super(what, null, false, false);
            this.divergence = new Divergence(what, micro);
        }
    }

    private Batcher batcher() {
        return new Batcher(data, cfg.batchSize(), cfg.microBatches(), cfg.shuffle(), cfg.seed(), false);
    }

    private void requireStandardAccumulation() {
        if (cfg.accumulation() != TrainConfig.Accumulation.STANDARD)
            throw new LoriException("--accumulation reference takes an optimiser step after every micro-batch, so micro-batches "
                    + "cannot run on several workers; use --accumulation standard");
    }

    /** The next batch count at which a checkpoint is written: every --save-every, at --stop-after, at the end. */
    private long segmentEnd(long done, long total) {
        long end = total;
        if (cfg.saveEvery() > 0) end = Math.min(end, (done / cfg.saveEvery() + 1) * cfg.saveEvery());
        if (cfg.stopAfter() > done) end = Math.min(end, cfg.stopAfter());
        return end;
    }

    /** Runs batches from {@code pos} until {@code end} batches are done (or the data ends, or a step diverges). */
    private Ran runSteps(Batcher batcher, Position pos, long end, long total, GradientExchange exchange, Consumer<StepMetrics> sink) {
        int perEpoch = batcher.stepsPerEpoch();
        Iterator<Batcher.Step> it = batcher.iterator(cfg.epochs(), pos.epoch(), pos.step());
        while (pos.done() < end && it.hasNext()) {
            Batcher.Step s = it.next();
            long t0 = System.nanoTime();
            StepMetrics m;
            try {
                m = runBatch(s, pos.done(), total, t0, exchange, perEpoch);
            } catch (DivergedSignal d) {
                return new Ran(new Position(pos.done(), s.epoch(), s.step()), d.divergence);
            }
            sink.accept(m);
            boolean last = s.step() + 1 == perEpoch;
            pos = new Position(pos.done() + 1, last ? s.epoch() + 1 : s.epoch(), last ? 0 : s.step() + 1);
        }
        return new Ran(pos, null);
    }

    private void checkpoint(Position p) {
        listener.saveAdapter();
        TrainState.capture(p.done(), p.epoch(), p.step(), optimizerSteps, slots, optimizers, runInfo).write(out);
        listener.onCheckpoint(p.done());
    }

    /** One batch: forward/backward of its micro-batches and one (or, under reference accumulation, M) optimiser steps. */
    private StepMetrics runBatch(Batcher.Step s, long done, long total, long t0, GradientExchange exchange, int perEpoch) {
        if (cfg.accumulation() == TrainConfig.Accumulation.REFERENCE) return runBatchReference(s, done, total, t0, perEpoch);
        List<Batch> micro = s.microBatches();
        int mCount = micro.size();
        boolean alone = exchange.workers() == 1;
        GradientSum sum = new GradientSum();
        int first = exchange.first(mCount), count = exchange.count(mCount);
        List<GradientExchange.MicroResult> mine = new ArrayList<>(count);
        for (int i = first; i < first + count; i++) {
            Batch b = micro.get(i);
            PackedBatch pb = PackedBatch.fromPadded(b.b(), b.t(), b.tokens(), b.targets(), b.lengths());
            // d(loss)/d(sequence NLL): the micro-batch loss is the mean over its b sequences, divided by M
            float dnll = (float) (1.0 / ((double) b.b() * mCount));
            zeroGrad();
            double[] seq = model.forwardBackward(pb, dnll);
            double mean = 0;
            for (double x : seq) mean += x;
            mean /= seq.length;
            GradientExchange.MicroResult r = new GradientExchange.MicroResult(i, mean, pb.n(), pb.scored(), packGradients());
            if (alone) {
                sum.add(i, r.gradient());   // folded as it comes: one process holds one sum, not M gradients
                r = r.withoutGradient();
            }
            mine.add(r);
        }
        List<GradientExchange.MicroResult> all = exchange.allGather(done, mine);
        if (all.size() != mCount)
            throw new IllegalStateException("step " + (done + 1) + ": " + all.size() + " micro-batch results for " + mCount + " micro-batches");
        double loss = 0, nll = 0;
        long tokens = 0, scored = 0;
        for (int i = 0; i < mCount; i++) {
            GradientExchange.MicroResult r = all.get(i);
            if (r.index() != i) throw new IllegalStateException("step " + (done + 1) + ": micro-batch " + r.index() + " in place " + i);
            if (!Double.isFinite(r.loss())) throw new DivergedSignal("loss is " + r.loss(), i);
            loss += r.loss() / mCount;
            nll += r.loss() * micro.get(i).b();
            tokens += r.tokens();
            scored += r.scoredTokens();
            if (!alone) sum.add(i, r.gradient());
        }
        unpackGradients(sum.total());
        double lr = schedule.at(optimizerSteps);
        float[] norms = optimizerStep(0);
        return metrics(done, total, s, perEpoch, loss, nll, tokens, scored, t0, lr, norms);
    }

    /** LoRI's trainer: an optimiser step after every micro-batch, each on the micro-batch's loss / M (one process only). */
    private StepMetrics runBatchReference(Batcher.Step s, long done, long total, long t0, int perEpoch) {
        List<Batch> micro = s.microBatches();
        int mCount = micro.size();
        double loss = 0, nll = 0, lr = 0;
        long tokens = 0, scored = 0;
        float[] norms = null;
        for (int i = 0; i < mCount; i++) {
            Batch b = micro.get(i);
            PackedBatch pb = PackedBatch.fromPadded(b.b(), b.t(), b.tokens(), b.targets(), b.lengths());
            float dnll = (float) (1.0 / ((double) b.b() * mCount));
            zeroGrad();
            double[] seq = model.forwardBackward(pb, dnll);
            double mean = 0;
            for (double x : seq) mean += x;
            nll += mean;
            mean /= seq.length;
            if (!Double.isFinite(mean)) throw new DivergedSignal("loss is " + mean, i);
            loss += mean / mCount;
            tokens += pb.n();
            scored += pb.scored();
            lr = schedule.at(optimizerSteps);
            norms = optimizerStep(i);
        }
        return metrics(done, total, s, perEpoch, loss, nll, tokens, scored, t0, lr, norms);
    }

    /** @param loss the mean over sequences of each one's summed NLL; {@code nll} that sum over the batch */
    private StepMetrics metrics(long done, long total, Batcher.Step s, int perEpoch, double loss, double nll, long tokens, long scored,
                                long t0, double lr, float[] norms) {
        int clipped = 0;
        double limit = cfg.clip() == GradClip.Strategy.PROPORTIONAL ? cfg.maxGradNorm() / Math.sqrt(norms.length) : cfg.maxGradNorm();
        for (float n : norms) if (cfg.maxGradNorm() > 0 && n > limit) clipped++;
        double secs = (System.nanoTime() - t0) / 1e9;
        double perToken = scored > 0 ? nll / scored : Double.NaN;
        double epochs = s.epoch() + (s.step() + 1) / (double) perEpoch;
        return new StepMetrics(done + 1, total, s.epoch(), perToken, tokens, scored, secs, lr, GradClip.globalNorm(norms), clipped,
                norms.length, loss, epochs);
    }

    /** Number of gradient values one micro-batch contributes: every trainable entry, only the mask's under a LoRI-S mask. */
    public int packedGradientLength() {
        long n = 0;
        for (int i = 0; i < grads.size(); i++) n += masks.get(i) == null ? grads.get(i).length : trueCount(masks.get(i));
        if (n > Integer.MAX_VALUE - 8) throw new LoriException(n + " trainable values do not fit one gradient array");
        return (int) n;
    }

    /** The current gradients, packed: tensor after tensor, all entries or (masked) only the mask's true entries. */
    private float[] packGradients() {
        float[] p = new float[packedLength];
        int k = 0;
        for (int i = 0; i < grads.size(); i++) {
            float[] g = grads.get(i);
            boolean[] mask = masks.get(i);
            if (mask == null) {
                System.arraycopy(g, 0, p, k, g.length);
                k += g.length;
            } else {
                for (int j = 0; j < g.length; j++) if (mask[j]) p[k++] = g[j];
            }
        }
        return p;
    }

    /** The inverse of {@link #packGradients}: entries outside a mask become 0. */
    private void unpackGradients(float[] p) {
        if (p.length != packedLength) throw new IllegalStateException("gradient of " + p.length + " values, expected " + packedLength);
        int k = 0;
        for (int i = 0; i < grads.size(); i++) {
            float[] g = grads.get(i);
            boolean[] mask = masks.get(i);
            if (mask == null) {
                System.arraycopy(p, k, g, 0, g.length);
                k += g.length;
            } else {
                for (int j = 0; j < g.length; j++) g[j] = mask[j] ? p[k++] : 0f;
            }
        }
    }

    private static int trueCount(boolean[] mask) {
        int n = 0;
        for (boolean b : mask) if (b) n++;
        return n;
    }

    /** Masks, clips and applies AdamW to every trainable tensor; returns the per-tensor norms before clipping. */
    private float[] optimizerStep(int micro) {
        for (int i = 0; i < grads.size(); i++) {
            boolean[] mask = masks.get(i);
            if (mask == null) continue;
            float[] g = grads.get(i);
            for (int j = 0; j < g.length; j++) if (!mask[j]) g[j] = 0f;
        }
        float[] norms = GradClip.clip(grads, cfg.clip(), cfg.maxGradNorm());
        for (float n : norms) if (!Float.isFinite(n)) throw new DivergedSignal("gradient norm is " + n, micro);
        double lr = schedule.at(optimizerSteps);
        for (int i = 0; i < params.size(); i++) optimizers.get(params.get(i)).update(params.get(i), grads.get(i), lr, masks.get(i));
        optimizerSteps++;
        return norms;
    }

    private void zeroGrad() {
        for (float[] g : grads) java.util.Arrays.fill(g, 0f);
    }

    /**
     * Stops the run: the parameters still hold the last good step's values (nothing was updated with the bad
     * gradient). Under standard accumulation (or at the first micro-batch) that state is saved as a checkpoint
     * positioned at the failing batch, so a resume (e.g. with a lower --lr) restarts there; otherwise the last
     * periodic checkpoint stays.
     */
    private void diverged(Position at, Divergence d) {
        String where = "step " + (at.done() + 1) + (cfg.microBatches() > 1 ? " (micro-batch " + (d.micro() + 1) + ")" : "");
        boolean clean = cfg.accumulation() == TrainConfig.Accumulation.STANDARD || d.micro() == 0;
        String kept;
        if (clean) {
            checkpoint(at);
            kept = "the last good state (after step " + at.done() + ") is saved in " + out;
        } else if (TrainState.exists(out)) {
            kept = "the last checkpoint in " + out.resolve(TrainState.DIR) + " is kept";
        } else {
            kept = "no checkpoint was written";
        }
        throw new TrainingDivergedException(where + ": " + d.what() + "; training stopped, " + kept
                + " (lower --lr or --max-grad-norm)");
    }

    /** The run stopped because the loss or a gradient became NaN or infinite. */
    public static final class TrainingDivergedException extends LoriException {
        public TrainingDivergedException(String message) { super(message); }
    }

    /** metrics.jsonl: one JSON object per batch; on resume, lines after the resumed step are dropped. */
    private static final class MetricsLog implements AutoCloseable {
        private final BufferedWriter w;

        MetricsLog(Path file, long keepUpTo) {
            try {
                Files.createDirectories(file.toAbsolutePath().getParent());
                List<String> keep = new ArrayList<>();
                if (keepUpTo > 0 && Files.exists(file)) {
                    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                        if (line.isBlank()) continue;
                        JsonNode n = Json.MAPPER.readTree(line);
                        if (n.path("step").asLong(Long.MAX_VALUE) <= keepUpTo) keep.add(line);
                    }
                }
                w = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
                for (String line : keep) { w.write(line); w.newLine(); }
                w.flush();
            } catch (IOException e) {
                throw new LoriException(file + ": cannot write metrics: " + e.getMessage(), e);
            }
        }

        void append(StepMetrics m) {
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("step", m.step());
            o.put("epoch", Math.round(m.epochs() * 1e4) / 1e4);
            o.put("loss", m.loss());
            o.put("sequence_loss", m.sequenceLoss());
            o.put("lr", m.lr());
            o.put("grad_norm", m.gradNorm());
            o.put("clipped_tensors", m.clipped());
            o.put("tokens", m.tokens());
            o.put("scored_tokens", m.scoredTokens());
            o.put("seconds", m.seconds());
            o.put("tokens_per_second", m.tokensPerSecond());
            try {
                w.write(Json.MAPPER.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT).writeValueAsString(o));
                w.newLine();
                w.flush();
            } catch (IOException e) {
                throw new LoriException("metrics.jsonl: cannot write: " + LoriException.reason(e), e);
            }
        }

        @Override
        public void close() {
            try { w.close(); } catch (IOException ignored) { }
        }
    }
}
