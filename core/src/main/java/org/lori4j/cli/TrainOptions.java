package org.lori4j.cli;

import org.lori4j.io.LoriException;
import org.lori4j.train.AdamW;
import org.lori4j.train.DataOptions;
import org.lori4j.train.ExampleTokenizer;
import org.lori4j.train.GradClip;
import org.lori4j.train.RecordFormat;
import org.lori4j.train.TrainConfig;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/** The options shared by {@code lori train} and {@code lori pipeline}: data, adapter shape, optimiser, schedule, checkpoints. */
public final class TrainOptions {
    @Option(names = "--data", required = true, split = ",", paramLabel = "FILE",
            description = "training data (JSON/JSONL; alpaca, lori-task, gsm8k, chat or pre-tokenized records); repeat or comma-separate for several")
    List<Path> data;

    @Option(names = "--format", paramLabel = "F", description = "record format for every record: alpaca, lori-task, gsm8k, chat, tokens (default: detect per record)")
    String format;

    @Option(names = "--template", paramLabel = "NAME", description = "prompt template for text records (default: the format's, as upstream)")
    String template;

    @Option(names = "--max-length", defaultValue = "512", paramLabel = "N", description = "prompt + response token limit (default 512)")
    int maxLength;

    @Option(names = "--max-prompt-length", defaultValue = "256", paramLabel = "N", description = "prompt tokens kept when too long (default 256)")
    int maxPromptLength;

    @Option(names = "--truncation", defaultValue = "keep-start", paramLabel = "T", description = "keep-start (default) or keep-end of an over-long prompt")
    String truncation;

    @Option(names = "--add-bos", description = "prepend BOS to prompts (upstream: no BOS)")
    boolean addBos;

    @Option(names = "--eos-token", paramLabel = "TOKEN", description = "the token appended to every response, which the adapter "
            + "learns to end its answers with and generate/eval then stop at (default: the tokenizer's EOS, as the reference; "
            + "the embedded stories260K ends stories with <s>)")
    String eosToken;

    @Option(names = "--skip-bad-lines", description = "skip and count bad records instead of stopping at the first")
    boolean skipBadLines;

    @Option(names = "--no-dedup", description = "keep records with a repeated prompt (upstream keeps one per prompt)")
    boolean noDedup;

    @Option(names = "--rank", paramLabel = "R", description = "LoRA rank of a fresh adapter (default 32)")
    Integer rank;

    @Option(names = "--alpha", paramLabel = "A", description = "lora_alpha of a fresh adapter (default 64; scaling alpha/r)")
    Double alpha;

    @Option(names = "--rslora", description = "rsLoRA scaling alpha/sqrt(r)")
    boolean rslora;

    @Option(names = "--targets", split = ",", paramLabel = "P", description = "projections to adapt (default all seven: q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj)")
    List<String> targets;

    @Option(names = "--seed", paramLabel = "N", description = "seed of a fresh adapter's A and of the data order (default 0, as upstream's data order)")
    Long seed;

    @Option(names = "--epochs", defaultValue = "1", paramLabel = "N", description = "passes over the data (default 1)")
    int epochs;

    @Option(names = "--steps", paramLabel = "N", description = "stop after N batches (optimiser steps); extends --epochs as needed")
    Long steps;

    @Option(names = "--batch-size", defaultValue = "32", paramLabel = "B", description = "sequences per optimiser step (default 32)")
    int batchSize;

    @Option(names = "--micro-batch-size", paramLabel = "b", description = "sequences per forward/backward; B/b micro-batches are accumulated (default B)")
    Integer microBatchSize;

    @Option(names = "--accumulation", defaultValue = "standard", paramLabel = "MODE",
            description = "standard (sum the micro-batch gradients, one step) or reference (LoRI's trainer: a step per micro-batch)")
    String accumulation;

    @Option(names = "--warmup", defaultValue = "0", paramLabel = "N", description = "linear warm-up steps: lr * min(1, (step+1)/(N+1)) (default 0)")
    int warmup;

