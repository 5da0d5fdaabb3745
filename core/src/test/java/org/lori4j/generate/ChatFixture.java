package org.lori4j.generate;

import org.lori4j.adapter.ActiveAdapters;
import org.lori4j.adapter.AdapterConfig;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.io.EmbeddedModel;
import org.lori4j.io.LlamaConfig;
import org.lori4j.model.LlamaModel;
import org.lori4j.text.ChatTemplate;
import org.lori4j.text.Tokenizer;

import java.util.List;
import java.util.SplittableRandom;

/**
 * What the serving tests (core's engine, the server, the LangChain4j models) share: random LoRI adapters, a small chat
 * template for the embedded stories260K model, and the reference answer, {@code lori generate}'s path ({@link Generator}
 * on a fresh model with the adapter attached through {@link ActiveAdapters}).
 */
public final class ChatFixture {
    private ChatFixture() {}

    /** A chat template for stories260K (which ships none): "role: content" lines, then "assistant:". */
    public static final String TEMPLATE = "{{ bos_token }}{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
            + "{% if add_generation_prompt %}assistant:{% endif %}";

    /**
     * A LoRI adapter on all seven projections (rank 8) with random B: a fraction {@code zeros} of it zero (LoRI-S at 0.9,
     * applied with its sparse B), the rest uniform in +-scale/2.
     */
    public static LoraAdapter adapter(LlamaConfig c, long seed, double zeros, double scale) {
        LoraAdapter a = LoraAdapter.createLoRI(c, 8, 16, AdapterConfig.LLAMA_PROJECTIONS, seed, false);
        SplittableRandom r = new SplittableRandom(seed);
        for (LoraAdapter.Module m : a.modules().values()) {
            float[] b = m.b();
            for (int i = 0; i < b.length; i++) b[i] = r.nextDouble() < zeros ? 0f : (float) ((r.nextDouble() - 0.5) * scale);
        }
        return a;
    }

    /** The prompt ids of a one-message chat rendered with {@link #TEMPLATE}. */
    public static int[] chatPrompt(Tokenizer tok, String user) {
        String text = new ChatTemplate(TEMPLATE, tok.bosToken(), tok.eosToken()).render(List.of(new ChatTemplate.Message("user", user)), true);
        return tok.encode(text, false);
    }

    /** The streamed text of {@code lori generate} for PROMPT with the adapter (null: none) attached with MODE. */
    public static String reference(Tokenizer tok, int[] prompt, SamplingParams p, LoraAdapter adapter, ActiveAdapters.Mode mode) {
        try (LlamaModel m = LlamaModel.load(EmbeddedModel.path())) {
            if (adapter != null) new ActiveAdapters(m, mode).add(adapter, 1.0);
            StringBuilder sb = new StringBuilder();
            new Generator(m).generate(prompt, p, tok, sb::append);
            return sb.toString();
        }
    }
}
