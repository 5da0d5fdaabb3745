package org.lori4j.tensor;

/** Element types of stored tensors, named as in the safetensors header. */
public enum DType {
    F32("F32", 4), F16("F16", 2), BF16("BF16", 2), F64("F64", 8),
    I64("I64", 8), I32("I32", 4), I16("I16", 2), I8("I8", 1), U8("U8", 1), BOOL("BOOL", 1);

    private final String safetensorsName;
    private final int bytes;

    DType(String safetensorsName, int bytes) {
        this.safetensorsName = safetensorsName;
        this.bytes = bytes;
    }

    /** Size of one element in bytes. */
    public int bytes() { return bytes; }

    /** The dtype string used in a safetensors header ("F32", "BF16", ...). */
    public String safetensorsName() { return safetensorsName; }

    public boolean isFloat() { return this == F32 || this == F16 || this == BF16 || this == F64; }

    /** Parses a safetensors dtype string; null if unknown. */
    public static DType fromSafetensors(String name) {
        for (DType d : values()) if (d.safetensorsName.equals(name)) return d;
        return null;
    }

    /** Parses a torch_dtype value of config.json ("float32", "bfloat16", "float16"); null if unknown. */
    public static DType fromTorchName(String name) {
        if (name == null) return null;
        return switch (name.replace("torch.", "")) {
            case "float32", "float" -> F32;
            case "bfloat16" -> BF16;
            case "float16", "half" -> F16;
            default -> null;
        };
    }

    public String torchName() {
        return switch (this) {
            case F32 -> "float32"; case BF16 -> "bfloat16"; case F16 -> "float16"; case F64 -> "float64";
            default -> name().toLowerCase();
        };
    }
}
