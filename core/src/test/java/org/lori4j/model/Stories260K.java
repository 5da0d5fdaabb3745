package org.lori4j.model;

import org.lori4j.TestPaths;
import org.lori4j.io.LlamaConfig;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Tensor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Test-only reader of llama2.c's stories260K.bin and tok512.bin (shared/realdata), independent of
 * the io package's conversion: builds the HF-layout tensors (wq/wk rows permuted from adjacent
 * pairs to rotate-half) and decodes tokens the way run.c prints them.
 */
public final class Stories260K {
    private Stories260K() {}

    public static Path dir() { return TestPaths.realdata("stories260K"); }

    /** The model of stories260K.bin as a LlamaModel (f32, tied lm_head). */
    public static LlamaModel model() throws IOException {
        ByteBuffer bb = ByteBuffer.wrap(Files.readAllBytes(dir().resolve("stories260K.bin"))).order(ByteOrder.LITTLE_ENDIAN);
        int dim = bb.getInt(), hidden = bb.getInt(), layers = bb.getInt(), heads = bb.getInt(), kvHeads = bb.getInt();
        int vocab = bb.getInt(), seqLen = bb.getInt();
        boolean shared = vocab > 0;
        vocab = Math.abs(vocab);
        int hd = dim / heads, kvDim = kvHeads * hd;
        var fb = bb.asFloatBuffer();
        float[] emb = take(fb, vocab * dim);
        float[] attNorm = take(fb, layers * dim);
        float[] wq = take(fb, layers * dim * dim);
        float[] wk = take(fb, layers * kvDim * dim);
        float[] wv = take(fb, layers * kvDim * dim);
        float[] wo = take(fb, layers * dim * dim);
        float[] ffnNorm = take(fb, layers * dim);
        float[] w1 = take(fb, layers * hidden * dim);
        float[] w2 = take(fb, layers * dim * hidden);
        float[] w3 = take(fb, layers * hidden * dim);
        float[] norm = take(fb, dim);
        take(fb, seqLen * hd / 2);
        take(fb, seqLen * hd / 2);
        float[] cls = shared ? null : take(fb, vocab * dim);

        Map<String, Tensor> t = new HashMap<>();
        t.put("model.embed_tokens.weight", Tensor.of(emb, vocab, dim));
        t.put("model.norm.weight", Tensor.of(norm, dim));
        if (cls != null) t.put("lm_head.weight", Tensor.of(cls, vocab, dim));
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            t.put(p + "input_layernorm.weight", Tensor.of(slice(attNorm, l, dim), dim));
            t.put(p + "post_attention_layernorm.weight", Tensor.of(slice(ffnNorm, l, dim), dim));
            t.put(p + "self_attn.q_proj.weight", Tensor.of(permute(slice(wq, l, dim * dim), heads, dim, dim), dim, dim));
            t.put(p + "self_attn.k_proj.weight", Tensor.of(permute(slice(wk, l, kvDim * dim), kvHeads, kvDim, dim), kvDim, dim));
            t.put(p + "self_attn.v_proj.weight", Tensor.of(slice(wv, l, kvDim * dim), kvDim, dim));
            t.put(p + "self_attn.o_proj.weight", Tensor.of(slice(wo, l, dim * dim), dim, dim));
            t.put(p + "mlp.gate_proj.weight", Tensor.of(slice(w1, l, hidden * dim), hidden, dim));
            t.put(p + "mlp.down_proj.weight", Tensor.of(slice(w2, l, dim * hidden), dim, hidden));
            t.put(p + "mlp.up_proj.weight", Tensor.of(slice(w3, l, hidden * dim), hidden, dim));
        }
        LlamaConfig c = new LlamaConfig("llama", dim, hidden, layers, heads, kvHeads, hd, vocab, 1e-5, 10000.0, null,
                seqLen, shared, 1, List.of(2), DType.F32, false);
        return LlamaModel.of(c, t);
    }

    private static float[] take(java.nio.FloatBuffer fb, int n) {
        float[] a = new float[n];
        fb.get(a);
        return a;
    }

    private static float[] slice(float[] a, int l, int n) {
        float[] out = new float[n];
        System.arraycopy(a, l * n, out, 0, n);
        return out;
    }

    /** HF's conversion permutation: within a head, row 2i+j (adjacent pairs) moves to j*(d/2)+i (halves). */
    public static float[] permute(float[] w, int nHeads, int rows, int cols) {
        int hd = rows / nHeads, half = hd / 2;
        float[] out = new float[w.length];
        for (int h = 0; h < nHeads; h++)
            for (int i = 0; i < half; i++)
                for (int j = 0; j < 2; j++)
                    System.arraycopy(w, (h * hd + 2 * i + j) * cols, out, (h * hd + j * half + i) * cols, cols);
        return out;
    }

    /** The 512 pieces of tok512.bin. */
    public static byte[][] pieces() throws IOException {
        ByteBuffer bb = ByteBuffer.wrap(Files.readAllBytes(dir().resolve("tok512.bin"))).order(ByteOrder.LITTLE_ENDIAN);
        bb.getInt();
        byte[][] p = new byte[512][];
        for (int i = 0; i < 512; i++) {
            bb.getFloat();
            p[i] = new byte[bb.getInt()];
            bb.get(p[i]);
        }
        return p;
    }

    /** What run.c prints for these tokens after BOS: the leading space of the first piece stripped, <0xNN> as raw bytes. */
    public static String decodeLikeRunC(int[] tokens) throws IOException {
        byte[][] pieces = pieces();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int prev = 1;
        for (int t : tokens) {
            byte[] p = pieces[t];
            String s = new String(p, StandardCharsets.ISO_8859_1);
            if (s.matches("<0x[0-9A-F]{2}>")) out.write(Integer.parseInt(s.substring(3, 5), 16));
            else if (prev == 1 && p.length > 0 && p[0] == ' ') out.write(p, 1, p.length - 1);
            else out.write(p, 0, p.length);
            prev = t;
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
