package org.lori4j.io;

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
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A llama2.c tokenizer file ({@code tokenizer.bin}, {@code tok512.bin}: int32 max_token_length, then per token
 * float32 score, int32 byte length, UTF-8 bytes) and its conversion to the Hugging Face {@code tokenizer.json}
 * that transformers' LlamaConverter makes from the same SentencePiece BPE model: byte-fallback BPE with merges
 * ranked by piece score, "▁" for spaces, {@code <unk> <s> </s>} as ids 0, 1, 2 (built by {@link SentencePieceVocab}).
 *
 * @param pieces the pieces in HF spelling ("▁" for space; ids 0..2 named {@code <unk> <s> </s>})
 * @param scores SentencePiece scores (higher merges first)
 */
public record Llama2cTokenizer(List<String> pieces, float[] scores, int maxTokenLength) {
    private static final String SPACE = SentencePieceVocab.SPACE;

    /**
     * Reads a llama2.c tokenizer file, or a SentencePiece {@code .model} protobuf when the name ends in ".model";
     * vocabSize is the checkpoint's, which the llama2.c file does not record.
     */
    public static Llama2cTokenizer read(Path file, int vocabSize) {
        if (file.getFileName().toString().endsWith(".model")) return fromSentencePieceModel(file, vocabSize);
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new LoriException(file + ": file not found");
        } catch (IOException e) {
            throw new LoriException(file + ": cannot read: " + LoriException.reason(e));
        }
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
     * The pieces and scores of a SentencePiece ModelProto, read by {@link SentencePieceVocab#readModelProto};
     * ids 0..2 take the llama2.c names whatever the model calls them.
     */
    private static Llama2cTokenizer fromSentencePieceModel(Path file, int vocabSize) {
        List<String> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        int maxLen = 0;
        for (SentencePieceVocab.Piece p : SentencePieceVocab.readModelProto(file).pieces()) {
            int id = pieces.size();
            pieces.add(id == 0 ? "<unk>" : id == 1 ? "<s>" : id == 2 ? "</s>" : p.piece());
            scores.add(p.score());
            maxLen = Math.max(maxLen, p.piece().replace(SPACE, " ").getBytes(StandardCharsets.UTF_8).length);
        }
        return checked(file, pieces, scores, maxLen, vocabSize);
    }

    /** True when ids 3..258 are the byte pieces {@code <0x00>..<0xFF>} (SentencePiece byte_fallback). */
    public boolean hasByteFallback() {
        if (pieces.size() < 259) return false;
        for (int i = 0; i < 256; i++)
            if (!pieces.get(3 + i).equals(String.format("<0x%02X>", i))) return false;
        return true;
    }

    /**
     * This tokenizer as a SentencePiece vocabulary: {@code <unk>} unknown, {@code <s> </s>} control, the byte pieces
     * (when present) byte, the rest normal pieces; BOS 1, EOS 2, dummy prefix as llama2.c's encode adds it.
     */
    public SentencePieceVocab vocab() {
        boolean bytes = hasByteFallback();
        List<SentencePieceVocab.Piece> out = new ArrayList<>(pieces.size());
        for (int id = 0; id < pieces.size(); id++) {
            int type = id == 0 ? SentencePieceVocab.UNKNOWN : id < 3 ? SentencePieceVocab.CONTROL
                    : bytes && id < 259 ? SentencePieceVocab.BYTE : SentencePieceVocab.NORMAL;
            out.add(new SentencePieceVocab.Piece(pieces.get(id), scores[id], type));
        }
        return new SentencePieceVocab(out, SentencePieceVocab.BPE, "identity", bytes, true, 0, 1, 2);
    }

    /** BPE merges ranked as transformers ranks them; see {@link SentencePieceVocab#merges()}. */
    public List<String[]> merges() {
        return vocab().merges();
    }

    /** The tokenizer.json of a legacy Llama/SentencePiece-BPE tokenizer (as for Llama 2 and Mistral). */
    public ObjectNode toTokenizerJson() {
        return vocab().toTokenizerJson();
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
