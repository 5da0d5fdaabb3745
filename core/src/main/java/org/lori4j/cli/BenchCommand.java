package org.lori4j.cli;

import org.lori4j.generate.Generator;
import org.lori4j.generate.SamplingParams;
import org.lori4j.io.EmbeddedModel;
import org.lori4j.io.LlamaConfig;
import org.lori4j.io.LoriException;
import org.lori4j.model.KvCache;
import org.lori4j.model.LlamaModel;
import org.lori4j.model.RandomWeights;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.MatMul;
import org.lori4j.tensor.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * {@code lori bench decode|prefill|train}: inference and training speed on a random-weight model of a named shape
 * (written once into a cache folder, then memory-mapped), against this machine's roofline; {@code lori bench
 * generate}: continuous-batching generation throughput at several batch sizes on a real model (default: the embedded
 * one), without tokenizer or scoring.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure decode, prefill or training speed, or generation throughput per batch size.",
                "decode (batch 1, tokens/s and GB/s of weights streamed), prefill (tokens/s and GFLOP/s)",
                "or train (LoRA r=16 on all seven projections, A frozen: forward + backward + AdamW tokens/s)",
                "on a random-weight model of a named shape, written once to --cache-dir and memory-mapped;",
                "or generate: prompts/s and generated tokens/s of continuous batching at each of --batches on --model",
                "(default: the embedded stories260K), random prompts sharing a prefix, greedy, no stop token."})
