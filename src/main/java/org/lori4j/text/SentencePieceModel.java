package org.lori4j.text;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A SentencePiece BPE model ({@code tokenizer.model}, a protobuf ModelProto) and its conversion to an equivalent
 * Hugging Face {@code tokenizer.json}, as transformers' LlamaConverter (legacy mode) builds it: the pieces as a BPE
 * vocabulary, merges ranked by the score of the merged piece (SentencePiece merges the highest-scoring pair), "▁" prepended and spaces turned into "▁", byte fallback, BOS added.
 * Used for Llama-2-era folders and llama2.c models that ship only tokenizer.model.
 */
public final class SentencePieceModel {

    /** SentencePiece.Type values of sentencepiece_model.proto. */
    static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    /** One piece; id = position in the model. */
    public record Piece(String piece, float score, int type) {}

    private final Path file;
    private final List<Piece> pieces;
    private final boolean byteFallback;
    private final boolean addDummyPrefix;
    private final int unkId, bosId, eosId;

    private SentencePieceModel(Path file, List<Piece> pieces, boolean byteFallback, boolean addDummyPrefix,
                               int unkId, int bosId, int eosId) {
        this.file = file;
        this.pieces = pieces;
        this.byteFallback = byteFallback;
        this.addDummyPrefix = addDummyPrefix;
        this.unkId = unkId;
        this.bosId = bosId;
        this.eosId = eosId;
    }

    /** Reads a tokenizer.model; only the BPE model type with the identity normalizer is supported. */
    public static SentencePieceModel read(Path file) {
        byte[] b;
        try {
            b = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new LoriException(file + ": file not found");
        } catch (IOException e) {
            throw new LoriException(file + ": cannot read: " + e.getMessage());
        }
        try {
            return parse(file, b);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw new LoriException(file + ": not a SentencePiece model (truncated or malformed protobuf)", e);
        }
    }

    private static SentencePieceModel parse(Path file, byte[] b) {
        List<Piece> pieces = new ArrayList<>();
        // proto2 defaults of TrainerSpec and NormalizerSpec
        int modelType = 1;
        boolean byteFallback = false, addDummyPrefix = true;
        int unkId = 0, bosId = 1, eosId = 2;
        String normalizer = "nmt_nfkc";
        boolean sawNormalizer = false;
        Proto top = new Proto(b, 0, b.length);
        while (top.more()) {
            int field = top.nextField();
            switch (field) {
                case 1 -> {
                    Proto p = top.message();
                    String piece = null;
                    float score = 0;
                    int type = NORMAL;
                    while (p.more()) {
                        int f = p.nextField();
                        if (f == 1) piece = p.string();
                        else if (f == 2) score = p.fixed32Float();
                        else if (f == 3) type = (int) p.varint();
                        else p.skip();
                    }
                    if (piece == null) throw new LoriException(file + ": piece " + pieces.size() + " has no text");
                    pieces.add(new Piece(piece, score, type));
                }
                case 2 -> {
                    Proto t = top.message();
                    while (t.more()) {
                        int f = t.nextField();
                        switch (f) {
                            case 3 -> modelType = (int) t.varint();
                            case 35 -> byteFallback = t.varint() != 0;
                            case 40 -> unkId = (int) t.varint();
                            case 41 -> bosId = (int) t.varint();
                            case 42 -> eosId = (int) t.varint();
                            default -> t.skip();
                        }
                    }
                }
                case 3 -> {
                    sawNormalizer = true;
                    Proto n = top.message();
                    while (n.more()) {
                        int f = n.nextField();
                        if (f == 1) normalizer = n.string();
                        else if (f == 3) addDummyPrefix = n.varint() != 0;
                        else n.skip();
                    }
                }
                default -> top.skip();
            }
        }
        if (pieces.isEmpty()) throw new LoriException(file + ": not a SentencePiece model (no pieces)");
        if (modelType != 2) throw new LoriException(file + ": SentencePiece model type " + modelType
                + " is not supported (only BPE, type 2; Unigram models need their tokenizer.json)");
        if (sawNormalizer && !normalizer.equals("identity")) throw new LoriException(file + ": SentencePiece normalizer '"
                + normalizer + "' is not supported (only 'identity'); provide a tokenizer.json");
        return new SentencePieceModel(file, List.copyOf(pieces), byteFallback, addDummyPrefix, unkId, bosId, eosId);
    }

    public List<Piece> pieces() { return pieces; }

    public boolean byteFallback() { return byteFallback; }

    public boolean addDummyPrefix() { return addDummyPrefix; }

    /** BOS id from the trainer spec, or -1 when disabled. */
    public int bosId() { return bosId < pieces.size() ? bosId : -1; }

    /** EOS id from the trainer spec, or -1 when disabled. */
    public int eosId() { return eosId < pieces.size() ? eosId : -1; }

