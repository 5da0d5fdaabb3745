package org.lori4j.langchain4j;

import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import org.lori4j.generate.Engine;
import org.lori4j.generate.ModelHost;

import java.util.concurrent.LinkedBlockingQueue;

/**
 * LangChain4j's {@link StreamingChatModel} on a lori4j {@link ModelHost} in the same process: the handler receives the
 * answer piece by piece as it is decoded (a multi-byte character is never split), then the complete response. The
 * handler runs on a virtual thread of its own request, in order, never on the engine's thread, so a slow handler
 * delays only its own request's callbacks. Built like {@link LoriChatModel}.
 */
public final class LoriStreamingChatModel implements StreamingChatModel {
    private final LoriChat chat;

    private LoriStreamingChatModel(LoriChat chat) { this.chat = chat; }

    public static Builder builder() { return new Builder(); }

    @Override
    public ChatRequestParameters defaultRequestParameters() { return chat.defaults; }

    private sealed interface Event {
        record Text(String piece) implements Event {}
        record Finish(Engine.FinishReason reason, Engine.Usage usage) implements Event {}
        record Failed(Throwable error) implements Event {}
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        Engine.Request r;
        try {
            r = chat.request(request);
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        String name = request.parameters().modelName() != null ? request.parameters().modelName() : chat.host.id();
        LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
        Engine.Handle h;
        try {
            h = chat.host.engine().submit(r, new Engine.Listener() {
                @Override
                public void onText(String piece) { events.add(new Event.Text(piece)); }

                @Override
                public void onFinish(Engine.FinishReason reason, Engine.Usage usage) { events.add(new Event.Finish(reason, usage)); }

                @Override
                public void onError(RuntimeException e) { events.add(new Event.Failed(e)); }
            });
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        Thread.ofVirtual().name("lori-langchain4j-stream").start(() -> {
            StringBuilder text = new StringBuilder();
            try {
                while (true) {
                    switch (events.take()) {
                        case Event.Text t -> {
                            text.append(t.piece());
                            handler.onPartialResponse(t.piece());
                        }
                        case Event.Failed f -> {
                            handler.onError(f.error());
                            return;
                        }
                        case Event.Finish f -> {
                            if (f.reason() == Engine.FinishReason.CANCELLED) handler.onError(new IllegalStateException("the request was cancelled"));
                            else handler.onCompleteResponse(chat.response(name, text.toString(), f.reason(), f.usage()));
                            return;
                        }
                    }
                }
            } catch (InterruptedException e) {
                h.cancel();
            } catch (RuntimeException e) {
                h.cancel();   // the handler failed: stop generating for it
                handler.onError(e);
            }
        });
    }

    /** See {@link ModelBuilder}. */
    public static final class Builder extends ModelBuilder<Builder> {
        public LoriStreamingChatModel build() { return new LoriStreamingChatModel(chat()); }
    }
}