public final class BenchCommand implements Runnable {
    /** This project's machine (2 cores): DRAM read bandwidth and FP32 FMA peak, see shared/PERF.md. */
    static final double ROOFLINE_GBS = 32.9, PEAK_GFLOPS = 485;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "decode|prefill|train|generate",
            description = "what to measure (lori bench serve, the server's load test, is a subcommand of its own)")
    String what;

    @Option(names = "--shape", defaultValue = "tinyllama", paramLabel = "NAME",
            description = "tinyllama (1.1B), medium, small or tiny (default: ${DEFAULT-VALUE})")
    String shape;

    @Option(names = "--dtype", defaultValue = "f32", paramLabel = "f32|bf16|f16", description = "weight storage (default: ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--tokens", paramLabel = "N", description = "decode: new tokens per run (default 32); prefill and train: sequence length (default 256); "
            + "generate: new tokens per prompt (default 64)")
    Integer tokens;

    @Option(names = "--batch", paramLabel = "B", description = "train: sequences per step (default: tiny 8, small 4, medium 2, tinyllama 1)")
    Integer batch;

    @Option(names = "--rank", defaultValue = "16", paramLabel = "R", description = "train: LoRA rank (default: ${DEFAULT-VALUE})")
    int rank;

    @Option(names = "--runs", defaultValue = "3", paramLabel = "R", description = "timed runs after one warm-up (default: ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--cache-dir", paramLabel = "DIR", description = "where the random models live (default: /tmp/lori4j-bench)")
    Path cacheDir = Path.of(System.getProperty("java.io.tmpdir"), "lori4j-bench");

    @Option(names = "--model", paramLabel = "DIR", description = "generate: the model (default: the embedded stories260K)")
    Path model;

    @Option(names = "--batches", split = ",", defaultValue = "1,8", paramLabel = "B,...",
            description = "generate: sequences decoded together, one measurement each (default: ${DEFAULT-VALUE})")
    List<Integer> batches;

    @Option(names = "--prompts", defaultValue = "1000", paramLabel = "N", description = "generate: prompts per run (default: ${DEFAULT-VALUE})")
    int prompts;

    @Option(names = "--prompt-tokens", defaultValue = "113", paramLabel = "T",
            description = "generate: tokens per prompt (default: ${DEFAULT-VALUE}, a HEx-PHI prompt of the embedded model)")
    int promptTokens;

    @Option(names = "--shared-prefix", defaultValue = "60", paramLabel = "P",
            description = "generate: leading tokens all prompts share, like a prompt template (default: ${DEFAULT-VALUE})")
    int sharedPrefix;

    @Override
    public void run() {
        if (what == null) throw new LoriException("bench: say what to measure: decode, prefill, train, generate or serve");
        if (runs < 1) throw new LoriException("--runs must be at least 1");
        if (what.equals("generate")) {
            generate(spec.commandLine().getOut());
            return;
        }
        if (!what.equals("decode") && !what.equals("prefill") && !what.equals("train"))
            throw new LoriException("bench: expected 'decode', 'prefill', 'train' or 'generate', got '" + what + "'");
        DType dt = switch (dtype) {
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            case "f16" -> DType.F16;
            default -> throw new LoriException("--dtype: expected f32, bf16 or f16, got '" + dtype + "'");
        };
        if (tokens != null && tokens < 1) throw new LoriException("--tokens must be >= 1, got " + tokens);
        PrintWriter out = spec.commandLine().getOut();
        LlamaConfig config = RandomWeights.shape(shape, dt);
        Path dir = cacheDir.resolve(shape + "-" + dtype);
        if (!Files.isDirectory(dir)) {
            out.printf("writing random %s %s model to %s ...%n", shape, dtype, dir);
            out.flush();
            long t0 = System.nanoTime();
            RandomWeights.write(dir, config, 1);
            out.printf("  done in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        }
        try (LlamaModel m = LlamaModel.load(dir)) {
            out.printf("model %s (%s), %d threads, matmul backend %s%n", dir, m, Parallel.threads(), MatMul.backend().name());
            out.flush();
            if (what.equals("decode")) decode(m, out, tokens == null ? 32 : tokens);
            else if (what.equals("train")) train(m, out, tokens == null ? 256 : tokens);
            else prefill(m, out, tokens == null ? 256 : tokens);
            out.println(memory());
            out.flush();
        }
    }

    /** Bytes of every projection and lm_head: what one decode step must stream from memory. */
    static long weightBytesPerToken(LlamaModel m) {
        long n = m.lmHead().byteSize();
        for (int l = 0; l < m.numLayers(); l++)
            for (String p : LlamaModel.PROJECTIONS) n += m.linear(l, p).weight().byteSize();
        return n;
    }

    /** Multiply-add parameters touched per token in the layers (lm_head counted separately). */
    static long layerParams(LlamaModel m) {
        long n = 0;
        for (int l = 0; l < m.numLayers(); l++)
            for (String p : LlamaModel.PROJECTIONS) {
                var w = m.linear(l, p).weight();
                n += (long) w.rows() * w.cols();
            }
        return n;
    }

    private void decode(LlamaModel m, PrintWriter out, int n) {
        int prompt = 8;
        int[] ids = randomTokens(prompt, m.config().vocabSize());
        long bytes = weightBytesPerToken(m);
        double[] rates = new double[runs];
        for (int run = -1; run < runs; run++) {
            KvCache cache = m.newCache(1, prompt + n);
            float[] logits = m.forward(new int[][]{ids}, cache);
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                int next = argmax(logits);
                logits = m.forward(new int[][]{{next}}, cache);
            }
            double s = (System.nanoTime() - t0) / 1e9;
            if (run >= 0) rates[run] = n / s;
        }
        double[] r = rates.clone();
        Arrays.sort(r);
        double med = r[r.length / 2];
        out.printf("decode batch 1, %d tokens after an %d-token prompt, %d runs: tokens/s min %.2f median %.2f max %.2f%n",
                n, prompt, runs, r[0], med, r[r.length - 1]);
        out.printf("  weights streamed per token %.2f GB -> %.1f GB/s at the median (%.0f%% of the %.1f GB/s roofline; roofline %.2f tokens/s)%n",
                bytes / 1e9, med * bytes / 1e9, 100 * med * bytes / 1e9 / ROOFLINE_GBS, ROOFLINE_GBS, ROOFLINE_GBS * 1e9 / bytes);
    }

    private void prefill(LlamaModel m, PrintWriter out, int T) {
        LlamaConfig c = m.config();
        int[] ids = randomTokens(T, c.vocabSize());
        // FLOPs: 2 per multiply-add in the projections for every token, lm_head for the last one, and attention
        // (q.k and p.v: 2 * 2 * D per head per visible key, T(T+1)/2 visible pairs).
        double flops = 2.0 * layerParams(m) * T + 2.0 * c.vocabSize() * c.hiddenSize()
                + 4.0 * c.numLayers() * c.numHeads() * c.headDim() * (T * (T + 1) / 2.0);
        double[] secs = new double[runs];
        for (int run = -1; run < runs; run++) {
            KvCache cache = m.newCache(1, T);
            long t0 = System.nanoTime();
            m.forward(new int[][]{ids}, cache);
            double s = (System.nanoTime() - t0) / 1e9;
            if (run >= 0) secs[run] = s;
        }
        double[] r = secs.clone();
        Arrays.sort(r);
        double med = r[r.length / 2];
        out.printf("prefill %d tokens, %d runs: tokens/s min %.1f median %.1f max %.1f%n",
                T, runs, T / r[r.length - 1], T / med, T / r[0]);
        out.printf("  %.1f GFLOP per prefill -> %.1f GFLOP/s at the median (%.0f%% of the %.0f GFLOP/s FP32 peak)%n",
                flops / 1e9, flops / med / 1e9, 100 * flops / med / 1e9 / PEAK_GFLOPS, PEAK_GFLOPS);
    }

    /**
     * Continuous-batching generation ({@link Generator}) of --prompts random prompts of --prompt-tokens tokens, the
     * first --shared-prefix of them common to all, --tokens new tokens each (greedy, no stop token), at each batch
     * size; one untimed warm-up round over every batch size, then --runs timed rounds.
     */
    private void generate(PrintWriter out) {
        int n = tokens == null ? 64 : tokens;
        if (prompts < 1 || promptTokens < 1 || n < 1) throw new LoriException("bench generate: --prompts, --prompt-tokens and --tokens must be >= 1");
        if (sharedPrefix < 0 || sharedPrefix > promptTokens)
            throw new LoriException("bench generate: --shared-prefix must be between 0 and --prompt-tokens (" + promptTokens + ")");
        if (batches.isEmpty() || batches.stream().anyMatch(b -> b == null || b < 1))
            throw new LoriException("--batches: every batch size must be at least 1, got " + batches);
        Path dir = model != null ? model : EmbeddedModel.path();
        try (LlamaModel m = LlamaModel.load(dir)) {
            int vocab = m.config().vocabSize();
            int[] prefix = randomTokens(sharedPrefix, vocab);
            SplittableRandom r = new SplittableRandom(11);
            List<int[]> ps = new ArrayList<>(prompts);
            for (int i = 0; i < prompts; i++) {
                int[] p = Arrays.copyOf(prefix, promptTokens);
                for (int j = sharedPrefix; j < promptTokens; j++) p[j] = r.nextInt(vocab);
                ps.add(p);
            }
            out.printf("model %s (%s), %d threads; %d prompts of %d tokens (%d shared), %d new tokens each%n",
                    dir, m, Parallel.threads(), prompts, promptTokens, sharedPrefix, n);
            out.flush();
            Generator g = new Generator(m);
            SamplingParams greedy = SamplingParams.greedy(n, List.of());
            long[] seeds = new long[prompts];
            double[][] secs = new double[batches.size()][runs];
            for (int run = -1; run < runs; run++)
                for (int bi = 0; bi < batches.size(); bi++) {
                    long[] made = new long[1];
                    long t0 = System.nanoTime();
                    g.generate(ps, seeds, greedy, batches.get(bi), null, (i, t) -> made[0] += t.length);
                    double sec = (System.nanoTime() - t0) / 1e9;
                    if (made[0] != (long) prompts * n) throw new IllegalStateException("generated " + made[0] + " tokens, expected " + (long) prompts * n);
                    if (run >= 0) secs[bi][run] = sec;
                }
            double base = Double.NaN;
            for (int bi = 0; bi < batches.size(); bi++) {
                double[] s = secs[bi].clone();
                Arrays.sort(s);
                double med = s[s.length / 2];
                if (bi == 0) base = med;
                out.printf("batch %d, %d runs: %.3f ms/prompt at the median (min %.3f, max %.3f), %.1f prompts/s, %.0f generated tokens/s"
                                + (bi == 0 ? "%n" : ", %.2fx batch %d%n"),
                        batches.get(bi), runs, med * 1e3 / prompts, s[0] * 1e3 / prompts, s[s.length - 1] * 1e3 / prompts,
                        prompts / med, (double) prompts * n / med, base / med, batches.getFirst());
            }
            out.flush();
        }
    }

    /** PyTorch 1.13 on this machine (2 threads, fp32, shared/PERF.md), tokens/s, and the project's targets. */
    static double pytorchTrain(String shape) {
        return switch (shape) {
            case "tiny" -> 5277;
            case "small" -> 493;
            case "medium" -> 198;
            default -> Double.NaN;
        };
    }

    private void train(LlamaModel m, PrintWriter out, int T) {
        int b = batch != null ? batch : switch (shape) {
            case "tiny" -> 8;
            case "small" -> 4;
            case "medium" -> 2;
            default -> 1;
        };
        if (b < 1 || T < 2 || rank < 1) throw new LoriException("bench train: --batch, --rank must be >= 1 and --tokens >= 2");
        org.lori4j.train.TrainBench.Result r = org.lori4j.train.TrainBench.run(m, b, T, rank, 1, runs);
        double[] tps = r.tokensPerSecond().clone();
        Arrays.sort(tps);
        double med = tps[tps.length / 2];
        out.printf("train batch %d x %d tokens, LoRA r=%d on all 7 projections (A frozen), %d steps after 1 warm-up: "
                + "tokens/s min %.0f median %.0f max %.0f%n", b, T, rank, runs, tps[0], med, tps[tps.length - 1]);
        double[] cpu = r.tokensPerSecondOfCpu(Parallel.threads()).clone();
        Arrays.sort(cpu);
        out.printf("  per CPU time (tokens / (process CPU s / %d threads), an idle-machine estimate when the machine is shared): "
                + "min %.0f median %.0f max %.0f%n", Parallel.threads(), cpu[0], cpu[cpu.length / 2], cpu[cpu.length - 1]);
        double pt = pytorchTrain(shape);
        if (!Double.isNaN(pt))
            out.printf("  PyTorch 1.13 fp32 (2 threads, shared/PERF.md): %.0f tokens/s -> %.2fx%n", pt, med / pt);
    }

    private static int[] randomTokens(int n, int vocab) {
        SplittableRandom r = new SplittableRandom(7);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = r.nextInt(vocab);
        return ids;
    }

    private static int argmax(float[] l) {
        int b = 0;
        for (int i = 1; i < l.length; i++) if (l[i] > l[b]) b = i;
        return b;
    }

    /** VmRSS and VmHWM of this process (Linux), or a note when /proc is unavailable. */
    static String memory() {
        try {
            String rss = "?", hwm = "?";
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) rss = line.substring(6).trim();
                if (line.startsWith("VmHWM:")) hwm = line.substring(6).trim();
            }
            return "resident memory: VmRSS " + rss + ", peak VmHWM " + hwm + " (weights " + "are held once, the files unmapped after loading)";
        } catch (IOException e) {
            return "resident memory: /proc/self/status unavailable";
        }
    }
}
