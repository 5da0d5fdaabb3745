package org.lori4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Programmatic micro-benchmarks of the kernels (for {@code lori bench} and the README's
 * re-measurement commands): decode GEMV in GB/s of weight bytes streamed, GEMMs in GFLOP/s,
 * each as min / median / max over timed samples after a warm-up. GEMV rotates over enough
 * weights that the working set exceeds the last-level cache (PERF.md: measure memory, not cache).
 * Also runnable: {@code java --add-modules jdk.incubator.vector -cp target/lori4j.jar
 * org.lori4j.tensor.KernelBench [decode|gemv|prefill|train|all] [f32|bf16|f16]}.
 */
public final class KernelBench {
    private KernelBench() {}

    /** One measured figure: min / median / max over samples, in unit (higher is better). */
    public record Stats(String what, String unit, double min, double median, double max, int samples) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%-58s %8.1f %8.1f %8.1f %s (min/median/max of %d)",
                    what, min, median, max, unit, samples);
        }
    }

    /** Layer shapes of a Llama model, for the decode and prefill benchmarks. */
    public record Shape(String name, int hidden, int kvDim, int ffn, int vocab, int layers) {
        /** TinyLlama-1.1B: hidden 2048, 32/4 heads of 64, ffn 5632, vocab 32000, 22 layers. */
        public static final Shape TINYLLAMA = new Shape("TinyLlama-1.1B", 2048, 256, 5632, 32000, 22);

        /** The [out, in] shapes of one layer's seven projections. */
        public int[][] layerMatrices() {
            return new int[][] {{hidden, hidden}, {kvDim, hidden}, {kvDim, hidden}, {hidden, hidden},
                    {ffn, hidden}, {ffn, hidden}, {hidden, ffn}};
        }
    }

    /**
     * Decode: y = W x (n = 1) over every projection of every layer plus the LM head, as one
     * token's forward streams them. Reports GB/s of weight bytes; tokens/s = GB/s / model GB.
     */
    public static Stats decode(Shape s, DType dtype, int samples) {
        List<Weight> ws = new ArrayList<>();
        for (int l = 0; l < s.layers(); l++)
            for (int[] m : s.layerMatrices()) ws.add(randomWeight(dtype, m[0], m[1], 31L * l + ws.size()));
        ws.add(randomWeight(dtype, s.vocab(), s.hidden(), 99));
        long bytes = ws.stream().mapToLong(Weight::byteSize).sum();
        int maxIn = Math.max(s.hidden(), s.ffn()), maxOut = Math.max(s.vocab(), s.ffn());
        float[] x = randomFloats(maxIn, 5), y = new float[maxOut];
        Runnable token = () -> {
            for (Weight w : ws) MatMul.forward(y, x, 1, w);
        };
        double[] secs = time(token, 1, samples);
        return stats(String.format(Locale.ROOT, "decode GEMV %s %s (%.2f GB/token, GB/s)", s.name(), dtype, bytes / 1e9),
                "GB/s", secs, bytes / 1e9);
    }

    /**
     * GEMV of one [rows, cols] shape, rotating over enough copies that more than
     * {@code totalBytes} of weights are streamed per round. Reports GB/s.
     */
    public static Stats gemv(DType dtype, int rows, int cols, long totalBytes, int samples) {
        long one = (long) rows * cols * dtype.bytes();
        int copies = (int) Math.max(1, (totalBytes + one - 1) / one);
        Weight[] ws = new Weight[copies];
        for (int i = 0; i < copies; i++) ws[i] = randomWeight(dtype, rows, cols, i);
        float[] x = randomFloats(cols, 5), y = new float[rows];
        double[] secs = time(() -> {
            for (Weight w : ws) MatMul.forward(y, x, 1, w);
        }, 1, samples);
        return stats(String.format(Locale.ROOT, "GEMV %s %dx%d x%d copies (GB/s)", dtype, rows, cols, copies),
                "GB/s", secs, copies * one / 1e9);
    }

    /** Prefill GEMM y[n, out] = x[n, in] W^T. Reports GFLOP/s (2 n out in per call). */
    public static Stats forward(DType dtype, int n, int rows, int cols, int samples) {
        Weight w = randomWeight(dtype, rows, cols, 3);
        float[] x = randomFloats(n * cols, 7), y = new float[n * rows];
        double[] secs = time(() -> MatMul.forward(y, x, n, w), 1, samples);
        return stats(String.format(Locale.ROOT, "forward %s n=%d %dx%d (GFLOP/s)", dtype, n, rows, cols),
                "GFLOP/s", secs, 2.0 * n * rows * cols / 1e9);
    }

    /** Backprop through a frozen weight dx[n, in] = dy[n, out] W. Reports GFLOP/s. */
    public static Stats backwardInput(DType dtype, int n, int rows, int cols, int samples) {
        Weight w = randomWeight(dtype, rows, cols, 4);
        float[] dy = randomFloats(n * rows, 8), dx = new float[n * cols];
        double[] secs = time(() -> MatMul.backwardInput(dx, dy, n, w, false), 1, samples);
        return stats(String.format(Locale.ROOT, "backwardInput %s n=%d %dx%d (GFLOP/s)", dtype, n, rows, cols),
                "GFLOP/s", secs, 2.0 * n * rows * cols / 1e9);
    }

    /** General float[] GEMM C[m, nn] = op(A) op(B). Reports GFLOP/s. */
    public static Stats gemm(int m, int k, int nn, boolean transA, boolean transB, int samples) {
        float[] a = randomFloats(m * k, 9), b = randomFloats(k * nn, 10), c = new float[m * nn];
        double[] secs = time(() -> MatMul.gemm(c, a, b, m, k, nn, transA, transB, 1f, false), 1, samples);
        return stats(String.format(Locale.ROOT, "gemm %dx%dx%d%s%s (GFLOP/s)", m, k, nn, transA ? " A^T" : "",
                transB ? " B^T" : ""), "GFLOP/s", secs, 2.0 * m * k * nn / 1e9);
    }

    /** The default suite for a dtype: decode, prefill 256 tokens and training-shaped products. */
    public static List<Stats> suite(String which, DType dtype, int samples) {
        List<Stats> out = new ArrayList<>();
        Shape s = Shape.TINYLLAMA;
        if (which.equals("decode") || which.equals("all")) out.add(decode(s, dtype, samples));
        if (which.equals("gemv")) out.add(gemv(dtype, 2048, 2048, 1_700_000_000L, samples));
        if (which.equals("prefill") || which.equals("all")) {
            out.add(forward(dtype, 256, s.ffn(), s.hidden(), samples));
            out.add(forward(dtype, 256, s.hidden(), s.ffn(), samples));
            out.add(forward(dtype, 256, s.hidden(), s.hidden(), samples));
        }
        if (which.equals("train") || which.equals("all")) {
            out.add(backwardInput(dtype, 512, s.ffn(), s.hidden(), samples));
            out.add(gemm(512, 2048, 16, false, true, samples));   // x A^T
            out.add(gemm(512, 16, 2048, false, true, samples));   // (x A^T) B^T
            out.add(gemm(2048, 512, 16, true, false, samples));   // dB = dY^T (x A^T)
            out.add(gemm(512, 2048, 16, false, false, samples));  // dY B
            out.add(gemm(256, 64, 256, false, true, samples));    // Q K^T per head
        }
        return out;
    }

    public static void main(String[] args) {
        String which = args.length > 0 ? args[0] : "all";
        DType dt = args.length > 1 ? DType.valueOf(args[1].toUpperCase(Locale.ROOT)) : DType.BF16;
        int samples = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        System.out.println("threads " + Parallel.threads() + ", backend " + MatMul.backend().name()
                + ", vector " + Convert.F.vectorBitSize() + " bits" + (CPU_TIME ? ", per CPU-second of the calling thread" : ""));
        if (CPU_TIME && Parallel.threads() > 1)
            System.out.println("warning: lori.bench.cputime counts only the calling thread; use -Dlori.threads=1");
        for (Stats st : suite(which, dt, samples)) System.out.println(st);
    }

    // ------------------------------------------------------------------ helpers

    /**
     * Warms up (at least {@code warm} runs, then until 2 s or 200 runs, so C2 has compiled the
     * kernels), then times
     * {@code samples} runs; returns seconds per run.
     */
    private static double[] time(Runnable r, int warm, int samples) {
        long start = System.nanoTime();
        for (int i = 0; i < Math.max(1, warm) || (i < 200 && System.nanoTime() - start < 2_000_000_000L); i++) r.run();
        double[] s = new double[Math.max(1, samples)];
        for (int i = 0; i < s.length; i++) {
            long t0 = CPU_TIME ? THREAD_CPU.getCurrentThreadCpuTime() : System.nanoTime();
            r.run();
            s[i] = ((CPU_TIME ? THREAD_CPU.getCurrentThreadCpuTime() : System.nanoTime()) - t0) / 1e9;
        }
        return s;
    }

    /**
     * {@code -Dlori.bench.cputime=true} times the calling thread's CPU time instead of wall time:
     * with {@code -Dlori.threads=1} that measures per-core kernel efficiency even on a shared,
     * oversubscribed machine (not memory bandwidth: a descheduled thread's DRAM time is hidden).
     */
    private static final boolean CPU_TIME = Boolean.getBoolean("lori.bench.cputime");
    private static final java.lang.management.ThreadMXBean THREAD_CPU =
            java.lang.management.ManagementFactory.getThreadMXBean();

    /** Converts seconds per run into work/second stats (work in GB or GFLOP per run). */
    private static Stats stats(String what, String unit, double[] secs, double work) {
        double[] rate = new double[secs.length];
        for (int i = 0; i < secs.length; i++) rate[i] = work / secs[i];
        Arrays.sort(rate);
        return new Stats(what, unit, rate[0], rate[rate.length / 2], rate[rate.length - 1], rate.length);
    }

    /** n pseudo-random floats in [-1, 1), deterministic in seed. */
    public static float[] randomFloats(int n, long seed) {
        float[] a = new float[n];
        long s = seed * 0x9E3779B97F4A7C15L + 1;
        for (int i = 0; i < n; i++) {
            s ^= s << 13; s ^= s >>> 7; s ^= s << 17;
            a[i] = ((s >>> 40) / (float) (1 << 24)) * 2 - 1;
        }
        return a;
    }

    /** A weight with small random values, generated straight into its stored dtype. */
    public static Weight randomWeight(DType dtype, int rows, int cols, long seed) {
        long n = (long) rows * cols;
        MemorySegment seg = Arena.ofAuto().allocate(n * dtype.bytes(), 64);
        Parallel.forRange(rows, 16, (r0, r1) -> {
            long s = (seed + 1) * 0x9E3779B97F4A7C15L + r0 * 0xBF58476D1CE4E5B9L + 1;
            for (long i = (long) r0 * cols; i < (long) r1 * cols; i++) {
                s ^= s << 13; s ^= s >>> 7; s ^= s << 17;
                float v = ((s >>> 40) / (float) (1 << 24) - 0.5f) * 0.1f;
                switch (dtype) {
                    case F32 -> seg.setAtIndex(Tensor.F32_LE, i, v);
                    case BF16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Half.f32ToBf16(v));
                    default -> seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Half.f32ToF16(v));
                }
            }
        });
        return Weight.of(Tensor.of(dtype, new long[] {rows, cols}, seg));
    }
}
