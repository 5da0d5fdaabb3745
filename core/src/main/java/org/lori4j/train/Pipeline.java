package org.lori4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.adapter.Masks;
import org.lori4j.io.LoriException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * LoRI end to end, as the reference scripts chain it: LoRI-D into {@code OUT/lori-d}, mask extraction at the
 * chosen sparsity into {@code OUT/lori-d/masks/<s>_mask.safetensors}, then LoRI-S with that mask into
 * {@code OUT/lori-s} (its A is the LoRI-D adapter's). A finished stage (its training_args.json records the
 * final loss) is skipped when the pipeline is run again; an interrupted one is resumed.
 */
public final class Pipeline {
    /**
     * @param stage      the options of both training stages (method, lr and resume are set per stage)
     * @param lrD        LoRI-D learning rate
     * @param lrS        LoRI-S learning rate
     * @param sparsity   mask sparsity in (0, 1), e.g. 0.9
     * @param granularity mask groups (LoRI's default: model)
     */
    public record Request(TrainRun.Request stage, double lrD, double lrS, double sparsity, Masks.Granularity granularity) {}

    /** The three products. */
    public record Summary(Path loriD, Path mask, Path loriS, TrainRun.Summary d, TrainRun.Summary s) {}

    /** Called after a training stage (also a finished one that was skipped) with its name and adapter folder, e.g. to evaluate it. */
    public interface StageHook {
        StageHook NONE = (stage, adapter) -> {};

        void after(String stage, Path adapter);
    }

    private Pipeline() {}

    public static Summary run(Request req, TrainRun.Reporter rep) { return run(req, rep, StageHook.NONE); }

    /** Runs the three stages, calling HOOK after LoRI-D (before the mask is extracted) and after LoRI-S. */
    public static Summary run(Request req, TrainRun.Reporter rep, StageHook hook) {
        if (!(req.sparsity() > 0 && req.sparsity() < 1)) throw new LoriException("--sparsity must be in (0, 1), got " + req.sparsity());
        TrainRun.Request base = req.stage();
        if (base.initAdapter() != null || base.mask() != null)
            throw new LoriException("lori pipeline makes its own adapters and mask: drop --init-adapter and --mask");
        Path root = base.outDir(), dDir = root.resolve("lori-d"), sDir = root.resolve("lori-s");

        rep.info("== stage 1/3: LoRI-D -> " + dDir);
        TrainRun.Summary d = stage(base, dDir, TrainConfig.Method.LORI_D, req.lrD(), null, base.seed(), rep);
        hook.after("lori-d", dDir);

        Path mask = dDir.resolve("masks").resolve(Masks.fileName(req.sparsity()));
        rep.info("== stage 2/3: mask at sparsity " + Masks.pyRepr(req.sparsity()) + " (" + req.granularity().name().toLowerCase(Locale.ROOT) + ") -> " + mask);
        LoraAdapter lorid = LoraAdapter.load(dDir);
        List<Masks.BMatrix> bs = new ArrayList<>();
        for (LoraAdapter.Module m : lorid.modules().values()) bs.add(new Masks.BMatrix(m.keyB(), m.out(), m.r(), m.b()));
        Masks.Result r = Masks.extract(bs, new double[]{req.sparsity()}, req.granularity(), null).getFirst();
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "lori4j-mask");
        meta.put("sparsity", Masks.pyRepr(req.sparsity()));
        meta.put("granularity", req.granularity().name().toLowerCase(Locale.ROOT));
        Masks.write(mask, r.masks(), meta);
        Masks.writePt(mask.resolveSibling(Masks.ptFileName(req.sparsity())), r.masks());   // upstream LoRI's format too
        rep.info(String.format(Locale.ROOT, "kept %,d of %,d B entries (sparsity %.4f)", r.kept(), r.entries(), r.reached()));

