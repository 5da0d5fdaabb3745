package org.lori4j.adapter;

import org.lori4j.tensor.Vec;
import org.lori4j.tensor.Parallel;

/**
 * The unmerged LoRA path of one projection, {@code y += w * s * (x A^T) B^T}, attached to a base
 * projection next to its frozen weight. Dense form: two row-dot-product passes over the module's live A and B arrays
 * (a trainer's in-place updates of B are seen). Sparse form, for LoRI-S adapters whose B is mostly
 * zeros: B is snapshotted as CSR over its rows (per output feature, the nonzero rank columns and
 * values), so the second product costs n * nnz(B) instead of n * out * r.
 */
public final class LoraDelta {
    /** Below this fraction of nonzeros in B, {@link #auto} picks the sparse form. */
    public static final double SPARSE_DENSITY = 0.5;

    private final LoraAdapter.Module module;
    private final float scale;      // adapter weight * module scaling
    private final int[] rowStart;   // CSR [out + 1], null when dense
    private final int[] cols;       // CSR column (rank index) per nonzero
    private final float[] vals;     // CSR value per nonzero

    private LoraDelta(LoraAdapter.Module module, double weight, boolean sparse) {
        this.module = module;
        this.scale = (float) (weight * module.scaling());
        if (!sparse) {
            rowStart = null; cols = null; vals = null;
            return;
        }
        int out = module.out(), r = module.r();
        float[] b = module.b();
        int nnz = 0;
        for (float v : b) if (v != 0f) nnz++;
        rowStart = new int[out + 1];
        cols = new int[nnz];
        vals = new float[nnz];
        int k = 0;
        for (int o = 0; o < out; o++) {
            rowStart[o] = k;
            for (int j = 0; j < r; j++) {
                float v = b[o * r + j];
                if (v != 0f) { cols[k] = j; vals[k] = v; k++; }
            }
        }
        rowStart[out] = k;
    }

    /** The dense form (reads the module's arrays on every call). */
    public static LoraDelta dense(LoraAdapter.Module m, double weight) { return new LoraDelta(m, weight, false); }

    /** The sparse form (B copied to CSR now; later changes of B are not seen). */
    public static LoraDelta sparse(LoraAdapter.Module m, double weight) { return new LoraDelta(m, weight, true); }

    /** Sparse when at most {@link #SPARSE_DENSITY} of B is nonzero, dense otherwise. */
    public static LoraDelta auto(LoraAdapter.Module m, double weight) {
        long nz = m.b().length - m.zerosB();
        return new LoraDelta(m, weight, nz <= SPARSE_DENSITY * m.b().length);
    }

    public LoraAdapter.Module module() { return module; }
    public boolean isSparse() { return rowStart != null; }
    public float scale() { return scale; }

    /** Multiply-adds per parallel chunk: below this a chunk is not worth a hand-off to another thread. */
    private static final int CHUNK_WORK = 1 << 16;

    /**
     * Adds this delta for the rows x[n, in] into y[n, out]. Both products are row dot products
     * (Vec.dot): A's rows and B's rows are each read once per call and reused across the n tokens,
     * which for the thin shapes of LoRA (r << in, out) beats a general GEMM at every n measured.
     */
    public void forward(float[] y, float[] x, int n) {
        int r = module.r(), in = module.in(), out = module.out();
        float[] a = module.a();
        float[] t = new float[n * r];
        // t[n, r] = scale * x[n, in] A^T
        Parallel.forRange(r, chunk(n * in), (j0, j1) -> {
            for (int j = j0; j < j1; j++)
                for (int i = 0; i < n; i++) t[i * r + j] = scale * Vec.dot(x, i * in, a, j * in, in);
        });
        if (rowStart == null) {
            // y[n, out] += t[n, r] B^T
            float[] b = module.b();
            Parallel.forRange(out, chunk(n * r), (o0, o1) -> {
                for (int o = o0; o < o1; o++)
                    for (int i = 0; i < n; i++) y[i * out + o] += Vec.dot(t, i * r, b, o * r, r);
            });
        } else {
            long nnz = vals.length;
            Parallel.forRange(out, chunk((int) Math.max(1, n * nnz / Math.max(1, out))), (o0, o1) -> sparseRows(y, t, n, o0, o1));
        }
    }

    private static int chunk(int workPerIndex) {
        return Math.max(1, CHUNK_WORK / Math.max(1, workPerIndex));
    }

    /** y[i, o] += sum over the nonzeros (j, v) of row o of B: t[i, j] * v, for outputs [o0, o1). */
    private void sparseRows(float[] y, float[] t, int n, int o0, int o1) {
        int r = module.r(), out = module.out();
        for (int o = o0; o < o1; o++) {
            int k0 = rowStart[o], k1 = rowStart[o + 1];
            if (k0 == k1) continue;
            for (int i = 0; i < n; i++) {
                int ti = i * r;
                float s = 0;
                for (int k = k0; k < k1; k++) s += t[ti + cols[k]] * vals[k];
                y[i * out + o] += s;
            }
        }
    }

    /** The reference: y += scale * (x A^T) B^T with plain loops in double (tests compare both forms to it). */
    static void forwardReference(LoraAdapter.Module m, double scale, float[] y, float[] x, int n) {
        int r = m.r(), in = m.in(), out = m.out();
        for (int i = 0; i < n; i++) {
            double[] t = new double[r];
            for (int j = 0; j < r; j++) {
                double s = 0;
                for (int c = 0; c < in; c++) s += (double) x[i * in + c] * m.a()[j * in + c];
                t[j] = s * scale;
            }
            for (int o = 0; o < out; o++) {
                double s = 0;
                for (int j = 0; j < r; j++) s += t[j] * m.b()[o * r + j];
                y[i * out + o] += (float) s;
            }
        }
    }
}
