package org.lori4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * A bounded load generator for a server on this machine: N clients (virtual threads) each send their requests one
 * after another (text completions, streaming and not in turn, each client with its own model id), and every request
 * is accounted for: answered, refused with 429, or failed (any other outcome, a timeout included).
 */
final class LoadTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What one scenario asks. */
    record Scenario(String name, int clients, int requestsPerClient, IntFunction<String> modelOfClient, int maxTokens,
                    List<String> prompts) {}

    /** One request's outcome. ttft is NaN for a non-streaming request; tokens 0 unless answered. */
    record Outcome(int status, double ttft, double e2e, int tokens, String error) {}

    /** A scenario's figures; cpuSeconds is this process's CPU time meanwhile (server and clients). */
    record Result(Scenario scenario, double seconds, double cpuSeconds, List<Outcome> outcomes) {
        long answered() { return outcomes.stream().filter(o -> o.status() == 200).count(); }

        long refused() { return outcomes.stream().filter(o -> o.status() == 429).count(); }

        long failed() { return outcomes.size() - answered() - refused(); }

        /** Requests sent but never accounted for (none, unless a client thread died). */
        long lost() { return (long) scenario.clients() * scenario.requestsPerClient() - outcomes.size(); }

        long tokens() { return outcomes.stream().mapToLong(Outcome::tokens).sum(); }

        double tokensPerSecond() { return tokens() / seconds; }

        /**
         * Tokens per second had the process had its threads' CPUs to itself: tokens / (CPU seconds / threads). On a
         * shared machine this estimates the idle-machine rate; on an idle one it is close to {@link #tokensPerSecond}.
         */
        double tokensPerCpuSecond(int threads) { return tokens() / (cpuSeconds / threads); }

        double requestsPerSecond() { return answered() / seconds; }

        double[] ttfts() { return outcomes.stream().filter(o -> o.status() == 200 && !Double.isNaN(o.ttft())).mapToDouble(Outcome::ttft).toArray(); }

        double[] e2es() { return outcomes.stream().filter(o -> o.status() == 200).mapToDouble(Outcome::e2e).toArray(); }

        String firstError() { return outcomes.stream().filter(o -> o.error() != null).map(Outcome::error).findFirst().orElse(null); }
    }

    private final String url;
    private final HttpClient http;
    private final Duration timeout;

    LoadTest(String url, Duration timeout) {
        this.url = url;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
    }

    Result run(Scenario s) throws InterruptedException {
        List<Outcome> all = java.util.Collections.synchronizedList(new ArrayList<>());
        long c0 = cpuNanos();
        long t0 = System.nanoTime();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> fs = new ArrayList<>();
            for (int c = 0; c < s.clients(); c++) {
                int client = c;
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < s.requestsPerClient(); i++) {
                        String prompt = s.prompts().get((client * s.requestsPerClient() + i) % s.prompts().size());
                        all.add(request(s.modelOfClient().apply(client), prompt, s.maxTokens(), (client + i) % 2 == 0));
                    }
                }));
            }
            for (Future<?> f : fs) {
                try {
                    f.get(timeout.toMillis() * s.requestsPerClient() + 60_000, TimeUnit.MILLISECONDS);
                } catch (Exception e) {
                    f.cancel(true);
                }
            }
        }
        return new Result(s, (System.nanoTime() - t0) / 1e9, (cpuNanos() - c0) / 1e9, List.copyOf(all));
    }

    private Outcome request(String model, String prompt, int maxTokens, boolean stream) {
        long t0 = System.nanoTime();
        try {
            ObjectNode body = JSON.createObjectNode().put("model", model).put("prompt", prompt).put("max_tokens", maxTokens)
                    .put("temperature", 0).put("ignore_eos", true).put("stream", stream);
            if (stream) body.putObject("stream_options").put("include_usage", true);
            HttpRequest req = HttpRequest.newBuilder(URI.create(url + "/v1/completions")).timeout(timeout)
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
            if (!stream) {
                HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
                double e2e = (System.nanoTime() - t0) / 1e9;
                if (r.statusCode() != 200) return new Outcome(r.statusCode(), Double.NaN, e2e, 0, r.statusCode() == 429 ? null : r.body());
                return new Outcome(200, Double.NaN, e2e, JSON.readTree(r.body()).at("/usage/completion_tokens").asInt(), null);
            }
            HttpResponse<java.util.stream.Stream<String>> r = http.send(req, HttpResponse.BodyHandlers.ofLines());
            if (r.statusCode() != 200) {
                String b = String.join("\n", r.body().toList());
                return new Outcome(r.statusCode(), Double.NaN, (System.nanoTime() - t0) / 1e9, 0, r.statusCode() == 429 ? null : b);
            }
            double ttft = Double.NaN;
            int tokens = -1;
            boolean done = false;
            for (Iterator<String> it = r.body().iterator(); it.hasNext(); ) {
                String line = it.next();
                if (!line.startsWith("data: ")) continue;
                String data = line.substring(6);
                if (data.equals("[DONE]")) { done = true; continue; }
                JsonNode c = JSON.readTree(data);
                if (c.has("error")) return new Outcome(500, ttft, (System.nanoTime() - t0) / 1e9, 0, data);
                if (Double.isNaN(ttft) && !c.at("/choices/0/text").asText("").isEmpty()) ttft = (System.nanoTime() - t0) / 1e9;
                if (c.hasNonNull("usage")) tokens = c.at("/usage/completion_tokens").asInt();
            }
            double e2e = (System.nanoTime() - t0) / 1e9;
            if (!done || tokens < 0) return new Outcome(-1, ttft, e2e, 0, "the stream ended without usage and [DONE]");
            return new Outcome(200, ttft, e2e, tokens, null);
        } catch (Exception e) {
            return new Outcome(-1, Double.NaN, (System.nanoTime() - t0) / 1e9, 0, e.toString());
        }
    }

    /** This process's CPU time so far, in nanoseconds. */
    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** The p-quantile (0..1) by nearest rank, NaN for no values. */
    static double quantile(double[] v, double p) {
        if (v.length == 0) return Double.NaN;
        double[] s = v.clone();
        Arrays.sort(s);
        int i = (int) Math.ceil(p * s.length) - 1;
        return s[Math.max(0, Math.min(s.length - 1, i))];
    }
}
