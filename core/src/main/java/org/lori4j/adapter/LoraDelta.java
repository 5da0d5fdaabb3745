package org.lori4j.adapter;

import org.lori4j.tensor.MatMul;
import org.lori4j.tensor.Vec;
import org.lori4j.tensor.Parallel;
import org.lori4j.tensor.ThreadScratch;

/**
 * The unmerged LoRA path of one projection, {@code y += w * s * (x A^T) B^T}, attached to a base
 * projection next to its frozen weight. Dense form: two products over the module's live A and B arrays
 * (a trainer's in-place updates of B are seen). Sparse form, for LoRI-S adapters whose B is mostly
 * zeros: B's nonzeros are snapshotted column by column (per rank index, the output features and values), so
 * the second product visits only the nonzeros: n * nnz(B) multiply-adds instead of n * out * r.
 */
public final class LoraDelta {
    /** Below this fraction of nonzeros in B, {@link #auto} picks the sparse form. */
    public static final double SPARSE_DENSITY = 0.5;

    private final LoraAdapter.Module module;
    private final float scale;      // adapter weight * module scaling
    private final int sparseMaxRows; // calls with at most this many rows use the sparse form
    private final int[] colStart;   // [r + 1]: the nonzeros of rank column j are [colStart[j], colStart[j + 1]); null when dense
    private final char[] rows;      // output feature per nonzero (out <= 65535): 2 bytes, as memory is the cost
    private final float[] vals;     // value per nonzero
    private final boolean[] live;   // per output feature: whether its row of B has a nonzero

