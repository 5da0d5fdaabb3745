package org.lori4j.io;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Converts a llama2.c checkpoint (legacy version-0 layout) and its tokenizer.bin into a Hugging Face model folder:
 * config.json, model.safetensors (F32), tokenizer.json, tokenizer_config.json, generation_config.json.
 * llama2.c applies RoPE to adjacent pairs (2i, 2i+1) while HF rotates halves (i, i + headDim/2), so the rows of
 * wq and wk are permuted per head exactly as transformers' Llama conversion script does.
 */
public final class Llama2cImporter {
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** export.py's version-1+ files start with this magic ("ak42" little-endian). */
    private static final int MAGIC_V1 = 0x616b3432;

    private Llama2cImporter() {}

    /**
     * The seven int32 of a version-0 header. vocabSize is the absolute value; sharedClassifier is its sign
     * (positive: the classifier is the token embedding).
     */
    public record Header(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize,
                         boolean sharedClassifier, int seqLen) {
        public int headDim() { return dim / nHeads; }
        public int kvDim() { return nKvHeads * headDim(); }

        /** File size the header implies: 28 header bytes plus all float32 arrays, RoPE tables included. */
        public long expectedBytes() {
            long d = dim, h = hiddenDim, l = nLayers, v = vocabSize, kv = kvDim();
            // sizes of real checkpoints are far from long overflow; a corrupt header is not (report it as such)
            if (d > 1 << 20 || h > 1 << 24 || l > 1 << 16 || v > 1 << 24 || seqLen > 1 << 24) return Long.MAX_VALUE;
            long floats = v * d                 // token embedding
                    + l * d                     // attention rms
                    + l * d * d + 2 * l * kv * d + l * d * d // wq, wk, wv, wo
                    + l * d                     // ffn rms
                    + 3 * l * h * d             // w1, w2, w3
                    + d                         // final rms
                    + 2L * seqLen * (headDim() / 2) // legacy freq_cis_real / freq_cis_imag
                    + (sharedClassifier ? 0 : v * d);
            return 28 + 4 * floats;
        }

        public LlamaConfig toConfig() {
            return new LlamaConfig("llama", dim, hiddenDim, nLayers, nHeads, nKvHeads, headDim(), vocabSize,
                    1e-5, 10000.0, null, seqLen, sharedClassifier, 1, List.of(2), DType.F32, false);
        }
    }

