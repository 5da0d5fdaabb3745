package org.lori4j.train;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.lori4j.tensor.Vec;

/**
 * Next-token negative log-likelihood from logits, {@code nll = logsumexp(z) - z[target]}, and its
 * gradient {@code dz = dnll * (softmax(z) - onehot(target))}, computed in place on one row of
 * logits so a [rows, vocab] chunk never needs a second buffer. The exponentials use the Vector API
 * ({@link Vec#exp}); sums run in a fixed order, so results do not depend on JIT state.
 */
public final class CrossEntropy {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    private CrossEntropy() {}

    /** -log softmax(z)[target] for the row z = logits[off, off+vocab) (the row is left unchanged). */
    public static double forward(float[] logits, int off, int vocab, int target) {
        float max = Vec.max(logits, off, vocab);
        double sum = expShift(logits, off, vocab, max, false);
        return max + Math.log(sum) - logits[off + target];
    }

    /**
     * Returns the row's nll and overwrites the row with its gradient times {@code dnll}.
     * A NaN or infinite logit gives a NaN/inf nll, which the trainer detects.
     */
    public static double forwardBackwardInPlace(float[] logits, int off, int vocab, int target, float dnll) {
        float zt = logits[off + target];
        float max = Vec.max(logits, off, vocab);
        double sum = expShift(logits, off, vocab, max, true);
        Vec.scale(logits, off, (float) (dnll / sum), vocab);
        logits[off + target] -= dnll;
        return max + Math.log(sum) - zt;
    }

    /**
     * The sum of exp(x - max) over the row (lane partial sums added in lane order, then the tail); with
     * {@code store} the exponentials replace x.
     */
    private static double expShift(float[] x, int off, int n, float max, boolean store) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int upper = n - L + 1; i < upper; i += L) {
            FloatVector e = Vec.exp(FloatVector.fromArray(F, x, off + i).sub(max));
            if (store) e.intoArray(x, off + i);
            acc = acc.add(e);
        }
        float[] lanes = new float[L];
        acc.intoArray(lanes, 0);
        double sum = 0;
        for (float v : lanes) sum += v;
        for (; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            if (store) x[off + i] = e;
            sum += e;
        }
        return sum;
    }
}
