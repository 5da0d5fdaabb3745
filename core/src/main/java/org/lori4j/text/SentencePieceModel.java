package org.lori4j.text;

import com.fasterxml.jackson.core.JsonProcessingException;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;
import org.lori4j.io.SentencePieceVocab;

import java.nio.file.Path;
import java.util.List;

/**
 * A SentencePiece BPE model ({@code tokenizer.model}, a protobuf ModelProto) checked to be convertible, and its
 * equivalent Hugging Face {@code tokenizer.json} as transformers' LlamaConverter (legacy mode) builds it (see
 * {@link SentencePieceVocab#toTokenizerJson()}). Used for Llama-2-era folders and llama2.c models that ship only
 * tokenizer.model.
 */
public final class SentencePieceModel {

    private final SentencePieceVocab vocab;

    private SentencePieceModel(SentencePieceVocab vocab) {
        this.vocab = vocab;
    }

    /** Reads a tokenizer.model; only the BPE model type with the identity normalizer is supported. */
    public static SentencePieceModel read(Path file) {
        SentencePieceVocab v = SentencePieceVocab.readModelProto(file);
        if (v.modelType() != SentencePieceVocab.BPE) throw new LoriException(file + ": SentencePiece model type "
                + v.modelType() + " is not supported (only BPE, type 2; Unigram models need their tokenizer.json)");
        if (v.normalizer() != null && !v.normalizer().equals("identity")) throw new LoriException(file
                + ": SentencePiece normalizer '" + v.normalizer() + "' is not supported (only 'identity'); provide a tokenizer.json");
        return new SentencePieceModel(v);
    }

    public List<SentencePieceVocab.Piece> pieces() { return vocab.pieces(); }

    public boolean byteFallback() { return vocab.byteFallback(); }

    public boolean addDummyPrefix() { return vocab.addDummyPrefix(); }

    /** BOS id from the trainer spec, or -1 when disabled. */
    public int bosId() { return vocab.bosId() < vocab.pieces().size() ? vocab.bosId() : -1; }

    /** EOS id from the trainer spec, or -1 when disabled. */
    public int eosId() { return vocab.eosId() < vocab.pieces().size() ? vocab.eosId() : -1; }

    /** The equivalent tokenizer.json text. */
    public String toTokenizerJson() {
        try {
            return Json.MAPPER.writeValueAsString(vocab.toTokenizerJson());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
