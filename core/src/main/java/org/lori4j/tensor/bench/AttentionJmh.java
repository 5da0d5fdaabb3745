package org.lori4j.tensor.bench;

import java.util.concurrent.TimeUnit;

import org.lori4j.tensor.KernelBench;
import org.lori4j.tensor.Vec;
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
 * JMH benchmark of decode attention on real model shapes: one decode row's attention over one layer (every query
 * head along the keys of a channel-major KV cache, as {@code LlamaModel} decodes), for TinyLlama-1.1B (32 query / 4
 * kv heads of head_dim 64) and Llama-3-8B (32 / 8 of 128) at several context lengths, one head per call
 * ({@link Vec#attendAlongKeys}) and four heads sharing a kv head per call ({@link Vec#attendAlongKeys4}, what the
 * model runs for these shapes). Times per call in
 * microseconds, one thread. Run: {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
 * -Dlori.threads=1 -cp target/lori4j.jar org.openjdk.jmh.Main AttentionJmh -f 1}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Dlori.threads=1"})
public class AttentionJmh {
    /** heads/kv heads/head_dim. */
    @Param({"32/4/64", "32/8/128"})
    public String shape;

    /** Positions the decode row attends to. */
    @Param({"512", "2048"})
    public int keys;

    private int heads, kvHeads, headDim, cap;
    private float[] q, out, k, v, scores, scores4;

    @Setup(Level.Trial)
    public void setUp() {
        String[] p = shape.split("/");
        heads = Integer.parseInt(p[0]);
        kvHeads = Integer.parseInt(p[1]);
        headDim = Integer.parseInt(p[2]);
        cap = Vec.roundUpToLanes(keys);
        q = KernelBench.randomFloats(heads * headDim, 1);
        out = new float[heads * headDim];
        k = KernelBench.randomFloats(kvHeads * headDim * cap, 2);
        v = KernelBench.randomFloats(kvHeads * headDim * cap, 3);
        scores = new float[cap];
        scores4 = new float[4 * cap];
    }

    /** One layer's attention for one decode row. */
    @Benchmark
    public float decodeRowOneLayer() {
        float scale = (float) (1 / Math.sqrt(headDim));
        int group = heads / kvHeads;
        for (int h = 0; h < heads; h++) {
            int chan = (h / group) * headDim * cap;
            Vec.attendAlongKeys(out, h * headDim, q, h * headDim, scale, k, chan, v, chan, cap, headDim, keys, scores);
        }
        return out[0];
    }

    /** The same with {@link Vec#attendAlongKeys4}: each group of four query heads sharing a kv head in one call. */
    @Benchmark
    public float decodeRowOneLayerFused() {
        float scale = (float) (1 / Math.sqrt(headDim));
        int group = heads / kvHeads;
        for (int h = 0; h < heads; h += 4) {
            int chan = (h / group) * headDim * cap;
            Vec.attendAlongKeys4(out, h * headDim, q, h * headDim, scale, k, chan, v, chan, cap, headDim, keys, scores4);
        }
        return out[0];
    }
}