    /** The equivalent tokenizer.json text. */
    public String toTokenizerJson() {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");

        // CONTROL/UNKNOWN pieces become special added tokens, USER_DEFINED ones plain added tokens (never split)
        ArrayNode added = root.putArray("added_tokens");
        for (int id = 0; id < pieces.size(); id++) {
            Piece p = pieces.get(id);
            if (p.type() != CONTROL && p.type() != UNKNOWN && p.type() != USER_DEFINED) continue;
            ObjectNode a = added.addObject();
            a.put("id", id);
            a.put("content", p.piece());
            a.put("single_word", false);
            a.put("lstrip", false);
            a.put("rstrip", false);
            a.put("normalized", false);
            a.put("special", p.type() != USER_DEFINED);
        }

        ObjectNode norm = root.putObject("normalizer");
        norm.put("type", "Sequence");
        ArrayNode ns = norm.putArray("normalizers");
        if (addDummyPrefix) ns.addObject().put("type", "Prepend").put("prepend", "▁");
        ObjectNode rep = ns.addObject().put("type", "Replace");
        rep.putObject("pattern").put("String", " ");
        rep.put("content", "▁");
        root.putNull("pre_tokenizer");

        if (bosId >= 0 && bosId < pieces.size()) {
            String bos = pieces.get(bosId).piece();
            ObjectNode post = root.putObject("post_processor");
            post.put("type", "TemplateProcessing");
            ArrayNode single = post.putArray("single");
            single.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
            single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            ArrayNode pair = post.putArray("pair");
            pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
            pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 1);
            pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
            ObjectNode st = post.putObject("special_tokens").putObject(bos);
            st.put("id", bos);
            st.putArray("ids").add(bosId);
            st.putArray("tokens").add(bos);
        } else {
            root.putNull("post_processor");
        }

        ObjectNode dec = root.putObject("decoder");
        dec.put("type", "Sequence");
        ArrayNode ds = dec.putArray("decoders");
        ObjectNode drep = ds.addObject().put("type", "Replace");
        drep.putObject("pattern").put("String", "▁");
        drep.put("content", " ");
        if (byteFallback) ds.addObject().put("type", "ByteFallback");
        ds.addObject().put("type", "Fuse");
        if (addDummyPrefix) ds.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);

        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        if (unkId >= 0 && unkId < pieces.size()) model.put("unk_token", pieces.get(unkId).piece());
        else model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true);
        model.put("byte_fallback", byteFallback);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        Map<String, Integer> ids = new HashMap<>();
        for (int id = 0; id < pieces.size(); id++) {
            vocab.put(pieces.get(id).piece(), id);
            ids.putIfAbsent(pieces.get(id).piece(), id);
        }
        ArrayNode merges = model.putArray("merges");
        for (int[] m : merges(ids)) merges.addArray().add(pieces.get(m[0]).piece()).add(pieces.get(m[1]).piece());
        try {
            return Json.MAPPER.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Every split of a piece into two pieces that are both in the vocabulary, as {left, right, merged} ids,
     * ordered by the merged piece's score (descending), then the merged, left and right ids.
     * Control, unknown and byte pieces are never merge results.
     */
    private List<int[]> merges(Map<String, Integer> ids) {
        List<int[]> out = new ArrayList<>();
        for (int id = 0; id < pieces.size(); id++) {
            Piece p = pieces.get(id);
            if (p.type() != NORMAL && p.type() != USER_DEFINED) continue;
            String s = p.piece();
            for (int k = s.offsetByCodePoints(0, 1); k < s.length(); k = s.offsetByCodePoints(k, 1)) {
                Integer l = ids.get(s.substring(0, k)), r = ids.get(s.substring(k));
                if (l != null && r != null) out.add(new int[]{l, r, id});
            }
        }
        // SentencePiece merges the pair whose merged piece scores highest ('▁▁' in Llama 2 has score -1e9, so it
        // merges last although its id is 259); ids break ties
        out.sort(Comparator.<int[]>comparingDouble(m -> -pieces.get(m[2]).score())
                .thenComparingInt(m -> m[2]).thenComparingInt(m -> m[0]).thenComparingInt(m -> m[1]));
        return out;
    }

    /** A minimal protobuf wire-format reader over a byte range. */
    private static final class Proto {
        private final byte[] b;
        private int pos;
        private final int end;
        private int wireType;

        Proto(byte[] b, int start, int end) {
            this.b = b;
            this.pos = start;
            this.end = end;
        }

        boolean more() { return pos < end; }

        int nextField() {
            long key = varint();
            wireType = (int) (key & 7);
            return (int) (key >>> 3);
        }

        long varint() {
            long r = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) throw new IndexOutOfBoundsException();
                int c = b[pos++] & 0xff;
                r |= (long) (c & 0x7f) << shift;
                if (c < 0x80) return r;
            }
            throw new IllegalArgumentException("varint too long");
        }

        Proto message() {
            int n = length();
            Proto p = new Proto(b, pos, pos + n);
            pos += n;
            return p;
        }

        String string() {
            int n = length();
            String s = new String(b, pos, n, StandardCharsets.UTF_8);
            pos += n;
            return s;
        }

        float fixed32Float() {
            if (wireType != 5 || pos + 4 > end) throw new IllegalArgumentException("expected fixed32");
            float f = ByteBuffer.wrap(b, pos, 4).order(ByteOrder.LITTLE_ENDIAN).getFloat();
            pos += 4;
            return f;
        }

        private int length() {
            if (wireType != 2) throw new IllegalArgumentException("expected length-delimited field");
            long n = varint();
            if (n < 0 || pos + n > end) throw new IndexOutOfBoundsException();
            return (int) n;
        }

        void skip() {
            switch (wireType) {
                case 0 -> varint();
                case 1 -> pos += 8;
                case 2 -> {
                    int n = length(); // not "pos += length()": that would add to pos as it was before the length varint
                    pos += n;
                }
                case 5 -> pos += 4;
                default -> throw new IllegalArgumentException("wire type " + wireType);
            }
            if (pos > end) throw new IndexOutOfBoundsException();
        }
    }
}
