package org.lori4j.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.http.staticfiles.Location;
import jakarta.servlet.http.HttpServletResponse;
import org.lori4j.adapter.AdapterDeltas;
import org.lori4j.generate.Engine;
import org.lori4j.generate.ModelHost;
import org.lori4j.generate.SamplingParams;
import org.lori4j.io.LoriException;
import org.lori4j.model.DeltaSet;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The HTTP side of {@code lori serve}: OpenAI's API (as vLLM and llama.cpp's server speak it) over a
 * {@link ModelHost}, on Javalin (Jetty 12, a virtual thread per request). Every completion becomes one
 * {@link Engine} request; its handler thread waits on the request's events and writes the answer, or each piece as a
 * server-sent event. Also serves the chat page (GET /), /health and /metrics (Prometheus).
 */
public final class LoriServer implements AutoCloseable {

    /**
     * @param host           interface to listen on
     * @param port           0: any free port
     * @param apiKey         bearer key the /v1 endpoints require, or null
     * @param maxTokensLimit the most new tokens a request may ask for (and the budget of one that asks none)
     * @param adaptersDir    the folder /v1/load_lora_adapter may load from, or null (loading off)
     * @param maxBodyBytes   larger request bodies get 413
     */
    public record Config(String host, int port, String apiKey, int maxTokensLimit, Path adaptersDir, long maxBodyBytes) {
        public Config {
            if (maxTokensLimit < 1) throw new LoriException("--max-tokens-limit must be at least 1, got " + maxTokensLimit);
            if (port < 0 || port > 65535) throw new LoriException("--port must be between 0 and 65535, got " + port);
            if (apiKey != null && apiKey.isBlank()) throw new LoriException("--api-key must not be empty");
        }
    }

    /** Seconds a client is told to wait after a 429. */
    static final int RETRY_AFTER_SECONDS = 1;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The API paths, as the metrics label them. */
    private static final java.util.Set<String> ENDPOINTS = java.util.Set.of("/v1/models", "/v1/chat/completions", "/v1/completions",
            "/v1/load_lora_adapter", "/v1/unload_lora_adapter");

    private final ModelHost host;
    private final Config config;
    private final ServerMetrics metrics;
    private final Javalin app;
    private final long created = System.currentTimeMillis() / 1000;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean draining;

    public LoriServer(ModelHost host, Config config) {
        this.host = host;
        this.config = config;
        this.metrics = new ServerMetrics(host.engine());
        this.app = Javalin.create(c -> {
            c.startup.showJavalinBanner = false;
            c.jsonMapper(new io.javalin.json.JavalinJackson(JSON, false));
            c.startup.showOldJavalinVersionWarning = false;
            c.concurrency.useVirtualThreads = true;
            c.http.maxRequestSize = config.maxBodyBytes();
            c.http.compressionStrategy = CompressionStrategy.NONE;   // server-sent events go out as written
            c.staticFiles.add(sf -> {
                sf.directory = "/org/lori4j/server/web";
                sf.location = Location.CLASSPATH;
                sf.hostedPath = "/";
            });
            c.routes.before("/v1/*", this::authorize);
            c.routes.get("/health", ctx -> {
                if (draining) ctx.status(503).json(Map.of("status", "shutting down"));
                else ctx.json(Map.of("status", "ok"));
            });
            c.routes.get("/metrics", ctx -> ctx.contentType(metrics.contentType()).result(metrics.scrape()));
            c.routes.get("/v1/models", ctx -> ctx.json(models()));
            c.routes.post("/v1/chat/completions", ctx -> complete(ctx, true));
            c.routes.post("/v1/completions", ctx -> complete(ctx, false));
            c.routes.post("/v1/load_lora_adapter", this::loadAdapter);
            c.routes.post("/v1/unload_lora_adapter", this::unloadAdapter);
            c.routes.after("/v1/*", ctx -> metrics.request(ENDPOINTS.contains(ctx.path()) ? ctx.path() : "other", ctx.status().getCode()));
            c.routes.exception(ApiError.class, (e, ctx) -> error(ctx, e));
            c.routes.exception(HttpResponseException.class, (e, ctx) -> error(ctx, switch (e.getStatus()) {
                case 413 -> new ApiError(413, "invalid_request_error", "the request body is larger than "
                        + config.maxBodyBytes() + " bytes", null, "request_too_large");
                default -> new ApiError(e.getStatus(), e.getStatus() >= 500 ? "server_error" : "invalid_request_error", e.getMessage(), null, null);
            }));
            c.routes.exception(Exception.class, (e, ctx) -> error(ctx, new ApiError(500, "server_error",
                    "internal error: " + e, null, null)));
        });
    }

