package org.lori4j.langchain4j;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import org.lori4j.generate.Engine;
import org.lori4j.generate.ModelHost;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * LangChain4j's {@link ChatModel} on a lori4j {@link ModelHost} in the same process: {@code chat(...)} blocks until the
 * answer is complete. Calls from many threads share the host's engine and decode in one batch, each with the adapter
 * its model name picks ({@code ChatRequest.parameters().modelName()}, else the builder's). An interrupted call cancels
 * its request.
 *
 * <pre>{@code
 * ModelHost host = ModelHost.open(Path.of("models/tinyllama-chat"), null, Engine.Options.defaults());
 * host.addAdapter("safety", Path.of("adapters/safety"), 1.0);
 * ChatModel model = LoriChatModel.builder().host(host).modelName("safety").temperature(0.0).maxTokens(200).build();
 * String answer = model.chat("How do I pick a lock?");
 * }</pre>
 */
public final class LoriChatModel implements ChatModel {
    private final LoriChat chat;

    private LoriChatModel(LoriChat chat) { this.chat = chat; }

    public static Builder builder() { return new Builder(); }

    @Override
    public ChatRequestParameters defaultRequestParameters() { return chat.defaults; }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        Engine.Request r = chat.request(request);
        String name = request.parameters().modelName() != null ? request.parameters().modelName() : chat.host.id();
        StringBuilder text = new StringBuilder();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        Engine.Handle h = chat.host.engine().submit(r, new Engine.Listener() {
            @Override
            public void onText(String piece) { text.append(piece); }

            @Override
            public void onFinish(Engine.FinishReason reason, Engine.Usage usage) {
                if (reason == Engine.FinishReason.CANCELLED) done.completeExceptionally(new IllegalStateException("the request was cancelled"));
                else done.complete(chat.response(name, text.toString(), reason, usage));
            }

            @Override
            public void onError(RuntimeException e) { done.completeExceptionally(e); }
        });
        try {
            return done.get();
        } catch (InterruptedException e) {
            h.cancel();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
        }
    }

    /** See {@link ModelBuilder}. */
    public static final class Builder extends ModelBuilder<Builder> {
        public LoriChatModel build() { return new LoriChatModel(chat()); }
    }
}
