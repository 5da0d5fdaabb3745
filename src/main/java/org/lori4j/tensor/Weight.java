package org.lori4j.tensor;

import java.lang.foreign.MemorySegment;

import org.lori4j.io.LoriException;

/**
 * A frozen weight matrix W of shape [rows = out, cols = in], used as y = x W^T. Holds the
 * stored bytes (F32, BF16 or F16, usually memory-mapped) without widening them to f32:
 * kernels widen in registers.
 */
public final class Weight {
    private final DType dtype;
    private final int rows;
    private final int cols;
    /** Row-major [rows, cols] in the stored dtype, little-endian. */
    private final MemorySegment data;

    private Weight(DType dtype, int rows, int cols, MemorySegment data) {
        this.dtype = dtype;
        this.rows = rows;
        this.cols = cols;
        this.data = data;
    }

    /** Wraps a 2-D F32, BF16 or F16 tensor [out, in]; its bytes are read, never copied to f32. */
    public static Weight of(Tensor t) {
        if (t.rank() != 2)
            throw new LoriException("weight " + t + ": expected a 2-D matrix");
        DType d = t.dtype();
        if (d != DType.F32 && d != DType.BF16 && d != DType.F16)
            throw new LoriException("weight " + t + ": dtype " + d + " is not supported (F32, BF16, F16)");
        long r = t.dim(0), c = t.dim(1);
        if (r > Integer.MAX_VALUE || c > Integer.MAX_VALUE || r * c > Integer.MAX_VALUE - 64)
            throw new LoriException("weight " + t + ": too large (more than 2^31 elements)");
        return new Weight(d, (int) r, (int) c, t.data());
    }

    /** Output features (rows of W). */
    public int rows() { return rows; }

    /** Input features (columns of W). */
    public int cols() { return cols; }

    /** The stored element type. */
    public DType dtype() { return dtype; }

    /** W[r, c] widened to float. */
    public float get(int r, int c) {
        long i = (long) r * cols + c;
        return switch (dtype) {
            case F32 -> data.getAtIndex(Tensor.F32_LE, i);
            case BF16 -> Half.bf16ToF32(data.getAtIndex(Tensor.I16_LE, i));
            default -> Half.f16ToF32(data.getAtIndex(Tensor.I16_LE, i));
        };
    }

    /** Row r widened to float into dst[off, off + cols). */
    public void rowTo(int r, float[] dst, int off) {
        rowTo(r, 0, cols, dst, off);
    }

    /** Columns [c0, c1) of row r widened to float into dst[off, off + c1 - c0). */
    void rowTo(int r, int c0, int c1, float[] dst, int off) {
        long base = (long) r * cols;
        switch (dtype) {
            case F32 -> MemorySegment.copy(data, Tensor.F32_LE, (base + c0) * 4, dst, off, c1 - c0);
            case BF16 -> Convert.bf16ToF32(data, (base + c0) * 2, dst, off, c1 - c0);
            default -> Convert.f16ToF32(data, (base + c0) * 2, dst, off, c1 - c0);
        }
    }

    /** W as a row-major [rows, cols] tensor in the stored dtype (a fresh copy). */
    public Tensor toTensor() {
        Tensor t = Tensor.zeros(dtype, rows, cols);
        MemorySegment.copy(data, 0, t.data(), 0, (long) rows * cols * dtype.bytes());
        return t;
    }

    /** Bytes of weight data this object reads per full pass (what a GEMV streams). */
    public long byteSize() {
        return (long) rows * cols * dtype.bytes();
    }

    @Override
    public String toString() {
        return "Weight[" + dtype + " " + rows + "x" + cols + "]";
    }
}