        rep.info("== stage 3/3: LoRI-S -> " + sDir);
        // the LoRI-S adapter takes A from the LoRI-D adapter the mask sits in (no --seed, so TrainRun copies it)
        TrainRun.Summary s = stage(base, sDir, TrainConfig.Method.LORI_S, req.lrS(), mask, null, rep);
        hook.after("lori-s", sDir);
        return new Summary(dDir, mask, sDir, d, s);
    }

    private static TrainRun.Summary stage(TrainRun.Request b, Path dir, TrainConfig.Method method, double lr, Path mask, Long seed,
                                          TrainRun.Reporter rep) {
        JsonNode done = finished(dir);
        if (done != null) {
            sameSettings(done, dir, b, method, lr, mask);
            rep.info(dir + " is finished (final loss " + done.get("final_loss").asDouble() + "); skipped");
            return new TrainRun.Summary(dir, done.path("steps_done").asLong(), done.path("steps_done").asLong(), false,
                    done.get("final_loss").asDouble(), done.path("trainable_parameters").asLong(), done.path("lora_parameters").asLong());
        }
        TrainConfig c = b.config();
        TrainConfig cfg = new TrainConfig(method, lr, c.epochs(), c.maxSteps(), c.batchSize(), c.microBatchSize(), c.warmupSteps(),
                c.maxGradNorm(), c.clip(), c.accumulation(), c.adam(), c.seed(), c.shuffle(), c.saveEvery(), c.stopAfter());
        boolean resume = TrainState.exists(dir);
        TrainRun.Request r = new TrainRun.Request(b.modelDir(), b.dataFiles(), dir, cfg, b.data(), null, mask,
                mask == null ? b.rank() : null, mask == null ? b.alpha() : null, mask == null && b.rslora(),
                mask == null ? b.targets() : null, seed, resume, b.checkpointing());
        TrainRun.Summary s = TrainRun.run(r, rep);
        if (s.stopped()) throw new StoppedException(dir);
        return s;
    }

    /**
     * A finished stage is reused only when it was trained with the settings this run asks for (a rerun with another
     * --rank, --lr, --steps, data or --sparsity would otherwise silently keep the old adapter).
     */
    private static void sameSettings(JsonNode done, Path dir, TrainRun.Request b, TrainConfig.Method method, double lr, Path mask) {
        TrainConfig c = b.config();
        Map<String, Object> want = new LinkedHashMap<>();
        want.put("method", method.id());
        want.put("lr", lr);
        want.put("batch_size", c.batchSize());
        want.put("micro_batch_size", c.microBatchSize());
        want.put("max_steps", c.maxSteps());
        want.put("data", b.dataFiles().stream().map(Path::toString).toList());
        want.put("mask", mask == null ? null : mask.toString());
        if (mask == null && b.rank() != null) want.put("rank", b.rank());
        if (mask == null && b.alpha() != null) want.put("alpha", b.alpha());
        for (var e : want.entrySet()) {
            JsonNode had = done.get(e.getKey());
            Object w = e.getValue();
            boolean same = had == null ? w == null
                    : w == null ? had.isNull()
                    : w instanceof Number n ? had.isNumber() && had.asDouble() == n.doubleValue()
                    : w instanceof List<?> l ? had.isArray() && had.size() == l.size()
                            && java.util.stream.IntStream.range(0, l.size()).allMatch(i -> had.get(i).asText().equals(l.get(i)))
                    : had.asText().equals(w.toString());
            if (!same)
                throw new LoriException(dir + " was finished with " + e.getKey() + " " + had + ", this run asks for " + w
                        + ": choose another --out (or remove " + dir + ")");
        }
    }

    private static JsonNode finished(Path dir) {
        JsonNode n = TrainRun.recordedArgs(dir);
        return n != null && n.has("final_loss") ? n : null;
    }

    /** A stage stopped early (--stop-after); rerunning the pipeline resumes it. */
    public static final class StoppedException extends LoriException {
        public StoppedException(Path dir) { super(dir + ": stage stopped before its end; run the same command again to resume"); }
    }
}
