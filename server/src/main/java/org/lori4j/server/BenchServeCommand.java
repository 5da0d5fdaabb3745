package org.lori4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.adapter.AdapterConfig;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.cli.ExtensionCommand;
import org.lori4j.generate.Engine;
import org.lori4j.generate.ModelHost;
import org.lori4j.io.EmbeddedModel;
import org.lori4j.io.Json;
import org.lori4j.io.LlamaConfig;
import org.lori4j.io.LoriException;
import org.lori4j.model.RandomWeights;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.MatMul;
import org.lori4j.tensor.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * {@code lori bench serve}: starts {@code lori serve} on a loopback port of this process and loads it with concurrent
 * clients over HTTP: one client against eight, eight on the base model against eight spread over four LoRI-S adapters,
 * and an overload (more clients than slots plus queue), reporting requests/s, generated tokens/s, time to first token
 * and end-to-end latency (p50/p99), and refused, failed and lost requests.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Load-test lori serve on 127.0.0.1.",
                "1 client vs --clients on the base model,",
                "--clients over four rank-16 LoRI-S adapters (90%% of B zero, all seven",
                "projections) vs the base, then an overload of --overload-clients. Default",
                "model: lori bench's random TinyLlama-1.1B-shape bf16 model, vocabulary padded.",
                "Greedy completions of --tokens tokens, streaming and not in turn; --runs rounds."})
