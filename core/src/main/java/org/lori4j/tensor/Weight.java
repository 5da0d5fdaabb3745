package org.lori4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.lori4j.io.LoriException;

/**
 * A frozen weight matrix W of shape [rows = out, cols = in], used as y = x W^T. Keeps the
 * stored dtype (F32, BF16 or F16; never widened to f32 in memory), repacked once at load into
 * the panel layout the kernels stream, using exactly as many bytes as the source. After
 * {@link #of} returns, the source tensor (typically a memory mapping) is no longer read.
 *
 * <p>Layout (L = f32 lanes of the preferred vector, 16 with AVX-512; NR = 2L):
 * <ul>
 *   <li>rows are grouped in {@code panels = rows / NR} panels of NR consecutive rows; a panel
 *       stores column-major: for each column c, the NR values W[p*NR + j, c] contiguously, so a
 *       GEMV or GEMM step loads one column of a panel with one or two vector loads;</li>
 *   <li>in 16-bit panels the NR values of a column are interleaved by 32-bit lane: lane j
 *       holds row j in its low half and row j + L in its high half, so widening to two f32
 *       vectors is one shift and one mask, with no lane shuffles;</li>
 *   <li>the {@code rows % NR} tail rows follow row-major, as stored (kept once more as a zero-padded
 *       panel, {@link #tailPanel()}, so that GEMV kernels need no row-by-row path).</li>
 * </ul>
 */
public final class Weight {
    /** f32 lanes per vector (16 on AVX-512). */
    static final int L = Convert.F.length();
    /** Rows per panel: two vectors of f32. */
    static final int NR = 2 * L;

    private final DType dtype;
    private final int rows;
    private final int cols;
    private final int panels;
    /** Panels then tail rows, in the stored dtype, little-endian, 64-byte aligned. */
    private final MemorySegment data;
    /**
     * The tail rows once more, packed as one panel zero-padded to NR rows (null when rows % NR == 0), so
     * that GEMV kernels treat them as a panel instead of row by row (at most NR * cols extra elements).
     */
    private MemorySegment tailPanel;

    private Weight(DType dtype, int rows, int cols, MemorySegment data) {
        this.dtype = dtype;
        this.rows = rows;
        this.cols = cols;
        this.panels = rows / NR;
        this.data = data;
    }

    /**
     * Repacks a 2-D F32, BF16 or F16 tensor [out, in] into a weight; the bytes are copied
     * (same size, same dtype) and the tensor is not referenced afterwards.
     */
    public static Weight of(Tensor t) {
        if (t.rank() != 2)
            throw new LoriException("weight " + t + ": expected a 2-D matrix");
        DType d = t.dtype();
        if (d != DType.F32 && d != DType.BF16 && d != DType.F16)
            throw new LoriException("weight " + t + ": dtype " + d + " is not supported (F32, BF16, F16)");
        long r = t.dim(0), c = t.dim(1);
        if (r > Integer.MAX_VALUE || c > Integer.MAX_VALUE || r * c > Integer.MAX_VALUE - 64)
            throw new LoriException("weight " + t + ": too large (more than 2^31 elements)");
        int rows = (int) r, cols = (int) c;
        MemorySegment dst = NativeMemory.allocate(r * c * d.bytes());
        Weight w = new Weight(d, rows, cols, dst);
        w.packFrom(t.data());
        // The packed copy replaces the source: drop a memory-mapped source's pages from the resident
        // set now, so loading a model never holds much more than one copy of the weights at a time
        // (clean file pages; touching them again would simply re-read the file).
        if (t.data().isMapped()) t.data().unload();
        return w;
    }

