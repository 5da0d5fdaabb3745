package org.lori4j.train;

import org.junit.jupiter.api.Test;
import org.lori4j.io.EmbeddedModel;
import org.lori4j.text.Tokenizer;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The data pipeline on the embedded stories260K model's SentencePiece tokenizer (BOS 1, EOS 2). */
class EmbeddedModelDataTest {

    @Test
    void promptAndResponseAreEncodedSeparatelyWithEosAndOptionalBos() {
        try (Tokenizer tok = Tokenizer.load(EmbeddedModel.path())) {
            TextSide text = TextSide.of(tok);
            assertEquals(2, text.eosId());
            assertEquals(1, text.bosId());
            List<TrainingData.TextPair> pairs = List.of(new TrainingData.TextPair("Is Lily happy or sad?", "happy"));
            int[] p = tok.encode("Is Lily happy or sad?", false);
            int[] r = tok.encode("happy", false);
            assertNotEquals(1, p[0]); // add_special_tokens=False: no BOS
            Example e = TrainingData.fromText("t", pairs, DataOptions.defaults(), text).get(0);
            int[] want = new int[p.length + r.length + 1];
            System.arraycopy(p, 0, want, 0, p.length);
            System.arraycopy(r, 0, want, p.length, r.length);
            want[want.length - 1] = 2;
            assertArrayEquals(want, e.inputIds());
            assertEquals(r.length + 1, Arrays.stream(e.labels()).filter(l -> l != Example.IGNORE).count());
            // SentencePiece encodes the response on its own with the leading-space marker, as HF does upstream
            assertTrue(tok.idToToken(r[0]).startsWith("\u2581"), tok.idToToken(r[0]));

            Example withBos = TrainingData.fromText("t", pairs, DataOptions.defaults().withAddBos(true), text).get(0);
            assertEquals(1, withBos.inputIds()[0]);
            assertArrayEquals(want, Arrays.copyOfRange(withBos.inputIds(), 1, withBos.length()));
            assertEquals(Example.IGNORE, withBos.labels()[0]);
        }
    }
}
