package org.lori4j.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Widening of stored 16-bit floats (bf16, IEEE f16) to f32, vectorised. bf16 widening is exact
 * (a 16-bit shift); f16 widening is exact too (subnormals, infinities and NaN included),
 * done with integer bit arithmetic because the Vector API has no f16 conversion.
 */
public final class Convert {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Shorts with as many lanes as F (half its bit size). */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class,
            VectorShape.forBitSize(Math.max(64, F.vectorBitSize() / 2)));
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Convert() {}

    /** dst[off + i] = bf16 value i of seg starting at byte offset byteOff, for i < n. */
    public static void bf16ToF32(MemorySegment seg, long byteOff, float[] dst, int off, int n) {
        int i = 0;
        if (S.length() == F.length()) {
            int upper = n - F.length() + 1;
            for (; i < upper; i += F.length()) {
                ShortVector s = ShortVector.fromMemorySegment(S, seg, byteOff + 2L * i, LE);
                IntVector w = (IntVector) s.convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
                w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, off + i);
            }
        }
        for (; i < n; i++) dst[off + i] = Half.bf16ToF32(seg.get(Tensor.I16_LE, byteOff + 2L * i));
    }

    /**
     * dst[off + i] = f16 value i of seg starting at byte offset byteOff, for i < n. A plain loop on
     * purpose: compiled on its own, C2 auto-vectorises {@code Float.float16ToFloat} into the
     * hardware conversion (vcvtph2ps, ~45 G values/s per core, which the Vector API cannot
     * express). Inlined into a loop nest it is not vectorised (~3 G values/s), which is why the
     * matmul kernels widen f16 with integer bit arithmetic (~8 G values/s) instead.
     */
    public static void f16ToF32(MemorySegment seg, long byteOff, float[] dst, int off, int n) {
        // (this exact loop shape vectorises; an asSlice'd segment or a long induction variable does not, or less)
        for (int i = 0; i < n; i++) dst[off + i] = Float.float16ToFloat(seg.get(Tensor.I16_LE, byteOff + 2L * i));
    }

    /** Widens a tensor's elements [from, from + n) (F32, BF16 or F16) into dst[off, off + n). */
    public static void toF32(Tensor t, long from, float[] dst, int off, int n) {
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(t.data(), Tensor.F32_LE, from * 4, dst, off, n);
            case BF16 -> bf16ToF32(t.data(), from * 2, dst, off, n);
            case F16 -> f16ToF32(t.data(), from * 2, dst, off, n);
            default -> {
                for (int i = 0; i < n; i++) dst[off + i] = t.getFloat(from + i);
            }
        }
    }
}
