package org.lori4j.io;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.TestPaths;
import org.lori4j.cli.Main;
import org.lori4j.tensor.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class Llama2cImporterTest {
    static final Path SHARED = TestPaths.realdata("stories260K");
    static final Path CKPT = SHARED.resolve("stories260K.bin");
    static final Path TOK = SHARED.resolve("tok512.bin");
    static final int DIM = 64, HID = 172, L = 5, H = 8, KVH = 4, V = 512, SEQ = 512, HD = 8, KV = KVH * HD;

    @TempDir
    static Path tmp;
    static Path out;
    static float[] ck;   // the checkpoint's floats after the 7-int header

    @BeforeAll
    static void convert() throws Exception {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(CKPT)).order(ByteOrder.LITTLE_ENDIAN);
        int[] hdr = new int[7];
        for (int i = 0; i < 7; i++) hdr[i] = b.getInt();
        assertArrayEquals(new int[]{DIM, HID, L, H, KVH, V, SEQ}, hdr);
        ck = new float[b.remaining() / 4];
        b.asFloatBuffer().get(ck);
        out = tmp.resolve("stories260K");
        assertEquals(0, Main.run("import", "llama2c", "--checkpoint", CKPT.toString(), "--tokenizer", TOK.toString(),
                "--out", out.toString()));
    }

    /** Offsets (in floats) of the llama2.c arrays, from the layout in shared/README.md. */
    static final int EMB = 0, ATT_NORM = EMB + V * DIM, WQ = ATT_NORM + L * DIM, WK = WQ + L * DIM * DIM,
            WV = WK + L * KV * DIM, WO = WV + L * KV * DIM, FFN_NORM = WO + L * DIM * DIM, W1 = FFN_NORM + L * DIM,
            W2 = W1 + L * HID * DIM, W3 = W2 + L * DIM * HID, NORM = W3 + L * HID * DIM;

    static float[] ck(int off, int n) { return Arrays.copyOfRange(ck, off, off + n); }

    @Test
    void configMatchesTheCheckpoint() {
        LlamaConfig c = LlamaConfig.load(out);
        assertEquals(new LlamaConfig("llama", 64, 172, 5, 8, 4, 8, 512, 1e-5, 10000, null, 512, true, 1, List.of(2),
                org.lori4j.tensor.DType.F32, false), c);
        assertEquals(NORM + DIM + 2 * SEQ * HD / 2, ck.length, "shared classifier: nothing after the RoPE tables");
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json"))
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        assertEquals(512, Json.read(out.resolve("tokenizer_config.json")).get("model_max_length").asInt());
    }

    @Test
    void unpermutedWeightsEqualTheCheckpoint() {
        try (TensorStore s = TensorStore.openModelDir(out)) {
            assertArrayEquals(ck(EMB, V * DIM), s.get("model.embed_tokens.weight").toFloatArray());
            assertArrayEquals(ck(NORM, DIM), s.get("model.norm.weight").toFloatArray());
            assertFalse(s.has("lm_head.weight"));
            for (int l = 0; l < L; l++) {
                String p = "model.layers." + l + ".";
                assertArrayEquals(ck(ATT_NORM + l * DIM, DIM), s.get(p + "input_layernorm.weight").toFloatArray());
                assertArrayEquals(ck(FFN_NORM + l * DIM, DIM), s.get(p + "post_attention_layernorm.weight").toFloatArray());
                assertArrayEquals(ck(WV + l * KV * DIM, KV * DIM), s.get(p + "self_attn.v_proj.weight").toFloatArray());
                assertArrayEquals(ck(WO + l * DIM * DIM, DIM * DIM), s.get(p + "self_attn.o_proj.weight").toFloatArray());
                assertArrayEquals(ck(W1 + l * HID * DIM, HID * DIM), s.get(p + "mlp.gate_proj.weight").toFloatArray());
                assertArrayEquals(ck(W3 + l * HID * DIM, HID * DIM), s.get(p + "mlp.up_proj.weight").toFloatArray());
                assertArrayEquals(ck(W2 + l * DIM * HID, DIM * HID), s.get(p + "mlp.down_proj.weight").toFloatArray());
                // q/k are the same rows, reordered within each head
                float[] q = s.get(p + "self_attn.q_proj.weight").toFloatArray(), q0 = ck(WQ + l * DIM * DIM, DIM * DIM);
                assertFalse(Arrays.equals(q, q0));
                float[] qs = q.clone(), q0s = q0.clone();
                Arrays.sort(qs);
                Arrays.sort(q0s);
                assertArrayEquals(q0s, qs);
            }
        }
    }

    static float[] matvec(float[] w, int rows, int cols, float[] x) {
        float[] y = new float[rows];
        for (int r = 0; r < rows; r++) {
            double acc = 0;
            for (int c = 0; c < cols; c++) acc += (double) w[r * cols + c] * x[c];
            y[r] = (float) acc;
        }
        return y;
    }

    /** llama2.c run.c RoPE: rotate adjacent pairs (i, i+1), frequency from i % headDim. */
    static float[] ropeLlama2c(float[] v, int pos) {
        float[] o = v.clone();
        for (int i = 0; i < v.length; i += 2) {
            int hd = i % HD;
            double f = 1.0 / Math.pow(10000.0, hd / (double) HD), a = pos * f;
            o[i] = (float) (v[i] * Math.cos(a) - v[i + 1] * Math.sin(a));
            o[i + 1] = (float) (v[i] * Math.sin(a) + v[i + 1] * Math.cos(a));
        }
        return o;
    }

    /** HF rotate_half RoPE: in each head, element i pairs with i + headDim/2, frequency index i. */
    static float[] ropeHf(float[] v, int pos) {
        float[] o = v.clone();
        int half = HD / 2;
        for (int h = 0; h < v.length / HD; h++)
            for (int i = 0; i < half; i++) {
                double f = 1.0 / Math.pow(10000.0, 2.0 * i / HD), a = pos * f;
                float x1 = v[h * HD + i], x2 = v[h * HD + i + half];
                o[h * HD + i] = (float) (x1 * Math.cos(a) - x2 * Math.sin(a));
                o[h * HD + i + half] = (float) (x2 * Math.cos(a) + x1 * Math.sin(a));
            }
        return o;
    }

    static double dot(float[] a, int ao, float[] b, int bo, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += (double) a[ao + i] * b[bo + i];
        return s;
    }

    @Test
    void attentionScoresWithHfRopeOnConvertedWeightsEqualLlama2cRopeOnOriginal() {
        Random rnd = new Random(7);
        try (TensorStore s = TensorStore.openModelDir(out)) {
            for (int l = 0; l < L; l++) {
                String p = "model.layers." + l + ".self_attn.";
                float[] wqHf = s.get(p + "q_proj.weight").toFloatArray(), wkHf = s.get(p + "k_proj.weight").toFloatArray();
                float[] wq = ck(WQ + l * DIM * DIM, DIM * DIM), wk = ck(WK + l * KV * DIM, KV * DIM);
                for (int trial = 0; trial < 3; trial++) {
                    float[] x1 = new float[DIM], x2 = new float[DIM];
                    for (int i = 0; i < DIM; i++) { x1[i] = (float) rnd.nextGaussian(); x2[i] = (float) rnd.nextGaussian(); }
                    int p1 = 3 + rnd.nextInt(200), p2 = rnd.nextInt(p1 + 1);
                    float[] qC = ropeLlama2c(matvec(wq, DIM, DIM, x1), p1), kC = ropeLlama2c(matvec(wk, KV, DIM, x2), p2);
                    float[] qH = ropeHf(matvec(wqHf, DIM, DIM, x1), p1), kH = ropeHf(matvec(wkHf, KV, DIM, x2), p2);
                    for (int h = 0; h < H; h++) {
                        int kvh = h / (H / KVH);
                        double sc = dot(qC, h * HD, kC, kvh * HD, HD), sh = dot(qH, h * HD, kH, kvh * HD, HD);
                        assertEquals(sc, sh, 1e-4 * (1 + Math.abs(sc)), "layer " + l + " head " + h);
                    }
                    // and element-wise: HF element h*hd + j*hd/2 + i is llama2.c element h*hd + 2i + j
                    for (int h = 0; h < H; h++)
                        for (int j = 0; j < 2; j++)
                            for (int i = 0; i < HD / 2; i++)
                                assertEquals(qC[h * HD + 2 * i + j], qH[h * HD + j * HD / 2 + i], 1e-4);
                }
            }
        }
    }

    @Test
    void permutationMatchesAReshapeTransposeFormulation() {
        // transformers' permute: view(heads, hd/2, 2, cols).transpose(1, 2).reshape(rows, cols), done here with
        // explicit 4-d index arithmetic on a matrix whose entries encode their own source row.
        int heads = 3, hd = 6, cols = 2, rows = heads * hd;
        float[] w = new float[rows * cols];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) w[r * cols + c] = r * 10 + c;
        float[] expected = new float[rows * cols];
        int idx = 0;
        for (int h = 0; h < heads; h++)            // output dims after transpose: (heads, 2, hd/2, cols)
            for (int two = 0; two < 2; two++)
                for (int half = 0; half < hd / 2; half++)
                    for (int c = 0; c < cols; c++)
                        expected[idx++] = w[((h * (hd / 2) + half) * 2 + two) * cols + c];   // input view (heads, hd/2, 2, cols)
        Tensor got = Llama2cImporter.permuteForHfRope(Tensor.of(w, rows, cols), heads);
        assertArrayEquals(expected, got.toFloatArray());
    }

    @Test
    void badCheckpointsAndExistingOutputAreRefused() throws Exception {
        Path cut = tmp.resolve("cut.bin");
        Files.write(cut, Arrays.copyOf(Files.readAllBytes(CKPT), 5000));
        LoriException e = assertThrows(LoriException.class, () -> Llama2cImporter.importModel(cut, TOK, tmp.resolve("x")));
        assertEquals(cut + ": 5000 bytes but its header (dim 64, 5 layers, vocab 512) implies 1056540 (truncated, or not a "
                + "version-0 checkpoint)", e.getMessage());
        assertFalse(Files.exists(tmp.resolve("x")));
        Path v1 = tmp.resolve("v1.bin");
        Files.write(v1, new byte[]{0x32, 0x34, 0x6b, 0x61, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        e = assertThrows(LoriException.class, () -> Llama2cImporter.importModel(v1, TOK, tmp.resolve("x")));
        assertTrue(e.getMessage().contains("version-1/2 checkpoints are not supported"), e.getMessage());
        e = assertThrows(LoriException.class, () -> Llama2cImporter.importModel(CKPT, TOK, out));
        assertEquals(out + ": already exists and is not empty; choose a new --out folder", e.getMessage());
        assertEquals(2, Main.run("import", "llama2c", "--checkpoint", tmp.resolve("missing.bin").toString(),
                "--tokenizer", TOK.toString(), "--out", tmp.resolve("y").toString()));
        assertFalse(Files.exists(tmp.resolve("y")));
        try (var l = Files.list(tmp)) {
            assertTrue(l.noneMatch(p -> p.getFileName().toString().startsWith(".")), "no temporary folders left");
        }
    }

    @Test
    void importsTheSecondModelWithItsSentencePieceModelFile() {
        Path baby = TestPaths.realdata("babyllama-tok105");
        LlamaConfig c = Llama2cImporter.importModel(baby.resolve("model5000.bin"), baby.resolve("tok105.model"), tmp.resolve("baby"));
        assertEquals(128, c.hiddenSize());
        assertEquals(16, c.headDim());
        assertEquals(256, c.maxPositionEmbeddings());
        assertFalse(Json.read(tmp.resolve("baby/tokenizer.json")).get("model").get("byte_fallback").asBoolean());
    }
}
