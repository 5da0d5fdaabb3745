package org.lori4j.cli;

import org.lori4j.adapter.Masks;
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
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code lori pipeline}: LoRI-D, mask extraction, LoRI-S in one command, each stage's output kept. */
@Command(name = "pipeline", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run LoRI end to end: LoRI-D into OUT/lori-d, the mask at --sparsity into OUT/lori-d/masks/, then "
                + "LoRI-S with that mask (and the LoRI-D adapter's A) into OUT/lori-s. Running the same command again "
                + "skips finished stages and resumes an interrupted one (with --save-every checkpoints)."})
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

    @Option(names = "--sparsity", defaultValue = "0.9", paramLabel = "S", description = "mask sparsity (default 0.9: LoRI-S trains 10% of B)")
    double sparsity;

    @Option(names = "--granularity", defaultValue = "model", paramLabel = "G", description = "mask groups: model (default), module, projection, layer, matrix")
    String granularity;

    @Mixin
    TrainOptions opts;

    @Override
    public Integer call() {
        PrintWriter pw = spec.commandLine().getOut();
        TrainRun.Request stage = new TrainRun.Request(model.resolve(), opts.data, out, opts.config(TrainConfig.Method.LORI_D, lrD),
                opts.dataOptions(), null, null, opts.rank, opts.alpha, opts.rslora, opts.targets, opts.seed, false, opts.checkpointing());
        Pipeline.Summary s = Pipeline.run(new Pipeline.Request(stage, lrD, lrS, sparsity, Masks.Granularity.parse(granularity)),
                new TrainCommand.Progress(pw, System.console() != null));
        pw.printf(Locale.ROOT, "LoRI-D %s (loss %.4f), mask %s, LoRI-S %s (loss %.4f, %,d trainable parameters = %.2f%% of LoRA's)%n",
                s.loriD(), s.d().lastLoss(), s.mask(), s.loriS(), s.s().lastLoss(), s.s().trainableParameters(),
                100.0 * s.s().trainableParameters() / s.s().loraParameters());
        pw.flush();
        return 0;
    }
}