    /** Starts listening; throws a {@link LoriException} when the address cannot be bound. */
    public LoriServer start() {
        try {
            app.start(config.host(), config.port());
        } catch (RuntimeException e) {
            Throwable t = e;
            while (t.getCause() != null && t.getCause() != t) t = t.getCause();
            throw new LoriException("cannot listen on " + config.host() + ":" + config.port() + ": " + t.getMessage());
        }
        return this;
    }

    /** The port it listens on (the chosen one when started with port 0). */
    public int port() { return app.port(); }

    /** The base URL, e.g. http://127.0.0.1:8080 */
    public String url() {
        String h = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return "http://" + h + ":" + port();
    }

    public ModelHost host() { return host; }

    /**
     * Graceful stop: new API requests get 503, queued and running ones have up to {@code graceMillis} to finish
     * (then they are cancelled), the last answers are written, and the listener closes. Returns whether every
     * request finished in time. The {@link ModelHost} stays open.
     */
    public boolean stop(long graceMillis) {
        draining = true;
        boolean drained = host.engine().shutdown(graceMillis);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (inFlight.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        app.stop();
        return drained;
    }

    @Override
    public void close() { stop(0); }

    // ------------------------------------------------------------------ handlers

    private void authorize(Context ctx) {
        String key = config.apiKey();
        if (key == null) return;
        String h = ctx.header("Authorization");
        String given = h != null && h.regionMatches(true, 0, "Bearer ", 0, 7) ? h.substring(7).strip() : null;
        if (given == null || !MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), key.getBytes(StandardCharsets.UTF_8)))
            throw new ApiError(401, "invalid_request_error", given == null ? "missing API key: send 'Authorization: Bearer KEY'"
                    : "incorrect API key", null, "invalid_api_key");
    }

    private void error(Context ctx, ApiError e) {
        if (ctx.res().isCommitted()) return;   // a stream already started: nothing more can be said in the status
        ctx.status(e.status());
        if (e.status() == 429) ctx.header("Retry-After", Integer.toString(RETRY_AFTER_SECONDS));
        ctx.json(e.body());
    }

    private Map<String, Object> models() {
        List<Map<String, Object>> data = new ArrayList<>();
        data.add(model(host.id(), host.dir().toString(), null));
        for (String name : host.adapterNames()) {
            host.adapter(name).ifPresent(a -> data.add(model(name, String.valueOf(a.adapter().source()), host.id())));
        }
        return Map.of("object", "list", "data", data);
    }

    private Map<String, Object> model(String id, String root, String parent) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("object", "model");
        m.put("created", created);
        m.put("owned_by", "lori4j");
        m.put("root", root);
        m.put("parent", parent);
        m.put("max_model_len", host.engine().contextLength());
        m.put("chat_template", host.hasChatTemplate());   // lori4j's: whether /v1/chat/completions can render chats
        return m;
    }

    private JsonNode body(Context ctx) {
        byte[] b = ctx.bodyAsBytes();
        try {
            JsonNode n = JSON.readTree(b);
            if (n == null) throw ApiError.badRequest("the request body is empty: expected a JSON object", null);
            return n;
        } catch (JsonProcessingException e) {
            throw ApiError.badRequest("malformed JSON: " + e.getOriginalMessage(), null);
        } catch (IOException e) {
            throw ApiError.badRequest("cannot read the request body: " + e.getMessage(), null);
        }
    }

    private void loadAdapter(Context ctx) {
        if (config.adaptersDir() == null)
            throw new ApiError(403, "permission_error", "loading adapters at run time is off: start lori serve with --adapters-dir DIR",
                    null, null);
        JsonNode b = body(ctx);
        String name = b.path("lora_name").isTextual() ? b.get("lora_name").asText() : null;
        String path = b.path("lora_path").isTextual() ? b.get("lora_path").asText() : null;
        if (name == null || name.isEmpty()) throw ApiError.badRequest("'lora_name' must be a non-empty string", "lora_name");
        if (path == null || path.isEmpty()) throw ApiError.badRequest("'lora_path' must be a non-empty string", "lora_path");
        Path dir;
        try {
            Path root = config.adaptersDir().toRealPath();
            Path p = root.resolve(path).normalize();
            if (!Files.isDirectory(p)) throw ApiError.badRequest("'lora_path': no adapter folder " + path + " in the adapters folder", "lora_path");
            dir = p.toRealPath();
            if (!dir.startsWith(root) || dir.equals(root))
                throw new ApiError(403, "permission_error", "'lora_path' must name a folder inside the adapters folder", "lora_path", null);
        } catch (IOException e) {
            throw ApiError.badRequest("'lora_path': " + LoriException.reason(e), "lora_path");
        }
        if (host.serves(name)) throw ApiError.badRequest("a model named '" + name + "' is already served", "lora_name");
        try {
            host.addAdapter(name, dir, 1.0);
        } catch (LoriException e) {
            throw ApiError.badRequest(e.getMessage(), "lora_path");
        }
        ctx.contentType("text/plain; charset=utf-8").result("Success: LoRA adapter '" + name + "' added successfully.");
    }

    private void unloadAdapter(Context ctx) {
        if (config.adaptersDir() == null)
            throw new ApiError(403, "permission_error", "unloading adapters at run time is off: start lori serve with --adapters-dir DIR",
                    null, null);
        JsonNode b = body(ctx);
        String name = b.path("lora_name").isTextual() ? b.get("lora_name").asText() : null;
        if (name == null || name.isEmpty()) throw ApiError.badRequest("'lora_name' must be a non-empty string", "lora_name");
        if (!host.removeAdapter(name)) throw ApiError.notFound("no adapter named '" + name + "' is loaded", "lora_name", "model_not_found");
        ctx.contentType("text/plain; charset=utf-8").result("Success: LoRA adapter '" + name + "' removed successfully.");
    }

    /** One event of a request, from the engine's thread to the handler's. */
    private sealed interface Event {
        record Text(String piece) implements Event {}
        record Finish(Engine.FinishReason reason, Engine.Usage usage) implements Event {}
        record Failed(RuntimeException error) implements Event {}
    }

    private void complete(Context ctx, boolean chat) throws InterruptedException {
        long t0 = System.nanoTime();
        if (draining) throw new ApiError(503, "server_error", "the server is shutting down", null, "service_unavailable");
        ApiRequest r = ApiRequest.parse(body(ctx), chat);
        DeltaSet adapter = null;
        if (!r.model().equals(host.id())) {
            AdapterDeltas a = host.adapter(r.model()).orElseThrow(() -> ApiError.notFound("the model '" + r.model()
                    + "' does not exist; GET /v1/models lists the models served", "model", "model_not_found"));
            adapter = a;
        }
        int[] prompt;
        try {
            prompt = chat ? host.encodeChat(r.messages()) : host.encodePrompt(r.prompt());
        } catch (LoriException e) {
            throw ApiError.badRequest(e.getMessage(), chat ? "messages" : "prompt");
        }
        String promptField = chat ? "messages" : "prompt";
        if (prompt.length == 0) throw ApiError.badRequest("the prompt is empty after tokenization", promptField);
        int context = host.engine().contextLength();
        int limit = config.maxTokensLimit();
        if (r.maxTokens() != null && r.maxTokens() > limit)
            throw ApiError.badRequest("max_tokens is " + r.maxTokens() + "; this server allows at most " + limit + " (--max-tokens-limit)",
                    "max_tokens");
        int maxTokens = r.maxTokens() != null ? r.maxTokens() : Math.min(limit, context - prompt.length);
        if (maxTokens < 1 || prompt.length + (long) maxTokens > context)
            throw new ApiError(400, "invalid_request_error", "This model's maximum context length is " + context + " tokens. However, you"
                    + " requested " + (prompt.length + (long) Math.max(maxTokens, 1)) + " tokens (" + prompt.length + " in the "
                    + promptField + ", " + Math.max(maxTokens, 1) + " in the completion). Please reduce the length of the "
                    + promptField + " or completion.", promptField, "context_length_exceeded");
        long seed = r.seed() != null ? r.seed() : ThreadLocalRandom.current().nextLong();
        SamplingParams params = new SamplingParams(r.temperature(), r.topK(), r.topP(), seed, r.repetitionPenalty(), maxTokens,
                r.ignoreEos() ? List.of() : host.stopIds());

        LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
        Engine.Listener listener = new Engine.Listener() {
            long last = -1;

            @Override
            public void onToken(int token) {
                long now = System.nanoTime();
                if (last < 0) metrics.firstToken((now - t0) / 1e9);
                else metrics.interToken((now - last) / 1e9);
                last = now;
            }

            @Override
            public void onText(String piece) { events.add(new Event.Text(piece)); }

            @Override
            public void onFinish(Engine.FinishReason reason, Engine.Usage usage) {
                if (reason != Engine.FinishReason.CANCELLED) metrics.finished(usage, (System.nanoTime() - t0) / 1e9);
                events.add(new Event.Finish(reason, usage));
            }

            @Override
            public void onError(RuntimeException e) { events.add(new Event.Failed(e)); }
        };
        Engine.Handle handle;
        inFlight.incrementAndGet();
        try {
            try {
                handle = host.engine().submit(new Engine.Request(prompt, params, r.stop(), adapter), listener);
            } catch (Engine.QueueFull e) {
                if (draining) throw new ApiError(503, "server_error", "the server is shutting down", null, "service_unavailable");
                throw new ApiError(429, "rate_limit_exceeded", "the server is busy: " + e.getMessage() + "; retry after "
                        + RETRY_AFTER_SECONDS + " s", null, "rate_limit_exceeded");
            } catch (LoriException e) {
                throw ApiError.badRequest(e.getMessage(), promptField);
            }
            String id = (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
            boolean finished = false;
            // a streaming client's hang-up shows at the next write (one per token); a waiting one's is watched for
            HangUpWatch watch = HangUpWatch.start(ctx.req(), handle::cancel);
            try {
                if (r.stream()) {
                    if (watch != null) watch.stop();
                    finished = stream(ctx, chat, r, id, events);
                } else {
                    finished = collect(ctx, chat, r, id, events, watch);
                }
            } catch (IOException e) {
                // the client went away while we wrote: free its slot
            } finally {
                if (watch != null) watch.stop();
                if (!finished) handle.cancel();
            }
        } finally {
            inFlight.decrementAndGet();
        }
    }

    private Map<String, Object> envelope(boolean chat, String id, String model, boolean chunk) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("object", chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion");
        m.put("created", System.currentTimeMillis() / 1000);
        m.put("model", model);
        return m;
    }

    private static Map<String, Object> usage(Engine.Usage u) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("prompt_tokens", u.promptTokens());
        m.put("completion_tokens", u.completionTokens());
        m.put("total_tokens", u.totalTokens());
        return m;
    }

    private static Map<String, Object> choice(boolean chat, boolean chunk, String text, String role, String finish) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("index", 0);
        if (chat) {
            Map<String, Object> msg = new LinkedHashMap<>();
            if (role != null) msg.put("role", role);
            if (text != null) msg.put("content", text);
            c.put(chunk ? "delta" : "message", msg);
        } else {
            c.put("text", text == null ? "" : text);
        }
        c.put("logprobs", null);
        c.put("finish_reason", finish);
        return c;
    }

    /** Waits for the whole answer and sends it as one JSON body; false when the request ended otherwise. */
    private boolean collect(Context ctx, boolean chat, ApiRequest r, String id, LinkedBlockingQueue<Event> events,
                            HangUpWatch watch) throws InterruptedException {
        StringBuilder text = new StringBuilder();
        while (true) {
            Event e = events.take();
            if (watch != null && !(e instanceof Event.Text)) watch.stop();
            switch (e) {
                case Event.Text t -> text.append(t.piece());
                case Event.Failed f -> throw new ApiError(500, "server_error", "generation failed: " + f.error(), null, null);
                case Event.Finish f -> {
                    if (f.reason() == Engine.FinishReason.CANCELLED) {
                        if (draining) throw new ApiError(503, "server_error", "the server shut down before the answer was complete",
                                null, "service_unavailable");
                        return false;
                    }
                    Map<String, Object> m = envelope(chat, id, r.model(), false);
                    m.put("choices", List.of(choice(chat, false, text.toString(), chat ? "assistant" : null, f.reason().openAiName())));
                    m.put("usage", usage(f.usage()));
                    ctx.json(m);
                    return true;
                }
            }
        }
    }

    /** Sends each piece as a server-sent event as it comes, then the finish, the usage if asked, and [DONE]. */
    private boolean stream(Context ctx, boolean chat, ApiRequest r, String id, LinkedBlockingQueue<Event> events)
            throws InterruptedException, IOException {
        HttpServletResponse res = ctx.res();
        res.setStatus(200);
        res.setContentType("text/event-stream");
        res.setCharacterEncoding("UTF-8");
        res.setHeader("Cache-Control", "no-cache");
        res.setHeader("X-Accel-Buffering", "no");
        OutputStream out = res.getOutputStream();
        if (chat) send(out, chunk(chat, r, id, choice(true, true, "", "assistant", null)));
        else out.flush();
        while (true) {
            Event e = events.take();
            switch (e) {
                case Event.Text t -> send(out, chunk(chat, r, id, choice(chat, true, t.piece(), null, null)));
                case Event.Failed f -> {
                    send(out, new ApiError(500, "server_error", "generation failed: " + f.error(), null, null).body());
                    return true;
                }
                case Event.Finish f -> {
                    if (f.reason() == Engine.FinishReason.CANCELLED) {
                        if (draining) send(out, new ApiError(503, "server_error", "the server shut down before the answer was complete",
                                null, "service_unavailable").body());
                        return false;
                    }
                    send(out, chunk(chat, r, id, choice(chat, true, chat ? null : "", null, f.reason().openAiName())));
                    if (r.includeUsage()) {
                        Map<String, Object> m = envelope(chat, id, r.model(), true);
                        m.put("choices", List.of());
                        m.put("usage", usage(f.usage()));
                        send(out, m);
                    }
                    out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    return true;
                }
            }
        }
    }

    private Map<String, Object> chunk(boolean chat, ApiRequest r, String id, Map<String, Object> choice) {
        Map<String, Object> m = envelope(chat, id, r.model(), true);
        m.put("choices", List.of(choice));
        if (r.includeUsage()) m.put("usage", null);
        return m;
    }

    private static void send(OutputStream out, Object event) throws IOException {
        byte[] json = JSON.writeValueAsBytes(event);
        byte[] b = new byte[json.length + 8];
        System.arraycopy("data: ".getBytes(StandardCharsets.US_ASCII), 0, b, 0, 6);
        System.arraycopy(json, 0, b, 6, json.length);
        b[b.length - 2] = '\n';
        b[b.length - 1] = '\n';
        out.write(b);
        out.flush();
    }
}