    /**
     * Per-thread staging arrays of {@link #packFrom} ({in, out}), reused across weights: allocating
     * two fresh panel-sized arrays per chunk made loading a 1.1B model churn ~1 GB of garbage, which
     * grew the committed Java heap (and so the resident set) by that much for the life of the process.
     */
    private static final ThreadLocal<int[][]> INT_SCRATCH = ThreadLocal.withInitial(() -> new int[2][0]);
    private static final ThreadLocal<short[][]> SHORT_SCRATCH = ThreadLocal.withInitial(() -> new short[2][0]);

    /** Copies the row-major source into the panel layout, in parallel over panels. */
    private void packFrom(MemorySegment src) {
        long esz = dtype.bytes();
        long tailFrom = (long) panels * NR * cols;
        if (tailFrom < (long) rows * cols) {
            MemorySegment.copy(src, tailFrom * esz, data, tailFrom * esz, ((long) rows * cols - tailFrom) * esz);
            MemorySegment t = NativeMemory.allocate((long) NR * cols * esz);
            t.fill((byte) 0);
            for (int j = 0; j < rows - panels * NR; j++)
                for (int c = 0; c < cols; c++) {
                    long s = tailFrom + (long) j * cols + c, d = (long) c * NR + slot(j);
                    if (esz == 4) t.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, d, src.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, s));
                    else t.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, d, src.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, s));
                }
            tailPanel = t;
        }
        // Per panel: bulk-copy its NR source rows to the heap, transpose there (plain array
        // indexing is several times faster than per-element segment access), bulk-copy back.
        int[] slots = new int[NR];
        for (int j = 0; j < NR; j++) slots[j] = slot(j);
        int n = NR * cols;
        Parallel.forRange(panels, 1, (p0, p1) -> {
            if (esz == 4) {
                int[][] buf = INT_SCRATCH.get();
                if (buf[0].length < n) buf = new int[][]{new int[n], new int[n]};
                INT_SCRATCH.set(buf);
                int[] in = buf[0], out = buf[1];
                for (int p = p0; p < p1; p++) {
                    long base = (long) p * n * 4;
                    MemorySegment.copy(src, Tensor.I32_LE, base, in, 0, n);
                    for (int c0 = 0; c0 < cols; c0 += 64) { // 64 output columns stay in L1 across all rows
                        int c1 = Math.min(cols, c0 + 64);
                        for (int j = 0; j < NR; j++)
                            for (int c = c0, s = j * cols + c0, d = c0 * NR + slots[j]; c < c1; c++, s++, d += NR)
                                out[d] = in[s];
                    }
                    MemorySegment.copy(out, 0, data, Tensor.I32_LE, base, n);
                }
            } else {
                short[][] buf = SHORT_SCRATCH.get();
                if (buf[0].length < n) buf = new short[][]{new short[n], new short[n]};
                SHORT_SCRATCH.set(buf);
                short[] in = buf[0], out = buf[1];
                for (int p = p0; p < p1; p++) {
                    long base = (long) p * n * 2;
                    MemorySegment.copy(src, Tensor.I16_LE, base, in, 0, n);
                    for (int c0 = 0; c0 < cols; c0 += 64) { // 64 output columns stay in L1 across all rows
                        int c1 = Math.min(cols, c0 + 64);
                        for (int j = 0; j < NR; j++)
                            for (int c = c0, s = j * cols + c0, d = c0 * NR + slots[j]; c < c1; c++, s++, d += NR)
                                out[d] = in[s];
                    }
                    MemorySegment.copy(out, 0, data, Tensor.I16_LE, base, n);
                }
            }
        });
    }

    /** Position of panel row j (0 <= j < NR) within a packed panel column. */
    private int slot(int j) {
        if (dtype == DType.F32) return j;
        return j < L ? 2 * j : 2 * (j - L) + 1;
    }

    /** Element index of W[r, c] in the packed data. */
    private long index(int r, int c) {
        int p = r / NR;
        if (p < panels) return (long) p * NR * cols + (long) c * NR + slot(r - p * NR);
        return (long) r * cols + c;
    }

    /** Output features (rows of W). */
    public int rows() { return rows; }

    /** Input features (columns of W). */
    public int cols() { return cols; }

    /** The stored element type. */
    public DType dtype() { return dtype; }

    /** Number of full NR-row panels; rows from {@code panels() * NR} on are row-major tail rows. */
    int panels() { return panels; }

    /** The packed bytes (see the class comment). */
    MemorySegment data() { return data; }

    /** The tail rows as one zero-padded panel (panel 0 of the segment), or null when there are none. */
    MemorySegment tailPanel() { return tailPanel; }

    /** W[r, c] widened to float. */
    public float get(int r, int c) {
        if (r < 0 || r >= rows || c < 0 || c >= cols)
            throw new IndexOutOfBoundsException("W[" + r + ", " + c + "] of " + this);
        long i = index(r, c);
        return switch (dtype) {
            case F32 -> data.getAtIndex(Tensor.F32_LE, i);
            case BF16 -> Half.bf16ToF32(data.getAtIndex(Tensor.I16_LE, i));
            default -> Half.f16ToF32(data.getAtIndex(Tensor.I16_LE, i));
        };
    }

    /** Row r widened to float into dst[off, off + cols). */
    public void rowTo(int r, float[] dst, int off) {
        if (r < 0 || r >= rows) throw new IndexOutOfBoundsException("row " + r + " of " + this);
        if (off < 0 || off + cols > dst.length) throw new IndexOutOfBoundsException("rowTo: dst too short");
        if (r >= panels * NR) {
            long b = (long) r * cols;
            switch (dtype) {
                case F32 -> MemorySegment.copy(data, Tensor.F32_LE, b * 4, dst, off, cols);
                case BF16 -> Convert.bf16ToF32(data, b * 2, dst, off, cols);
                default -> Convert.f16ToF32(data, b * 2, dst, off, cols);
            }
            return;
        }
        // A panel row is strided: element c sits NR elements after element c - 1.
        long i = index(r, 0);
        switch (dtype) {
            case F32 -> {
                for (int c = 0; c < cols; c++, i += NR) dst[off + c] = data.getAtIndex(Tensor.F32_LE, i);
            }
            case BF16 -> {
                for (int c = 0; c < cols; c++, i += NR) dst[off + c] = Half.bf16ToF32(data.getAtIndex(Tensor.I16_LE, i));
            }
            default -> {
                for (int c = 0; c < cols; c++, i += NR) dst[off + c] = Half.f16ToF32(data.getAtIndex(Tensor.I16_LE, i));
            }
        }
    }

    /** W as a row-major [rows, cols] tensor in the stored dtype (a fresh copy). */
    public Tensor toTensor() {
        Tensor t = Tensor.zeros(dtype, rows, cols);
        MemorySegment out = t.data();
        long esz = dtype.bytes();
        long tailFrom = (long) panels * NR * cols;
        if (tailFrom < (long) rows * cols)
            MemorySegment.copy(data, tailFrom * esz, out, tailFrom * esz, ((long) rows * cols - tailFrom) * esz);
        // The inverse of packFrom: each panel row is read at stride NR into a contiguous row.
        Parallel.forRange(panels, 1, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                long pBase = (long) p * NR * cols;
                for (int j = 0; j < NR; j++) {
                    long dstRow = pBase + (long) j * cols;
                    long src = pBase + slot(j);
                    if (esz == 4) {
                        for (int c = 0; c < cols; c++, src += NR)
                            out.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, dstRow + c, data.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, src));
                    } else {
                        for (int c = 0; c < cols; c++, src += NR)
                            out.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, dstRow + c, data.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, src));
                    }
                }
            }
        });
        return t;
    }

    /** Bytes of weight data, what one GEMV streams. */
    public long byteSize() {
        return (long) rows * cols * dtype.bytes();
    }

    @Override
    public String toString() {
        return "Weight[" + dtype + " " + rows + "x" + cols + "]";
    }
}
