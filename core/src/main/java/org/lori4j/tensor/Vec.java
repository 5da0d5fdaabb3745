package org.lori4j.tensor;

import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector-API primitives over {@code float[]} slices, each with a scalar tail: BLAS-1 style
 * operations and the fused element-wise helpers of a Llama layer (RMSNorm, softmax, SwiGLU).
 * {@link ScalarKernels} holds the readable reference of each, which the tests compare against.
 *
 * <p>exp: {@link #exp(FloatVector)} is a vectorised Cody-Waite range reduction plus a degree-7
 * polynomial, within ~2 ulp (~3e-7 relative) of {@link Math#exp} for results in the normal range;
 * inputs below ln(2^-126) ~ -87.34 give 0. It is several times faster than a scalar Math.exp
 * loop, which matters for attention softmax and SiLU during prefill.
 */
public final class Vec {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    private Vec() {}

    /** sum_i a[aOff + i] * b[bOff + i] for i < n. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        if (n < L) {
            float s = 0;
            for (int i = 0; i < n; i++) s += a[aOff + i] * b[bOff + i];
            return s;
        }
        FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F), s3 = FloatVector.zero(F);
        int i = 0;
        for (int upper = n - 4 * L + 1; i < upper; i += 4 * L) {
            s0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), s0);
            s1 = FloatVector.fromArray(F, a, aOff + i + L).fma(FloatVector.fromArray(F, b, bOff + i + L), s1);
            s2 = FloatVector.fromArray(F, a, aOff + i + 2 * L).fma(FloatVector.fromArray(F, b, bOff + i + 2 * L), s2);
            s3 = FloatVector.fromArray(F, a, aOff + i + 3 * L).fma(FloatVector.fromArray(F, b, bOff + i + 3 * L), s3);
        }
        for (int upper = n - L + 1; i < upper; i += L)
            s0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), s0);
        float s = sumLanes(s0.add(s1).add(s2.add(s3)));
        for (; i < n; i++) s += a[aOff + i] * b[bOff + i];
        return s;
    }

    /**
     * The sum of a vector's lanes in lane order. {@code reduceLanes(ADD)} leaves the order open, and C2's
     * intrinsic adds in another order than the interpreter's fallback, so a result would depend on JIT state;
     * with a fixed order a training run resumed in a fresh JVM reproduces an uninterrupted one bit for bit.
     */
    static float sumLanes(FloatVector v) {
        // a fixed pairwise tree of lane-wise adds: lane i += lane i + L/2, then i + L/4, ... (wrapping rotations)
        if (L >= 16) v = v.add(v.rearrange(FOLD8));
        if (L >= 8) v = v.add(v.rearrange(FOLD4));
        if (L >= 4) v = v.add(v.rearrange(FOLD2));
        if (L >= 2) v = v.add(v.rearrange(FOLD1));
        return v.lane(0);
    }

    private static final VectorShuffle<Float> FOLD8 = VectorShuffle.iota(F, 8, 1, true);
    private static final VectorShuffle<Float> FOLD4 = VectorShuffle.iota(F, 4, 1, true);
    private static final VectorShuffle<Float> FOLD2 = VectorShuffle.iota(F, 2, 1, true);
    private static final VectorShuffle<Float> FOLD1 = VectorShuffle.iota(F, 1, 1, true);

    /**
     * For {@link #weightedRows}' interleaved sums (L = 8 or 16): lanes with bit s set, and lane i taking lane i ^ s;
     * x.blend(y, BITs).add(y.blend(x, BITs).rearrange(XORs)) folds x at distance s into the lanes with bit s clear
     * and y into the others.
     */
    private static final VectorMask<Float> BIT8 = bit(8), BIT4 = bit(4), BIT2 = bit(2), BIT1 = bit(1);
    private static final VectorShuffle<Float> XOR8 = xor(8), XOR4 = xor(4), XOR2 = xor(2), XOR1 = xor(1);
    /** Lane k: the lane where the interleaved trees leave sum k (bits of k reversed onto the merge distances). */
    private static final VectorShuffle<Float> SUMS8 = VectorShuffle.fromOp(F, k -> L == 16
            ? (k < 8 ? 8 * (k & 1) + 4 * ((k >> 1) & 1) + 2 * ((k >> 2) & 1) : k)
            : L == 8 ? 4 * (k & 1) + 2 * ((k >> 1) & 1) + ((k >> 2) & 1) : k);
    private static final VectorMask<Float> FIRST8 = F.indexInRange(0, 8);

    private static VectorMask<Float> bit(int s) {
        boolean[] m = new boolean[L];
        for (int i = 0; i < L; i++) m[i] = s < L && (i & s) != 0;
        return VectorMask.fromArray(F, m, 0);
    }

    private static VectorShuffle<Float> xor(int s) {
        return VectorShuffle.fromOp(F, i -> s < L ? i ^ s : i);
    }

    /** y[yOff + i] += alpha * x[xOff + i] for i < n. */
    public static void axpy(float[] y, int yOff, float alpha, float[] x, int xOff, int n) {
        FloatVector va = FloatVector.broadcast(F, alpha);
        int i = 0;
        for (int upper = n - L + 1; i < upper; i += L)
            FloatVector.fromArray(F, x, xOff + i).fma(va, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        for (; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
    }

    /** x[off + i] *= s for i < n. */
    public static void scale(float[] x, int off, float s, int n) {
        int i = 0;
        for (int upper = n - L + 1; i < upper; i += L)
            FloatVector.fromArray(F, x, off + i).mul(s).intoArray(x, off + i);
        for (; i < n; i++) x[off + i] *= s;
    }

    /** out[outOff + i] = a[aOff + i] + b[bOff + i] for i < n (out may alias a or b). */
    public static void add(float[] out, int outOff, float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0;
        for (int upper = n - L + 1; i < upper; i += L)
            FloatVector.fromArray(F, a, aOff + i).add(FloatVector.fromArray(F, b, bOff + i)).intoArray(out, outOff + i);
        for (; i < n; i++) out[outOff + i] = a[aOff + i] + b[bOff + i];
    }

    /** y[i] += x[i] for i < n (the residual add). */
    public static void add(float[] y, float[] x, int n) {
        add(y, 0, y, 0, x, 0, n);
    }

    /** out[outOff + i] = a[aOff + i] * b[bOff + i] for i < n (out may alias a or b). */
    public static void mul(float[] out, int outOff, float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0;
        for (int upper = n - L + 1; i < upper; i += L)
            FloatVector.fromArray(F, a, aOff + i).mul(FloatVector.fromArray(F, b, bOff + i)).intoArray(out, outOff + i);
        for (; i < n; i++) out[outOff + i] = a[aOff + i] * b[bOff + i];
    }

    /** sum_i x[off + i]^2 for i < n. */
    public static float sumSquares(float[] x, int off, int n) {
        FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F);
        int i = 0;
        for (int upper = n - 2 * L + 1; i < upper; i += 2 * L) {
            FloatVector v0 = FloatVector.fromArray(F, x, off + i);
            FloatVector v1 = FloatVector.fromArray(F, x, off + i + L);
            s0 = v0.fma(v0, s0);
            s1 = v1.fma(v1, s1);
        }
        for (int upper = n - L + 1; i < upper; i += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, off + i);
            s0 = v0.fma(v0, s0);
        }
        float s = sumLanes(s0.add(s1));
        for (; i < n; i++) s += x[off + i] * x[off + i];
        return s;
    }

    /** max_i x[off + i] for i < n (n >= 1); NaN if any element is NaN. */
    public static float max(float[] x, int off, int n) {
        if (n <= 0) throw new IllegalArgumentException("max of an empty range");
        float m = Float.NEGATIVE_INFINITY;
        int i = 0;
        if (n >= L) {
            FloatVector vm = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (int upper = n - L + 1; i < upper; i += L) vm = vm.max(FloatVector.fromArray(F, x, off + i));
            m = vm.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) m = Math.max(m, x[off + i]);
        return m;
    }

    /** RMSNorm as Hugging Face Llama: out = x * rsqrt(mean(x^2) + eps) * weight, all in f32. */
    public static void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, float eps, int dim) {
        float inv = rmsInv(x, xOff, eps, dim);
        int i = 0;
        for (int upper = dim - L + 1; i < upper; i += L)
            FloatVector.fromArray(F, x, xOff + i).mul(inv).mul(FloatVector.fromArray(F, weight, i)).intoArray(out, outOff + i);
        for (; i < dim; i++) out[outOff + i] = x[xOff + i] * inv * weight[i];
    }

    /** RMSNorm with the weight a 1-D tensor [dim] in F32, BF16 or F16 (widened exactly in registers). */
    public static void rmsnorm(float[] out, int outOff, float[] x, int xOff, Tensor weight, float eps, int dim) {
        if (weight.numel() < dim) throw new IllegalArgumentException("rmsnorm weight " + weight + " shorter than " + dim);
        float inv = rmsInv(x, xOff, eps, dim);
        MemorySegment w = weight.data();
        DType dt = weight.dtype();
        int i = 0;
        if (Convert.S.length() == L) {
            int upper = dim - L + 1;
            if (dt == DType.F32) {
                for (; i < upper; i += L)
                    FloatVector.fromArray(F, x, xOff + i).mul(inv)
                            .mul(FloatVector.fromMemorySegment(F, w, 4L * i, Convert.LE)).intoArray(out, outOff + i);
            } else if (dt == DType.BF16) {
                for (; i < upper; i += L) {
                    IntVector h = (IntVector) ShortVector.fromMemorySegment(Convert.S, w, 2L * i, Convert.LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_S2I, Convert.I, 0);
                    FloatVector wv = h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                    FloatVector.fromArray(F, x, xOff + i).mul(inv).mul(wv).intoArray(out, outOff + i);
                }
            } else if (dt == DType.F16) {
                for (; i < upper; i += L) {
                    IntVector h = (IntVector) ShortVector.fromMemorySegment(Convert.S, w, 2L * i, Convert.LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_S2I, Convert.I, 0);
                    IntVector mag = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13); // Convert.f16BitsToF32, inline
                    FloatVector wv = mag.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                            .lanewise(VectorOperators.OR, 0x7f800000, mag.compare(VectorOperators.GE, 0x0f800000))
                            .or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
                    FloatVector.fromArray(F, x, xOff + i).mul(inv).mul(wv).intoArray(out, outOff + i);
                }
            }
        }
        for (; i < dim; i++) out[outOff + i] = x[xOff + i] * inv * weight.getFloat(i);
    }

    /** 1 / sqrt(mean(x^2) + eps) over x[xOff, xOff + dim). */
    static float rmsInv(float[] x, int xOff, float eps, int dim) {
        float ms = sumSquares(x, xOff, dim) / dim;
        return (float) (1.0 / Math.sqrt(ms + eps));
    }

    /** x[off, off + len) = softmax(x[off, off + len)), max-subtracted; -inf entries become 0. */
    public static void softmaxInPlace(float[] x, int off, int len) {
        if (len <= 0) return;
        float m = max(x, off, len);
        if (m == Float.NEGATIVE_INFINITY) throw new IllegalArgumentException("softmax over all -inf");
        FloatVector vm = FloatVector.broadcast(F, m);
        FloatVector vs = FloatVector.zero(F);
        int i = 0;
        for (int upper = len - L + 1; i < upper; i += L) {
            FloatVector e = exp(FloatVector.fromArray(F, x, off + i).sub(vm));
            e.intoArray(x, off + i);
            vs = vs.add(e);
        }
        float s = sumLanes(vs);
        for (; i < len; i++) {
            float e = (float) Math.exp(x[off + i] - m);
            x[off + i] = e;
            s += e;
        }
        scale(x, off, 1f / s, len);
    }

    /** Floats per vector of the preferred species (16 with AVX-512, 8 with AVX2). */
    public static int lanes() { return L; }

    /** n rounded up to a whole number of vectors. */
    public static int roundUpToLanes(int n) { return (n + L - 1) / L * L; }

    /** 0, 1, ..., L-1: compared with a count, it marks the live lanes of a last partial vector. */
    private static final FloatVector IOTA;
    static {
        float[] t = new float[L];
        for (int i = 0; i < L; i++) t[i] = i;
        IOTA = FloatVector.fromArray(F, t, 0);
    }

    /**
     * One attention query over n keys stored along rows (channel-major, as a KV cache keeps them):
     * s_j = (sum_d q[qOff + d] * k[kOff + d*ld + j]) * scale, p = softmax(s) in f32, and
     * out[oOff + d] = sum_j p_j * v[vOff + d*ld + j] for d < D. Every loop runs along the keys in whole
     * vectors, so a small head_dim costs no short loops: each row must be readable (not necessarily
     * filled) up to {@link #roundUpToLanes}(n), which lanes past n never influence, and scores is scratch
     * of that size. The normalisation is applied to the D sums rather than the n probabilities
     * (rounding differs from "softmax, then weighted sum" by about an ulp).
     */
    public static void attendAlongKeys(float[] out, int oOff, float[] q, int qOff, float scale,
                                       float[] k, int kOff, float[] v, int vOff, int ld, int D, int n, float[] scores) {
        int padded = checkedKeyRows(n, 1, ld, D, k, kOff, v, vOff, scores), last = padded - L;
        // Three methods, not one: C2 compiles weightedRows on its own and inlines the other two here; written as
        // a single method the vector code hits the inlining cutoffs and boxes vectors (for the same reason
        // expShiftedSum spells out its lane sum).
        float m = scoresAlongKeys(q, qOff, scale, k, kOff, ld, D, n, last, scores);
        float sum = expShiftedSum(scores, 0, padded, m);
        weightedRows(out, oOff, v, vOff, ld, D, n, last, scores, 1f / sum);
    }

    /**
     * {@link #attendAlongKeys} for four query heads that share one key/value head (grouped-query attention): head g's
     * query is q[qOff + g*D ...], its output out[oOff + g*D ...]. Each vector of keys and of values is loaded once
     * for the four heads instead of once per head, which quarters the cache traffic of a decode step (the keys and
     * values of a long context do not stay in L1). Every head's result has exactly the bits of
     * {@link #attendAlongKeys} on its own: the same FMA chains, exp and lane sums, in the same order.
     * scores must hold 4 * {@link #roundUpToLanes}(n) floats (head g's probabilities at g * roundUpToLanes(n)).
     */
    public static void attendAlongKeys4(float[] out, int oOff, float[] q, int qOff, float scale,
                                        float[] k, int kOff, float[] v, int vOff, int ld, int D, int n, float[] scores) {
        int padded = checkedKeyRows(n, 4, ld, D, k, kOff, v, vOff, scores), last = padded - L;
        float[] m = scores4(q, qOff, scale, k, kOff, ld, D, n, last, padded, scores);
        float inv0 = 1f / expShiftedSum(scores, 0, padded, m[0]);
        float inv1 = 1f / expShiftedSum(scores, padded, padded, m[1]);
        float inv2 = 1f / expShiftedSum(scores, 2 * padded, padded, m[2]);
        float inv3 = 1f / expShiftedSum(scores, 3 * padded, padded, m[3]);
        weightedRows4(out, oOff, v, vOff, ld, D, n, last, padded, scores, inv0, inv1, inv2, inv3);
    }

    /** scoresAlongKeys for four heads at once (head g's scores at g * padded); returns the four maxima. */
    private static float[] scores4(float[] q, int qOff, float scale, float[] k, int kOff, int ld, int D, int n,
                                   int last, int padded, float[] s) {
        VectorMask<Float> dead = IOTA.lt((float) (n - last)).not();
        FloatVector m0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY), m1 = m0, m2 = m0, m3 = m0;
        int q0 = qOff, q1 = q0 + D, q2 = q1 + D, q3 = q2 + D, p1 = padded, p2 = 2 * padded, p3 = 3 * padded;
        int j = 0;
        for (; j + L < last; j += 2 * L) {   // two whole vectors of keys x four heads: eight independent chains
            FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
            for (int d = 0, r = kOff + j; d < D; d++, r += ld) {
                FloatVector k0 = FloatVector.fromArray(F, k, r), k1 = FloatVector.fromArray(F, k, r + L);
                FloatVector x = FloatVector.broadcast(F, q[q0 + d]);
                a0 = k0.fma(x, a0);
                b0 = k1.fma(x, b0);
                x = FloatVector.broadcast(F, q[q1 + d]);
                a1 = k0.fma(x, a1);
                b1 = k1.fma(x, b1);
                x = FloatVector.broadcast(F, q[q2 + d]);
                a2 = k0.fma(x, a2);
                b2 = k1.fma(x, b2);
                x = FloatVector.broadcast(F, q[q3 + d]);
                a3 = k0.fma(x, a3);
                b3 = k1.fma(x, b3);
            }
            a0 = a0.mul(scale); b0 = b0.mul(scale);
            a1 = a1.mul(scale); b1 = b1.mul(scale);
            a2 = a2.mul(scale); b2 = b2.mul(scale);
            a3 = a3.mul(scale); b3 = b3.mul(scale);
            a0.intoArray(s, j); b0.intoArray(s, j + L);
            a1.intoArray(s, p1 + j); b1.intoArray(s, p1 + j + L);
            a2.intoArray(s, p2 + j); b2.intoArray(s, p2 + j + L);
            a3.intoArray(s, p3 + j); b3.intoArray(s, p3 + j + L);
            m0 = m0.max(a0.max(b0));
            m1 = m1.max(a1.max(b1));
            m2 = m2.max(a2.max(b2));
            m3 = m3.max(a3.max(b3));
        }
        for (; j <= last; j += L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int d = 0, r = kOff + j; d < D; d++, r += ld) {
                FloatVector k0 = FloatVector.fromArray(F, k, r);
                a0 = k0.fma(FloatVector.broadcast(F, q[q0 + d]), a0);
                a1 = k0.fma(FloatVector.broadcast(F, q[q1 + d]), a1);
                a2 = k0.fma(FloatVector.broadcast(F, q[q2 + d]), a2);
                a3 = k0.fma(FloatVector.broadcast(F, q[q3 + d]), a3);
            }
            a0 = a0.mul(scale);
            a1 = a1.mul(scale);
            a2 = a2.mul(scale);
            a3 = a3.mul(scale);
            if (j == last) {
                a0 = a0.blend(Float.NEGATIVE_INFINITY, dead);
                a1 = a1.blend(Float.NEGATIVE_INFINITY, dead);
                a2 = a2.blend(Float.NEGATIVE_INFINITY, dead);
                a3 = a3.blend(Float.NEGATIVE_INFINITY, dead);
            }
            a0.intoArray(s, j);
            a1.intoArray(s, p1 + j);
            a2.intoArray(s, p2 + j);
            a3.intoArray(s, p3 + j);
            m0 = m0.max(a0);
            m1 = m1.max(a1);
            m2 = m2.max(a2);
            m3 = m3.max(a3);
        }
        float[] m = {m0.reduceLanes(VectorOperators.MAX), m1.reduceLanes(VectorOperators.MAX),
                m2.reduceLanes(VectorOperators.MAX), m3.reduceLanes(VectorOperators.MAX)};
        for (float x : m) requireFiniteMax(x);
        return m;
    }

    /**
     * weightedRows for four heads at once: out[oOff + g*D + d] = inv_g * sum_j p[g*padded + j] * v[vOff + d*ld + j],
     * two rows of v x four heads per pass (eight independent sums, each row of v loaded once for the four heads).
     */
    private static void weightedRows4(float[] out, int oOff, float[] v, int vOff, int ld, int D, int n, int last, int padded,
                                      float[] p, float inv0, float inv1, float inv2, float inv3) {
        VectorMask<Float> dead = IOTA.lt((float) (n - last)).not();
        int o0 = oOff, o1 = o0 + D, o2 = o1 + D, o3 = o2 + D, p1 = padded, p2 = 2 * padded, p3 = 3 * padded;
        int d = 0;
        for (; d + 2 <= D; d += 2) {
            int r0 = vOff + d * ld, r1 = r0 + ld;
            FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
            for (int j = 0; j < last; j += L) {
                FloatVector v0 = FloatVector.fromArray(F, v, r0 + j), v1 = FloatVector.fromArray(F, v, r1 + j);
                FloatVector x = FloatVector.fromArray(F, p, j);
                a0 = v0.fma(x, a0);
                b0 = v1.fma(x, b0);
                x = FloatVector.fromArray(F, p, p1 + j);
                a1 = v0.fma(x, a1);
                b1 = v1.fma(x, b1);
                x = FloatVector.fromArray(F, p, p2 + j);
                a2 = v0.fma(x, a2);
                b2 = v1.fma(x, b2);
                x = FloatVector.fromArray(F, p, p3 + j);
                a3 = v0.fma(x, a3);
                b3 = v1.fma(x, b3);
            }
            // the last vector: lanes past n hold p = 0 but possibly any v (even NaN), so v is zeroed there
            FloatVector v0 = FloatVector.fromArray(F, v, r0 + last).blend(0f, dead);
            FloatVector v1 = FloatVector.fromArray(F, v, r1 + last).blend(0f, dead);
            FloatVector x = FloatVector.fromArray(F, p, last);
            a0 = v0.fma(x, a0);
            b0 = v1.fma(x, b0);
            x = FloatVector.fromArray(F, p, p1 + last);
            a1 = v0.fma(x, a1);
            b1 = v1.fma(x, b1);
            x = FloatVector.fromArray(F, p, p2 + last);
            a2 = v0.fma(x, a2);
            b2 = v1.fma(x, b2);
            x = FloatVector.fromArray(F, p, p3 + last);
            a3 = v0.fma(x, a3);
            b3 = v1.fma(x, b3);
            out[o0 + d] = sumLanes(a0) * inv0;
            out[o0 + d + 1] = sumLanes(b0) * inv0;
            out[o1 + d] = sumLanes(a1) * inv1;
            out[o1 + d + 1] = sumLanes(b1) * inv1;
            out[o2 + d] = sumLanes(a2) * inv2;
            out[o2 + d + 1] = sumLanes(b2) * inv2;
            out[o3 + d] = sumLanes(a3) * inv3;
            out[o3 + d + 1] = sumLanes(b3) * inv3;
        }
        for (; d < D; d++) {
            int r = vOff + d * ld;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int j = 0; j <= last; j += L) {
                FloatVector v0 = FloatVector.fromArray(F, v, r + j);
                if (j == last) v0 = v0.blend(0f, dead);
                a0 = v0.fma(FloatVector.fromArray(F, p, j), a0);
                a1 = v0.fma(FloatVector.fromArray(F, p, p1 + j), a1);
                a2 = v0.fma(FloatVector.fromArray(F, p, p2 + j), a2);
                a3 = v0.fma(FloatVector.fromArray(F, p, p3 + j), a3);
            }
            out[o0 + d] = sumLanes(a0) * inv0;
            out[o1 + d] = sumLanes(a1) * inv1;
            out[o2 + d] = sumLanes(a2) * inv2;
            out[o3 + d] = sumLanes(a3) * inv3;
        }
    }

    /**
     * The checks of the attention-along-keys kernels: n > 0 keys, rows of k and v readable up to the next whole vector
     * (returned: roundUpToLanes(n)), and scratch for {@code heads} rows of scores.
     */
    private static int checkedKeyRows(int n, int heads, int ld, int D, float[] k, int kOff, float[] v, int vOff, float[] scores) {
        if (n <= 0) throw new IllegalArgumentException("attention over no keys");
        int padded = roundUpToLanes(n);
        if (ld < padded || scores.length < (long) heads * padded || kOff + (long) (D - 1) * ld + padded > k.length
                || vOff + (long) (D - 1) * ld + padded > v.length)
            throw new IndexOutOfBoundsException("attention rows must be readable up to " + padded + " keys");
        return padded;
    }

    /** A row's largest score, which softmax subtracts: refused when NaN or -inf (no finite score at all). */
    private static float requireFiniteMax(float m) {
        if (m == Float.NEGATIVE_INFINITY || Float.isNaN(m))
            throw new org.lori4j.io.LoriException("attention scores are NaN or all -inf: the model or adapter weights"
                    + " (or the activations they give) are not finite");
        return m;
    }

    /** scores[j] = scale * q . k_j for j < n, -inf in the lanes up to the next vector; returns the maximum. */
    private static float scoresAlongKeys(float[] q, int qOff, float scale, float[] k, int kOff, int ld, int D, int n,
                                         int last, float[] scores) {
        VectorMask<Float> dead = IOTA.lt((float) (n - last)).not();
        FloatVector vmax = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int j = 0;
        // Four vectors of keys at a time: four independent FMA chains along d instead of one, whose latency (D
        // dependent FMAs per vector of keys) bounded the loop. Each lane's chain is unchanged: the same bits.
        for (; j + 3 * L < last; j += 4 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int d = 0, r = kOff + j; d < D; d++, r += ld) {
                FloatVector qd = FloatVector.broadcast(F, q[qOff + d]);
                a0 = FloatVector.fromArray(F, k, r).fma(qd, a0);
                a1 = FloatVector.fromArray(F, k, r + L).fma(qd, a1);
                a2 = FloatVector.fromArray(F, k, r + 2 * L).fma(qd, a2);
                a3 = FloatVector.fromArray(F, k, r + 3 * L).fma(qd, a3);
            }
            a0 = a0.mul(scale);
            a1 = a1.mul(scale);
            a2 = a2.mul(scale);
            a3 = a3.mul(scale);
            a0.intoArray(scores, j);
            a1.intoArray(scores, j + L);
            a2.intoArray(scores, j + 2 * L);
            a3.intoArray(scores, j + 3 * L);
            vmax = vmax.max(a0.max(a1).max(a2.max(a3)));
        }
        for (; j <= last; j += L) {
            FloatVector acc = FloatVector.zero(F);
            for (int d = 0; d < D; d++)
                acc = FloatVector.fromArray(F, k, kOff + d * ld + j).fma(FloatVector.broadcast(F, q[qOff + d]), acc);
            acc = acc.mul(scale);
            if (j == last) acc = acc.blend(Float.NEGATIVE_INFINITY, dead);
            acc.intoArray(scores, j);
            vmax = vmax.max(acc);
        }
        return requireFiniteMax(vmax.reduceLanes(VectorOperators.MAX));
    }

    /**
     * x[off + i] = exp(x[off + i] - m) for i < n (a multiple of L); returns their sum. m is the finite maximum of x (no NaN), so
     * every argument is in [-inf, 0]: {@link #exp(FloatVector)} spelled out without its overflow and NaN cases and
     * with 2^k as one factor (k >= -126 here, so p * 2^k rounds exactly as exp's p * 2^k1 * 2^k2): the same bits.
     */
    private static float expShiftedSum(float[] x, int off, int n, float m) {
        FloatVector vm = FloatVector.broadcast(F, m), vs = FloatVector.zero(F);
        for (int j = off, end = off + n; j < end; j += L) {
            FloatVector a = FloatVector.fromArray(F, x, j).sub(vm);
            FloatVector ac = a.max(EXP_MIN);
            FloatVector kf = ac.fma(LOG2E, ROUND).sub(ROUND);
            FloatVector r = kf.fma(NEG_LN2_HI, ac);
            r = kf.fma(NEG_LN2_LO, r);
            FloatVector p = C7.fma(r, C6).fma(r, C5).fma(r, C4).fma(r, C3).fma(r, C2).fma(r, ONE).fma(r, ONE);
            IntVector k = (IntVector) kf.convert(VectorOperators.F2I, 0);
            FloatVector e = p.mul(k.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats())
                    .blend(0f, a.compare(VectorOperators.LT, EXP_MIN));
            e.intoArray(x, j);
            vs = vs.add(e);
        }
        // sumLanes(vs) spelled out: C2 inlines this method into attendAlongKeys and, past its node-count cutoff,
        // would leave the sumLanes call out of line, boxing vs on every call (~200 MB/s of garbage when decoding).
        if (L >= 16) vs = vs.add(vs.rearrange(FOLD8));
        if (L >= 8) vs = vs.add(vs.rearrange(FOLD4));
        if (L >= 4) vs = vs.add(vs.rearrange(FOLD2));
        if (L >= 2) vs = vs.add(vs.rearrange(FOLD1));
        return vs.lane(0);
    }

    /**
     * out[oOff + d] = inv * sum_{j<n} p[j] * v[vOff + d*ld + j], eight (with 8- or 16-lane vectors) or four rows
     * of v per pass over p.
     */
    private static void weightedRows(float[] out, int oOff, float[] v, int vOff, int ld, int D, int n, int last,
                                     float[] p, float inv) {
        VectorMask<Float> dead = IOTA.lt((float) (n - last)).not();
        int d = 0;
        for (; (L == 8 || L == 16) && d + 8 <= D; d += 8) {
            int r0 = vOff + d * ld, r1 = r0 + ld, r2 = r1 + ld, r3 = r2 + ld, r4 = r3 + ld, r5 = r4 + ld, r6 = r5 + ld, r7 = r6 + ld;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (int j = 0; j < last; j += L) {
                FloatVector pj = FloatVector.fromArray(F, p, j);
                a0 = FloatVector.fromArray(F, v, r0 + j).fma(pj, a0);
                a1 = FloatVector.fromArray(F, v, r1 + j).fma(pj, a1);
                a2 = FloatVector.fromArray(F, v, r2 + j).fma(pj, a2);
                a3 = FloatVector.fromArray(F, v, r3 + j).fma(pj, a3);
                a4 = FloatVector.fromArray(F, v, r4 + j).fma(pj, a4);
                a5 = FloatVector.fromArray(F, v, r5 + j).fma(pj, a5);
                a6 = FloatVector.fromArray(F, v, r6 + j).fma(pj, a6);
                a7 = FloatVector.fromArray(F, v, r7 + j).fma(pj, a7);
            }
            FloatVector pj = FloatVector.fromArray(F, p, last);
            a0 = FloatVector.fromArray(F, v, r0 + last).blend(0f, dead).fma(pj, a0);
            a1 = FloatVector.fromArray(F, v, r1 + last).blend(0f, dead).fma(pj, a1);
            a2 = FloatVector.fromArray(F, v, r2 + last).blend(0f, dead).fma(pj, a2);
            a3 = FloatVector.fromArray(F, v, r3 + last).blend(0f, dead).fma(pj, a3);
            a4 = FloatVector.fromArray(F, v, r4 + last).blend(0f, dead).fma(pj, a4);
            a5 = FloatVector.fromArray(F, v, r5 + last).blend(0f, dead).fma(pj, a5);
            a6 = FloatVector.fromArray(F, v, r6 + last).blend(0f, dead).fma(pj, a6);
            a7 = FloatVector.fromArray(F, v, r7 + last).blend(0f, dead).fma(pj, a7);
            // The eight lane sums as eight interleaved sumLanes trees (bit for bit the same sums): merging x and y at
            // distance s folds x into the lanes with bit s clear and y into those with it set, so every stage halves
            // the vectors instead of each sum costing a chain of its own.
            // (Spelled out, no helper: past C2's node-count cutoff a helper taking vectors is called, not inlined, and
            // boxes them; the Vector API's own methods are always inlined.)
            FloatVector t;
            if (L == 16) {
                FloatVector b0 = a0.blend(a1, BIT8).add(a1.blend(a0, BIT8).rearrange(XOR8));
                FloatVector b1 = a2.blend(a3, BIT8).add(a3.blend(a2, BIT8).rearrange(XOR8));
                FloatVector b2 = a4.blend(a5, BIT8).add(a5.blend(a4, BIT8).rearrange(XOR8));
                FloatVector b3 = a6.blend(a7, BIT8).add(a7.blend(a6, BIT8).rearrange(XOR8));
                FloatVector c0 = b0.blend(b1, BIT4).add(b1.blend(b0, BIT4).rearrange(XOR4));
                FloatVector c1 = b2.blend(b3, BIT4).add(b3.blend(b2, BIT4).rearrange(XOR4));
                FloatVector e = c0.blend(c1, BIT2).add(c1.blend(c0, BIT2).rearrange(XOR2));
                t = e.add(e.rearrange(XOR1));
            } else {
                FloatVector b0 = a0.blend(a1, BIT4).add(a1.blend(a0, BIT4).rearrange(XOR4));
                FloatVector b1 = a2.blend(a3, BIT4).add(a3.blend(a2, BIT4).rearrange(XOR4));
                FloatVector b2 = a4.blend(a5, BIT4).add(a5.blend(a4, BIT4).rearrange(XOR4));
                FloatVector b3 = a6.blend(a7, BIT4).add(a7.blend(a6, BIT4).rearrange(XOR4));
                FloatVector c0 = b0.blend(b1, BIT2).add(b1.blend(b0, BIT2).rearrange(XOR2));
                FloatVector c1 = b2.blend(b3, BIT2).add(b3.blend(b2, BIT2).rearrange(XOR2));
                t = c0.blend(c1, BIT1).add(c1.blend(c0, BIT1).rearrange(XOR1));
            }
            t.mul(inv).rearrange(SUMS8).intoArray(out, oOff + d, FIRST8);
        }
        for (; d + 4 <= D; d += 4) {
            int r0 = vOff + d * ld, r1 = r0 + ld, r2 = r1 + ld, r3 = r2 + ld;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int j = 0; j < last; j += L) {
                FloatVector pj = FloatVector.fromArray(F, p, j);
                a0 = FloatVector.fromArray(F, v, r0 + j).fma(pj, a0);
                a1 = FloatVector.fromArray(F, v, r1 + j).fma(pj, a1);
                a2 = FloatVector.fromArray(F, v, r2 + j).fma(pj, a2);
                a3 = FloatVector.fromArray(F, v, r3 + j).fma(pj, a3);
            }
            // the last vector: lanes past n hold p = 0 but possibly any v (even NaN), so v is zeroed there
            FloatVector pj = FloatVector.fromArray(F, p, last);
            a0 = FloatVector.fromArray(F, v, r0 + last).blend(0f, dead).fma(pj, a0);
            a1 = FloatVector.fromArray(F, v, r1 + last).blend(0f, dead).fma(pj, a1);
            a2 = FloatVector.fromArray(F, v, r2 + last).blend(0f, dead).fma(pj, a2);
            a3 = FloatVector.fromArray(F, v, r3 + last).blend(0f, dead).fma(pj, a3);
            out[oOff + d] = sumLanes(a0) * inv;
            out[oOff + d + 1] = sumLanes(a1) * inv;
            out[oOff + d + 2] = sumLanes(a2) * inv;
            out[oOff + d + 3] = sumLanes(a3) * inv;
        }
        for (; d < D; d++) {
            int r = vOff + d * ld;
            FloatVector a = FloatVector.zero(F);
            for (int j = 0; j < last; j += L) a = FloatVector.fromArray(F, v, r + j).fma(FloatVector.fromArray(F, p, j), a);
            a = FloatVector.fromArray(F, v, r + last).blend(0f, dead).fma(FloatVector.fromArray(F, p, last), a);
            out[oOff + d] = sumLanes(a) * inv;
        }
    }

    /** out[i] = silu(gate[i]) * up[i] = gate / (1 + exp(-gate)) * up for i < n (SwiGLU). */
    public static void siluMul(float[] out, float[] gate, float[] up, int n) {
        siluMul(out, 0, gate, 0, up, 0, n);
    }

    /** As {@link #siluMul(float[], float[], float[], int)} with offsets (out may alias gate or up). */
    public static void siluMul(float[] out, int outOff, float[] gate, int gateOff, float[] up, int upOff, int n) {
        int i = 0;
        for (int upper = n - L + 1; i < upper; i += L) {
            FloatVector g = FloatVector.fromArray(F, gate, gateOff + i);
            FloatVector sig = exp(g.neg()).add(1f);
            g.div(sig).mul(FloatVector.fromArray(F, up, upOff + i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            float g = gate[gateOff + i];
            out[outOff + i] = (float) (g / (1.0 + Math.exp(-g))) * up[upOff + i];
        }
    }

    /**
     * Backward of {@link #siluMul}: with s = sigmoid(g), {@code dup = dout * g * s} and
     * {@code dgate = dout * up * s * (1 + g * (1 - s))}. The outputs may alias gate and up.
     */
    public static void siluMulBackward(float[] dgate, int dgOff, float[] dup, int duOff, float[] dout, int doOff,
                                       float[] gate, int gOff, float[] up, int uOff, int n) {
        int i = 0;
        for (int upper = n - L + 1; i < upper; i += L) {
            FloatVector g = FloatVector.fromArray(F, gate, gOff + i), u = FloatVector.fromArray(F, up, uOff + i);
            FloatVector d = FloatVector.fromArray(F, dout, doOff + i);
            // exp(-g) written out here: a call to exp() is not always inlined (once exp is compiled on its own
            // its code exceeds C2's InlineSmallCode), and a call that is not inlined boxes the vectors
            FloatVector x = g.neg();
            FloatVector xc = x.max(EXP_MIN).min(EXP_MAX);
            FloatVector kf = xc.fma(LOG2E, ROUND).sub(ROUND);
            FloatVector r = kf.fma(NEG_LN2_HI, xc);
            r = kf.fma(NEG_LN2_LO, r);
            FloatVector p = C7.fma(r, C6).fma(r, C5).fma(r, C4).fma(r, C3).fma(r, C2).fma(r, ONE).fma(r, ONE);
            IntVector k = (IntVector) kf.convert(VectorOperators.F2I, 0);
            IntVector k1 = k.lanewise(VectorOperators.ASHR, 1);
            FloatVector s1 = k1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector s2 = k.sub(k1).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector e = p.mul(s1).mul(s2).blend(0f, x.compare(VectorOperators.LT, EXP_MIN))
                    .blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, EXP_MAX));
            FloatVector sig = ONE.div(e.add(1f));   // NaN gates propagate through the arithmetic
            FloatVector dg = d.mul(u).mul(sig).mul(g.mul(ONE.sub(sig)).add(1f));
            d.mul(g).mul(sig).intoArray(dup, duOff + i);
            dg.intoArray(dgate, dgOff + i);
        }
        for (; i < n; i++) {
            float g = gate[gOff + i], u = up[uOff + i], d = dout[doOff + i];
            float sig = 1.0f / (1.0f + (float) Math.exp(-g));
            dgate[dgOff + i] = d * u * sig * (1.0f + g * (1.0f - sig));
            dup[duOff + i] = d * g * sig;
        }
    }

    /** x[off + i] = exp(x[off + i]) for i < n, by {@link #exp(FloatVector)}. */
    public static void expInPlace(float[] x, int off, int n) {
        int i = 0;
        for (int upper = n - L + 1; i < upper; i += L)
            exp(FloatVector.fromArray(F, x, off + i)).intoArray(x, off + i);
        for (; i < n; i++) x[off + i] = (float) Math.exp(x[off + i]);
    }

    private static final float LOG2E = 1.44269504088896341f;
    /** ln 2 split so that k * LN2_HI is exact for |k| < 2^9 (Cody-Waite). */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float EXP_MAX = 88.72283935546875f;
    private static final float EXP_MIN = -87.33654475f;
    private static final float ROUND = 12582912f; // 1.5 * 2^23: adding it rounds to an integer
    // the polynomial's coefficients as constant vectors: keeps exp() under C2's 325-byte inlining limit
    // (FreqInlineSize), since a call that is not inlined boxes its vector arguments and runs ~50x slower
    private static final FloatVector NEG_LN2_HI = FloatVector.broadcast(F, -LN2_HI), NEG_LN2_LO = FloatVector.broadcast(F, -LN2_LO);
    private static final FloatVector C7 = FloatVector.broadcast(F, 1f / 5040f), C6 = FloatVector.broadcast(F, 1f / 720f),
            C5 = FloatVector.broadcast(F, 1f / 120f), C4 = FloatVector.broadcast(F, 1f / 24f), C3 = FloatVector.broadcast(F, 1f / 6f),
            C2 = FloatVector.broadcast(F, 0.5f), ONE = FloatVector.broadcast(F, 1f);

    /**
     * Lane-wise e^x: x = k ln2 + r with |r| <= ln2/2, e^r by its Taylor polynomial to degree 7
     * (truncation < 6e-9), times 2^k built in the exponent bits (split in two halves so k = 128
     * does not overflow). Overflow gives +inf, inputs below ln(2^-126) give 0, NaN stays NaN.
     */
    public static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(EXP_MIN).min(EXP_MAX);
        FloatVector kf = xc.fma(LOG2E, ROUND).sub(ROUND);
        FloatVector r = kf.fma(NEG_LN2_HI, xc);
        r = kf.fma(NEG_LN2_LO, r);
        FloatVector p = C7.fma(r, C6).fma(r, C5).fma(r, C4).fma(r, C3).fma(r, C2).fma(r, ONE).fma(r, ONE);
        IntVector k = (IntVector) kf.convert(VectorOperators.F2I, 0);
        IntVector k1 = k.lanewise(VectorOperators.ASHR, 1);
        IntVector k2 = k.sub(k1);
        FloatVector s1 = k1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = k2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector res = p.mul(s1).mul(s2);
        VectorMask<Float> under = x.compare(VectorOperators.LT, EXP_MIN);
        VectorMask<Float> over = x.compare(VectorOperators.GT, EXP_MAX);
        res = res.blend(0f, under).blend(Float.POSITIVE_INFINITY, over);
        return res.blend(x, x.test(VectorOperators.IS_NAN));
    }
}
