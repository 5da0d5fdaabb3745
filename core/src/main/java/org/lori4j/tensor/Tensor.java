package org.lori4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The one tensor type of lori4j: a dtype, a row-major shape and little-endian bytes in a
 * {@link MemorySegment} (memory-mapped file, off-heap or heap). Weights stay in their stored
 * dtype; kernels widen bf16/f16 to f32 in registers. Activations and gradients are plain
 * {@code float[]} buffers wrapped with {@link #of(float[], long...)} when they need a shape.
 */
public final class Tensor {
    public static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final DType dtype;
    private final long[] shape;
    private final MemorySegment data;

    private Tensor(DType dtype, long[] shape, MemorySegment data) {
        long n = numel(shape);
        if (data.byteSize() != n * dtype.bytes())
            throw new IllegalArgumentException("tensor of shape " + Arrays.toString(shape) + " " + dtype
                    + " needs " + n * dtype.bytes() + " bytes, got " + data.byteSize());
        this.dtype = dtype;
        this.shape = shape.clone();
        this.data = data;
    }

    /** Wraps existing bytes (not copied). */
    public static Tensor of(DType dtype, long[] shape, MemorySegment data) { return new Tensor(dtype, shape, data); }

    /** Wraps a float array as an F32 tensor (not copied; the segment is a heap segment). */
    public static Tensor of(float[] values, long... shape) {
        return new Tensor(DType.F32, shape, MemorySegment.ofArray(values));
    }

    /** A zero-filled tensor in the automatic arena (freed by the GC). */
    public static Tensor zeros(DType dtype, long... shape) {
        return new Tensor(dtype, shape, Arena.ofAuto().allocate(numel(shape) * dtype.bytes(), 64));
    }

    /** Converts float values to a new tensor of the given float dtype (rounded to nearest even). */
    public static Tensor fromFloats(DType dtype, float[] values, long... shape) {
        Tensor t = zeros(dtype, shape);
        for (int i = 0; i < values.length; i++) t.setFloat(i, values[i]);
        return t;
    }

    public DType dtype() { return dtype; }
    public long[] shape() { return shape.clone(); }
    public int rank() { return shape.length; }
    public long dim(int i) { return shape[i < 0 ? shape.length + i : i]; }
    public MemorySegment data() { return data; }
    public long numel() { return numel(shape); }
    public long byteSize() { return data.byteSize(); }

    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** Element i (flat, row-major) widened to float; integer and bool types convert numerically. */
    public float getFloat(long i) {
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32_LE, i);
            case BF16 -> Half.bf16ToF32(data.getAtIndex(I16_LE, i));
            case F16 -> Half.f16ToF32(data.getAtIndex(I16_LE, i));
            case F64 -> (float) data.getAtIndex(F64_LE, i);
            case I64 -> data.getAtIndex(I64_LE, i);
            case I32 -> data.getAtIndex(I32_LE, i);
            case I16 -> data.getAtIndex(I16_LE, i);
            case I8, BOOL -> data.get(ValueLayout.JAVA_BYTE, i);
            case U8 -> data.get(ValueLayout.JAVA_BYTE, i) & 0xff;
        };
    }

    /** Stores a float into element i, rounding to this tensor's dtype. */
    public void setFloat(long i, float v) {
        switch (dtype) {
            case F32 -> data.setAtIndex(F32_LE, i, v);
            case BF16 -> data.setAtIndex(I16_LE, i, Half.f32ToBf16(v));
            case F16 -> data.setAtIndex(I16_LE, i, Half.f32ToF16(v));
            case F64 -> data.setAtIndex(F64_LE, i, v);
            case I64 -> data.setAtIndex(I64_LE, i, (long) v);
            case I32 -> data.setAtIndex(I32_LE, i, (int) v);
            case I16 -> data.setAtIndex(I16_LE, i, (short) v);
            case I8, U8 -> data.set(ValueLayout.JAVA_BYTE, i, (byte) (int) v);
            case BOOL -> data.set(ValueLayout.JAVA_BYTE, i, (byte) (v != 0 ? 1 : 0));
        }
    }

    public long getLong(long i) {
        return switch (dtype) {
            case I64 -> data.getAtIndex(I64_LE, i);
            case I32 -> data.getAtIndex(I32_LE, i);
            default -> (long) getFloat(i);
        };
    }

    public boolean getBool(long i) { return data.get(ValueLayout.JAVA_BYTE, i * dtype.bytes()) != 0 || getFloat(i) != 0; }

    /** All elements widened to a new float array (must fit in an int-indexed array). */
    public float[] toFloatArray() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) throw new IllegalStateException("tensor too large for a float[]: " + n);
        float[] out = new float[(int) n];
        if (dtype == DType.F32) {
            MemorySegment.copy(data, F32_LE, 0, out, 0, out.length);
        } else {
            for (int i = 0; i < out.length; i++) out[i] = getFloat(i);
        }
        return out;
    }

    /** A view of rows [from, to) of the first dimension (no copy). */
    public Tensor slice0(long from, long to) {
        long rowElems = numel() / shape[0];
        long[] s = shape.clone();
        s[0] = to - from;
        return new Tensor(dtype, s, data.asSlice(from * rowElems * dtype.bytes(), (to - from) * rowElems * dtype.bytes()));
    }

    /** The same bytes with another shape of equal element count. */
    public Tensor reshape(long... newShape) { return new Tensor(dtype, newShape, data); }

    /** A copy converted to the given dtype (float types only), in the automatic arena. */
    public Tensor to(DType target) {
        if (target == dtype) return this;
        Tensor t = zeros(target, shape);
        long n = numel();
        for (long i = 0; i < n; i++) t.setFloat(i, getFloat(i));
        return t;
    }

    @Override
    public String toString() { return "Tensor[" + dtype + " " + Arrays.toString(shape) + "]"; }
}
