package org.lori4j.cli;

import org.lori4j.io.LoriException;
import org.lori4j.model.KvCache;
import org.lori4j.model.LlamaConfig;
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
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * {@code lori bench decode|prefill}: inference speed on a random-weight model of a named shape
 * (written once into a cache folder, then memory-mapped), against this machine's roofline.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure decode (batch 1, tokens/s and GB/s of weights streamed) or prefill (tokens/s and GFLOP/s)",
                "on a random-weight model of a named shape, written once to --cache-dir and memory-mapped."})
public final class BenchCommand implements Runnable {
    /** This project's machine (2 cores): DRAM read bandwidth and FP32 FMA peak, see shared/PERF.md. */
    static final double ROOFLINE_GBS = 32.9, PEAK_GFLOPS = 485;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "decode|prefill", description = "what to measure")
    String what;

    @Option(names = "--shape", defaultValue = "tinyllama", paramLabel = "NAME",
            description = "tinyllama (1.1B), medium, small or tiny (default: ${DEFAULT-VALUE})")
    String shape;

    @Option(names = "--dtype", defaultValue = "f32", paramLabel = "f32|bf16|f16", description = "weight storage (default: ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--tokens", paramLabel = "N", description = "decode: new tokens per run (default 32); prefill: prompt length (default 256)")
    Integer tokens;

    @Option(names = "--runs", defaultValue = "3", paramLabel = "R", description = "timed runs after one warm-up (default: ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--cache-dir", paramLabel = "DIR", description = "where the random models live (default: /tmp/lori4j-bench)")
    Path cacheDir = Path.of(System.getProperty("java.io.tmpdir"), "lori4j-bench");

    @Override
    public void run() {
        if (!what.equals("decode") && !what.equals("prefill"))
            throw new LoriException("bench: expected 'decode' or 'prefill', got '" + what + "'");
        DType dt = switch (dtype) {
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            case "f16" -> DType.F16;
            default -> throw new LoriException("--dtype: expected f32, bf16 or f16, got '" + dtype + "'");
        };
        if (runs < 1) throw new LoriException("--runs must be at least 1");
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