public final class BenchServeCommand implements ExtensionCommand {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "a model folder with its tokenizer (default: the random --shape model)")
    Path model;

    @Option(names = "--shape", defaultValue = "tinyllama", paramLabel = "NAME", description = "random model shape (default: ${DEFAULT-VALUE})")
    String shape;

    @Option(names = "--dtype", defaultValue = "bf16", paramLabel = "f32|bf16|f16", description = "random model weights (default: ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--cache-dir", paramLabel = "DIR", description = "where random models live (default: /tmp/lori4j-bench)")
    Path cacheDir = Path.of(System.getProperty("java.io.tmpdir"), "lori4j-bench");

    @Option(names = "--clients", defaultValue = "8", paramLabel = "N", description = "concurrent clients (default: ${DEFAULT-VALUE})")
    int clients;

    @Option(names = "--requests", defaultValue = "2", paramLabel = "R", description = "requests per client per scenario (default: ${DEFAULT-VALUE})")
    int requests;

    @Option(names = "--tokens", defaultValue = "64", paramLabel = "T", description = "new tokens per request (default: ${DEFAULT-VALUE})")
    int tokens;

    @Option(names = "--prompt-words", defaultValue = "12", paramLabel = "W", description = "words per prompt (default: ${DEFAULT-VALUE})")
    int promptWords;

    @Option(names = "--runs", defaultValue = "2", paramLabel = "R", description = "rounds of the scenarios after a warm-up (default: ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--max-batch", defaultValue = "8", paramLabel = "N", description = "the server's --max-batch (default: ${DEFAULT-VALUE})")
    int maxBatch;

    @Option(names = "--max-queue", defaultValue = "16", paramLabel = "N", description = "the server's --max-queue (default: ${DEFAULT-VALUE})")
    int maxQueue;

    @Option(names = "--overload-clients", defaultValue = "40", paramLabel = "N",
            description = "clients of the overload scenario, one request each (default: ${DEFAULT-VALUE}; 0 skips it)")
    int overloadClients;

    @Option(names = "--timeout", defaultValue = "600", paramLabel = "S", description = "seconds a request may take at most (default: ${DEFAULT-VALUE})")
    int timeout;

    static final int ADAPTERS = 4, RANK = 16;
    static final double SPARSITY = 0.9;

    @Override
    public String parent() { return "bench"; }

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        if (clients < 1 || requests < 1 || tokens < 1 || promptWords < 1 || runs < 1 || maxBatch < 1 || maxQueue < 0 || overloadClients < 0
                || timeout < 1)
            throw new LoriException("bench serve: --clients, --requests, --tokens, --prompt-words, --runs, --max-batch and --timeout must be"
                    + " at least 1, --max-queue and --overload-clients at least 0");
        Thread.ofPlatform().daemon().name("lori-warmup").start(MatMul::warmUp);
        Path dir = model != null ? model : randomModel(out);
        try (ModelHost host = ModelHost.open(dir, null, new Engine.Options(maxBatch, maxQueue, Engine.Options.defaults().maxPrefillPerStep()))) {
            LlamaConfig c = host.model().config();
            List<String> names = new ArrayList<>();
            for (int i = 0; i < ADAPTERS; i++) {
                names.add("lori-s-" + (i + 1));
                host.addAdapter(names.getLast(), loriS(c, 100 + i), 1.0);
            }
            LoriServer server = new LoriServer(host, new LoriServer.Config("127.0.0.1", 0, null, Math.max(tokens, 1), null, 1 << 20)).start();
            try {
                bench(out, host, server, names);
            } finally {
                server.stop(0);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LoriException("interrupted");
        }
    }

    private void bench(PrintWriter out, ModelHost host, LoriServer server, List<String> names) throws InterruptedException {
        List<String> prompts = prompts(64, promptWords);
        int promptTokens = host.encodePrompt(prompts.getFirst()).length;
        out.printf("model %s (%s), %d threads, server %s (max batch %d, max queue %d)%n", host.dir(), host.model(), Parallel.threads(),
                server.url(), maxBatch, maxQueue);
        out.printf("adapters: %d x LoRI-S rank %d, %.0f%% of B zero, all seven projections; requests: ~%d prompt tokens, %d new tokens,"
                + " greedy, streaming and not in turn%n", ADAPTERS, RANK, SPARSITY * 100, promptTokens, tokens);
        out.flush();
        LoadTest load = new LoadTest(server.url(), Duration.ofSeconds(timeout));
        String base = host.id();
        LoadTest.Scenario one = new LoadTest.Scenario("1 client, base", 1, requests, i -> base, tokens, prompts);
        LoadTest.Scenario many = new LoadTest.Scenario(clients + " clients, base", clients, requests, i -> base, tokens, prompts);
        LoadTest.Scenario mixed = new LoadTest.Scenario(clients + " clients, " + ADAPTERS + " LoRI-S adapters", clients, requests,
                i -> names.get(i % ADAPTERS), tokens, prompts);
        // warm-up: compiles the kernels on every path (base, adapters, batch sizes)
        load.run(new LoadTest.Scenario("warm-up", Math.min(clients, 4), 1, i -> i % 2 == 0 ? base : names.get(i % ADAPTERS), 4, prompts));
        List<Double> scaling = new ArrayList<>(), adapterRatio = new ArrayList<>(), scalingCpu = new ArrayList<>(), adapterCpu = new ArrayList<>();
        int threads = Parallel.threads();
        long failedOrLost = 0, refused = 0;
        for (int r = 1; r <= runs; r++) {
            out.printf("round %d of %d%n", r, runs);
            LoadTest.Result a = report(out, run(load, host, one));
            // base and adapters in turn first, so that neither always runs on the other's warmed (or dirtied) machine
            LoadTest.Result b, m;
            if (r % 2 == 1) {
                b = report(out, run(load, host, many));
                m = report(out, run(load, host, mixed));
            } else {
                m = report(out, run(load, host, mixed));
                b = report(out, run(load, host, many));
            }
            for (LoadTest.Result x : List.of(a, b, m)) {
                failedOrLost += x.failed() + x.lost();
                refused += x.refused();
            }
            scaling.add(b.tokensPerSecond() / a.tokensPerSecond());
            adapterRatio.add(m.tokensPerSecond() / b.tokensPerSecond());
            scalingCpu.add(b.tokensPerCpuSecond(threads) / a.tokensPerCpuSecond(threads));
            adapterCpu.add(m.tokensPerCpuSecond(threads) / b.tokensPerCpuSecond(threads));
            out.printf("  round %d: %d clients / 1 client = %.2fx tokens/s (%.2fx per CPU second); adapters mix / base = %.3fx (%.3fx)%n", r,
                    clients, scaling.getLast(), scalingCpu.getLast(), adapterRatio.getLast(), adapterCpu.getLast());
            out.flush();
        }
        out.printf("%d clients vs 1, tokens/s: %s (median %.2fx; target >= 4x); per CPU second: %s (median %.2fx)%n", clients, list(scaling),
                median(scaling), list(scalingCpu), median(scalingCpu));
        out.printf("four LoRI-S adapters vs base, tokens/s: %s (median %.3fx; target >= 0.85x); per CPU second: %s (median %.3fx)%n",
                list(adapterRatio), median(adapterRatio), list(adapterCpu), median(adapterCpu));
        if (overloadClients > 0) {
            long heap0 = usedHeap();
            LoadTest.Scenario over = new LoadTest.Scenario(overloadClients + " clients at once, 1 request each (overload)", overloadClients, 1,
                    i -> i % 2 == 0 ? base : names.get(i % ADAPTERS), tokens, prompts);
            LoadTest.Result o = report(out, run(load, host, over));
            out.printf("  overload: %d sent, %d answered, %d refused with 429, %d failed, %d lost; heap in use %d MB before, %d MB after;"
                            + " peak RSS %s%n", overloadClients, o.answered(), o.refused(), o.failed(), o.lost(), heap0 >> 20, usedHeap() >> 20,
                    peakRss());
            failedOrLost += o.failed() + o.lost();
        }
        if (refused > 0) out.printf("warning: %d requests of the throughput rounds were refused (429): raise --max-queue%n", refused);
        out.printf("failed or lost requests: %d%n", failedOrLost);
        out.flush();
    }

    /** Runs a scenario and notes the engine's decode steps meanwhile (how well its requests shared the batch). */
    private static LoadTest.Result run(LoadTest load, ModelHost host, LoadTest.Scenario s) throws InterruptedException {
        long steps = host.engine().stats().steps();
        LoadTest.Result r = load.run(s);
        lastSteps = host.engine().stats().steps() - steps;
        return r;
    }

    private static long lastSteps;

    private static LoadTest.Result report(PrintWriter out, LoadTest.Result r) {
        out.printf("  %-44s %6.2f req/s %8.1f tokens/s (%7.1f per CPU s)  TTFT p50 %6.2f s p99 %6.2f s  e2e p50 %6.2f s p99 %6.2f s  failed %d lost %d%s%n",
                r.scenario().name(), r.requestsPerSecond(), r.tokensPerSecond(), r.tokensPerCpuSecond(Parallel.threads()), LoadTest.quantile(r.ttfts(), 0.5),
                LoadTest.quantile(r.ttfts(), 0.99), LoadTest.quantile(r.e2es(), 0.5), LoadTest.quantile(r.e2es(), 0.99), r.failed(), r.lost(),
                r.refused() > 0 ? "  429: " + r.refused() : "");
        out.printf("    %d engine steps, %.1f tokens per step%n", lastSteps, r.tokens() / (double) Math.max(1, lastSteps));
        if (r.firstError() != null) out.println("    first error: " + r.firstError());
        out.flush();
        return r;
    }

    private static String list(List<Double> v) {
        return v.stream().map(d -> String.format("%.3f", d)).toList().toString();
    }

    private static double median(List<Double> v) {
        double[] s = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static long usedHeap() {
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    /** VmHWM of /proc/self/status (Linux), or "n/a". */
    private static String peakRss() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status")))
                if (l.startsWith("VmHWM:")) return l.substring(6).strip();
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return "n/a";
    }

    /** A LoRI-S adapter: rank 16 on all seven projections, A as LoRI draws it, B random with 90% zeros. */
    static LoraAdapter loriS(LlamaConfig c, long seed) {
        LoraAdapter a = LoraAdapter.createLoRI(c, RANK, 2 * RANK, AdapterConfig.LLAMA_PROJECTIONS, seed, false);
        SplittableRandom r = new SplittableRandom(seed);
        for (LoraAdapter.Module m : a.modules().values()) {
            float[] b = m.b();
            for (int i = 0; i < b.length; i++) b[i] = r.nextDouble() < SPARSITY ? 0f : (float) (r.nextGaussian() * 0.01);
        }
        return a;
    }

    /** Prompts of W words drawn from a small story vocabulary. */
    static List<String> prompts(int n, int words) {
        String[] w = ("once upon a time there was a little girl named lily she liked to play in the park with her dog one day the sun"
                + " was big and bright and they found a red ball under a tree mom said we can go home now").split(" ");
        SplittableRandom r = new SplittableRandom(5);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            StringBuilder sb = new StringBuilder();
            for (int j = 0; j < words; j++) sb.append(j == 0 ? "" : " ").append(w[r.nextInt(w.length)]);
            out.add(sb.toString());
        }
        return out;
    }

    /**
     * The random model of --shape/--dtype (written once by {@link RandomWeights}, shared with lori bench), seen through a
     * folder of links that adds a tokenizer: the embedded model's, its vocabulary padded with pieces "▁t512", "▁t513",
     * ... up to the model's size, so every generated id decodes to text.
     */
    private Path randomModel(PrintWriter out) {
        DType dt = switch (dtype) {
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            case "f16" -> DType.F16;
            default -> throw new LoriException("--dtype: expected f32, bf16 or f16, got '" + dtype + "'");
        };
        LlamaConfig config = RandomWeights.shape(shape, dt);
        Path weights = cacheDir.resolve(shape + "-" + dtype);
        if (!Files.isDirectory(weights)) {
            out.printf("writing random %s %s model to %s ...%n", shape, dtype, weights);
            out.flush();
            RandomWeights.write(weights, config, 1);
        }
        Path dir = cacheDir.resolve(shape + "-" + dtype + "-serve");
        try {
            Files.createDirectories(dir);
            try (var files = Files.list(weights)) {
                for (Path f : files.toList()) {
                    Path link = dir.resolve(f.getFileName());
                    if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) Files.createSymbolicLink(link, f.toAbsolutePath());
                }
            }
            Path emb = EmbeddedModel.path();
            Files.copy(emb.resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            JsonNode tok = Json.read(emb.resolve("tokenizer.json"));
            ObjectNode vocab = (ObjectNode) tok.get("model").get("vocab");
            for (int id = vocab.size(); id < config.vocabSize(); id++) vocab.put("\u2581t" + id, id);
            Json.write(dir.resolve("tokenizer.json"), tok);
        } catch (IOException e) {
            throw new LoriException(dir + ": cannot prepare the benchmark model: " + LoriException.reason(e));
        }
        return dir;
    }
}
