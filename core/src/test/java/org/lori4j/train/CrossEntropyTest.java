package org.lori4j.train;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;
import static org.lori4j.GradCheck.*;

/** Finite-difference check of the cross-entropy head (f32, h = 1e-2); the Llama ops are checked in model.BackwardGradientTest, LoRA in adapter.LoraOpTest. */
class CrossEntropyTest {
    private static final float H = 1e-2f;
    private static final double TOL = 2e-3;

    @Test
    void crossEntropyGradientIsSoftmaxMinusOneHot() {
        Random rnd = new Random(7);
        int vocab = 11, target = 4;
        float[] z = random(rnd, vocab, 2f);
        double nll = CrossEntropy.forward(z, 0, vocab, target);
        float[] g = z.clone();
        double nll2 = CrossEntropy.forwardBackwardInPlace(g, 0, vocab, target, 0.5f);
        assertEquals(nll, nll2, 1e-6);
        for (int i = 0; i < vocab; i++) g[i] /= 0.5f;
        check("cross-entropy dz", z, g, () -> CrossEntropy.forward(z, 0, vocab, target), H, TOL);
        // uniform logits: nll = log(vocab)
        assertEquals(Math.log(vocab), CrossEntropy.forward(new float[vocab], 0, vocab, 3), 1e-6);
    }
}
