package org.lori4j.spark;

import org.apache.spark.BarrierTaskContext;
import org.lori4j.train.GradientExchange;

import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The gradient exchange of a Spark barrier stage: each task (worker = partition) sends its packed micro-batch
 * gradients of a step through {@link BarrierTaskContext#allGather}, which hands every task all tasks' messages in
 * partition order. A worker that fails sends its error instead, so that the others stop at the same step rather than
 * wait for it.
 */
final class BarrierExchange implements GradientExchange {
    /** A message that carries a worker's error instead of its gradients. */
    static final String ERROR = "E", DATA = "G";

    private final BarrierTaskContext ctx;
    long sentBytes, receivedBytes, payloadBytes, exchanges;

    BarrierExchange(BarrierTaskContext ctx) {
        this.ctx = ctx;
    }

    @Override public int rank() { return ctx.partitionId(); }

    @Override public int workers() { return ctx.getTaskInfos().length; }

    @Override
    public List<MicroResult> allGather(long step, List<MicroResult> mine) {
        byte[] payload = Wire.results(mine);
        String msg = DATA + Base64.getEncoder().encodeToString(payload);
        String[] all = ctx.allGather(msg);
        exchanges++;
        sentBytes += msg.length();
        List<MicroResult> out = new ArrayList<>();
        for (String m : all) {
            receivedBytes += m.length();
            if (m.startsWith(ERROR)) throw new WorkerFailed(m.substring(1));
        }
        for (String m : all) {
            byte[] b = Base64.getDecoder().decode(m.substring(1));
            payloadBytes += b.length;
            out.addAll(Wire.results(b));
        }
        return out;
    }

    /** Tells the other workers, at their next exchange, that this one failed with MESSAGE. */
    void fail(String message) {
        ctx.allGather(ERROR + message);
    }

    /** Another worker failed; its message names it. */
    static final class WorkerFailed extends RuntimeException {
        WorkerFailed(String message) { super(message, null, false, false); }
    }
}
