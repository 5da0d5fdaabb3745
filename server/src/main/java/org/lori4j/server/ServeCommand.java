package org.lori4j.server;

import org.lori4j.adapter.AdapterSpec;
import org.lori4j.cli.ExtensionCommand;
import org.lori4j.cli.ModelOption;
import org.lori4j.generate.Engine;
import org.lori4j.generate.ModelHost;
import org.lori4j.io.LoriException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/** {@code lori serve}: the OpenAI-compatible server with per-request adapters and the chat page. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve a model and its adapters over OpenAI's API, with a chat page.",
                "Chat and text completions (streaming too), /v1/models, an adapter picked per request by its",
                "model id, continuous batching across requests (mixed adapters in one batch), a chat page at /,",
                "/health and /metrics. Stops cleanly on Ctrl-C or SIGTERM. See docs/serve.md."})
public final class ServeCommand implements ExtensionCommand {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Option(names = "--adapter", paramLabel = "NAME=DIR[:W]",
            description = "serve the adapter of folder DIR as model id NAME, applied with weight W (default 1); repeatable")
    List<String> adapters = new ArrayList<>();

    @Option(names = "--adapters-dir", paramLabel = "DIR",
            description = "allow POST /v1/load_lora_adapter and /v1/unload_lora_adapter for adapter folders inside DIR")
    Path adaptersDir;

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "ADDR", description = "interface to listen on (default: ${DEFAULT-VALUE})")
    String host;

    @Option(names = "--port", defaultValue = "8080", paramLabel = "N", description = "port (0: any free one; default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--max-batch", defaultValue = "8", paramLabel = "N", description = "requests decoded together at most (default: ${DEFAULT-VALUE})")
    int maxBatch;

    @Option(names = "--max-queue", defaultValue = "64", paramLabel = "N",
            description = "requests waiting for a slot at most; more get 429 (default: ${DEFAULT-VALUE})")
    int maxQueue;

    @Option(names = "--api-key", paramLabel = "KEY", description = "require 'Authorization: Bearer KEY' on /v1 (default: $LORI_API_KEY, else none)")
    String apiKey = System.getenv("LORI_API_KEY");

    @Option(names = "--max-tokens-limit", defaultValue = "512", paramLabel = "N",
            description = "most new tokens per request, and the budget of a request that sets none (default: ${DEFAULT-VALUE})")
    int maxTokensLimit;

    @Option(names = "--chat-template", paramLabel = "FILE", description = "a Jinja chat template to use instead of the model's")
    Path chatTemplate;

    @Option(names = "--shutdown-grace", defaultValue = "30", paramLabel = "S",
            description = "seconds running requests get to finish on shutdown (default: ${DEFAULT-VALUE})")
    int shutdownGrace;

    /** Request bodies larger than this get 413. */
    static final long MAX_BODY_BYTES = 1 << 20;

    /** One {@code --adapter NAME=DIR[:W]}. */
    record Named(String name, AdapterSpec spec) {
        static Named parse(String s) {
            int eq = s.indexOf('=');
            if (eq <= 0 || eq == s.length() - 1) throw new LoriException("--adapter: expected NAME=DIR[:W], got '" + s + "'");
            return new Named(s.substring(0, eq), AdapterSpec.parse(s.substring(eq + 1)));
        }
    }

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        if (maxBatch < 1) throw new LoriException("--max-batch must be at least 1, got " + maxBatch);
        if (maxQueue < 0) throw new LoriException("--max-queue must be at least 0, got " + maxQueue);
        if (shutdownGrace < 0) throw new LoriException("--shutdown-grace must be at least 0, got " + shutdownGrace);
        if (adaptersDir != null && !Files.isDirectory(adaptersDir)) throw new LoriException(adaptersDir + ": --adapters-dir is not a folder");
        List<Named> named = adapters.stream().map(Named::parse).toList();
        LoriServer.Config config = new LoriServer.Config(host, port, apiKey, maxTokensLimit, adaptersDir, MAX_BODY_BYTES);
        // compile the vector kernels while the model loads: interpreted, the first requests would take seconds
        Thread.ofPlatform().daemon().name("lori-warmup").start(org.lori4j.tensor.MatMul::warmUp);
        ModelHost mh = ModelHost.open(model.given() ? model.resolve() : null, chatTemplate,
                new Engine.Options(maxBatch, maxQueue, Engine.Options.defaults().maxPrefillPerStep()));
        LoriServer server = null;
        try {
            for (Named n : named) mh.addAdapter(n.name(), n.spec().dir(), n.spec().weight());
            CountDownLatch stop = new CountDownLatch(1);
            Signals.onTerminate(stop::countDown);
            server = new LoriServer(mh, config).start();
            out.println("lori serve: " + server.url() + "/  (OpenAI API at " + server.url() + "/v1)");
            out.println("  models: " + String.join(", ", allIds(mh)) + (mh.hasChatTemplate() ? "" : "  (no chat template: /v1/completions only)"));
            out.println("  max batch " + maxBatch + ", max queue " + maxQueue + ", max tokens " + maxTokensLimit
                    + (apiKey != null ? ", API key required" : "") + "; Ctrl-C stops");
            if (apiKey == null && !isLoopback(host))
                out.println("  warning: listening on " + host + " without --api-key: anyone who can reach it may use it");
            out.flush();
            stop.await();
            out.println("lori serve: stopping (running requests get up to " + shutdownGrace + " s)");
            out.flush();
            boolean drained = server.stop(shutdownGrace * 1000L);
            server = null;
            out.println(drained ? "lori serve: stopped" : "lori serve: stopped; unfinished requests were cancelled");
            out.flush();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (server != null) server.stop(0);
            mh.close();
        }
    }

    private static List<String> allIds(ModelHost mh) {
        List<String> ids = new ArrayList<>();
        ids.add(mh.id());
        ids.addAll(mh.adapterNames());
        return ids;
    }

    private static boolean isLoopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
