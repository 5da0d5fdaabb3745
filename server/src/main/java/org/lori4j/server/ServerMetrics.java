package org.lori4j.server;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.lori4j.generate.Engine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The server's Prometheus metrics (vLLM's set, named lori_*): requests by endpoint and status, prompt and generated
 * tokens, queue depth and running batch size (read from the engine at scrape time), and histograms of time to
 * first token, time per output token and end-to-end latency.
 */
final class ServerMetrics {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests;
    private final Counter promptTokens;
    private final Counter generatedTokens;
    private final Histogram ttft;
    private final Histogram perToken;
    private final Histogram e2e;

    ServerMetrics(Engine engine) {
        requests = Counter.builder().name("lori_requests").help("HTTP requests to the API by endpoint and status code")
                .labelNames("endpoint", "status").register(registry);
        promptTokens = Counter.builder().name("lori_prompt_tokens").help("Prompt tokens of finished requests").register(registry);
        generatedTokens = Counter.builder().name("lori_generation_tokens").help("Tokens generated").register(registry);
        GaugeWithCallback.builder().name("lori_queue_depth").help("Requests waiting for a slot")
                .callback(cb -> cb.call(engine.stats().waiting())).register(registry);
        GaugeWithCallback.builder().name("lori_running_requests").help("Requests in the running batch")
                .callback(cb -> cb.call(engine.stats().running())).register(registry);
        GaugeWithCallback.builder().name("lori_max_batch").help("Slots of the running batch")
                .callback(cb -> cb.call(engine.options().maxBatch())).register(registry);
        double[] seconds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80};
        ttft = Histogram.builder().name("lori_time_to_first_token_seconds").help("Time from a request's arrival to its first token")
                .classicOnly().classicUpperBounds(seconds).register(registry);
        perToken = Histogram.builder().name("lori_time_per_output_token_seconds").help("Time between consecutive tokens of a request")
                .classicOnly().classicUpperBounds(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5)
                .register(registry);
        e2e = Histogram.builder().name("lori_e2e_request_latency_seconds").help("Time from a request's arrival to its last token")
                .classicOnly().classicUpperBounds(seconds).register(registry);
    }

    void request(String endpoint, int status) {
        requests.labelValues(endpoint, Integer.toString(status)).inc();
    }

    void firstToken(double seconds) { ttft.observe(seconds); }

    void interToken(double seconds) { perToken.observe(seconds); }

    void finished(Engine.Usage usage, double seconds) {
        promptTokens.inc(usage.promptTokens());
        generatedTokens.inc(usage.completionTokens());
        e2e.observe(seconds);
    }

    String contentType() { return PrometheusTextFormatWriter.CONTENT_TYPE; }

    byte[] scrape() {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