    /** Whether FILE is a legacy (version-0) llama2.c checkpoint: a consistent header that matches the file's size. */
    public static boolean isCheckpoint(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 28) return false;
            java.nio.ByteBuffer head = java.nio.ByteBuffer.allocate(28);
            while (head.hasRemaining() && ch.read(head) > 0) { }
            if (head.hasRemaining()) return false;
            readHeader(file, MemorySegment.ofArray(head.array()), size);
            return true;
        } catch (IOException | LoriException e) {
            return false;
        }
    }

    /** Reads and validates the header against the file size. */
    public static Header readHeader(Path checkpoint, MemorySegment file) {
        return readHeader(checkpoint, file, file.byteSize());
    }

    /** As {@link #readHeader(Path, MemorySegment)}, with the header's 28 bytes in FILE and the checkpoint's SIZE. */
    private static Header readHeader(Path checkpoint, MemorySegment file, long size) {
        if (size < 28) throw new LoriException(checkpoint + ": truncated llama2.c checkpoint (" + size + " bytes)");
        if (file.get(I32, 0) == MAGIC_V1)
            throw new LoriException(checkpoint + ": llama2.c version-1/2 checkpoints are not supported; "
                    + "export with llama2.c export.py --version 0 (legacy)");
        int[] v = new int[7];
        for (int i = 0; i < 7; i++) v[i] = file.get(I32, 4L * i);
        int dim = v[0], hidden = v[1], layers = v[2], heads = v[3], kvHeads = v[4], vocab = Math.abs(v[5]), seq = v[6];
        if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || vocab == 0 || seq <= 0
                || dim % heads != 0 || heads % kvHeads != 0 || (dim / heads) % 2 != 0)
            throw new LoriException(checkpoint + ": not a llama2.c checkpoint: header dim=" + dim + " hidden_dim=" + hidden
                    + " n_layers=" + layers + " n_heads=" + heads + " n_kv_heads=" + kvHeads + " vocab_size=" + v[5]
                    + " seq_len=" + seq + " is inconsistent");
        Header h = new Header(dim, hidden, layers, heads, kvHeads, vocab, v[5] > 0, seq);
        if (h.expectedBytes() == Long.MAX_VALUE)
            throw new LoriException(checkpoint + ": not a llama2.c checkpoint: implausible header dim=" + dim + " hidden_dim=" + hidden
                    + " layers=" + layers + " vocab=" + vocab + " seq_len=" + seq);
        if (size != h.expectedBytes())
            throw new LoriException(checkpoint + ": " + size + " bytes but its header (dim " + dim + ", "
                    + layers + " layers, vocab " + vocab + ") implies " + h.expectedBytes() + " (truncated, or not a version-0 checkpoint)");
        return h;
    }

    /**
     * The checkpoint's tensors under HF names in HF order. Most are views of {@code file}; q_proj and k_proj are
     * row-permuted copies.
     */
    public static Map<String, Tensor> convertWeights(Header h, MemorySegment file) {
        int d = h.dim(), hid = h.hiddenDim(), L = h.nLayers(), v = h.vocabSize(), kv = h.kvDim();
        Cursor c = new Cursor(file, 28);
        Tensor emb = c.next(v, d);                // (vocab, dim)
        Tensor attnNorm = c.next(L, d);           // (layer, dim)
        Tensor wq = c.next(L, d, d);              // (layer, dim, dim), rows: heads x headDim in llama2.c pair order
        Tensor wk = c.next(L, kv, d);             // (layer, kv_dim, dim)
        Tensor wv = c.next(L, kv, d);             // (layer, kv_dim, dim)
        Tensor wo = c.next(L, d, d);              // (layer, dim, dim)
        Tensor ffnNorm = c.next(L, d);            // (layer, dim)
        Tensor w1 = c.next(L, hid, d);            // gate_proj (layer, hidden, dim)
        Tensor w2 = c.next(L, d, hid);            // down_proj (layer, dim, hidden)
        Tensor w3 = c.next(L, hid, d);            // up_proj (layer, hidden, dim)
        Tensor norm = c.next(d);                  // (dim)
        c.skip(2L * h.seqLen() * (h.headDim() / 2)); // legacy RoPE tables, recomputed by every runtime
        Tensor cls = h.sharedClassifier() ? null : c.next(v, d);

        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("model.embed_tokens.weight", emb);
        for (int l = 0; l < L; l++) {
            String p = "model.layers." + l + ".";
            m.put(p + "input_layernorm.weight", layer(attnNorm, l));
            m.put(p + "self_attn.q_proj.weight", permuteForHfRope(layer(wq, l), h.nHeads()));
            m.put(p + "self_attn.k_proj.weight", permuteForHfRope(layer(wk, l), h.nKvHeads()));
            m.put(p + "self_attn.v_proj.weight", layer(wv, l));
            m.put(p + "self_attn.o_proj.weight", layer(wo, l));
            m.put(p + "post_attention_layernorm.weight", layer(ffnNorm, l));
            m.put(p + "mlp.gate_proj.weight", layer(w1, l));
            m.put(p + "mlp.up_proj.weight", layer(w3, l));
            m.put(p + "mlp.down_proj.weight", layer(w2, l));
        }
        m.put("model.norm.weight", norm);
        if (cls != null) m.put("lm_head.weight", cls);
        return m;
    }

    private static Tensor layer(Tensor stacked, int l) {
        long[] s = stacked.shape();
        return stacked.slice0(l, l + 1).reshape(java.util.Arrays.copyOfRange(s, 1, s.length));
    }

    /**
     * Reorders the rows of a q or k projection [nHeads * headDim, in] from llama2.c's RoPE layout (pairs of adjacent
     * rows) to HF's (first half of a head pairs with second half): HF row h*hd + j*hd/2 + i takes llama2.c row
     * h*hd + 2i + j (j in {0,1}), i.e. transformers' permute(): view(heads, hd/2, 2, in).transpose(1, 2).
     */
    public static Tensor permuteForHfRope(Tensor w, int nHeads) {
        long rows = w.dim(0), cols = w.dim(1);
        int hd = (int) (rows / nHeads), half = hd / 2;
        long rowBytes = cols * w.dtype().bytes();
        Tensor out = Tensor.zeros(w.dtype(), rows, cols);
        for (int h = 0; h < nHeads; h++)
            for (int j = 0; j < 2; j++)
                for (int i = 0; i < half; i++) {
                    long dst = (long) h * hd + (long) j * half + i;
                    long src = (long) h * hd + 2L * i + j;
                    MemorySegment.copy(w.data(), src * rowBytes, out.data(), dst * rowBytes, rowBytes);
                }
        return out;
    }

    /** Reads consecutive float32 arrays of a mapped checkpoint as tensor views. */
    private static final class Cursor {
        private final MemorySegment file;
        private long pos;

        Cursor(MemorySegment file, long pos) { this.file = file; this.pos = pos; }

        Tensor next(long... shape) {
            long bytes = Tensor.numel(shape) * 4;
            Tensor t = Tensor.of(DType.F32, shape, file.asSlice(pos, bytes));
            pos += bytes;
            return t;
        }

        void skip(long floats) { pos += 4 * floats; }
    }

    /**
     * Converts {@code checkpoint} + {@code tokenizer} into a new HF folder {@code out}. Everything is written to a
     * temporary sibling folder first and renamed into place, so {@code out} is either complete or absent.
     * Refuses an existing non-empty {@code out}.
     */
    public static LlamaConfig importModel(Path checkpoint, Path tokenizer, Path out) {
        Path target = out.toAbsolutePath().normalize();
        if (!Files.isRegularFile(checkpoint))
            throw new LoriException(checkpoint + ": " + (Files.isDirectory(checkpoint) ? "is a folder; --checkpoint names the .bin file"
                    : "file not found"));
        if (Files.exists(target) && !Files.isDirectory(target))
            throw new LoriException(out + ": exists and is not a folder (--out names the output folder)");
        if (Files.exists(target) && !isEmptyDir(target))
            throw new LoriException(out + ": already exists and is not empty; choose a new --out folder");
        try (Arena arena = Arena.ofConfined();
             FileChannel ch = FileChannel.open(checkpoint, StandardOpenOption.READ)) {
            MemorySegment file = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            Header h = readHeader(checkpoint, file);
            Llama2cTokenizer tok = Llama2cTokenizer.read(tokenizer, h.vocabSize());
            LlamaConfig config = h.toConfig();
            Map<String, Tensor> weights = convertWeights(h, file);
            OutputDir.writeNew(out, tmp -> {
                Json.write(tmp.resolve("config.json"), config.toJson());
                ObjectNode gen = Json.MAPPER.createObjectNode();
                gen.put("bos_token_id", 1);
                gen.put("eos_token_id", 2);
                Json.write(tmp.resolve("generation_config.json"), gen);
                SafeTensors.write(tmp.resolve(SafeTensors.SINGLE_FILE), weights, Map.of("format", "pt"));
                Json.write(tmp.resolve("tokenizer.json"), tok.toTokenizerJson());
                Json.write(tmp.resolve("tokenizer_config.json"), Llama2cTokenizer.tokenizerConfigJson(h.seqLen()));
                try (TensorStore s = TensorStore.openModelDir(tmp)) {
                    config.checkShapes(s);   // our own output must satisfy the loader's checks
                }
            });
            return config;
        } catch (NoSuchFileException e) {
            throw new LoriException(e.getFile() + ": file not found");
        } catch (IOException e) {
            throw new LoriException(out + ": cannot write the converted model: " + LoriException.reason(e));
        }
    }

    private static boolean isEmptyDir(Path p) {
        if (!Files.isDirectory(p)) return false;
        try (var s = Files.list(p)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }
}
