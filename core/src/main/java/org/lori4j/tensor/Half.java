package org.lori4j.tensor;

/** Conversions between f32 and the 16-bit float formats (bf16 and IEEE f16), round-to-nearest-even. */
public final class Half {
    private Half() {}

    public static float bf16ToF32(short h) { return Float.intBitsToFloat((h & 0xffff) << 16); }

    /** Rounds to nearest even as torch does; NaN stays NaN. */
    public static short f32ToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    public static float f16ToF32(short h) { return Float.float16ToFloat(h); }

    public static short f32ToF16(float f) { return Float.floatToFloat16(f); }
}
