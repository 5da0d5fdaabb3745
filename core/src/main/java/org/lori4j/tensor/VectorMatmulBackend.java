package org.lori4j.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The default {@link MatmulBackend}: pure Java with the Vector API, parallel over {@link Parallel}.
 *
 * <p>Decode (n = 1) streams the weight panels once with a GEMV that widens bf16/f16 in
 * registers; a forward with 2..SMALL_N rows (a batched decode step) streams them once too, with 8 x 32
 * accumulators (4 x 32 for a group of at most 4 rows) over rows of x interleaved so each step's
 * broadcasts share a cache line.
 * Everything else runs one GEMM driver: the right operand is packed, one
 * [KC x NR] f32 block at a time, into an L1-resident buffer (a weight panel widened, or a slice
 * of a float[] matrix copied or transposed), and an MR x NR = 8 x 32 register-tiled
 * micro-kernel (16 accumulators, all in one method, see PERF.md) multiplies it with MR rows of
 * the left operand read in place; blocks at most L columns wide (rank-16 LoRA products) use an
 * MR x L tile instead. Because every packed block is reused by all m/8 row tiles, packing costs
 * O(k nn) against O(m k nn) multiply-adds.
 */
public final class VectorMatmulBackend implements MatmulBackend {
    private static final VectorSpecies<Float> F = Convert.F;
    private static final VectorSpecies<Integer> I = Convert.I;
    private static final int L = Weight.L;
    private static final int NR = Weight.NR;
    /** Rows of the register tile. */
    private static final int MR = 8;
    /** Depth of a packed block: KC x NR floats = 32 KiB with NR = 32, fits L1 next to A rows. */
    private static final int KC = 256;
    /** Below this many rows of op(A), gemm skips packing and uses dot/axpy loops. */
    private static final int THIN_M = 4;
    /** Up to this many rows of x, forward streams the weights like the GEMV instead of packing (decode batches). */
    private static final int SMALL_N = 16;

    @Override
    public String name() {
        return "java-vector";
    }

    // ------------------------------------------------------------------ entry points

    @Override
    public void forward(float[] y, int yOff, float[] x, int xOff, int n, Weight w) {
        if (n == 1) {
            gemv(y, yOff, x, xOff, w);
            return;
        }
        if (n <= SMALL_N) {
            smallN(y, yOff, x, xOff, n, w);
            return;
        }
        int in = w.cols();
        drive(n, in, w.rows(), x, xOff, in, 1, new WeightTransposed(w), y, yOff, w.rows(), 1f, false);
    }

    @Override
    public void backwardInput(float[] dx, int dxOff, float[] dy, int dyOff, int n, Weight w, boolean accumulate) {
        int out = w.rows();
        drive(n, out, w.cols(), dy, dyOff, out, 1, new WeightRows(w), dx, dxOff, w.cols(), 1f, accumulate);
    }

