package org.lori4j.io;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
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
 * A llama2.c tokenizer file ({@code tokenizer.bin}, {@code tok512.bin}: int32 max_token_length, then per token
 * float32 score, int32 byte length, UTF-8 bytes) and its conversion to the Hugging Face {@code tokenizer.json}
 * that transformers' LlamaConverter makes from the same SentencePiece BPE model: byte-fallback BPE with merges
 * ranked by piece score, "▁" for spaces, {@code <unk> <s> </s>} as ids 0, 1, 2.
 *
 * @param pieces the pieces in HF spelling ("▁" for space; ids 0..2 named {@code <unk> <s> </s>})
 * @param scores SentencePiece scores (higher merges first)
 */
public record Llama2cTokenizer(List<String> pieces, float[] scores, int maxTokenLength) {
    public static final String SPACE = "\u2581";

    /**
     * Reads a llama2.c tokenizer file, or a SentencePiece {@code .model} protobuf when the name ends in ".model";
     * vocabSize is the checkpoint's, which the llama2.c file does not record.
     */
    public static Llama2cTokenizer read(Path file, int vocabSize) {
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new LoriException(file + ": file not found");
        } catch (IOException e) {
            throw new LoriException(file + ": cannot read: " + e.getMessage());
        }
        if (file.getFileName().toString().endsWith(".model")) return fromSentencePieceModel(file, all, vocabSize);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < 4) throw new LoriException(file + ": truncated llama2.c tokenizer (no max_token_length)");
        int maxLen = b.getInt();
        List<String> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        var utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        while (b.hasRemaining()) {
            int id = pieces.size();
            if (b.remaining() < 8) throw new LoriException(file + ": truncated llama2.c tokenizer at token " + id);
            float score = b.getFloat();
            int len = b.getInt();
            if (len < 0 || len > b.remaining())
                throw new LoriException(file + ": token " + id + " has byte length " + len + " beyond the end of the file");
            byte[] bytes = new byte[len];
            b.get(bytes);
            String s;
            try {
                s = utf8.decode(ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                throw new LoriException(file + ": token " + id + " is not valid UTF-8 (an old llama2.c tokenizer with raw "
                        + "byte pieces? re-export it with llama2.c's tokenizer.py)");
            }
            pieces.add(switch (id) {
                case 0 -> "<unk>";
                case 1 -> "<s>";     // llama2.c writes "\n<s>\n"
                case 2 -> "</s>";
                default -> s.replace(" ", SPACE);
            });
            scores.add(score);
        }
        return checked(file, pieces, scores, maxLen, vocabSize);
    }

    private static Llama2cTokenizer checked(Path file, List<String> pieces, List<Float> scores, int maxLen, int vocabSize) {
        if (pieces.size() != vocabSize)
            throw new LoriException(file + ": holds " + pieces.size() + " tokens but the checkpoint's vocab_size is " + vocabSize);
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < pieces.size(); i++) {
            Integer prev = seen.putIfAbsent(pieces.get(i), i);
            if (prev != null) throw new LoriException(file + ": token " + i + " repeats token " + prev + " '" + pieces.get(i) + "'");
        }
        float[] sc = new float[scores.size()];
        for (int i = 0; i < sc.length; i++) sc[i] = scores.get(i);
        return new Llama2cTokenizer(List.copyOf(pieces), sc, maxLen);
    }

    /**
     * The pieces and scores of a SentencePiece ModelProto: field 1 holds the repeated SentencePiece messages
     * (1: piece, 2: score as float32). Only what the conversion needs is decoded; other fields are skipped.
     */
    private static Llama2cTokenizer fromSentencePieceModel(Path file, byte[] all, int vocabSize) {
        List<String> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        int maxLen = 0;
        try {
            Proto p = new Proto(all, 0, all.length);
            while (p.more()) {
                long key = p.varint();
                if (key == ((1 << 3) | 2)) {
                    Proto sp = p.sub();
                    String piece = "";
                    float score = 0;
                    while (sp.more()) {
                        long k = sp.varint();
                        if (k == ((1 << 3) | 2)) piece = sp.string();
                        else if (k == ((2 << 3) | 5)) score = sp.float32();
                        else sp.skip((int) (k & 7));
                    }
                    int id = pieces.size();
                    pieces.add(id == 0 ? "<unk>" : id == 1 ? "<s>" : id == 2 ? "</s>" : piece);
                    scores.add(score);
                    maxLen = Math.max(maxLen, piece.replace(SPACE, " ").getBytes(StandardCharsets.UTF_8).length);
                } else p.skip((int) (key & 7));
            }
        } catch (RuntimeException e) {
            throw new LoriException(file + ": not a SentencePiece model (protobuf parse failed: " + e.getMessage() + ")");
        }
        if (pieces.isEmpty()) throw new LoriException(file + ": not a SentencePiece model (no pieces)");
        return checked(file, pieces, scores, maxLen, vocabSize);
    }

    /** A minimal protobuf wire-format reader over a byte range. */
    private static final class Proto {
        private final byte[] b;
        private int pos;
        private final int end;

        Proto(byte[] b, int pos, int end) {
            if (end > b.length || pos > end) throw new IllegalStateException("length beyond the end");
            this.b = b;
            this.pos = pos;
            this.end = end;
        }

        boolean more() { return pos < end; }

        long varint() {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) throw new IllegalStateException("truncated varint");
                byte x = b[pos++];
                v |= (long) (x & 0x7f) << shift;
                if (x >= 0) return v;
            }
            throw new IllegalStateException("varint too long");
        }

        Proto sub() {
            int len = (int) varint();
            Proto p = new Proto(b, pos, pos + len);
            pos += len;
            return p;
        }

        String string() {
            Proto p = sub();
            return new String(b, p.pos, p.end - p.pos, StandardCharsets.UTF_8);
        }

        float float32() {
            if (pos + 4 > end) throw new IllegalStateException("truncated float");
            int bits = (b[pos] & 0xff) | (b[pos + 1] & 0xff) << 8 | (b[pos + 2] & 0xff) << 16 | (b[pos + 3] & 0xff) << 24;
            pos += 4;
            return Float.intBitsToFloat(bits);
        }

        void skip(int wireType) {
            switch (wireType) {
                case 0 -> varint();
                case 1 -> pos += 8;
                case 2 -> sub();
                case 5 -> pos += 4;
                default -> throw new IllegalStateException("wire type " + wireType);
            }
            if (pos > end) throw new IllegalStateException("field beyond the end");
        }
    }

    /** True when ids 3..258 are the byte pieces {@code <0x00>..<0xFF>} (SentencePiece byte_fallback). */
    public boolean hasByteFallback() {
        if (pieces.size() < 259) return false;
        for (int i = 0; i < 256; i++)
            if (!pieces.get(3 + i).equals(String.format("<0x%02X>", i))) return false;
        return true;
    }

    /**
     * BPE merges as transformers' generate_merges derives them from a SentencePiece vocabulary: every split of a
     * piece into two pieces, per piece ordered by the ids of (left, right); then all merges stably sorted by
     * (score of the merged piece, length of left, length of right), descending. Ids 0..2 score 0 as in LlamaConverter.
     */
    public List<String[]> merges() {
        Map<String, Integer> vocab = new HashMap<>();
        for (int i = 0; i < pieces.size(); i++) vocab.put(pieces.get(i), i);
        record Merge(String left, String right, double score) {}
        List<Merge> merges = new ArrayList<>();
        for (int id = 0; id < pieces.size(); id++) {
            String piece = pieces.get(id);
            double score = id < 3 ? 0.0 : scores[id] + 0.0;   // + 0.0 turns -0.0 into 0.0: Python compares them equal
            List<Merge> local = new ArrayList<>();
            // split at code point boundaries: Python slices strings by code point
            int[] cps = piece.codePoints().toArray();
            for (int k = 1; k < cps.length; k++) {
                String l = new String(cps, 0, k), r = new String(cps, k, cps.length - k);
                if (vocab.containsKey(l) && vocab.containsKey(r)) local.add(new Merge(l, r, score));
            }
            local.sort(Comparator.<Merge>comparingInt(m -> vocab.get(m.left)).thenComparingInt(m -> vocab.get(m.right)));
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

    /** The tokenizer.json of a legacy Llama/SentencePiece-BPE tokenizer (as for Llama 2 and Mistral). */
    public ObjectNode toTokenizerJson() {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < 3; i++) {
            ObjectNode t = added.addObject();
            t.put("id", i);
            t.put("content", pieces.get(i));
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        ObjectNode norm = root.putObject("normalizer");
        norm.put("type", "Sequence");
        ArrayNode ns = norm.putArray("normalizers");
        ns.addObject().put("type", "Prepend").put("prepend", SPACE);
        ObjectNode rep = ns.addObject().put("type", "Replace");
        rep.putObject("pattern").put("String", " ");
        rep.put("content", SPACE);
        root.putNull("pre_tokenizer");
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 1);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode bos = post.putObject("special_tokens").putObject("<s>");
        bos.put("id", "<s>");
        bos.putArray("ids").add(1);
        bos.putArray("tokens").add("<s>");
        ObjectNode dec = root.putObject("decoder");
        dec.put("type", "Sequence");
        ArrayNode ds = dec.putArray("decoders");
        ObjectNode drep = ds.addObject().put("type", "Replace");
        drep.putObject("pattern").put("String", SPACE);
        drep.put("content", " ");
        ds.addObject().put("type", "ByteFallback");
        ds.addObject().put("type", "Fuse");
        ds.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", "<unk>");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true);
        model.put("byte_fallback", hasByteFallback());
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < pieces.size(); i++) vocab.put(pieces.get(i), i);
        ArrayNode merges = model.putArray("merges");
        for (String[] m : merges()) merges.add(m[0] + " " + m[1]);   // pieces hold no spaces ("▁" instead)
        return root;
    }

    /** tokenizer_config.json for LlamaTokenizer(Fast): BOS added, EOS not, legacy spacing. */
    public static ObjectNode tokenizerConfigJson(int modelMaxLength) {
        ObjectNode c = Json.MAPPER.createObjectNode();
        c.put("add_bos_token", true);
        c.put("add_eos_token", false);
        ObjectNode dec = c.putObject("added_tokens_decoder");
        String[] names = {"<unk>", "<s>", "</s>"};
        for (int i = 0; i < 3; i++) {
            ObjectNode t = dec.putObject(Integer.toString(i));
            t.put("content", names[i]);
            t.put("lstrip", false);
            t.put("normalized", false);
            t.put("rstrip", false);
            t.put("single_word", false);
            t.put("special", true);
        }
        c.put("bos_token", "<s>");
        c.put("clean_up_tokenization_spaces", false);
        c.put("eos_token", "</s>");
        c.put("legacy", true);
        c.put("model_max_length", modelMaxLength);
        c.putNull("pad_token");
        c.putObject("sp_model_kwargs");
        c.put("tokenizer_class", "LlamaTokenizer");
        c.put("unk_token", "<unk>");
        return c;
    }
}
