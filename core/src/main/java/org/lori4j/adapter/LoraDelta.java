package org.lori4j.adapter;

import org.lori4j.tensor.MatMul;
import org.lori4j.tensor.Vec;
import org.lori4j.tensor.Parallel;

/**
 * The unmerged LoRA path of one projection, {@code y += w * s * (x A^T) B^T}, attached to a base
 * projection next to its frozen weight. Dense form: two products over the module's live A and B arrays
 * (a trainer's in-place updates of B are seen). Sparse form, for LoRI-S adapters whose B is mostly
 * zeros: B is snapshotted as CSR over its rows (per output feature, the nonzero rank columns and
 * values), so the second product costs n * nnz(B) instead of n * out * r.
 */
public final class LoraDelta {
    /** Below this fraction of nonzeros in B, {@link #auto} picks the sparse form. */
    public static final double SPARSE_DENSITY = 0.5;

    private final LoraAdapter.Module module;
    private final float scale;      // adapter weight * module scaling
    private final int sparseMaxRows; // calls with at most this many rows use the CSR form
    private final int[] rowStart;   // CSR [out + 1], null when dense
    private final short[] cols;     // CSR column (rank index, r <= 32767) per nonzero: 2 bytes, as memory is the cost
    private final float[] vals;     // CSR value per nonzero

    private LoraDelta(LoraAdapter.Module module, double weight, int sparseMaxRows) {
        this.module = module;
        this.scale = (float) (weight * module.scaling());
        this.sparseMaxRows = sparseMaxRows;
        if (sparseMaxRows <= 0) {
            rowStart = null; cols = null; vals = null;
            return;
        }
        int out = module.out(), r = module.r();
        float[] b = module.b();
        int nnz = 0;
        for (float v : b) if (v != 0f) nnz++;
        rowStart = new int[out + 1];
        if (r > Short.MAX_VALUE)
            throw new org.lori4j.io.LoriException(module.name() + ": rank " + r + " is too large for --lora-b sparse (at most "
                    + Short.MAX_VALUE + "); use auto or dense");
        cols = new short[nnz];
        vals = new float[nnz];
        int k = 0;
        for (int o = 0; o < out; o++) {
            rowStart[o] = k;
            for (int j = 0; j < r; j++) {
                float v = b[o * r + j];
                if (v != 0f) { cols[k] = (short) j; vals[k] = v; k++; }
            }
        }
        rowStart[out] = k;
    }

    /** The form MODE asks for. */
    public static LoraDelta of(LoraAdapter.Module m, double weight, ActiveAdapters.Mode mode) {
        return switch (mode) {
            case DENSE -> dense(m, weight);
            case SPARSE -> sparse(m, weight);
            case AUTO -> auto(m, weight);
        };
    }

    /** The dense form (reads the module's arrays on every call). */
    public static LoraDelta dense(LoraAdapter.Module m, double weight) { return new LoraDelta(m, weight, 0); }

    /** The sparse form (B copied to CSR now; later changes of B are not seen). */
    public static LoraDelta sparse(LoraAdapter.Module m, double weight) { return new LoraDelta(m, weight, Integer.MAX_VALUE); }

    /**
     * When at most {@link #SPARSE_DENSITY} of B is nonzero: CSR for calls of up to {@link #AUTO_SPARSE_MAX_ROWS}
     * rows (decode), the dense GEMM kernel beyond (prefill, where it is faster than gathering); else dense.
     */
    public static LoraDelta auto(LoraAdapter.Module m, double weight) {
        long nz = m.b().length - m.zerosB();
        boolean sparse = nz <= SPARSE_DENSITY * m.b().length && m.r() <= Short.MAX_VALUE;   // CSR columns are shorts
        return new LoraDelta(m, weight, sparse ? AUTO_SPARSE_MAX_ROWS : 0);
    }

    /** Rows up to which an automatic sparse delta uses CSR. */
    public static final int AUTO_SPARSE_MAX_ROWS = 8;

    public LoraAdapter.Module module() { return module; }
    public boolean isSparse() { return rowStart != null; }
    public float scale() { return scale; }

    /** Multiply-adds per parallel chunk: below this a chunk is not worth a hand-off to another thread. */
    private static final int CHUNK_WORK = 1 << 16;

    /** From this many rows on, B's product goes through the GEMM kernel; below it, row dot products win. */
    private static final int GEMM_MIN_ROWS = 4;

    /**
     * Adds this delta for the rows x[n, in] into y[n, out]: t = scale * x A^T by the GEMM kernel, then
     * y += t B^T — for decode-sized n as one dot product of length r per output (measured faster than the
     * general kernel for this thin shape), else by the GEMM kernel; sparse B walks its CSR rows.
     */
    public void forward(float[] y, float[] x, int n) {
        int r = module.r(), in = module.in(), out = module.out();
        float[] t = new float[n * r];
        MatMul.gemm(t, x, module.a(), n, in, r, false, true, scale, false);
        if (rowStart != null && n <= sparseMaxRows) {
            long nnz = vals.length;
            Parallel.forRange(out, chunk((int) Math.max(1, n * nnz / Math.max(1, out))), (o0, o1) -> sparseRows(y, t, n, o0, o1));
        } else if (n >= GEMM_MIN_ROWS) {
            MatMul.gemm(y, t, module.b(), n, r, out, false, true, 1f, true);
        } else {
            float[] b = module.b();
            Parallel.forRange(out, chunk(n * r), (o0, o1) -> {
                for (int o = o0; o < o1; o++)
                    for (int i = 0; i < n; i++) y[i * out + o] += Vec.dot(t, i * r, b, o * r, r);
            });
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
