package org.lori4j.train;

/**
 * Next-token negative log-likelihood from logits, {@code nll = logsumexp(z) - z[target]}, and its
 * gradient {@code dz = dnll * (softmax(z) - onehot(target))}, computed in place on one row of
 * logits so a [rows, vocab] chunk never needs a second buffer.
 */
public final class CrossEntropy {
    private CrossEntropy() {}

    /** -log softmax(z)[target] for the row z = logits[off, off+vocab). */
    public static double forward(float[] logits, int off, int vocab, int target) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) max = Math.max(max, logits[off + i]);
        double sum = 0;
        for (int i = 0; i < vocab; i++) sum += Math.exp(logits[off + i] - max);
        return max + Math.log(sum) - logits[off + target];
    }

    /**
     * Returns the row's nll and overwrites the row with its gradient times {@code dnll}.
     * A NaN or infinite logit gives a NaN/inf nll, which the trainer detects.
     */
    public static double forwardBackwardInPlace(float[] logits, int off, int vocab, int target, float dnll) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) max = Math.max(max, logits[off + i]);
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            float e = (float) Math.exp(logits[off + i] - max);
            sum += e;
        }
        double nll = max + Math.log(sum) - logits[off + target];
        float scale = (float) (dnll / sum);
        for (int i = 0; i < vocab; i++) logits[off + i] = (float) Math.exp(logits[off + i] - max) * scale;
        logits[off + target] -= dnll;
        return nll;
    }
}
