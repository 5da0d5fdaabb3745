package org.lori4j.model;

import org.junit.jupiter.api.Test;
import org.lori4j.io.LoriException;
import org.lori4j.tensor.Tensor;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.lori4j.model.LlamaModelTest.assertClose;

class ReplaceEmbeddingsTest {
    private static final int[] TOKENS = {3, 17, 5, 40, 22};

    /** The embedding with {@code extra} rows appended (row r of the extra block = r+1 in every channel). */
    private static Tensor grown(Tensor embed, int extra) {
        int V = (int) embed.dim(0), C = (int) embed.dim(1);
        float[] e = Arrays.copyOf(embed.toFloatArray(), (V + extra) * C);
        for (int r = 0; r < extra; r++) Arrays.fill(e, (V + r) * C, (V + r + 1) * C, r + 1);
        return Tensor.of(e, V + extra, C);
    }

    @Test
    void tiedModelGrowsItsVocabularyAndReTiesWhenRestored() {
        try (LlamaModel m = LlamaModel.load(LlamaModelTest.fixture("mha_tied_linear"))) {
            Tensor base = m.embedTokens();
            int V = m.config().vocabSize();
            float[] before = m.logits(TOKENS);
            m.replaceEmbeddings(grown(base, 2), null);
            assertEquals(V + 2, m.config().vocabSize());
            float[] grownLogits = m.logits(TOKENS);
            for (int t = 0; t < TOKENS.length; t++)   // old tokens' logits unchanged; two new columns per row
                assertClose(Arrays.copyOfRange(before, t * V, (t + 1) * V),
                        Arrays.copyOfRange(grownLogits, t * (V + 2), t * (V + 2) + V), 1e-6, "row " + t);
            float[] head = new float[(V + 2) * (int) base.dim(1)];
            Arrays.fill(head, 0.01f);
            m.replaceEmbeddings(grown(base, 2), Tensor.of(head, V + 2, base.dim(1)));
            assertFalse(m.config().tieWordEmbeddings());
            m.replaceEmbeddings(base, null);
            assertEquals(V, m.config().vocabSize());
            assertClose(before, m.logits(TOKENS), 1e-6, "restored");
        }
    }

    @Test
    void untiedModelNeedsAMatchingLmHead() {
        try (LlamaModel m = LlamaModel.load(LlamaModelTest.fixture("gqa_f32"))) {
            assertThrows(LoriException.class, () -> m.replaceEmbeddings(grown(m.embedTokens(), 1), null));
            assertEquals(48, m.config().vocabSize());
        }
    }
}
