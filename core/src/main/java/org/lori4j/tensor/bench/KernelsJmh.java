package org.lori4j.tensor.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.lori4j.tensor.DType;
import org.lori4j.tensor.KernelBench;
import org.lori4j.tensor.MatMul;
import org.lori4j.tensor.Weight;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH benchmarks of the kernels on TinyLlama-1.1B shapes (hidden 2048, kv 256, ffn 5632,
 * vocab 32000). Times are per call; convert with the bytes / FLOPs in each method's comment
 * (or use {@link KernelBench}, which reports GB/s and GFLOP/s directly). Run:
 * {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
 * -cp target/lori4j.jar org.openjdk.jmh.Main KernelsJmh -f 1}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class KernelsJmh {
    @Param({"BF16", "F32"})
    public String dtype;

    /** All 22 layers' projections plus the LM head: 2.07 GB (bf16) streamed per decodeToken call. */
    private final List<Weight> model = new ArrayList<>();
    private Weight ffnUp;
    private Weight ffnDown;
    private float[] x1, y1, x256, y256, dy512, dx512;
    private float[] loraX, loraA, loraH;

    @Setup(Level.Trial)
    public void setUp() {
        DType dt = DType.valueOf(dtype);
        KernelBench.Shape s = KernelBench.Shape.TINYLLAMA;
        long seed = 0;
        for (int l = 0; l < s.layers(); l++)
            for (int[] m : s.layerMatrices()) model.add(KernelBench.randomWeight(dt, m[0], m[1], seed++));
        model.add(KernelBench.randomWeight(dt, s.vocab(), s.hidden(), seed++));
        ffnUp = model.get(4);
        ffnDown = model.get(6);
        x1 = KernelBench.randomFloats(5632, 1);
        y1 = new float[32000];
        x256 = KernelBench.randomFloats(256 * 5632, 2);
        y256 = new float[256 * 5632];
        dy512 = KernelBench.randomFloats(512 * 5632, 3);
        dx512 = new float[512 * 2048];
        loraX = KernelBench.randomFloats(512 * 2048, 4);
        loraA = KernelBench.randomFloats(16 * 2048, 5);
        loraH = new float[512 * 16];
    }

    /** One decode token's GEMVs: GB/s = 2.07 (bf16) or 4.14 (f32) GB / time. */
    @Benchmark
    public float decodeToken() {
        for (Weight w : model) MatMul.forward(y1, x1, 1, w);
        return y1[0];
    }

    /** Prefill 256 tokens through up_proj: 2 * 256 * 5632 * 2048 = 5.91 GFLOP. */
    @Benchmark
    public float prefillUp256() {
        MatMul.forward(y256, x256, 256, ffnUp);
        return y256[0];
    }

    /** Prefill 256 tokens through down_proj: 5.91 GFLOP. */
    @Benchmark
    public float prefillDown256() {
        MatMul.forward(y256, x256, 256, ffnDown);
        return y256[0];
    }

    /** Backprop 512 tokens through up_proj, dx = dy W: 11.8 GFLOP. */
    @Benchmark
    public float backwardUp512() {
        MatMul.backwardInput(dx512, dy512, 512, ffnUp, false);
        return dx512[0];
    }

    /** LoRA down-projection x A^T, 512 tokens, rank 16: 33.6 MFLOP. */
    @Benchmark
    public float loraXAt512() {
        MatMul.gemm(loraH, loraX, loraA, 512, 2048, 16, false, true, 1f, false);
        return loraH[0];
    }
}
