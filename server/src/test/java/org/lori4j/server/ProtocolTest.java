package org.lori4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lori4j.generate.Engine;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;

/** The wire format (server-sent events, errors, limits, adapters at run time, metrics, shutdown) over plain HTTP. */
class ProtocolTest {
    static TestServer ts;
    static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void start() throws Exception {
        ts = new TestServer(new Engine.Options(4, 16, 256), TestServer.KEY, 500);
    }

    @AfterAll
    static void stop() throws Exception {
        ts.close();
    }

    static HttpResponse<String> post(String url, String path, String body, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + path)).POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json");
        if (key != null) b.header("Authorization", "Bearer " + key);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return post(ts.url(), path, body, TestServer.KEY);
    }

    static JsonNode error(HttpResponse<String> r, int status) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertNotNull(e, r.body());
        assertTrue(e.get("message").isTextual() && e.has("type") && e.has("param") && e.has("code"), r.body());
        return e;
    }

    @Test
    void serverSentEventsAsOpenAiSendsThem() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", """
                {"model": "sparse", "messages": [{"role": "user", "content": "Tell me a story"}], "max_tokens": 20,
                 "temperature": 0, "stream": true, "stream_options": {"include_usage": true}}""");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElseThrow().startsWith("text/event-stream"));
        String body = r.body();
        assertTrue(body.endsWith("data: [DONE]\n\n"), body);
        String[] events = body.split("\n\n");
        StringBuilder text = new StringBuilder();
        String id = null;
        for (int i = 0; i < events.length - 1; i++) {
            assertTrue(events[i].startsWith("data: {"), events[i]);
            JsonNode c = JSON.readTree(events[i].substring(6));
            assertEquals("chat.completion.chunk", c.get("object").asText());
            assertEquals("sparse", c.get("model").asText());
            if (id == null) id = c.get("id").asText();
            assertEquals(id, c.get("id").asText(), "one id for the whole stream");
            if (i == 0) assertEquals("assistant", c.at("/choices/0/delta/role").asText());
            if (i < events.length - 2) {
                assertTrue(c.get("usage").isNull());
                JsonNode ch = c.at("/choices/0");
                text.append(ch.at("/delta/content").asText(""));
                if (i == events.length - 3) assertEquals("length", ch.get("finish_reason").asText());
                else assertTrue(ch.get("finish_reason").isNull());
            } else {
                assertEquals(0, c.get("choices").size(), "the usage chunk has no choices");
                assertEquals(20, c.at("/usage/completion_tokens").asInt());
                assertEquals(c.at("/usage/prompt_tokens").asInt() + 20, c.at("/usage/total_tokens").asInt());
            }
        }
        assertEquals(ts.reference("sparse", "Tell me a story", 20, List.of()), text.toString());

        // text completions stream too, with a list of stop strings
        String full = ts.referencePrompt("dense", "Once upon a time", 30);
        String stop = full.substring(8, 11);
        r = post("/v1/completions", "{\"model\": \"dense\", \"prompt\": \"Once upon a time\", \"max_tokens\": 30, \"temperature\": 0,"
                + " \"stream\": true, \"stop\": [\"zzz\", " + JSON.writeValueAsString(stop) + "]}");
        StringBuilder t = new StringBuilder();
        String finish = null;
        for (String ev : r.body().split("\n\n")) {
            if (ev.equals("data: [DONE]")) continue;
            JsonNode c = JSON.readTree(ev.substring(6));
            assertEquals("text_completion", c.get("object").asText());
            t.append(c.at("/choices/0/text").asText());
            if (!c.at("/choices/0/finish_reason").isNull()) finish = c.at("/choices/0/finish_reason").asText();
        }
        assertEquals(full.substring(0, full.indexOf(stop)), t.toString());
        assertEquals("stop", finish);
    }

    @Test
    void errorsInOpenAisShapeWithTheRightStatus() throws Exception {
        String ok = "{\"model\": \"stories260K\", \"prompt\": \"Hi\", \"max_tokens\": 2}";
        assertNull(error(post("/v1/completions", "{\"model\": "), 400).get("param").textValue());
        assertEquals("temperature", error(post("/v1/completions", ok.replace("}", ", \"temperature\": 3}")), 400).get("param").asText());
        assertEquals("max_tokens", error(post("/v1/completions", ok.replace("2}", "\"two\"}")), 400).get("param").asText());
        assertEquals("n", error(post("/v1/completions", ok.replace("}", ", \"n\": 2}")), 400).get("param").asText());
        assertEquals("stop", error(post("/v1/completions", ok.replace("}", ", \"stop\": [\"\"]}")), 400).get("param").asText());
        assertEquals("messages", error(post("/v1/chat/completions", "{\"model\": \"dense\", \"messages\": []}"), 400).get("param").asText());
        assertEquals("max_tokens", error(post("/v1/completions", ok.replace("2}", "501}")), 400).get("param").asText(), "above --max-tokens-limit");
        JsonNode ctx = error(post("/v1/completions", "{\"model\": \"stories260K\", \"prompt\": " + JSON.writeValueAsString("a b ".repeat(300))
                + ", \"max_tokens\": 10}"), 400);
        assertEquals("context_length_exceeded", ctx.get("code").asText());
        assertTrue(ctx.get("message").asText().contains("maximum context length is 512"), ctx.toString());
        JsonNode nf = error(post("/v1/completions", ok.replace("stories260K", "gpt-4")), 404);
        assertEquals("model_not_found", nf.get("code").asText());
        assertEquals("invalid_api_key", error(post(ts.url(), "/v1/completions", ok, null), 401).get("code").asText());
        error(post(ts.url(), "/v1/completions", ok, "wrong"), 401);
        error(http.send(HttpRequest.newBuilder(URI.create(ts.url() + "/v1/models")).build(), HttpResponse.BodyHandlers.ofString()), 401);
        error(post("/v1/completions", "{\"model\": \"stories260K\", \"prompt\": \"" + "x".repeat(1 << 20) + "\"}"), 413);
        // a bad request disturbs nothing: the next good one answers as before
        HttpResponse<String> good = post("/v1/completions", ok.replace("\"Hi\"", "\"Once upon a time\"").replace("2}", "12, \"temperature\": 0}"));
        assertEquals(ts.referencePrompt(null, "Once upon a time", 12), JSON.readTree(good.body()).at("/choices/0/text").asText());
        // the page and health need no key
        assertEquals(200, http.send(HttpRequest.newBuilder(URI.create(ts.url() + "/health")).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
    }

    @Test
    void adaptersLoadAndUnloadAtRunTimeFromTheAdaptersFolderOnly() throws Exception {
        TestServer.adapter(ts.host.model().config(), 13, 0.9).save(ts.dir.resolve("adapters/extra"));
        Files.createDirectories(ts.dir.resolve("outside"));
        error(post("/v1/load_lora_adapter", "{\"lora_name\": \"evil\", \"lora_path\": \"../outside\"}"), 403);
        error(post("/v1/load_lora_adapter", "{\"lora_name\": \"evil\", \"lora_path\": \"" + ts.dir.resolve("outside") + "\"}"), 403);
        error(post("/v1/load_lora_adapter", "{\"lora_name\": \"x\", \"lora_path\": \"missing\"}"), 400);
        error(post("/v1/load_lora_adapter", "{\"lora_name\": \"dense\", \"lora_path\": \"extra\"}"), 400);
        HttpResponse<String> r = post("/v1/load_lora_adapter", "{\"lora_name\": \"extra\", \"lora_path\": \"extra\"}");
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(ts.url() + "/v1/models")).header("Authorization", "Bearer "
                + TestServer.KEY).build(), HttpResponse.BodyHandlers.ofString()).body()).toString().contains("\"id\":\"extra\""));
        assertEquals(200, post("/v1/completions", "{\"model\": \"extra\", \"prompt\": \"Hi\", \"max_tokens\": 3}").statusCode());
        assertEquals(200, post("/v1/unload_lora_adapter", "{\"lora_name\": \"extra\"}").statusCode());
        error(post("/v1/completions", "{\"model\": \"extra\", \"prompt\": \"Hi\", \"max_tokens\": 3}"), 404);
        error(post("/v1/unload_lora_adapter", "{\"lora_name\": \"extra\"}"), 404);
    }

    /** Sends a request over a raw socket and returns the socket once the response has started. */
    static Socket rawRequest(String body) throws Exception {
        Socket s = new Socket("127.0.0.1", ts.server.port());
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = s.getOutputStream();
        out.write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TestServer.KEY + "\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(b);
        out.flush();
        return s;
    }

    static void awaitRunning(int n) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (ts.host.engine().stats().running() != n && System.nanoTime() < deadline) Thread.sleep(5);
        assertEquals(n, ts.host.engine().stats().running());
    }

    @Test
    void aClientThatDisconnectsFreesItsSlot() throws Exception {
        awaitRunning(0);
        String body = "{\"model\": \"stories260K\", \"prompt\": \"Once\", \"max_tokens\": 64, \"stream\": STREAM, \"stop\": \"never\"}";
        // streaming: read the first event, then hang up
        Socket s = rawRequest(body.replace("STREAM", "true"));
        BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null && !line.startsWith("data: ")) { /* headers */ }
        assertNotNull(line);
        long steps = ts.host.engine().stats().steps();
        s.close();
        awaitRunning(0);
        assertTrue(ts.host.engine().stats().steps() - steps < 64, "cancelled long before its 64 tokens");
        // not streaming: hang up while it waits
        Socket w = rawRequest(body.replace("STREAM", "false").replace("64", "500"));
        awaitRunning(1);
        steps = ts.host.engine().stats().steps();
        w.close();
        awaitRunning(0);
        assertTrue(ts.host.engine().stats().steps() - steps < 400, "cancelled long before its 500 tokens");
    }

    @Test
    void metricsInPrometheusTextFormat() throws Exception {
        post("/v1/completions", "{\"model\": \"stories260K\", \"prompt\": \"Hi\", \"max_tokens\": 3}");
        HttpResponse<String> m = http.send(HttpRequest.newBuilder(URI.create(ts.url() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(m.headers().firstValue("Content-Type").orElseThrow().startsWith("text/plain"));
        String t = m.body();
        for (String name : List.of("lori_requests_total{endpoint=\"/v1/completions\",status=\"200\"}", "lori_prompt_tokens_total",
                "lori_generation_tokens_total", "lori_queue_depth", "lori_running_requests", "lori_time_to_first_token_seconds_bucket",
                "lori_time_per_output_token_seconds_bucket", "lori_e2e_request_latency_seconds_count"))
            assertTrue(t.contains(name), name + " in\n" + t);
    }

    @Test
    void overloadGetsAnswersOr429sNothingLostThenAGracefulStop() throws Exception {
        // one slot and one place in the queue, eight clients at once: each gets its answer or a 429, none hangs
        try (TestServer small = new TestServer(new Engine.Options(1, 1, 256), null, 64);
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<HttpResponse<String>>> rs = new ArrayList<>();
            for (int i = 0; i < 8; i++)
                rs.add(pool.submit(() -> post(small.url(), "/v1/completions", "{\"model\": \"stories260K\", \"prompt\": \"Once\","
                        + " \"max_tokens\": 40, \"temperature\": 0}", null)));
            int ok = 0, busy = 0;
            String want = small.referencePrompt(null, "Once", 40);
            for (Future<HttpResponse<String>> f : rs) {
                HttpResponse<String> r = f.get();
                if (r.statusCode() == 200) {
                    ok++;
                    assertEquals(want, JSON.readTree(r.body()).at("/choices/0/text").asText());
                } else {
                    assertEquals("rate_limit_exceeded", error(r, 429).get("code").asText());
                    assertEquals("1", r.headers().firstValue("Retry-After").orElseThrow());
                    busy++;
                }
            }
            assertEquals(8, ok + busy);
            assertTrue(ok >= 2 && busy >= 1, ok + " answered, " + busy + " refused");

            // graceful stop: a running request finishes, then new ones are refused
            Future<HttpResponse<String>> running = pool.submit(() -> post(small.url(), "/v1/completions",
                    "{\"model\": \"stories260K\", \"prompt\": \"Once\", \"max_tokens\": 60, \"temperature\": 0}", null));
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (small.host.engine().stats().running() == 0 && System.nanoTime() < deadline) Thread.sleep(2);
            String url = small.url();
            assertTrue(small.server.stop(30_000));
            HttpResponse<String> last = running.get();
            assertEquals(200, last.statusCode(), last.body());
            assertEquals(small.referencePrompt(null, "Once", 60), JSON.readTree(last.body()).at("/choices/0/text").asText());
            assertThrows(java.io.IOException.class, () -> post(url, "/v1/completions", "{}", null));
        }
    }

    static String read(InputStream in) throws Exception {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
}