    @Override
    public void gemm(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                     int m, int k, int nn, boolean transA, boolean transB, float alpha, boolean accumulate) {
        int ars = transA ? 1 : lda, acs = transA ? lda : 1;
        if (k == 0) {
            if (!accumulate) for (int i = 0; i < m; i++) Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + nn, 0f);
            return;
        }
        if (m < THIN_M) {
            thinGemm(c, cOff, ldc, a, aOff, ars, acs, b, bOff, ldb, m, k, nn, transB, alpha, accumulate);
            return;
        }
        PanelSource src = transB ? new ArrayTransposed(b, bOff, ldb, nn) : new ArrayRows(b, bOff, ldb, nn);
        drive(m, k, nn, a, aOff, ars, acs, src, c, cOff, ldc, alpha, accumulate);
    }

    @Override
    public void warmUp() {
        // Enough calls and loop trips for C2 (tier 4) to compile each kernel and the drivers.
        for (DType dt : new DType[] {DType.BF16, DType.F32, DType.F16}) {
            Weight w = KernelBench.randomWeight(dt, 4 * NR + 3, 300, 1);
            float[] x = KernelBench.randomFloats(24 * 300, 2), y = new float[24 * (4 * NR + 3)];
            for (int r = 0; r < 120; r++) {
                forward(y, 0, x, 0, 1, w);
                forward(y, 0, x, 0, 24, w);
                forward(y, 0, x, 0, 8, w);
                forward(y, 0, x, 0, 4, w);   // groups of <= 4 rows take the kernel's other branch
                if (dt == DType.BF16 || r % 4 == 0) backwardInput(x, 0, y, 0, 24, w, r % 2 == 0);
            }
        }
        float[] a = KernelBench.randomFloats(40 * 300, 3), b = KernelBench.randomFloats(300 * 80, 4);
        float[] c = new float[40 * 80];
        for (int r = 0; r < 80; r++) {
            gemm(c, 0, 80, a, 0, 300, b, 0, 80, 40, 300, 80, false, false, 1f, false);
            gemm(c, 0, 16, a, 0, 300, b, 0, 300, 40, 300, 16, false, true, 1f, true);
            gemm(c, 0, 80, a, 0, 40, b, 0, 80, 40, 300, 80, true, false, 1f, false);
            gemm(c, 0, 80, a, 0, 300, b, 0, 300, 2, 300, 80, false, true, 1f, false);
        }
    }

    // ------------------------------------------------------------------ GEMV (decode)

    /** y[out] = W x, parallel over panels; the tail rows form one extra unit of work. */
    private static void gemv(float[] y, int yOff, float[] x, int xOff, Weight w) {
        int panels = w.panels(), in = w.cols(), rows = w.rows();
        int units = panels + (panels * NR < rows ? 1 : 0);
        MemorySegment seg = w.data();
        DType dt = w.dtype();
        Parallel.forRange(units, Parallel.minChunk((long) NR * in), (u0, u1) -> {
            int pEnd = Math.min(u1, panels);
            if (u0 < pEnd) {
                switch (dt) {
                    case F32 -> gemvF32(seg, in, x, xOff, y, yOff, u0, pEnd);
                    case BF16 -> gemvBf16(seg, in, x, xOff, y, yOff, u0, pEnd);
                    default -> gemvF16(seg, in, x, xOff, y, yOff, u0, pEnd);
                }
            }
            if (u1 > panels) {
                // the tail rows, as the zero-padded panel Weight keeps of them
                float[] t = new float[NR];
                switch (dt) {
                    case F32 -> gemvF32(w.tailPanel(), in, x, xOff, t, 0, 0, 1);
                    case BF16 -> gemvBf16(w.tailPanel(), in, x, xOff, t, 0, 0, 1);
                    default -> gemvF16(w.tailPanel(), in, x, xOff, t, 0, 0, 1);
                }
                System.arraycopy(t, 0, y, yOff + panels * NR, rows - panels * NR);
            }
        });
    }

    private static void gemvF32(MemorySegment w, int in, float[] x, int xOff, float[] y, int yOff, int p0, int p1) {
        long colBytes = NR * 4L;
        for (int p = p0; p < p1; p++) {
            long base = (long) p * in * colBytes;
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F), s3 = FloatVector.zero(F);
            FloatVector s4 = FloatVector.zero(F), s5 = FloatVector.zero(F), s6 = FloatVector.zero(F), s7 = FloatVector.zero(F);
            int k = 0;
            for (; k <= in - 4; k += 4) {
                long o = base + k * colBytes;
                FloatVector x0 = FloatVector.broadcast(F, x[xOff + k]);
                FloatVector x1 = FloatVector.broadcast(F, x[xOff + k + 1]);
                FloatVector x2 = FloatVector.broadcast(F, x[xOff + k + 2]);
                FloatVector x3 = FloatVector.broadcast(F, x[xOff + k + 3]);
                s0 = FloatVector.fromMemorySegment(F, w, o, Convert.LE).fma(x0, s0);
                s1 = FloatVector.fromMemorySegment(F, w, o + 4L * L, Convert.LE).fma(x0, s1);
                s2 = FloatVector.fromMemorySegment(F, w, o + colBytes, Convert.LE).fma(x1, s2);
                s3 = FloatVector.fromMemorySegment(F, w, o + colBytes + 4L * L, Convert.LE).fma(x1, s3);
                s4 = FloatVector.fromMemorySegment(F, w, o + 2 * colBytes, Convert.LE).fma(x2, s4);
                s5 = FloatVector.fromMemorySegment(F, w, o + 2 * colBytes + 4L * L, Convert.LE).fma(x2, s5);
                s6 = FloatVector.fromMemorySegment(F, w, o + 3 * colBytes, Convert.LE).fma(x3, s6);
                s7 = FloatVector.fromMemorySegment(F, w, o + 3 * colBytes + 4L * L, Convert.LE).fma(x3, s7);
            }
            for (; k < in; k++) {
                long o = base + k * colBytes;
                FloatVector x0 = FloatVector.broadcast(F, x[xOff + k]);
                s0 = FloatVector.fromMemorySegment(F, w, o, Convert.LE).fma(x0, s0);
                s1 = FloatVector.fromMemorySegment(F, w, o + 4L * L, Convert.LE).fma(x0, s1);
            }
            s0.add(s2).add(s4.add(s6)).intoArray(y, yOff + p * NR);
            s1.add(s3).add(s5.add(s7)).intoArray(y, yOff + p * NR + L);
        }
    }

    /** bf16 panels: int lane j holds row j (low half) and row j + L (high half); widening is shift / mask. */
    private static void gemvBf16(MemorySegment w, int in, float[] x, int xOff, float[] y, int yOff, int p0, int p1) {
        long colBytes = NR * 2L;
        for (int p = p0; p < p1; p++) {
            long base = (long) p * in * colBytes;
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F), s3 = FloatVector.zero(F);
            FloatVector s4 = FloatVector.zero(F), s5 = FloatVector.zero(F), s6 = FloatVector.zero(F), s7 = FloatVector.zero(F);
            int k = 0;
            for (; k <= in - 4; k += 4) {
                long o = base + k * colBytes;
                FloatVector x0 = FloatVector.broadcast(F, x[xOff + k]);
                FloatVector x1 = FloatVector.broadcast(F, x[xOff + k + 1]);
                FloatVector x2 = FloatVector.broadcast(F, x[xOff + k + 2]);
                FloatVector x3 = FloatVector.broadcast(F, x[xOff + k + 3]);
                IntVector w0 = IntVector.fromMemorySegment(I, w, o, Convert.LE);
                IntVector w1 = IntVector.fromMemorySegment(I, w, o + colBytes, Convert.LE);
                IntVector w2 = IntVector.fromMemorySegment(I, w, o + 2 * colBytes, Convert.LE);
                IntVector w3 = IntVector.fromMemorySegment(I, w, o + 3 * colBytes, Convert.LE);
                s0 = w0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x0, s0);
                s1 = w0.and(0xffff0000).reinterpretAsFloats().fma(x0, s1);
                s2 = w1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x1, s2);
                s3 = w1.and(0xffff0000).reinterpretAsFloats().fma(x1, s3);
                s4 = w2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x2, s4);
                s5 = w2.and(0xffff0000).reinterpretAsFloats().fma(x2, s5);
                s6 = w3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x3, s6);
                s7 = w3.and(0xffff0000).reinterpretAsFloats().fma(x3, s7);
            }
            for (; k < in; k++) {
                IntVector w0 = IntVector.fromMemorySegment(I, w, base + k * colBytes, Convert.LE);
                FloatVector x0 = FloatVector.broadcast(F, x[xOff + k]);
                s0 = w0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x0, s0);
                s1 = w0.and(0xffff0000).reinterpretAsFloats().fma(x0, s1);
            }
            s0.add(s2).add(s4.add(s6)).intoArray(y, yOff + p * NR);
            s1.add(s3).add(s5.add(s7)).intoArray(y, yOff + p * NR + L);
        }
    }

    private static void gemvF16(MemorySegment w, int in, float[] x, int xOff, float[] y, int yOff, int p0, int p1) {
        long colBytes = NR * 2L;
        for (int p = p0; p < p1; p++) {
            long base = (long) p * in * colBytes;
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F), s3 = FloatVector.zero(F);
            int k = 0;
            // f16 -> f32 written out inline (a helper method is too large for C2 to inline here,
            // which boxes the vectors): magnitude << 13 times 2^112 re-biases the exponent and
            // normalises subnormals exactly; exponent 31 (inf/NaN) is patched to 255; sign ORed.
            for (; k <= in - 2; k += 2) {
                IntVector h = IntVector.fromMemorySegment(I, w, base + k * colBytes, Convert.LE);
                IntVector g = IntVector.fromMemorySegment(I, w, base + (k + 1) * colBytes, Convert.LE);
                FloatVector x0 = FloatVector.broadcast(F, x[xOff + k]);
                FloatVector x1 = FloatVector.broadcast(F, x[xOff + k + 1]);
                IntVector mLo = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
                IntVector mHi = h.lanewise(VectorOperators.LSHR, 3).and(0x7fff << 13);
                IntVector nLo = g.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
                IntVector nHi = g.lanewise(VectorOperators.LSHR, 3).and(0x7fff << 13);
                s0 = mLo.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                        .lanewise(VectorOperators.OR, 0x7f800000, mLo.compare(VectorOperators.GE, 0x0f800000))
                        .or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats().fma(x0, s0);
                s1 = mHi.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                        .lanewise(VectorOperators.OR, 0x7f800000, mHi.compare(VectorOperators.GE, 0x0f800000))
                        .or(h.and(0x80000000)).reinterpretAsFloats().fma(x0, s1);
                s2 = nLo.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                        .lanewise(VectorOperators.OR, 0x7f800000, nLo.compare(VectorOperators.GE, 0x0f800000))
                        .or(g.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats().fma(x1, s2);
                s3 = nHi.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                        .lanewise(VectorOperators.OR, 0x7f800000, nHi.compare(VectorOperators.GE, 0x0f800000))
                        .or(g.and(0x80000000)).reinterpretAsFloats().fma(x1, s3);
            }
            for (; k < in; k++) {
                IntVector h = IntVector.fromMemorySegment(I, w, base + k * colBytes, Convert.LE);
                FloatVector x0 = FloatVector.broadcast(F, x[xOff + k]);
                IntVector mLo = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
                IntVector mHi = h.lanewise(VectorOperators.LSHR, 3).and(0x7fff << 13);
                FloatVector lo = mLo.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                        .lanewise(VectorOperators.OR, 0x7f800000, mLo.compare(VectorOperators.GE, 0x0f800000))
                        .or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
                FloatVector hi = mHi.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                        .lanewise(VectorOperators.OR, 0x7f800000, mHi.compare(VectorOperators.GE, 0x0f800000))
                        .or(h.and(0x80000000)).reinterpretAsFloats();
                s0 = lo.fma(x0, s0);
                s1 = hi.fma(x0, s1);
            }
            s0.add(s2).intoArray(y, yOff + p * NR);
            s1.add(s3).intoArray(y, yOff + p * NR + L);
        }
    }

    // ------------------------------------------------------------------ small-n forward (batched decode)

    /**
     * y[n, out] = x[n, in] W^T for 2 <= n <= SMALL_N: streams each weight panel once (per group of
     * MR rows of x, the later groups re-read it from L2), widening in registers, with MR x NR
     * accumulators; parallel over panels like {@link #gemv}, so it stays weight-bandwidth-bound.
     */
    private static void smallN(float[] y, int yOff, float[] x, int xOff, int n, Weight w) {
        int panels = w.panels(), in = w.cols(), rows = w.rows();
        int units = panels + (panels * NR < rows ? 1 : 0);
        MemorySegment seg = w.data();
        DType dt = w.dtype();
        // xt[(g*in + k)*MR + i] = x row (g*MR + i): the MR values a kernel step broadcasts share one cache line
        // (rows of x read in place are in*4 bytes apart and alias in L1). A group of mr < MR rows leaves the
        // other lanes as they were (the kernel reads 4 or 8 of them, but each row's sums use only its own lane and
        // only mr rows are stored).
        int groups = (n + MR - 1) / MR;
        float[] xt = SMALL_N_ROWS.get(groups * in * MR);   // lanes past a short group's rows are stale: never stored
        for (int g = 0; g < groups; g++)
            for (int i = 0, mr = Math.min(MR, n - g * MR); i < mr; i++) {
                int src = xOff + (g * MR + i) * in, dst = g * in * MR + i;
                for (int k = 0; k < in; k++) xt[dst + k * MR] = x[src + k];
            }
        Parallel.forRange(units, Parallel.minChunk((long) NR * in * n), (u0, u1) -> {
            int pEnd = Math.min(u1, panels);
            if (u0 < pEnd) {
                for (int p = u0; p < pEnd; p++) {
                    for (int g = 0; g < n; g += MR) {
                        int mr = Math.min(MR, n - g);
                        switch (dt) {
                            case F32 -> smallNF32(seg, in, xt, g * in, mr, y, yOff + g * rows, rows, p, p + 1);
                            case BF16 -> smallNBf16(seg, in, xt, g * in, mr, y, yOff + g * rows, rows, p, p + 1);
                            default -> smallNF16(seg, in, xt, g * in, mr, y, yOff + g * rows, rows, p, p + 1);
                        }
                    }
                }
            }
            if (u1 > panels) {
                // the tail rows, as the zero-padded panel Weight keeps of them, into t [n, NR]
                float[] t = new float[n * NR];
                for (int g = 0; g < n; g += MR) {
                    int mr = Math.min(MR, n - g);
                    switch (dt) {
                        case F32 -> smallNF32(w.tailPanel(), in, xt, g * in, mr, t, g * NR, NR, 0, 1);
                        case BF16 -> smallNBf16(w.tailPanel(), in, xt, g * in, mr, t, g * NR, NR, 0, 1);
                        default -> smallNF16(w.tailPanel(), in, xt, g * in, mr, t, g * NR, NR, 0, 1);
                    }
                }
                for (int i = 0; i < n; i++) System.arraycopy(t, i * NR, y, yOff + i * rows + panels * NR, rows - panels * NR);
            }
        });
    }

    /** Each thread's buffer of x rows interleaved for {@link #smallN}. */
    private static final ThreadScratch SMALL_N_ROWS = new ThreadScratch();

    /** F32 panels [p0, p1) times MR rows of x interleaved in xt (only the first mr are stored). One method on purpose. */
    private static void smallNF32(MemorySegment w, int in, float[] xt, int xtOff, int mr, float[] y, int yOff, int ldy,
                                   int p0, int p1) {
        long colBytes = NR * 4L;
        for (int p = p0; p < p1; p++) {
            long base = (long) p * in * colBytes;
            FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
            FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
            FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
            FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
            FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
            FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
            FloatVector c60 = FloatVector.zero(F), c61 = FloatVector.zero(F);
            FloatVector c70 = FloatVector.zero(F), c71 = FloatVector.zero(F);
            for (int k = 0, xi = xtOff; k < in; k++, xi += MR) {
                long o = base + k * colBytes;
                FloatVector b0 = FloatVector.fromMemorySegment(F, w, o, Convert.LE);
                FloatVector b1 = FloatVector.fromMemorySegment(F, w, o + 4L * L, Convert.LE);
                FloatVector v = FloatVector.broadcast(F, xt[xi + 0]);
                c00 = v.fma(b0, c00);
                c01 = v.fma(b1, c01);
                v = FloatVector.broadcast(F, xt[xi + 1]);
                c10 = v.fma(b0, c10);
                c11 = v.fma(b1, c11);
                v = FloatVector.broadcast(F, xt[xi + 2]);
                c20 = v.fma(b0, c20);
                c21 = v.fma(b1, c21);
                v = FloatVector.broadcast(F, xt[xi + 3]);
                c30 = v.fma(b0, c30);
                c31 = v.fma(b1, c31);
                if (mr > 4) {   // loop-invariant: C2 unswitches the loop, so a group of <= 4 rows does half the FMAs
                    v = FloatVector.broadcast(F, xt[xi + 4]);
                    c40 = v.fma(b0, c40);
                    c41 = v.fma(b1, c41);
                    v = FloatVector.broadcast(F, xt[xi + 5]);
                    c50 = v.fma(b0, c50);
                    c51 = v.fma(b1, c51);
                    v = FloatVector.broadcast(F, xt[xi + 6]);
                    c60 = v.fma(b0, c60);
                    c61 = v.fma(b1, c61);
                    v = FloatVector.broadcast(F, xt[xi + 7]);
                    c70 = v.fma(b0, c70);
                    c71 = v.fma(b1, c71);
                }
            }
            int q = yOff + p * NR;
            { c00.intoArray(y, q + 0 * ldy); c01.intoArray(y, q + 0 * ldy + L); }
            if (mr > 1) { c10.intoArray(y, q + 1 * ldy); c11.intoArray(y, q + 1 * ldy + L); }
            if (mr > 2) { c20.intoArray(y, q + 2 * ldy); c21.intoArray(y, q + 2 * ldy + L); }
            if (mr > 3) { c30.intoArray(y, q + 3 * ldy); c31.intoArray(y, q + 3 * ldy + L); }
            if (mr > 4) { c40.intoArray(y, q + 4 * ldy); c41.intoArray(y, q + 4 * ldy + L); }
            if (mr > 5) { c50.intoArray(y, q + 5 * ldy); c51.intoArray(y, q + 5 * ldy + L); }
            if (mr > 6) { c60.intoArray(y, q + 6 * ldy); c61.intoArray(y, q + 6 * ldy + L); }
            if (mr > 7) { c70.intoArray(y, q + 7 * ldy); c71.intoArray(y, q + 7 * ldy + L); }
        }
    }

    /** BF16 panels [p0, p1) times MR rows of x interleaved in xt (only the first mr are stored). One method on purpose. */
    private static void smallNBf16(MemorySegment w, int in, float[] xt, int xtOff, int mr, float[] y, int yOff, int ldy,
                                   int p0, int p1) {
        long colBytes = NR * 2L;
        for (int p = p0; p < p1; p++) {
            long base = (long) p * in * colBytes;
            FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
            FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
            FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
            FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
            FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
            FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
            FloatVector c60 = FloatVector.zero(F), c61 = FloatVector.zero(F);
            FloatVector c70 = FloatVector.zero(F), c71 = FloatVector.zero(F);
            for (int k = 0, xi = xtOff; k < in; k++, xi += MR) {
                long o = base + k * colBytes;
                IntVector h = IntVector.fromMemorySegment(I, w, o, Convert.LE);
                FloatVector b0 = h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                FloatVector b1 = h.and(0xffff0000).reinterpretAsFloats();
                FloatVector v = FloatVector.broadcast(F, xt[xi + 0]);
                c00 = v.fma(b0, c00);
                c01 = v.fma(b1, c01);
                v = FloatVector.broadcast(F, xt[xi + 1]);
                c10 = v.fma(b0, c10);
                c11 = v.fma(b1, c11);
                v = FloatVector.broadcast(F, xt[xi + 2]);
                c20 = v.fma(b0, c20);
                c21 = v.fma(b1, c21);
                v = FloatVector.broadcast(F, xt[xi + 3]);
                c30 = v.fma(b0, c30);
                c31 = v.fma(b1, c31);
                if (mr > 4) {   // loop-invariant: C2 unswitches the loop, so a group of <= 4 rows does half the FMAs
                    v = FloatVector.broadcast(F, xt[xi + 4]);
                    c40 = v.fma(b0, c40);
                    c41 = v.fma(b1, c41);
                    v = FloatVector.broadcast(F, xt[xi + 5]);
                    c50 = v.fma(b0, c50);
                    c51 = v.fma(b1, c51);
                    v = FloatVector.broadcast(F, xt[xi + 6]);
                    c60 = v.fma(b0, c60);
                    c61 = v.fma(b1, c61);
                    v = FloatVector.broadcast(F, xt[xi + 7]);
                    c70 = v.fma(b0, c70);
                    c71 = v.fma(b1, c71);
                }
            }
            int q = yOff + p * NR;
            { c00.intoArray(y, q + 0 * ldy); c01.intoArray(y, q + 0 * ldy + L); }
            if (mr > 1) { c10.intoArray(y, q + 1 * ldy); c11.intoArray(y, q + 1 * ldy + L); }
            if (mr > 2) { c20.intoArray(y, q + 2 * ldy); c21.intoArray(y, q + 2 * ldy + L); }
            if (mr > 3) { c30.intoArray(y, q + 3 * ldy); c31.intoArray(y, q + 3 * ldy + L); }
            if (mr > 4) { c40.intoArray(y, q + 4 * ldy); c41.intoArray(y, q + 4 * ldy + L); }
            if (mr > 5) { c50.intoArray(y, q + 5 * ldy); c51.intoArray(y, q + 5 * ldy + L); }
            if (mr > 6) { c60.intoArray(y, q + 6 * ldy); c61.intoArray(y, q + 6 * ldy + L); }
            if (mr > 7) { c70.intoArray(y, q + 7 * ldy); c71.intoArray(y, q + 7 * ldy + L); }
        }
    }

    /** F16 panels [p0, p1) times MR rows of x interleaved in xt (only the first mr are stored). One method on purpose. */
    private static void smallNF16(MemorySegment w, int in, float[] xt, int xtOff, int mr, float[] y, int yOff, int ldy,
                                   int p0, int p1) {
        long colBytes = NR * 2L;
        for (int p = p0; p < p1; p++) {
            long base = (long) p * in * colBytes;
            FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
            FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
            FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
            FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
            FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
            FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
            FloatVector c60 = FloatVector.zero(F), c61 = FloatVector.zero(F);
            FloatVector c70 = FloatVector.zero(F), c71 = FloatVector.zero(F);
            for (int k = 0, xi = xtOff; k < in; k++, xi += MR) {
                long o = base + k * colBytes;
                IntVector h = IntVector.fromMemorySegment(I, w, o, Convert.LE);
                IntVector mLo = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
                IntVector mHi = h.lanewise(VectorOperators.LSHR, 3).and(0x7fff << 13);
                FloatVector b0 = mLo.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                        .lanewise(VectorOperators.OR, 0x7f800000, mLo.compare(VectorOperators.GE, 0x0f800000))
                        .or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
                FloatVector b1 = mHi.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                        .lanewise(VectorOperators.OR, 0x7f800000, mHi.compare(VectorOperators.GE, 0x0f800000))
                        .or(h.and(0x80000000)).reinterpretAsFloats();
                FloatVector v = FloatVector.broadcast(F, xt[xi + 0]);
                c00 = v.fma(b0, c00);
                c01 = v.fma(b1, c01);
                v = FloatVector.broadcast(F, xt[xi + 1]);
                c10 = v.fma(b0, c10);
                c11 = v.fma(b1, c11);
                v = FloatVector.broadcast(F, xt[xi + 2]);
                c20 = v.fma(b0, c20);
                c21 = v.fma(b1, c21);
                v = FloatVector.broadcast(F, xt[xi + 3]);
                c30 = v.fma(b0, c30);
                c31 = v.fma(b1, c31);
                if (mr > 4) {   // loop-invariant: C2 unswitches the loop, so a group of <= 4 rows does half the FMAs
                    v = FloatVector.broadcast(F, xt[xi + 4]);
                    c40 = v.fma(b0, c40);
                    c41 = v.fma(b1, c41);
                    v = FloatVector.broadcast(F, xt[xi + 5]);
                    c50 = v.fma(b0, c50);
                    c51 = v.fma(b1, c51);
                    v = FloatVector.broadcast(F, xt[xi + 6]);
                    c60 = v.fma(b0, c60);
                    c61 = v.fma(b1, c61);
                    v = FloatVector.broadcast(F, xt[xi + 7]);
                    c70 = v.fma(b0, c70);
                    c71 = v.fma(b1, c71);
                }
            }
            int q = yOff + p * NR;
            { c00.intoArray(y, q + 0 * ldy); c01.intoArray(y, q + 0 * ldy + L); }
            if (mr > 1) { c10.intoArray(y, q + 1 * ldy); c11.intoArray(y, q + 1 * ldy + L); }
            if (mr > 2) { c20.intoArray(y, q + 2 * ldy); c21.intoArray(y, q + 2 * ldy + L); }
            if (mr > 3) { c30.intoArray(y, q + 3 * ldy); c31.intoArray(y, q + 3 * ldy + L); }
            if (mr > 4) { c40.intoArray(y, q + 4 * ldy); c41.intoArray(y, q + 4 * ldy + L); }
            if (mr > 5) { c50.intoArray(y, q + 5 * ldy); c51.intoArray(y, q + 5 * ldy + L); }
            if (mr > 6) { c60.intoArray(y, q + 6 * ldy); c61.intoArray(y, q + 6 * ldy + L); }
            if (mr > 7) { c70.intoArray(y, q + 7 * ldy); c71.intoArray(y, q + 7 * ldy + L); }
        }
    }

    // ------------------------------------------------------------------ thin GEMM (m < THIN_M)

    /** Few rows: packing would not be amortised, so use dot products (transB) or axpy rows. */
    private static void thinGemm(float[] c, int cOff, int ldc, float[] a, int aOff, int ars, int acs, float[] b, int bOff,
                                 int ldb, int m, int k, int nn, boolean transB, float alpha, boolean accumulate) {
        float[] arow = new float[m * k];
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++) arow[i * k + p] = a[aOff + i * ars + p * acs];
        if (transB) {
            Parallel.forRange(nn, Math.max(16, 65536 / Math.max(1, k)), (j0, j1) -> {
                for (int i = 0; i < m; i++)
                    for (int j = j0; j < j1; j++) {
                        float s = alpha * Vec.dot(arow, i * k, b, bOff + j * ldb, k);
                        int ci = cOff + i * ldc + j;
                        c[ci] = accumulate ? c[ci] + s : s;
                    }
            });
        } else {
            Parallel.forRange(nn, Math.max(64, 65536 / Math.max(1, k)), (j0, j1) -> {
                int len = j1 - j0;
                float[] acc = new float[len];
                for (int i = 0; i < m; i++) {
                    Arrays.fill(acc, 0f);
                    for (int p = 0; p < k; p++) Vec.axpy(acc, 0, arow[i * k + p], b, bOff + p * ldb + j0, len);
                    int ci = cOff + i * ldc + j0;
                    if (accumulate) Vec.axpy(c, ci, alpha, acc, 0, len);
                    else for (int j = 0; j < len; j++) c[ci + j] = alpha * acc[j];
                }
            });
        }
    }

    // ------------------------------------------------------------------ packed GEMM driver

    /** Supplies op(B) one packed block at a time. */
    private interface PanelSource {
        /**
         * buf[kk * NR + j] = op(B)[k0 + kk, j0 + j] for kk < kc, j < NR, zero where j0 + j is
         * past the last column. j0 is a multiple of NR and k0 a multiple of KC.
         */
        void pack(int k0, int kc, int j0, float[] buf);
    }

    /**
     * C[m, nn] (+)= alpha · A[m, K] · op(B)[K, nn], A element (i, p) at a[aOff + i*ars + p*acs].
     * Parallel over NR-wide column blocks when there are enough of them, else over row tiles.
     */
    private static void drive(int m, int kTotal, int nn, float[] a, int aOff, int ars, int acs, PanelSource src,
                              float[] c, int cOff, int ldc, float alpha, boolean accumulate) {
        if (kTotal == 0) { // an empty sum: C = 0, or unchanged when accumulating
            if (!accumulate) for (int i = 0; i < m; i++) Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + nn, 0f);
            return;
        }
        int nCb = (nn + NR - 1) / NR;
        int nTiles = (m + MR - 1) / MR;
        int t = Parallel.threads();
        if (nCb >= 2 * t || nTiles < 2 * t) {
            Parallel.forRange(nCb, Parallel.minChunk((long) NR * m * kTotal), (c0, c1) ->
                    block(c0, c1, 0, nTiles, m, kTotal, nn, a, aOff, ars, acs, src, c, cOff, ldc, alpha, accumulate));
        } else {
            Parallel.forRange(nTiles, Parallel.minChunk((long) MR * nn * kTotal), (t0, t1) ->
                    block(0, nCb, t0, t1, m, kTotal, nn, a, aOff, ars, acs, src, c, cOff, ldc, alpha, accumulate));
        }
    }

    /**
     * Each thread's packing buffer (KC x NR floats, 32 KiB), reused: allocating it per call zeroed 32 KiB per
     * thread per GEMM, ~2 GB/s of garbage in a small model's prefill (stories260K's GEMMs have K = 64).
     */
    private static final ThreadScratch PACK_BUFFER = new ThreadScratch();

    private static void block(int cb0, int cb1, int t0, int t1, int m, int kTotal, int nn, float[] a, int aOff,
                              int ars, int acs, PanelSource src, float[] c, int cOff, int ldc, float alpha,
                              boolean accumulate) {
        float[] buf = PACK_BUFFER.get(KC * NR);   // every pack writes the kc x NR floats that the kernels read
        float[] tile = new float[MR * NR];
        for (int cb = cb0; cb < cb1; cb++) {
            int j0 = cb * NR;
            int nr = Math.min(NR, nn - j0);
            for (int k0 = 0; k0 < kTotal; k0 += KC) {
                int kc = Math.min(KC, kTotal - k0);
                src.pack(k0, kc, j0, buf);
                boolean load = accumulate || k0 > 0;
                if (nr <= L) {
                    // Narrow block (LoRA rank 16, or the last columns): an MR x L tile wastes no lanes.
                    for (int t = t0; t < t1; t++) {
                        int i0 = t * MR;
                        int mr = Math.min(MR, m - i0);
                        int aBase = aOff + i0 * ars + k0 * acs;
                        int cBase = cOff + i0 * ldc + j0;
                        if (mr == MR && nr == L) {
                            kernelNarrow(a, aBase, ars, acs, mr, buf, kc, c, cBase, ldc, alpha, load);
                        } else {
                            kernelNarrow(a, aBase, ars, acs, mr, buf, kc, tile, 0, L, alpha, false);
                            for (int i = 0; i < mr; i++)
                                for (int j = 0; j < nr; j++) {
                                    int ci = cBase + i * ldc + j;
                                    c[ci] = load ? c[ci] + tile[i * L + j] : tile[i * L + j];
                                }
                        }
                    }
                    continue;
                }
                for (int t = t0; t < t1; t++) {
                    int i0 = t * MR;
                    int mr = Math.min(MR, m - i0);
                    int aBase = aOff + i0 * ars + k0 * acs;
                    int cBase = cOff + i0 * ldc + j0;
                    if (mr == MR && nr == NR) {
                        kernel(a, aBase, ars, acs, MR, buf, kc, c, cBase, ldc, alpha, load);
                    } else {
                        kernel(a, aBase, ars, acs, mr, buf, kc, tile, 0, NR, alpha, false);
                        for (int i = 0; i < mr; i++)
                            for (int j = 0; j < nr; j++) {
                                int ci = cBase + i * ldc + j;
                                c[ci] = load ? c[ci] + tile[i * NR + j] : tile[i * NR + j];
                            }
                    }
                }
            }
        }
    }

    /**
     * The register tile: C[MR, NR] (+)= alpha · A[MR, kc] · Bp[kc, NR] with 16 accumulators.
     * Rows of A past mr repeat row mr-1 (their results are discarded by the caller).
     * Kept in one method on purpose: splitting it boxes the accumulators (PERF.md).
     */
    private static void kernel(float[] a, int aBase, int ars, int acs, int mr, float[] b, int kc,
                               float[] c, int cBase, int ldc, float alpha, boolean load) {
        int r0 = aBase;
        int r1 = aBase + Math.min(1, mr - 1) * ars;
        int r2 = aBase + Math.min(2, mr - 1) * ars;
        int r3 = aBase + Math.min(3, mr - 1) * ars;
        int r4 = aBase + Math.min(4, mr - 1) * ars;
        int r5 = aBase + Math.min(5, mr - 1) * ars;
        int r6 = aBase + Math.min(6, mr - 1) * ars;
        int r7 = aBase + Math.min(7, mr - 1) * ars;
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        FloatVector c60 = FloatVector.zero(F), c61 = FloatVector.zero(F);
        FloatVector c70 = FloatVector.zero(F), c71 = FloatVector.zero(F);
        for (int kk = 0, bi = 0, ak = 0; kk < kc; kk++, bi += NR, ak += acs) {
            FloatVector b0 = FloatVector.fromArray(F, b, bi);
            FloatVector b1 = FloatVector.fromArray(F, b, bi + L);
            FloatVector v = FloatVector.broadcast(F, a[r0 + ak]);
            c00 = v.fma(b0, c00);
            c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(F, a[r1 + ak]);
            c10 = v.fma(b0, c10);
            c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(F, a[r2 + ak]);
            c20 = v.fma(b0, c20);
            c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(F, a[r3 + ak]);
            c30 = v.fma(b0, c30);
            c31 = v.fma(b1, c31);
            v = FloatVector.broadcast(F, a[r4 + ak]);
            c40 = v.fma(b0, c40);
            c41 = v.fma(b1, c41);
            v = FloatVector.broadcast(F, a[r5 + ak]);
            c50 = v.fma(b0, c50);
            c51 = v.fma(b1, c51);
            v = FloatVector.broadcast(F, a[r6 + ak]);
            c60 = v.fma(b0, c60);
            c61 = v.fma(b1, c61);
            v = FloatVector.broadcast(F, a[r7 + ak]);
            c70 = v.fma(b0, c70);
            c71 = v.fma(b1, c71);
        }
        FloatVector al = FloatVector.broadcast(F, alpha);
        int q0 = cBase, q1 = q0 + ldc, q2 = q1 + ldc, q3 = q2 + ldc, q4 = q3 + ldc, q5 = q4 + ldc, q6 = q5 + ldc,
                q7 = q6 + ldc;
        if (load) {
            c00.fma(al, FloatVector.fromArray(F, c, q0)).intoArray(c, q0);
            c01.fma(al, FloatVector.fromArray(F, c, q0 + L)).intoArray(c, q0 + L);
            c10.fma(al, FloatVector.fromArray(F, c, q1)).intoArray(c, q1);
            c11.fma(al, FloatVector.fromArray(F, c, q1 + L)).intoArray(c, q1 + L);
            c20.fma(al, FloatVector.fromArray(F, c, q2)).intoArray(c, q2);
            c21.fma(al, FloatVector.fromArray(F, c, q2 + L)).intoArray(c, q2 + L);
            c30.fma(al, FloatVector.fromArray(F, c, q3)).intoArray(c, q3);
            c31.fma(al, FloatVector.fromArray(F, c, q3 + L)).intoArray(c, q3 + L);
            c40.fma(al, FloatVector.fromArray(F, c, q4)).intoArray(c, q4);
            c41.fma(al, FloatVector.fromArray(F, c, q4 + L)).intoArray(c, q4 + L);
            c50.fma(al, FloatVector.fromArray(F, c, q5)).intoArray(c, q5);
            c51.fma(al, FloatVector.fromArray(F, c, q5 + L)).intoArray(c, q5 + L);
            c60.fma(al, FloatVector.fromArray(F, c, q6)).intoArray(c, q6);
            c61.fma(al, FloatVector.fromArray(F, c, q6 + L)).intoArray(c, q6 + L);
            c70.fma(al, FloatVector.fromArray(F, c, q7)).intoArray(c, q7);
            c71.fma(al, FloatVector.fromArray(F, c, q7 + L)).intoArray(c, q7 + L);
        } else {
            c00.mul(al).intoArray(c, q0);
            c01.mul(al).intoArray(c, q0 + L);
            c10.mul(al).intoArray(c, q1);
            c11.mul(al).intoArray(c, q1 + L);
            c20.mul(al).intoArray(c, q2);
            c21.mul(al).intoArray(c, q2 + L);
            c30.mul(al).intoArray(c, q3);
            c31.mul(al).intoArray(c, q3 + L);
            c40.mul(al).intoArray(c, q4);
            c41.mul(al).intoArray(c, q4 + L);
            c50.mul(al).intoArray(c, q5);
            c51.mul(al).intoArray(c, q5 + L);
            c60.mul(al).intoArray(c, q6);
            c61.mul(al).intoArray(c, q6 + L);
            c70.mul(al).intoArray(c, q7);
            c71.mul(al).intoArray(c, q7 + L);
        }
    }

    /**
     * The narrow register tile: C[MR, L] (+)= alpha · A[MR, kc] · Bp[kc, 0:L] (the first vector
     * of each packed row), with k unrolled by two into separate accumulators so 16 independent
     * FMA chains hide the latency while only MR = 8 rows of A are streamed (16 rows 8 KiB apart
     * would alias in L1). Rows past mr repeat row mr-1. One method, like {@link #kernel}.
     */
    private static void kernelNarrow(float[] a, int aBase, int ars, int acs, int mr, float[] b, int kc,
                                     float[] c, int cBase, int ldc, float alpha, boolean load) {
        int r0 = aBase;
        int r1 = aBase + Math.min(1, mr - 1) * ars;
        int r2 = aBase + Math.min(2, mr - 1) * ars;
        int r3 = aBase + Math.min(3, mr - 1) * ars;
        int r4 = aBase + Math.min(4, mr - 1) * ars;
        int r5 = aBase + Math.min(5, mr - 1) * ars;
        int r6 = aBase + Math.min(6, mr - 1) * ars;
        int r7 = aBase + Math.min(7, mr - 1) * ars;
        FloatVector c0 = FloatVector.zero(F), d0 = FloatVector.zero(F);
        FloatVector c1 = FloatVector.zero(F), d1 = FloatVector.zero(F);
        FloatVector c2 = FloatVector.zero(F), d2 = FloatVector.zero(F);
        FloatVector c3 = FloatVector.zero(F), d3 = FloatVector.zero(F);
        FloatVector c4 = FloatVector.zero(F), d4 = FloatVector.zero(F);
        FloatVector c5 = FloatVector.zero(F), d5 = FloatVector.zero(F);
        FloatVector c6 = FloatVector.zero(F), d6 = FloatVector.zero(F);
        FloatVector c7 = FloatVector.zero(F), d7 = FloatVector.zero(F);
        int kk = 0, bi = 0, ak = 0;
        for (; kk < kc - 1; kk += 2, bi += 2 * NR, ak += 2 * acs) {
            FloatVector b0 = FloatVector.fromArray(F, b, bi);
            FloatVector b1 = FloatVector.fromArray(F, b, bi + NR);
            c0 = FloatVector.broadcast(F, a[r0 + ak]).fma(b0, c0);
            d0 = FloatVector.broadcast(F, a[r0 + ak + acs]).fma(b1, d0);
            c1 = FloatVector.broadcast(F, a[r1 + ak]).fma(b0, c1);
            d1 = FloatVector.broadcast(F, a[r1 + ak + acs]).fma(b1, d1);
            c2 = FloatVector.broadcast(F, a[r2 + ak]).fma(b0, c2);
            d2 = FloatVector.broadcast(F, a[r2 + ak + acs]).fma(b1, d2);
            c3 = FloatVector.broadcast(F, a[r3 + ak]).fma(b0, c3);
            d3 = FloatVector.broadcast(F, a[r3 + ak + acs]).fma(b1, d3);
            c4 = FloatVector.broadcast(F, a[r4 + ak]).fma(b0, c4);
            d4 = FloatVector.broadcast(F, a[r4 + ak + acs]).fma(b1, d4);
            c5 = FloatVector.broadcast(F, a[r5 + ak]).fma(b0, c5);
            d5 = FloatVector.broadcast(F, a[r5 + ak + acs]).fma(b1, d5);
            c6 = FloatVector.broadcast(F, a[r6 + ak]).fma(b0, c6);
            d6 = FloatVector.broadcast(F, a[r6 + ak + acs]).fma(b1, d6);
            c7 = FloatVector.broadcast(F, a[r7 + ak]).fma(b0, c7);
            d7 = FloatVector.broadcast(F, a[r7 + ak + acs]).fma(b1, d7);
        }
        if (kk < kc) {
            FloatVector b0 = FloatVector.fromArray(F, b, bi);
            c0 = FloatVector.broadcast(F, a[r0 + ak]).fma(b0, c0);
            c1 = FloatVector.broadcast(F, a[r1 + ak]).fma(b0, c1);
            c2 = FloatVector.broadcast(F, a[r2 + ak]).fma(b0, c2);
            c3 = FloatVector.broadcast(F, a[r3 + ak]).fma(b0, c3);
            c4 = FloatVector.broadcast(F, a[r4 + ak]).fma(b0, c4);
            c5 = FloatVector.broadcast(F, a[r5 + ak]).fma(b0, c5);
            c6 = FloatVector.broadcast(F, a[r6 + ak]).fma(b0, c6);
            c7 = FloatVector.broadcast(F, a[r7 + ak]).fma(b0, c7);
        }
        FloatVector al = FloatVector.broadcast(F, alpha);
        if (load) {
            c0.add(d0).fma(al, FloatVector.fromArray(F, c, cBase + 0 * ldc)).intoArray(c, cBase + 0 * ldc);
            c1.add(d1).fma(al, FloatVector.fromArray(F, c, cBase + 1 * ldc)).intoArray(c, cBase + 1 * ldc);
            c2.add(d2).fma(al, FloatVector.fromArray(F, c, cBase + 2 * ldc)).intoArray(c, cBase + 2 * ldc);
            c3.add(d3).fma(al, FloatVector.fromArray(F, c, cBase + 3 * ldc)).intoArray(c, cBase + 3 * ldc);
            c4.add(d4).fma(al, FloatVector.fromArray(F, c, cBase + 4 * ldc)).intoArray(c, cBase + 4 * ldc);
            c5.add(d5).fma(al, FloatVector.fromArray(F, c, cBase + 5 * ldc)).intoArray(c, cBase + 5 * ldc);
            c6.add(d6).fma(al, FloatVector.fromArray(F, c, cBase + 6 * ldc)).intoArray(c, cBase + 6 * ldc);
            c7.add(d7).fma(al, FloatVector.fromArray(F, c, cBase + 7 * ldc)).intoArray(c, cBase + 7 * ldc);
        } else {
            c0.add(d0).mul(al).intoArray(c, cBase + 0 * ldc);
            c1.add(d1).mul(al).intoArray(c, cBase + 1 * ldc);
            c2.add(d2).mul(al).intoArray(c, cBase + 2 * ldc);
            c3.add(d3).mul(al).intoArray(c, cBase + 3 * ldc);
            c4.add(d4).mul(al).intoArray(c, cBase + 4 * ldc);
            c5.add(d5).mul(al).intoArray(c, cBase + 5 * ldc);
            c6.add(d6).mul(al).intoArray(c, cBase + 6 * ldc);
            c7.add(d7).mul(al).intoArray(c, cBase + 7 * ldc);
        }
    }

    // ------------------------------------------------------------------ packers

    /** Widens columns [k0, k0 + kc) of weight panel p into buf[kk * NR + j] = W[p*NR + j, k0 + kk]. */
    static void widenPanel(Weight w, int p, int k0, int kc, float[] buf) {
        MemorySegment seg = w.data();
        int in = w.cols();
        switch (w.dtype()) {
            case F32 -> MemorySegment.copy(seg, Tensor.F32_LE, ((long) p * in + k0) * NR * 4L, buf, 0, kc * NR);
            case BF16 -> {
                long o = ((long) p * in + k0) * NR * 2L;
                for (int kk = 0; kk < kc; kk++, o += NR * 2L) {
                    IntVector v = IntVector.fromMemorySegment(I, seg, o, Convert.LE);
                    v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(buf, kk * NR);
                    v.and(0xffff0000).reinterpretAsFloats().intoArray(buf, kk * NR + L);
                }
            }
            default -> {
                long o = ((long) p * in + k0) * NR * 2L;
                for (int kk = 0; kk < kc; kk++, o += NR * 2L) {
                    IntVector v = IntVector.fromMemorySegment(I, seg, o, Convert.LE);
                    // f16 -> f32 inline, as in gemvF16.
                    IntVector mLo = v.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
                    IntVector mHi = v.lanewise(VectorOperators.LSHR, 3).and(0x7fff << 13);
                    mLo.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                            .lanewise(VectorOperators.OR, 0x7f800000, mLo.compare(VectorOperators.GE, 0x0f800000))
                            .or(v.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats()
                            .intoArray(buf, kk * NR);
                    mHi.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                            .lanewise(VectorOperators.OR, 0x7f800000, mHi.compare(VectorOperators.GE, 0x0f800000))
                            .or(v.and(0x80000000)).reinterpretAsFloats()
                            .intoArray(buf, kk * NR + L);
                }
            }
        }
    }

    /** op(B) = W^T (forward): a panel of W is exactly a packed block, after widening. */
    private record WeightTransposed(Weight w) implements PanelSource {
        @Override
        public void pack(int k0, int kc, int j0, float[] buf) {
            int p = j0 / NR;
            if (p < w.panels()) {
                widenPanel(w, p, k0, kc, buf);
                return;
            }
            // Tail rows of W (row-major): transpose a [nr, kc] block.
            int nr = w.rows() - j0;
            Arrays.fill(buf, 0, kc * NR, 0f);
            float[] row = new float[w.cols()];
            for (int j = 0; j < nr; j++) {
                w.rowTo(j0 + j, row, 0);
                for (int kk = 0; kk < kc; kk++) buf[kk * NR + j] = row[k0 + kk];
            }
        }
    }

    /** op(B) = W (backwardInput): block rows are rows of W, block columns are NR columns of W. */
    private record WeightRows(Weight w) implements PanelSource {
        @Override
        public void pack(int o0, int oc, int c0, float[] buf) {
            int in = w.cols();
            int nc = Math.min(NR, in - c0);
            int panelRows = w.panels() * NR;
            float[] t = new float[NR * NR];
            int o = o0;
            // Full panels: widen the [nc columns x NR rows] block, then transpose it into buf.
            for (; o < o0 + oc && o < panelRows; o += NR) {
                widenPanel(w, o / NR, c0, nc, t);
                int rb = (o - o0) * NR;
                for (int r = 0; r < NR; r++) {
                    int d = rb + r * NR;
                    for (int j = 0; j < nc; j++) buf[d + j] = t[j * NR + r];
                    for (int j = nc; j < NR; j++) buf[d + j] = 0f;
                }
            }
            // Tail rows are row-major: widen row segments directly.
            if (o < o0 + oc) {
                float[] row = new float[in];
                for (; o < o0 + oc; o++) {
                    int d = (o - o0) * NR;
                    w.rowTo(o, row, 0);
                    System.arraycopy(row, c0, buf, d, nc);
                    for (int j = nc; j < NR; j++) buf[d + j] = 0f;
                }
            }
        }
    }

    /** op(B) = B stored [K, nn] row-major: copy NR-wide row pieces. */
    private record ArrayRows(float[] b, int off, int ld, int nn) implements PanelSource {
        @Override
        public void pack(int k0, int kc, int j0, float[] buf) {
            int nc = Math.min(NR, nn - j0);
            for (int kk = 0; kk < kc; kk++) {
                System.arraycopy(b, off + (k0 + kk) * ld + j0, buf, kk * NR, nc);
                if (nc < NR) Arrays.fill(buf, kk * NR + nc, kk * NR + NR, 0f);
            }
        }
    }

    /** op(B) = B^T with B stored [nn, K] row-major: transpose NR rows of B. */
    private record ArrayTransposed(float[] b, int off, int ld, int nn) implements PanelSource {
        @Override
        public void pack(int k0, int kc, int j0, float[] buf) {
            int nc = Math.min(NR, nn - j0);
            if (nc < NR) Arrays.fill(buf, 0, kc * NR, 0f);
            for (int j = 0; j < nc; j++) {
                int s = off + (j0 + j) * ld + k0;
                for (int kk = 0; kk < kc; kk++) buf[kk * NR + j] = b[s + kk];
            }
        }
    }
}
