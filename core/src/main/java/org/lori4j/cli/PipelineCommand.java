package org.lori4j.cli;

import org.lori4j.adapter.Masks;
import org.lori4j.eval.EvalRun;
import org.lori4j.eval.Evaluator;
import org.lori4j.eval.Progress;
import org.lori4j.eval.ResultsTable;
import org.lori4j.io.LoriException;
import org.lori4j.train.Pipeline;
import org.lori4j.train.TrainConfig;
import org.lori4j.train.TrainRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code lori pipeline}: LoRI-D, mask extraction, LoRI-S in one command, each stage's output kept. */
@Command(name = "pipeline", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run LoRI end to end: LoRI-D, mask extraction, LoRI-S.",
                "LoRI-D into OUT/lori-d, the mask at --sparsity into OUT/lori-d/masks/, then "
                + "LoRI-S with that mask (and the LoRI-D adapter's A) into OUT/lori-s. Running the same command again "
                + "skips finished stages and resumes an interrupted one (with --save-every checkpoints).",
                "With --eval-task, the base model (--eval-base), the LoRI-D and the LoRI-S adapter are evaluated after "
                + "their stages into OUT/<stage>/eval/ (as lori eval --out) and compared in a table."})
public final class PipelineCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder (lori-d/, lori-s/ inside)")
    Path out;

    @Option(names = "--lr-d", defaultValue = "5e-5", paramLabel = "LR", description = "LoRI-D learning rate (default 5e-5)")
    double lrD;

    @Option(names = "--lr-s", defaultValue = "5e-4", paramLabel = "LR", description = "LoRI-S learning rate (default 5e-4)")
    double lrS;

    @Option(names = "--sparsity", defaultValue = "0.9", paramLabel = "S", description = "mask sparsity (default 0.9: LoRI-S trains 10%% of B)")
    double sparsity;

    @Option(names = "--granularity", defaultValue = "model", paramLabel = "G", description = "mask groups: model (default), module, projection, layer, matrix")
    String granularity;

    @Mixin
    TrainOptions opts;

    @Option(names = "--eval-task", paramLabel = "T",
            description = "evaluate each stage's adapter on this lori eval task into OUT/<stage>/eval/ and print a comparison")
    String evalTask;

    @Option(names = "--eval-data", paramLabel = "FILE|DIR", description = "the task's data (as lori eval --data)")
    Path evalData;

    @Option(names = "--eval-limit", paramLabel = "N", description = "only the first N items of each task")
    Integer evalLimit;

    @Option(names = "--eval-max-new-tokens", paramLabel = "N", defaultValue = "512", description = "tokens per output at most (default ${DEFAULT-VALUE})")
    int evalMaxNewTokens;

    @Option(names = "--eval-batch-size", paramLabel = "B", defaultValue = "8", description = "prompts generated together (default ${DEFAULT-VALUE})")
    int evalBatchSize;

    @Option(names = "--eval-base", description = "also evaluate the base model (into OUT/base/eval/)")
    boolean evalBase;

    @Override
    public Integer call() {
        PrintWriter pw = spec.commandLine().getOut(), err = spec.commandLine().getErr();   // results, progress
        // option errors before anything runs (the LoRI-S rate is used only after the LoRI-D stage)
        if (!(lrD > 0) || Double.isInfinite(lrD)) throw new LoriException("--lr-d must be positive, got " + lrD);
        if (!(lrS > 0) || Double.isInfinite(lrS)) throw new LoriException("--lr-s must be positive, got " + lrS);
        EvalRun eval = prepareEval();   // eval data errors surface before any training
        Path modelDir = model.resolve();
        Map<String, Path> evals = new LinkedHashMap<>();
        Pipeline.StageHook hook = (name, adapter) -> {
            if (eval == null) return;
            Path dir = out.resolve(name).resolve("eval");
            err.println("== eval " + name + " -> " + dir);
            err.flush();
            // resume: a rerun reuses finished outputs (and checks they come from the same model, adapter and settings)
            Evaluator.Report r = eval.run(modelDir, adapter == null ? EvalRun.Adapters.none() : EvalRun.Adapters.of(adapter),
                    dir, true, Progress.forConsole());
            pw.print(ResultsTable.markdown(r.results(), r.average()));
            pw.flush();
            evals.put(name, dir);
        };
        if (evalBase) hook.after("base", null);
        TrainRun.Request stage = new TrainRun.Request(modelDir, opts.data, out, opts.config(TrainConfig.Method.LORI_D, lrD),
                opts.dataOptions(), null, null, opts.rank, opts.alpha, opts.rslora, opts.targets, opts.seed, false, opts.checkpointing());
        Pipeline.Summary s = Pipeline.run(new Pipeline.Request(stage, lrD, lrS, sparsity, Masks.Granularity.parse(granularity)),
                new TrainCommand.Progress(err, System.console() != null), hook);
        pw.printf(Locale.ROOT, "LoRI-D %s (loss %.4f), mask %s, LoRI-S %s (loss %.4f, %,d trainable parameters = %.2f%% of LoRA's)%n",
                s.loriD(), s.d().lastLoss(), s.mask(), s.loriS(), s.s().lastLoss(), s.s().trainableParameters(),
                100.0 * s.s().trainableParameters() / s.s().loraParameters());
        if (!evals.isEmpty()) {
            pw.println("== " + evalTask + " by stage");
            pw.print(ResultsTable.compare(List.copyOf(evals.values()), List.copyOf(evals.keySet())));
        }
        pw.flush();
        return 0;
    }

    /** The evaluation run after each stage, or null without --eval-task (then no other --eval option may be given). */
    private EvalRun prepareEval() {
        if (evalTask == null) {
            for (String o : List.of("--eval-data", "--eval-limit", "--eval-max-new-tokens", "--eval-batch-size", "--eval-base"))
                if (spec.commandLine().getParseResult().hasMatchedOption(o)) throw new LoriException(o + " needs --eval-task");
            return null;
        }
        return EvalRun.prepare(EvalRun.Options.defaults(evalTask, evalData, evalLimit, evalBatchSize, evalMaxNewTokens));
    }
}
