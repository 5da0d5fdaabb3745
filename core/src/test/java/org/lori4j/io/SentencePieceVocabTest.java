package org.lori4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.lori4j.TestPaths;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.lori4j.io.SentencePieceVocab.*;

class SentencePieceVocabTest {
    static final Path STORIES = TestPaths.realdata("stories260K");

    @Test
    void llama2cBinAndSentencePieceModelOfTheSameTokenizerGiveTheSameTokenizerJson() {
        // tok512.bin is llama2.c's export of tok512.model: the two parsers must meet in one vocabulary
        JsonNode fromBin = Llama2cTokenizer.read(STORIES.resolve("tok512.bin"), 512).toTokenizerJson();
        JsonNode fromProto = SentencePieceVocab.readModelProto(STORIES.resolve("tok512.model")).toTokenizerJson();
        assertEquals(fromBin, fromProto);
        assertEquals(165, fromBin.path("model").path("merges").size());
    }

    static SentencePieceVocab vocab(Piece... pieces) {
        return new SentencePieceVocab(List.of(pieces), BPE, "identity", false, true, 0, 1, 2);
    }

    @Test
    void mergesRankByScoreThenLongerLeftAndSkipControlPieces() {
        SentencePieceVocab v = vocab(new Piece("<unk>", 0, UNKNOWN), new Piece("<s>", 0, CONTROL),
                new Piece("</s>", 0, CONTROL), new Piece("<", -9, NORMAL), new Piece("s>", -8, NORMAL),
                new Piece("t", -10, NORMAL), new Piece("h", -11, NORMAL), new Piece("e", -12, NORMAL),
                new Piece("th", -1, NORMAL), new Piece("he", -3, NORMAL), new Piece("the", -2, NORMAL));
        List<String> merges = v.merges().stream().map(m -> m[0] + "+" + m[1]).toList();
        // "the" splits two ways at the same score: the longer left part first (transformers' generate_merges);
        // "<s>" = "<" + "s>" is a control piece, never a merge result
        assertEquals(List.of("t+h", "th+e", "t+he", "h+e"), merges);
        JsonNode json = v.toTokenizerJson();
        assertEquals("t h", json.path("model").path("merges").get(0).asText());
        assertFalse(json.path("model").path("byte_fallback").asBoolean());
        assertEquals(3, json.path("added_tokens").size());
    }

    @Test
    void mergesOfPiecesWithSpacesAreWrittenAsPairs() {
        SentencePieceVocab v = vocab(new Piece("<unk>", 0, UNKNOWN), new Piece("<s>", 0, CONTROL),
                new Piece("</s>", 0, CONTROL), new Piece("a", -5, NORMAL), new Piece(" ", -6, NORMAL),
                new Piece("a ", -1, USER_DEFINED));
        JsonNode merges = v.toTokenizerJson().path("model").path("merges");
        assertEquals(1, merges.size());
        assertEquals("a", merges.get(0).get(0).asText());
        assertEquals(" ", merges.get(0).get(1).asText());
    }
}
