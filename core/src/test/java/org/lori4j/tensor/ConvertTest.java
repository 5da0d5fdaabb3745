package org.lori4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;

class ConvertTest {
    /** Every one of the 65536 bit patterns, at an odd start so vector body and scalar tail both run. */
    private static MemorySegment allPatterns() {
        MemorySegment seg = Arena.ofAuto().allocate(2L * (65536 + 3), 64);
        for (int i = 0; i < 65536; i++) seg.setAtIndex(Tensor.I16_LE, i + 1, (short) i);
        return seg;
    }

    @Test
    void bf16WideningIsExactForAllPatterns() {
        float[] out = new float[65536 + 5];
        Convert.bf16ToF32(allPatterns(), 2, out, 3, 65536);
        for (int i = 0; i < 65536; i++)
            assertEquals(Float.floatToRawIntBits(Half.bf16ToF32((short) i)), Float.floatToRawIntBits(out[i + 3]),
                    "bf16 pattern " + Integer.toHexString(i));
    }

    @Test
    void f16WideningIsExactForAllPatterns() {
        float[] out = new float[65536 + 5];
        Convert.f16ToF32(allPatterns(), 2, out, 3, 65536);
        for (int i = 0; i < 65536; i++) {
            float want = Float.float16ToFloat((short) i);
            if (Float.isNaN(want)) assertEquals(true, Float.isNaN(out[i + 3]), "f16 NaN pattern " + Integer.toHexString(i));
            else assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(out[i + 3]),
                    "f16 pattern " + Integer.toHexString(i));
        }
    }
}
