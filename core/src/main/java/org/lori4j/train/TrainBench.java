package org.lori4j.train;

import org.lori4j.io.LlamaConfig;
import org.lori4j.model.LlamaModel;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Training throughput as PyTorch's LoRA fine-tuning is usually measured: one batch of random token
 * sequences (every position scored), forward + backward + clipping + AdamW on LoRA tensors of rank r on
 * all seven projections with A frozen (LoRI-D), timed per step after warm-up steps.
 */
public final class TrainBench {
    /**
     * Step wall times and process CPU times in seconds, and the tokens per step. On a shared, overloaded
     * machine tokens per CPU-second times the thread count estimates the speed on an idle one.
     */
    public record Result(long tokensPerStep, double[] seconds, double[] cpuSeconds) {
        public double[] tokensPerSecond() {
            double[] r = new double[seconds.length];
            for (int i = 0; i < r.length; i++) r[i] = tokensPerStep / seconds[i];
            return r;
        }

        /** tokens / (CPU seconds / threads): the wall-clock speed the step would have with the threads to itself. */
        public double[] tokensPerSecondOfCpu(int threads) {
            double[] r = new double[cpuSeconds.length];
            for (int i = 0; i < r.length; i++) r[i] = tokensPerStep / (cpuSeconds[i] / threads);
            return r;
        }
    }

    private TrainBench() {}

    public static Result run(LlamaModel base, int batch, int seq, int rank, int warmup, int steps) {
        LlamaConfig c = base.config();
        TrainModel model = new TrainModel(base);
        SplittableRandom rnd = new SplittableRandom(1);
        for (int l = 0; l < c.numLayers(); l++)
            for (Proj p : Proj.values()) {
                int in = p.in(c), out = p.out(c);
                float[] a = new float[rank * in];
                double bound = 1 / Math.sqrt(in);
                for (int i = 0; i < a.length; i++) a[i] = (float) ((2 * rnd.nextDouble() - 1) * bound);
                model.attach(new LoraSlot(l, p, in, out, rank, 2f, a, new float[out * rank], false, true, null));
            }
        int[][] ids = new int[batch][seq];
        for (int[] row : ids) for (int t = 0; t < seq; t++) row[t] = rnd.nextInt(c.vocabSize());
        PackedBatch mb = PackedBatch.ofExamples(ids, ids);
        List<float[]> params = new ArrayList<>(), grads = new ArrayList<>();
        List<AdamW> opts = new ArrayList<>();
        for (LoraSlot s : model.slots()) {
            params.add(s.b());
            grads.add(s.gradB());
            opts.add(new AdamW(AdamW.Config.lori(), s.b().length));
        }
        double[] secs = new double[steps], cpu = new double[steps];
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        for (int i = -warmup; i < steps; i++) {
            long t0 = System.nanoTime(), c0 = os.getProcessCpuTime();
            for (float[] g : grads) java.util.Arrays.fill(g, 0f);
            model.forwardBackward(mb, 1f / batch);
            GradClip.clip(grads, GradClip.Strategy.EVEN, 1.0);
            for (int j = 0; j < params.size(); j++) opts.get(j).update(params.get(j), grads.get(j), 1e-4, null);
            if (i >= 0) {
                secs[i] = (System.nanoTime() - t0) / 1e9;
                cpu[i] = (os.getProcessCpuTime() - c0) / 1e9;
            }
        }
        return new Result((long) batch * seq, secs, cpu);
    }
}