    private LoraDelta(LoraAdapter.Module module, double weight, int sparseMaxRows) {
        this.module = module;
        this.scale = (float) (weight * module.scaling());
        this.sparseMaxRows = sparseMaxRows;
        if (sparseMaxRows <= 0) {
            colStart = null; rows = null; vals = null; live = null;
            return;
        }
        int out = module.out(), r = module.r();
        if (out > Character.MAX_VALUE)
            throw new org.lori4j.io.LoriException(module.name() + ": " + out + " output features are too many for --lora-b sparse (at most "
                    + (int) Character.MAX_VALUE + "); use auto or dense");
        float[] b = module.b();
        int nnz = 0;
        for (float v : b) if (v != 0f) nnz++;
        colStart = new int[r + 1];
        rows = new char[nnz];
        vals = new float[nnz];
        live = new boolean[out];
        int k = 0;
        for (int j = 0; j < r; j++) {
            colStart[j] = k;
            for (int o = 0; o < out; o++) {
                float v = b[o * r + j];
                if (v != 0f) { rows[k] = (char) o; vals[k] = v; live[o] = true; k++; }
            }
        }
        colStart[r] = k;
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

    /** The sparse form (B's nonzeros copied now; later changes of B are not seen). */
    public static LoraDelta sparse(LoraAdapter.Module m, double weight) { return new LoraDelta(m, weight, Integer.MAX_VALUE); }

    /**
     * When at most {@link #SPARSE_DENSITY} of B is nonzero: the sparse form for calls of up to {@link #AUTO_SPARSE_MAX_ROWS}
     * rows (decode), the dense GEMM kernel beyond (prefill, where it is faster than gathering); else dense.
     */
    public static LoraDelta auto(LoraAdapter.Module m, double weight) {
        long nz = m.b().length - m.zerosB();
        boolean sparse = nz <= SPARSE_DENSITY * m.b().length && m.out() <= Character.MAX_VALUE;   // output indices are chars
        return new LoraDelta(m, weight, sparse ? AUTO_SPARSE_MAX_ROWS : 0);
    }

    /** Rows up to which an automatic sparse delta uses the sparse form. */
    public static final int AUTO_SPARSE_MAX_ROWS = 8;

    public LoraAdapter.Module module() { return module; }
    public boolean isSparse() { return colStart != null; }
    public float scale() { return scale; }

    /** Multiply-adds per parallel chunk: below this a chunk is not worth a hand-off to another thread. */
    private static final int CHUNK_WORK = 1 << 16;

    /** From this many rows on, B's product goes through the GEMM kernel; below it, row dot products win. */
    private static final int GEMM_MIN_ROWS = 4;

    /**
     * Adds this delta for the rows x[n, in] into y[n, out]: t = scale * x A^T by the GEMM kernel, then
     * y += t B^T — for decode-sized n as one dot product of length r per output (measured faster than the
     * general kernel for this thin shape), else by the GEMM kernel; sparse B visits its nonzeros.
     */
    public void forward(float[] y, float[] x, int n) {
        int r = module.r(), in = module.in(), out = module.out();
        float[] t = new float[n * r];
        MatMul.gemm(t, x, module.a(), n, in, r, false, true, scale, false);
        if (colStart != null && n <= sparseMaxRows) {
            float[] sums = SUMS.get(n * out);
            Parallel.forRange(n, chunk(Math.max(vals.length, out)), (i0, i1) -> sparseRows(y, null, t, sums, i0, i1));
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

    /** Each thread's sums of the sparse form, n * out floats. */
    private static final ThreadScratch SUMS = new ThreadScratch();

    /**
     * As {@link #forward} for the rows {@code rowIdx[0, count)} of x [*, in] and y [*, out] only (one adapter's rows in
     * a batch of mixed adapters), without gathering them. The sparse form computes each row as a decode step of
     * {@link #forward} with one row does (t = scale * x A^T by one dot product per rank, then the nonzeros of B), so a
     * row's result does not depend on how many rows share the call; other forms gather the rows and run {@link #forward}.
     */
    public void forwardRows(float[] y, float[] x, int[] rowIdx, int count) {
        int r = module.r(), in = module.in(), out = module.out();
        if (colStart == null || count > sparseMaxRows) {
            float[] xs = new float[count * in], ys = new float[count * out];
            for (int i = 0; i < count; i++) System.arraycopy(x, rowIdx[i] * in, xs, i * in, in);
            forward(ys, xs, count);
            for (int i = 0; i < count; i++) Vec.add(y, rowIdx[i] * out, y, rowIdx[i] * out, ys, i * out, out);
            return;
        }
        float[] a = module.a();
        float[] t = new float[count * r];
        for (int i = 0; i < count; i++)
            for (int j = 0; j < r; j++) t[i * r + j] = scale * Vec.dot(x, rowIdx[i] * in, a, j * in, in);
        float[] sums = SUMS.get(count * out);
        Parallel.forRange(count, chunk(Math.max(vals.length, out)), (i0, i1) -> sparseRows(y, rowIdx, t, sums, i0, i1));
    }

    private static int chunk(int workPerIndex) {
        return Math.max(1, CHUNK_WORK / Math.max(1, workPerIndex));
    }

    /**
     * y[row i, o] += (sum over the nonzeros v = B[o, j] in increasing j of t[i, j] * v) for i in [i0, i1) (row i of y:
     * rowIdx[i], or i when rowIdx is null): each output's
     * sum starts at 0 in sums and gathers its terms column by column, so only the nonzeros are visited (the same
     * float operations in the same order as a walk along the row); outputs whose row of B is all zeros stay as they are.
     */
    private void sparseRows(float[] y, int[] rowIdx, float[] t, float[] sums, int i0, int i1) {
        int r = module.r(), out = module.out();
        for (int i = i0; i < i1; i++) {
            int so = i * out, ti = i * r, yo = (rowIdx == null ? i : rowIdx[i]) * out;
            java.util.Arrays.fill(sums, so, so + out, 0f);
            for (int j = 0; j < r; j++) {
                float tj = t[ti + j];
                for (int k = colStart[j], e = colStart[j + 1]; k < e; k++) sums[so + rows[k]] += tj * vals[k];
            }
            for (int o = 0; o < out; o++) if (live[o]) y[yo + o] += sums[so + o];
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
