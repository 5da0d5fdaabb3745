package org.lori4j.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks next tokens from logits in Hugging Face's order: repetition penalty, then (when
 * sampling) temperature, top-k, top-p, and a draw from the softmax of what is left; greedy
 * takes the argmax after the penalty. One sampler belongs to one sequence: it owns the random
 * generator, so a seed reproduces the sequence.
 */
public final class Sampler {
    private final SamplingParams params;
    private final SplittableRandom random;

    public Sampler(SamplingParams params) {
        this(params, params.seed());
    }

    /** A sampler with its own seed (batched generation gives each sequence one). */
    public Sampler(SamplingParams params, long seed) {
        this.params = params;
        this.random = new SplittableRandom(seed);
    }

    /**
     * The next token given the logits [V] at {@code off} of {@code logits} (modified in place)
     * and the tokens of the sequence so far ({@code history[0, historyLen)}, prompt included).
     */
    public int next(float[] logits, int off, int vocab, int[] history, int historyLen) {
        float[] l = off == 0 && logits.length == vocab ? logits : Arrays.copyOfRange(logits, off, off + vocab);
        applyRepetitionPenalty(l, history, historyLen, params.repetitionPenalty());
        if (params.isGreedy()) return argmax(l);
        applyTemperature(l, params.temperature());
        applyTopK(l, params.topK());
        applyTopP(l, params.topP());
        return draw(softmax(l), random.nextDouble());
    }

    /** Index of the largest value (the first one on ties, as torch.argmax). */
    public static int argmax(float[] l) {
        int best = 0;
        for (int i = 1; i < l.length; i++) if (l[i] > l[best]) best = i;
        return best;
    }

    /** HF RepetitionPenaltyLogitsProcessor: each token seen gets logit/penalty if positive, logit*penalty otherwise (once per distinct token). */
    public static void applyRepetitionPenalty(float[] l, int[] history, int n, float penalty) {
        if (penalty == 1f || n == 0) return;
        boolean[] seen = new boolean[l.length];
        for (int i = 0; i < n; i++) {
            int t = history[i];
            if (t < 0 || t >= l.length || seen[t]) continue;
            seen[t] = true;
            l[t] = l[t] < 0 ? l[t] * penalty : l[t] / penalty;
        }
    }

    public static void applyTemperature(float[] l, float temperature) {
        if (temperature == 1f) return;
        for (int i = 0; i < l.length; i++) l[i] = l[i] / temperature;
    }

    /** HF TopKLogitsWarper: logits below the k-th largest become -inf (ties with it stay); k = 0 is off. */
    public static void applyTopK(float[] l, int k) {
        if (k <= 0 || k >= l.length) return;
        float kth = kthLargest(l, k);
        for (int i = 0; i < l.length; i++) if (l[i] < kth) l[i] = Float.NEGATIVE_INFINITY;
    }

    /** The k-th largest value (1-based), by a size-k min-heap: O(V log k) without sorting the vocabulary. */
    static float kthLargest(float[] l, int k) {
        float[] heap = new float[k];   // heap[0] is the smallest of the k largest seen so far
        int n = 0;
        for (float v : l) {
            if (n < k) {
                int i = n++;
                heap[i] = v;
                while (i > 0 && heap[(i - 1) / 2] > heap[i]) {   // sift up
                    int p = (i - 1) / 2;
                    float t = heap[p]; heap[p] = heap[i]; heap[i] = t;
                    i = p;
                }
            } else if (v > heap[0]) {
                heap[0] = v;
                int i = 0;
                while (true) {                                     // sift down
                    int a = 2 * i + 1, b = a + 1, m = i;
                    if (a < k && heap[a] < heap[m]) m = a;
                    if (b < k && heap[b] < heap[m]) m = b;
                    if (m == i) break;
                    float t = heap[m]; heap[m] = heap[i]; heap[i] = t;
                    i = m;
                }
            }
        }
        return heap[0];
    }

    /**
     * HF TopPLogitsWarper: sort ascending, and remove tokens while the cumulative probability
     * from the least likely up is at most 1 - p; the most likely token always stays. As torch computes it: a
     * stable ascending sort (equal logits keep index order, so the lower index goes first), the running sum
     * accumulated in double and rounded to float at each step (CPU cumsum), compared with 1 - p rounded to float,
     * where p is the decimal the user wrote (0.9, not the float nearest to it widened).
     */
    public static void applyTopP(float[] l, float p) {
        if (p >= 1f) return;
        int V = l.length;
        float[] prob = softmax(l.clone());
        // Only tokens with probability > 0 can be removed (the rest are -inf already): sort them ascending by
        // (logit, then index) as primitive keys: the order-preserving int image of the float in the high half,
        // the index in the low half.
        long[] keys = new long[V];
        int n = 0;
        for (int i = 0; i < V; i++) {
            if (prob[i] <= 0) continue;
            int bits = Float.floatToIntBits(l[i]);
            int sortable = bits ^ ((bits >> 31) & 0x7fffffff);
            keys[n++] = ((long) sortable << 32) | (0xffffffffL & i);
        }
        Arrays.sort(keys, 0, n);
        double cum = 0;
        float limit = (float) (1.0 - Double.parseDouble(Float.toString(p)));
        for (int j = 0; j < n - 1; j++) {       // the last (most likely) is never removed
            int i = (int) keys[j];
            cum += prob[i];
            if ((float) cum <= limit) l[i] = Float.NEGATIVE_INFINITY;
            else break;
        }
    }

    /** Softmax in place (returns its argument); -inf logits get probability 0. */
    public static float[] softmax(float[] l) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : l) max = Math.max(max, v);
        double sum = 0;
        for (int i = 0; i < l.length; i++) {
            float e = l[i] == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp(l[i] - max);
            l[i] = e;
            sum += e;
        }
        float inv = (float) (1.0 / sum);
        for (int i = 0; i < l.length; i++) l[i] *= inv;
        return l;
    }

    /** The index where the cumulative probability first exceeds u (u in [0, 1)); the last non-zero one if rounding leaves u above the total. */
    static int draw(float[] prob, double u) {
        double cum = 0;
        int lastNonZero = 0;
        for (int i = 0; i < prob.length; i++) {
            if (prob[i] <= 0) continue;
            cum += prob[i];
            lastNonZero = i;
            if (u < cum) return i;
        }
        return lastNonZero;
    }
}
