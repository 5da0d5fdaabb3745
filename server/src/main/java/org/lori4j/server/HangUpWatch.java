package org.lori4j.server;

import jakarta.servlet.http.HttpServletRequest;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.AbstractEndPoint;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;

import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Notices a client that hangs up while its non-streaming request is generating. Jetty reads a connection only when a
 * handler asks for content, so a closed socket goes unseen until the answer is written; this asks Jetty to report
 * when the connection becomes readable (a well-behaved HTTP/1.1 client sends nothing while it waits for its answer),
 * then reads one byte: end of stream means the client is gone. Anything else (a pipelined request) cannot be put
 * back and closes the connection too. {@link #stop} withdraws the interest before the answer is written, so that
 * Jetty's own reading of the next request is undisturbed. Requests not on Jetty's servlet request (none here) are
 * not watched; their hang-up shows at the write.
 */
final class HangUpWatch implements Callback {
    private final EndPoint endPoint;
    private final Runnable onHangUp;
    private final AtomicBoolean active = new AtomicBoolean(true);

    private HangUpWatch(EndPoint endPoint, Runnable onHangUp) {
        this.endPoint = endPoint;
        this.onHangUp = onHangUp;
    }

    /** Starts watching the request's connection; null when it cannot be watched. */
    static HangUpWatch start(HttpServletRequest req, Runnable onHangUp) {
        try {
            ServletContextRequest core = ServletContextRequest.getServletContextRequest(req);
            if (core == null) return null;
            core.addFailureListener(t -> onHangUp.run());   // idle timeouts, the connector stopping
            if (!"HTTP/1.1".equals(req.getProtocol()) && !"HTTP/1.0".equals(req.getProtocol())) return null;
            EndPoint ep = core.getConnectionMetaData().getConnection().getEndPoint();
            if (!(ep instanceof AbstractEndPoint)) return null;   // the interest could not be withdrawn
            HangUpWatch w = new HangUpWatch(ep, onHangUp);
            return ep.tryFillInterested(w) ? w : null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** The connection is readable: end of stream (or unexpected bytes) ends the request. */
    @Override
    public void succeeded() {
        if (!active.get()) return;
        try {
            int n = endPoint.fill(BufferUtil.allocate(1));   // empty, in Jetty's flush mode: room for one byte
            if (n == 0) {
                if (active.get() && !endPoint.tryFillInterested(this)) active.set(false);
                return;
            }
            active.set(false);
            if (n > 0) endPoint.close();   // a pipelined request: its first byte is gone
        } catch (Exception e) {
            active.set(false);
        }
        onHangUp.run();
    }

    @Override
    public void failed(Throwable x) {
        if (active.getAndSet(false) && !(x instanceof CancellationException)) onHangUp.run();
    }

    /** Withdraws the interest (before the answer is written). */
    void stop() {
        if (active.getAndSet(false) && endPoint instanceof AbstractEndPoint a && a.isFillInterested())
            a.getFillInterest().onFail(new CancellationException("answered"));
    }
}
