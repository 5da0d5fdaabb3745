package org.lori4j.spark;

import org.lori4j.train.GradientExchange;
import org.lori4j.train.TrainState;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The bytes that travel between the driver and the workers: a training state (position, optimiser step count and
 * float tensors; the run's options stay on the driver) and a worker's micro-batch results of one step. Floats travel
 * as their exact IEEE bits (little-endian), so what arrives is bit for bit what was sent.
 */
final class Wire {
    private Wire() {}

    static byte[] state(TrainState s) {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bos)) {
            out.writeLong(s.batchesDone());
            out.writeInt(s.epoch());
            out.writeInt(s.stepInEpoch());
            out.writeLong(s.optimizerSteps());
            out.writeInt(s.tensors().size());
            for (Map.Entry<String, float[]> e : s.tensors().entrySet()) {
                out.writeUTF(e.getKey());
                floats(out, e.getValue());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bos.toByteArray();
    }

    static TrainState state(byte[] bytes) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            long done = in.readLong();
            int epoch = in.readInt(), step = in.readInt();
            long opt = in.readLong();
            int n = in.readInt();
            Map<String, float[]> t = new LinkedHashMap<>();
            for (int i = 0; i < n; i++) t.put(in.readUTF(), floats(in));
            return new TrainState(done, epoch, step, opt, t, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] results(List<GradientExchange.MicroResult> rs) {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bos)) {
            out.writeInt(rs.size());
            for (GradientExchange.MicroResult r : rs) {
                out.writeInt(r.index());
                out.writeDouble(r.loss());
                out.writeLong(r.tokens());
                out.writeLong(r.scoredTokens());
                floats(out, r.gradient());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bos.toByteArray();
    }

    static List<GradientExchange.MicroResult> results(byte[] bytes) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            int n = in.readInt();
            List<GradientExchange.MicroResult> rs = new ArrayList<>(n);
            for (int i = 0; i < n; i++)
                rs.add(new GradientExchange.MicroResult(in.readInt(), in.readDouble(), in.readLong(), in.readLong(), floats(in)));
            return rs;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A float array, or null (a one-worker step's result, whose gradient was folded where it was computed). */
    private static void floats(DataOutputStream out, float[] v) throws IOException {
        if (v == null) {
            out.writeInt(-1);
            return;
        }
        out.writeInt(v.length);
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        out.write(b.array());
    }

    private static float[] floats(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n == -1) return null;
        byte[] raw = in.readNBytes(n * 4);
        if (raw.length != n * 4) throw new IOException("truncated: " + raw.length + " of " + n * 4 + " bytes");
        float[] v = new float[n];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
        return v;
    }
}
