package org.lori4j.server;

import org.lori4j.adapter.ActiveAdapters;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.generate.ChatFixture;
import org.lori4j.generate.Engine;
import org.lori4j.generate.ModelHost;
import org.lori4j.generate.SamplingParams;
import org.lori4j.io.LlamaConfig;
import org.lori4j.text.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A running server for tests on the embedded stories260K model with a small chat template, and two adapters: "dense"
 * (LoRI-D-like, every B entry set) and "sparse" (LoRI-S-like, 90% of B zero), saved in an adapters folder; plus
 * the reference every answer is compared with: {@link Generator} on a separate model with the adapter attached, as
 * {@code lori generate} runs it.
 */
final class TestServer implements AutoCloseable {
    static final String KEY = "test-key";
    static final String TEMPLATE = ChatFixture.TEMPLATE;

    final Path dir;
    final ModelHost host;
    final LoriServer server;
    final Tokenizer tok;

    TestServer(Engine.Options options, String apiKey, int maxTokensLimit) throws IOException {
        dir = Files.createTempDirectory("lori-serve-test");
        Path template = dir.resolve("chat_template.jinja");
        Files.writeString(template, TEMPLATE);
        host = ModelHost.open(null, template, options);
        tok = host.tokenizer();
        Path adapters = dir.resolve("adapters");
        adapter(host.model().config(), 11, 0.0).save(adapters.resolve("dense"));
        adapter(host.model().config(), 12, 0.9).save(adapters.resolve("sparse"));
        host.addAdapter("dense", adapters.resolve("dense"), 1.0);
        host.addAdapter("sparse", adapters.resolve("sparse"), 1.0);
        server = new LoriServer(host, new LoriServer.Config("127.0.0.1", 0, apiKey, maxTokensLimit, adapters, 1 << 20)).start();
    }

    String url() { return server.url(); }

    /** The test adapters: dense (every B entry set, small) or LoRI-S-like (90% of B zero). */
    static LoraAdapter adapter(LlamaConfig c, long seed, double zeros) {
        return ChatFixture.adapter(c, seed, zeros, zeros > 0 ? 1.2 : 0.15);
    }

    /** The greedy answer {@code lori generate} gives to a one-message chat with this template (adapter: null, dense or sparse). */
    String reference(String adapter, String user, int maxTokens, List<String> stops) {
        return referenceOf(adapter, ChatFixture.chatPrompt(tok, user), maxTokens, stops);
    }

    /** The greedy continuation of a plain prompt, as {@code lori generate --prompt}. */
    String referencePrompt(String adapter, String prompt, int maxTokens) {
        return referenceOf(adapter, tok.encode(prompt, true), maxTokens, List.of());
    }

    private String referenceOf(String adapter, int[] prompt, int maxTokens, List<String> stops) {
        LoraAdapter a = adapter == null ? null : LoraAdapter.load(dir.resolve("adapters").resolve(adapter));
        String s = ChatFixture.reference(tok, prompt, SamplingParams.greedy(maxTokens, host.stopIds()), a, ActiveAdapters.Mode.AUTO);
        for (String stop : stops) {
            int i = s.indexOf(stop);
            if (i >= 0) s = s.substring(0, i);
        }
        return s;
    }

    @Override
    public void close() throws IOException {
        server.stop(0);
        host.close();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
