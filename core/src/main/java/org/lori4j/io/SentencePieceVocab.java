package org.lori4j.io;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

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
 * A SentencePiece BPE vocabulary (pieces with scores and types, special ids, byte fallback, dummy prefix) and the
 * Hugging Face {@code tokenizer.json} that transformers' LlamaConverter (legacy mode) builds from it. Both
 * SentencePiece sources parse into this: a {@code tokenizer.model} protobuf ({@link #readModelProto}) and a llama2.c
 * {@code tokenizer.bin} ({@link Llama2cTokenizer}).
 *
 * @param pieces         the pieces in id order, spaces spelled "▁"
 * @param modelType      TrainerSpec.model_type (2 = BPE)
 * @param normalizer     NormalizerSpec.name, or null when the model has no NormalizerSpec
 * @param byteFallback   unknown characters become {@code <0xNN>} byte pieces
 * @param addDummyPrefix a "▁" is prepended to the text (and stripped again when decoding)
 * @param unkId          the unknown piece, or out of range for none
 * @param bosId          the BOS piece, or out of range for none
 * @param eosId          the EOS piece, or out of range for none
 */
public record SentencePieceVocab(List<Piece> pieces, int modelType, String normalizer, boolean byteFallback,
                                 boolean addDummyPrefix, int unkId, int bosId, int eosId) {

    /** SentencePiece.Type values of sentencepiece_model.proto. */
    public static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;
    /** TrainerSpec.ModelType BPE. */
    public static final int BPE = 2;
    public static final String SPACE = "\u2581";

    /** One piece; its id is its position in the vocabulary. */
    public record Piece(String piece, float score, int type) {}

    public SentencePieceVocab {
        pieces = List.copyOf(pieces);
    }

    /**
     * Reads a SentencePiece ModelProto ({@code tokenizer.model}): the pieces (field 1), and from TrainerSpec
     * (field 2) and NormalizerSpec (field 3) what the conversion needs, with their proto2 defaults.
     */
    public static SentencePieceVocab readModelProto(Path file) {
        byte[] b;
        try {
            b = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new LoriException(file + ": file not found");
        } catch (IOException e) {
            throw new LoriException(file + ": cannot read: " + LoriException.reason(e));
        }
        try {
            return parseModelProto(file, b);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw new LoriException(file + ": not a SentencePiece model (truncated or malformed protobuf)", e);
        }
    }

    private static SentencePieceVocab parseModelProto(Path file, byte[] b) {
        List<Piece> pieces = new ArrayList<>();
        int modelType = 1;   // proto2 default: UNIGRAM
        boolean byteFallback = false, addDummyPrefix = true;
        int unkId = 0, bosId = 1, eosId = 2;
        String normalizer = null;
        Proto top = new Proto(b, 0, b.length);
        while (top.more()) {
            switch (top.nextField()) {
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
                        switch (t.nextField()) {
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
                    Proto n = top.message();
                    normalizer = "nmt_nfkc";   // proto2 default of NormalizerSpec.name
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
        return new SentencePieceVocab(pieces, modelType, normalizer, byteFallback, addDummyPrefix, unkId, bosId, eosId);
    }

    /** The piece with this id, or null when the id is out of range (a disabled special token). */
    private String pieceOrNull(int id) {
        return id >= 0 && id < pieces.size() ? pieces.get(id).piece() : null;
    }

    /**
     * BPE merges as transformers' generate_merges derives them from a SentencePiece vocabulary: every split of a
     * normal or user-defined piece into two pieces, per piece ordered by the ids of (left, right); then all merges
     * stably sorted by (score of the merged piece, length of left, length of right), descending. Control, unknown
     * and byte pieces are never merge results.
     */
    public List<String[]> merges() {
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < pieces.size(); i++) ids.putIfAbsent(pieces.get(i).piece(), i);
        record Merge(String left, String right, int leftId, int rightId, double score) {}
        List<Merge> merges = new ArrayList<>();
        for (Piece p : pieces) {
            if (p.type() != NORMAL && p.type() != USER_DEFINED) continue;
            double score = p.score() + 0.0;   // + 0.0 turns -0.0 into 0.0: Python compares them equal
            List<Merge> local = new ArrayList<>();
            // split at code point boundaries: Python slices strings by code point
            int[] cps = p.piece().codePoints().toArray();
            for (int k = 1; k < cps.length; k++) {
                String l = new String(cps, 0, k), r = new String(cps, k, cps.length - k);
                Integer li = ids.get(l), ri = ids.get(r);
                if (li != null && ri != null) local.add(new Merge(l, r, li, ri, score));
            }
            local.sort(Comparator.comparingInt(Merge::leftId).thenComparingInt(Merge::rightId));
            merges.addAll(local);
        }
        // List.sort is stable; a descending comparator keeps equal keys in insertion order like Python's reverse=True.
        merges.sort(Comparator.comparingDouble(Merge::score)
                .thenComparingInt(m -> m.left.codePointCount(0, m.left.length()))
                .thenComparingInt(m -> m.right.codePointCount(0, m.right.length())).reversed());
        List<String[]> out = new ArrayList<>(merges.size());
        for (Merge m : merges) out.add(new String[]{m.left, m.right});
        return out;
    }

    /**
     * The tokenizer.json of this vocabulary as a legacy Llama/SentencePiece-BPE tokenizer (as for Llama 2 and
     * Mistral): control, unknown and user-defined pieces as added tokens, "▁" prepended and spaces turned into "▁",
     * BOS added by the post-processor, byte-fallback BPE with merges ranked by score.
     */
    public ObjectNode toTokenizerJson() {
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
        if (addDummyPrefix) ns.addObject().put("type", "Prepend").put("prepend", SPACE);
        ObjectNode rep = ns.addObject().put("type", "Replace");
        rep.putObject("pattern").put("String", " ");
        rep.put("content", SPACE);
        root.putNull("pre_tokenizer");

        String bos = pieceOrNull(bosId);
        if (bos != null) {
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
        drep.putObject("pattern").put("String", SPACE);
        drep.put("content", " ");
        if (byteFallback) ds.addObject().put("type", "ByteFallback");
        ds.addObject().put("type", "Fuse");
        if (addDummyPrefix) ds.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);

        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        String unk = pieceOrNull(unkId);
        if (unk != null) model.put("unk_token", unk);
        else model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true);
        model.put("byte_fallback", byteFallback);
        ObjectNode vocab = model.putObject("vocab");
        for (int id = 0; id < pieces.size(); id++) vocab.put(pieces.get(id).piece(), id);
        List<String[]> merges = merges();
        // "left right" strings, the classic form; [left, right] pairs only when a piece holds a space itself
        boolean pairs = merges.stream().anyMatch(m -> m[0].contains(" ") || m[1].contains(" "));
        ArrayNode out = model.putArray("merges");
        for (String[] m : merges) {
            if (pairs) out.addArray().add(m[0]).add(m[1]);
            else out.add(m[0] + " " + m[1]);
        }
        return root;
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
