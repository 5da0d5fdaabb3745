package org.lori4j.cli;

import org.lori4j.io.TerminalBar;
import org.lori4j.train.TrainConfig;
import org.lori4j.train.TrainRun;
import org.lori4j.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code lori train}: LoRI-D, LoRI-S (with a mask) or LoRA fine-tuning into a PEFT adapter folder, resumable. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a LoRI-D, LoRI-S or LoRA adapter on a Llama-family model (CPU, f32 compute).",
                "",
                "LoRI-D: A frozen at PEFT's random init, B trained from 0. LoRI-S: the same under --mask (B's gradient "
                        + "is zeroed outside it before clipping and AdamW). LoRA: A and B trained. --init-adapter continues from an "
                        + "adapter (continual learning).%n",
                "Writes OUT/adapter_config.json + adapter_model.safetensors (PEFT), generation_config.json, README.md, "
                        + "training_args.json, metrics.jsonl and training_state/ (for --resume). Progress goes to stderr; the loss "
                        + "shown is the mean per scored token, as Hugging Face's Trainer logs it."})
public final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--method", defaultValue = "lori-d", paramLabel = "M", description = "lori-d (default), lori-s or lora")
    String method;

    @Mixin
    ModelOption model;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder for the adapter and training state")
    Path out;

    @Option(names = "--lr", paramLabel = "LR", description = "learning rate (default: 5e-5 for lori-d and lora, 5e-4 for lori-s, as LoRI's GSM8K scripts)")
    Double lr;

    @Option(names = "--mask", paramLabel = "FILE", description = "LoRI-S mask (.safetensors from lori masks, or LoRI's masks/<s>_mask.pt)")
    Path mask;

    @Option(names = "--init-adapter", paramLabel = "DIR", description = "start from this adapter's A and B (continual learning)")
    Path initAdapter;

    @Option(names = "--resume", description = "continue the interrupted run in --out from its training_state/ (repeat the same options)")
    boolean resume;

    @Mixin
    TrainOptions opts;

    @Mixin
    ClusterOptions cluster;

    static double defaultLr(TrainConfig.Method m) { return m == TrainConfig.Method.LORI_S ? 5e-4 : 5e-5; }

    @Override
    public Integer call() {
        TrainConfig.Method m = TrainConfig.Method.parse(method);
        double rate = lr != null ? lr : defaultLr(m);
        PrintWriter pw = spec.commandLine().getOut(), err = spec.commandLine().getErr();   // the result, progress
        TrainRun.Request req = new TrainRun.Request(model.resolve(), opts.data, out, opts.config(m, rate), opts.dataOptions(),
                initAdapter, mask, opts.rank, opts.alpha, opts.rslora, opts.targets, opts.seed, resume, opts.checkpointing());
        TrainRun.Summary s;
        if (cluster.given()) {
            var target = cluster.target();
            var runner = ClusterOptions.runner();
            if (runner.isEmpty()) return ClusterOptions.relaunch(spec);
            s = runner.get().train(target, req, new Progress(err, System.console() != null));
        } else {
            s = TrainRun.run(req, new Progress(err, System.console() != null));
        }
        pw.printf(Locale.ROOT, "%s after %d of %d steps (last loss %.4f): adapter in %s%n",
                s.stopped() ? "stopped" : "done", s.steps(), s.totalSteps(), s.lastLoss(), s.adapter());
        pw.flush();
        return 0;
    }

    /** Progress on the console: a bar redrawn in place; otherwise one plain line per step. */
    static final class Progress implements TrainRun.Reporter {
        private final PrintWriter pw;
        private final TerminalBar bar;
        private final boolean tty;
        private long start, total;
        private long t0;
        private double smoothed = Double.NaN;

        Progress(PrintWriter pw, boolean tty) {
            this.pw = pw;
            this.bar = new TerminalBar(pw, 24);
            this.tty = tty;
        }

        @Override public void info(String line) {
            pw.println(line);
            pw.flush();
        }

        @Override public void start(long startStep, long totalSteps) {
            start = startStep;
            total = totalSteps;
            t0 = System.nanoTime();
            info(String.format(Locale.ROOT, "training steps %d..%d of %d", startStep + 1, totalSteps, totalSteps));
        }

        @Override public void step(Trainer.StepMetrics m) {
            smoothed = Double.isNaN(smoothed) ? m.loss() : 0.9 * smoothed + 0.1 * m.loss();
            double elapsed = (System.nanoTime() - t0) / 1e9;
            long doneHere = m.step() - start;
            double eta = doneHere > 0 ? elapsed / doneHere * (total - m.step()) : 0;
            if (tty) {
                bar.draw((double) m.step() / Math.max(1, total), String.format(Locale.ROOT, "%d/%d loss %.4f (avg %.4f) %.0f tok/s ETA %s",
                        m.step(), total, m.loss(), smoothed, m.tokensPerSecond(), TerminalBar.clock(eta)));
                if (m.step() == total) bar.end();
            } else {
                pw.printf(Locale.ROOT, "step %d/%d epoch %.2f loss %.4f sequence_loss %.4f lr %.3g grad_norm %.4f clipped %d/%d tokens/s %.0f eta %s%n",
                        m.step(), total, m.epochs(), m.loss(), m.sequenceLoss(), m.lr(), m.gradNorm(), m.clipped(), m.tensors(),
                        m.tokensPerSecond(), TerminalBar.clock(eta));
            }
            pw.flush();
        }

        @Override public void checkpoint(long step) {
            if (!tty) info("checkpoint after step " + step);
        }

    }
}
