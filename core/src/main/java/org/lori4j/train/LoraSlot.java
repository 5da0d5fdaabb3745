package org.lori4j.train;

/**
 * The LoRA tensors of one adapted projection during training, with their gradients:
 * A [r, in] and B [out, r] in f32, scaling s, and an optional mask over B's entries (LoRI-S)
 * outside which B's gradient is zeroed. A gradient array is null when that tensor is frozen.
 */
public final class LoraSlot {
    final int layer;
    final Proj proj;
    final int in, out, r;
    final float scale;
    final float[] a;       // [r, in]
    final float[] b;       // [out, r]
    final float[] gradA;   // [r, in] or null when A is frozen (LoRI)
    final float[] gradB;   // [out, r] or null when B is frozen
    final boolean[] maskB; // [out, r] trainable entries of B, or null for all

    public LoraSlot(int layer, Proj proj, int in, int out, int r, float scale, float[] a, float[] b,
                    boolean trainA, boolean trainB, boolean[] maskB) {
        if (a.length != r * in || b.length != out * r)
            throw new IllegalArgumentException(proj.module(layer) + ": A has " + a.length + " values, B " + b.length
                    + ", expected " + r * in + " and " + out * r);
        if (maskB != null && maskB.length != b.length) throw new IllegalArgumentException(proj.module(layer) + ": mask size differs from B");
        this.layer = layer;
        this.proj = proj;
        this.in = in;
        this.out = out;
        this.r = r;
        this.scale = scale;
        this.a = a;
        this.b = b;
        this.gradA = trainA ? new float[a.length] : null;
        this.gradB = trainB ? new float[b.length] : null;
        this.maskB = maskB;
    }

    public int layer() { return layer; }
    public Proj proj() { return proj; }
    public int rank() { return r; }
    public float[] a() { return a; }
    public float[] b() { return b; }
    public float[] gradA() { return gradA; }
    public float[] gradB() { return gradB; }
    public boolean[] maskB() { return maskB; }

    /** Sets both gradients to zero. */
    public void zeroGrad() {
        if (gradA != null) java.util.Arrays.fill(gradA, 0f);
        if (gradB != null) java.util.Arrays.fill(gradB, 0f);
    }

    /** Number of trainable scalars: A's entries if trained, plus B's (only the mask's true entries under a mask). */
    public long trainableParameters() {
        long n = gradA != null ? a.length : 0;
        if (gradB != null) {
            if (maskB == null) n += b.length;
            else for (boolean m : maskB) if (m) n++;
        }
        return n;
    }
}