    @Option(names = "--max-grad-norm", defaultValue = "1.0", paramLabel = "X", description = "gradient clipping threshold, 0 = none (default 1.0)")
    double maxGradNorm;

    @Option(names = "--clip", defaultValue = "even", paramLabel = "S",
            description = "even (each tensor to the threshold, LoRI's default), proportional (each to threshold/sqrt(tensors)) or global")
    String clip;

    @Option(names = "--weight-decay", defaultValue = "0", paramLabel = "W", description = "AdamW decoupled weight decay (default 0)")
    double weightDecay;

    @Option(names = "--no-shuffle", description = "file order every epoch (default: the reference's seeded shuffle)")
    boolean noShuffle;

    @Option(names = "--save-every", defaultValue = "0", paramLabel = "N", description = "write a resumable checkpoint every N steps (default: only at the end)")
    int saveEvery;

    @Option(names = "--checkpointing", defaultValue = "auto", paramLabel = "C",
            description = "recompute each layer in the backward: auto (only when keeping every layer's activations would take over a quarter of the heap), always, never")
    String checkpointing;

    @Option(names = "--stop-after", paramLabel = "N", hidden = true, description = "stop with a checkpoint after N steps, as if killed there (testing)")
    Long stopAfter;

    org.lori4j.train.TrainModel.Checkpointing checkpointing() {
        return switch (checkpointing) {
            case "auto" -> org.lori4j.train.TrainModel.Checkpointing.AUTO;
            case "always" -> org.lori4j.train.TrainModel.Checkpointing.ALWAYS;
            case "never" -> org.lori4j.train.TrainModel.Checkpointing.NEVER;
            default -> throw new LoriException("--checkpointing: '" + checkpointing + "' is not auto, always or never");
        };
    }

    DataOptions dataOptions() {
        DataOptions d = DataOptions.defaults();
        if (maxPromptLength < 1 || maxPromptLength >= maxLength)
            throw new LoriException("--max-prompt-length " + maxPromptLength + " must be at least 1 and below --max-length " + maxLength);
        d = d.withLengths(maxLength, maxPromptLength);
        if (format != null && !format.equals("auto")) d = d.withFormat(RecordFormat.parse(format));
        if (template != null) d = d.withTemplate(template);
        d = d.withTruncation(switch (truncation) {
            case "keep-start" -> ExampleTokenizer.Truncation.KEEP_START;
            case "keep-end" -> ExampleTokenizer.Truncation.KEEP_END;
            default -> throw new LoriException("--truncation: '" + truncation + "' is not keep-start or keep-end");
        });
        return d.withAddBos(addBos).withSkipBadLines(skipBadLines).withDedupPrompts(!noDedup).withEosToken(eosToken);
    }

    TrainConfig config(TrainConfig.Method method, double lr) {
        if (steps != null && steps < 1) throw new LoriException("--steps must be >= 1, got " + steps);
        if (alpha != null && !(alpha > 0)) throw new LoriException("--alpha must be > 0, got " + alpha);
        if (!(maxGradNorm >= 0)) throw new LoriException("--max-grad-norm must be >= 0 (0 = no clipping), got " + maxGradNorm);
        int micro = microBatchSize != null ? microBatchSize : batchSize;
        int ep = epochs;
        TrainConfig c = TrainConfig.lori(method, lr).withBatch(batchSize, micro).withEpochs(ep)
                .withOptimizer(warmup, maxGradNorm, GradClip.Strategy.parse(clip), TrainConfig.Accumulation.parse(accumulation),
                        new AdamW.Config(0.9, 0.999, 1e-8, weightDecay))
                .withData(seed != null ? seed : 0, !noShuffle)
                .withCheckpoints(saveEvery, stopAfter != null ? stopAfter : -1);
        if (steps != null) c = c.withSteps(steps).withEpochs(Integer.MAX_VALUE);
        if (weightDecay < 0) throw new LoriException("--weight-decay must be >= 0");
        return c;
    }
}
