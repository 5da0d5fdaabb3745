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

/**
 * LoRI's training loop over a {@link TrainModel}: batches from the {@link Batcher}, per-sequence summed NLL
 * averaged over the batch, gradient accumulation over M micro-batches, masking of B's gradient (LoRI-S),
 * clipping, one AdamW per trainable tensor with the warm-up schedule, and resumable checkpoints.
 * A NaN or infinite loss or gradient stops the run before it touches the parameters.
 */
public final class Trainer {
    /** What happened in one batch. */
    /**
     * What one step did. {@code loss} is Hugging Face's: the mean negative log-likelihood per scored token of the
     * batch; {@code sequenceLoss} is the objective LoRI's trainer minimises: the mean over the batch's sequences of each
     * one's summed NLL. {@code epochs} counts epochs fractionally (HF's {@code epoch}): 1.5 is half-way through the second.
     */
    public record StepMetrics(long step, long totalSteps, int epoch, double loss, long tokens, long scoredTokens,
                              double seconds, double lr, float gradNorm, int clipped, int tensors, double sequenceLoss,
                              double epochs) {
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
    private long optimizerSteps;

    /**
     * @param out     output folder: metrics.jsonl and training_state/ are written here (the listener saves the adapter)
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

    /** Runs from the start, or from {@code resume} (its tensors and moments replace the slots' values). */
    public Result train(TrainState resume) {
        requireFullBatch(data.size(), cfg.batchSize());
        Batcher batcher = new Batcher(data, cfg.batchSize(), cfg.microBatches(), cfg.shuffle(), cfg.seed(), false);
        long total = totalSteps(batcher);
        long done = 0;
        int epoch = 0, step = 0;
        if (resume != null) {
            optimizers = resume.restoreInto(slots, cfg.adam(), out.resolve(TrainState.DIR).toString());
            optimizerSteps = resume.optimizerSteps();
            done = resume.batchesDone();
            epoch = resume.epoch();
            step = resume.stepInEpoch();
        }
        // A resumed run that already has its steps (a finished run, or --steps lowered) trains nothing and writes nothing.
        if (resume != null && done >= total) return new Result(done, total, false, Double.NaN);
        MetricsLog metrics = new MetricsLog(out.resolve("metrics.jsonl"), done);
        listener.onStart(done, total);
        double lastLoss = Double.NaN;
        try (metrics) {
            Iterator<Batcher.Step> it = done < total ? batcher.iterator(cfg.epochs(), epoch, step) : java.util.Collections.emptyIterator();
            while (it.hasNext() && done < total) {
                Batcher.Step s = it.next();
                long t0 = System.nanoTime();
                StepMetrics m = runBatch(s, done, total, t0, batcher.stepsPerEpoch());
                done++;
                lastLoss = m.loss();
                metrics.append(m);
                listener.onStep(m);
                int nextEpoch = s.step() + 1 == batcher.stepsPerEpoch() ? s.epoch() + 1 : s.epoch();
                int nextStep = s.step() + 1 == batcher.stepsPerEpoch() ? 0 : s.step() + 1;
                boolean stop = cfg.stopAfter() > 0 && done >= cfg.stopAfter() && done < total;
                if (done == total || stop || (cfg.saveEvery() > 0 && done % cfg.saveEvery() == 0)) {
                    checkpoint(done, nextEpoch, nextStep);
                }
                if (stop) return new Result(done, total, true, lastLoss);
            }
        }
        return new Result(done, total, false, lastLoss);
    }

    private void checkpoint(long done, int epoch, int step) {
        listener.saveAdapter();
        TrainState.capture(done, epoch, step, optimizerSteps, slots, optimizers, runInfo).write(out);
        listener.onCheckpoint(done);
    }

    /** One batch: forward/backward of its micro-batches and one (or, under reference accumulation, M) optimiser steps. */
    private StepMetrics runBatch(Batcher.Step s, long done, long total, long t0, int stepsPerEpoch) {
        List<Batch> micro = s.microBatches();
        int mCount = micro.size();
        double loss = 0, nll = 0;
        long tokens = 0, scored = 0;
        float[] norms = null;
        double lr = 0;
        zeroGrad();
        for (int i = 0; i < mCount; i++) {
            Batch b = micro.get(i);
            PackedBatch pb = PackedBatch.fromPadded(b.b(), b.t(), b.tokens(), b.targets(), b.lengths());
            // d(loss)/d(sequence NLL): the micro-batch loss is the mean over its b sequences, divided by M
            float dnll = (float) (1.0 / ((double) b.b() * mCount));
            double[] seq = model.forwardBackward(pb, dnll);
            double mean = 0;
            for (double x : seq) mean += x;
            nll += mean;
            mean /= seq.length;
            if (!Double.isFinite(mean)) diverged(s, done, "loss is " + mean, i);
            loss += mean / mCount;
            tokens += pb.n();
            scored += pb.scored();
            if (cfg.accumulation() == TrainConfig.Accumulation.REFERENCE) {
                lr = schedule.at(optimizerSteps);
                norms = optimizerStep(s, done, i);
                zeroGrad();
            }
        }
        if (cfg.accumulation() == TrainConfig.Accumulation.STANDARD) {
            lr = schedule.at(optimizerSteps);
            norms = optimizerStep(s, done, 0);
        }
        int clipped = 0;
        double limit = cfg.clip() == GradClip.Strategy.PROPORTIONAL ? cfg.maxGradNorm() / Math.sqrt(norms.length) : cfg.maxGradNorm();
        for (float n : norms) if (cfg.maxGradNorm() > 0 && n > limit) clipped++;
        double secs = (System.nanoTime() - t0) / 1e9;
        double perToken = scored > 0 ? nll / scored : Double.NaN;
        double epochs = s.epoch() + (s.step() + 1) / (double) stepsPerEpoch;
        return new StepMetrics(done + 1, total, s.epoch(), perToken, tokens, scored, secs, lr, GradClip.globalNorm(norms), clipped,
                norms.length, loss, epochs);
    }

    /** Masks, clips and applies AdamW to every trainable tensor; returns the per-tensor norms before clipping. */
    private float[] optimizerStep(Batcher.Step s, long done, int micro) {
        for (int i = 0; i < grads.size(); i++) {
            boolean[] mask = masks.get(i);
            if (mask == null) continue;
            float[] g = grads.get(i);
            for (int j = 0; j < g.length; j++) if (!mask[j]) g[j] = 0f;
        }
        float[] norms = GradClip.clip(grads, cfg.clip(), cfg.maxGradNorm());
        for (float n : norms) if (!Float.isFinite(n)) diverged(s, done, "gradient norm is " + n, micro);
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
    private void diverged(Batcher.Step s, long done, String what, int micro) {
        String where = "step " + (done + 1) + (cfg.microBatches() > 1 ? " (micro-batch " + (micro + 1) + ")" : "");
        boolean clean = cfg.accumulation() == TrainConfig.Accumulation.STANDARD || micro == 0;
        String kept;
        if (clean) {
            checkpoint(done, s.epoch(), s.step());
            kept = "the last good state (after step " + done + ") is saved in " + out;
        } else if (TrainState.exists(out)) {
            kept = "the last checkpoint in " + out.resolve(TrainState.DIR) + " is kept";
        } else {
            kept = "no checkpoint was written";
        }
        throw new TrainingDivergedException(where + ": " + what + "; training stopped, " + kept
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
