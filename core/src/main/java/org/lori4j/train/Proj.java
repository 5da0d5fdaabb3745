package org.lori4j.train;

import org.lori4j.io.LlamaConfig;

/** The seven linear projections of a Llama decoder layer that LoRA/LoRI can adapt, with their HF names and shapes. */
public enum Proj {
    Q("self_attn", "q_proj"), K("self_attn", "k_proj"), V("self_attn", "v_proj"), O("self_attn", "o_proj"),
    GATE("mlp", "gate_proj"), UP("mlp", "up_proj"), DOWN("mlp", "down_proj");

    private final String block;
    private final String shortName;

    Proj(String block, String shortName) {
        this.block = block;
        this.shortName = shortName;
    }

    /** PEFT's target-module name, e.g. "q_proj". */
    public String shortName() { return shortName; }

    /** The module path inside the model, e.g. "model.layers.3.self_attn.q_proj". */
    public String module(int layer) { return "model.layers." + layer + "." + block + "." + shortName; }

    /** Input features of this projection. */
    public int in(LlamaConfig c) {
        return switch (this) {
            case O -> c.qDim();
            case DOWN -> c.intermediateSize();
            default -> c.hiddenSize();
        };
    }

    /** Output features of this projection. */
    public int out(LlamaConfig c) {
        return switch (this) {
            case Q -> c.qDim();
            case K, V -> c.kvDim();
            case O, DOWN -> c.hiddenSize();
            case GATE, UP -> c.intermediateSize();
        };
    }

    /** The projection named by a target-module name ("q_proj"), or null. */
    public static Proj byShortName(String name) {
        for (Proj p : values()) if (p.shortName.equals(name)) return p;
        return null;
    }
}
