package org.lori4j.tensor.bench;

import java.util.concurrent.TimeUnit;

import org.lori4j.tensor.DType;
import org.lori4j.tensor.KernelBench;
import org.lori4j.tensor.MatMul;
import org.lori4j.tensor.Vec;
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
 * JMH benchmarks of the kernels at the embedded stories260K's shapes (hidden 64, ffn 172, 8 query / 4 kv heads of
 * head_dim 8), where calls are short and fixed costs show: one decode row's attention over one layer (8 heads along
 * the keys of a channel-major cache) and the f32 small-batch forward at 4 rows (a batch-8 step on 2 cores runs two
 * groups of 4). Times are per call, in nanoseconds, on one thread. Run:
 * {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Dlori.threads=1
 * -cp target/lori4j.jar org.openjdk.jmh.Main SmallModelJmh -f 1}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Dlori.threads=1"})
public class SmallModelJmh {
    private static final int D = 8, HEADS = 8, KV_HEADS = 4;

    /** Keys the decode row attends to (a HEx-PHI prompt of ~113 tokens plus up to 64 new ones). */
    @State(Scope.Benchmark)
    public static class Keys {
        @Param({"60", "140"})
        public int keys;
    }

    private float[] q, out, k, v, scores;
    private int cap;
    private Weight up, down;
    private float[] x64, y172, x172, y64;

    @Setup(Level.Trial)
    public void setUp() {
        cap = Vec.roundUpToLanes(177);
        q = KernelBench.randomFloats(HEADS * D, 1);
        out = new float[HEADS * D];
        k = KernelBench.randomFloats(KV_HEADS * D * cap, 2);
        v = KernelBench.randomFloats(KV_HEADS * D * cap, 3);
        scores = new float[cap];
        up = KernelBench.randomWeight(DType.F32, 172, 64, 4);
        down = KernelBench.randomWeight(DType.F32, 64, 172, 5);
        x64 = KernelBench.randomFloats(4 * 64, 6);
        y172 = new float[4 * 172];
        x172 = KernelBench.randomFloats(4 * 172, 7);
        y64 = new float[4 * 64];
    }

    /** One layer's attention for one decode row: 8 heads, each over `keys` positions. */
    @Benchmark
    public float attentionRowOneLayer(Keys keys) {
        float scale = (float) (1 / Math.sqrt(D));
        for (int h = 0; h < HEADS; h++) {
            int chan = (h / (HEADS / KV_HEADS)) * D * cap;
            Vec.attendAlongKeys(out, h * D, q, h * D, scale, k, chan, v, chan, cap, D, keys.keys, scores);
        }
        return out[0];
    }

    /** up_proj (172 x 64) on 4 rows. */
    @Benchmark
    public float smallBatchUp4() {
        MatMul.forward(y172, x64, 4, up);
        return y172[0];
    }

    /** down_proj (64 x 172) on 4 rows. */
    @Benchmark
    public float smallBatchDown4() {
        MatMul.forward(y64, x172, 4, down);
        return y64[0];
    }
}
