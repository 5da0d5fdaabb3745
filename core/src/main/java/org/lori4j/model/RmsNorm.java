package org.lori4j.model;

import org.lori4j.tensor.Parallel;
import org.lori4j.tensor.Vec;

/**
 * Root-mean-square layer norm as Hugging Face's LlamaRMSNorm computes it in f32:
 * {@code out = w * x / sqrt(mean(x^2) + eps)} for each row.
 *
 * <p>Legend: N = rows (B*T tokens), C = channels (hidden size).
 */
public final class RmsNorm {
    private RmsNorm() {}

    /**
     * out[N, C] = w[C] * x[N, C] * rstd[N]; rstd[N] = 1 / sqrt(mean(x^2) + eps) is stored when
     * not null (the backward pass needs it). out may be x (in place).
     */
    public static void forward(float[] out, float[] rstd, float[] x, float[] w, int N, int C, float eps) {
        Parallel.forRange(N, Math.max(1, 32768 / C), (n0, n1) -> {
            for (int n = n0; n < n1; n++) {
                int o = n * C;
                float r = (float) (1.0 / Math.sqrt(Vec.sumSquares(x, o, C) / C + eps));
                if (rstd != null) rstd[n] = r;
                for (int c = 0; c < C; c++) out[o + c] = w[c] * (x[o + c] * r);
            }
        });
    }

    /** The plain-loop reference of {@link #forward} (sum of squares in double), for tests. */
    static void forwardReference(float[] out, float[] rstd, float[] x, float[] w, int N, int C, float eps) {
        for (int n = 0; n < N; n++) {
            int o = n * C;
            double ss = 0;
            for (int c = 0; c < C; c++) ss += x[o + c] * x[o + c];
            float r = (float) (1.0 / Math.sqrt((float) (ss / C) + eps));
            if (rstd != null) rstd[n] = r;
            for (int c = 0; c < C; c++) out[o + c] = w[c] * (x[o + c] * r);
        }
    }

    /**
     * Backward w.r.t. the input only (the norm weight is frozen in LoRA/LoRI training), using the
     * rstd the forward stored. With xh = x*rstd and g = dout*w: {@code dx = rstd * (g - xh * mean(g * xh))}.
     * dx[N, C] is overwritten, or added to when {@code accumulate}.
     */
    public static void backward(float[] dx, float[] dout, float[] x, float[] w, float[] rstd, int N, int C, boolean accumulate) {
        for (int n = 0; n < N; n++) {
            int o = n * C;
            float r = rstd[n];
            double dot = 0;   // sum over channels of g * xh
            for (int c = 0; c < C; c++) dot += (double) (dout[o + c] * w[c]) * (x[o + c] * r);
            float mean = (float) (dot / C);
            for (int c = 0; c < C; c++) {
                float d = r * (dout[o + c] * w[c] - x[o + c] * r * mean);
                dx[o + c] = accumulate ? dx[o + c] + d : d;
            }
        }
    }
}
