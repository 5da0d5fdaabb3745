package org.lori4j.langchain4j;

import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lori4j.adapter.ActiveAdapters;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.generate.ChatFixture;
import org.lori4j.generate.Engine;
import org.lori4j.generate.ModelHost;
import org.lori4j.generate.SamplingParams;
import org.lori4j.text.ChatTemplate;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The in-process LangChain4j models on the embedded model against {@code lori generate}'s greedy answers. */
class LoriChatModelTest {
    static Path dir;
    static ModelHost host;
    static LoraAdapter sparse;

    @BeforeAll
    static void open() throws Exception {
        dir = Files.createTempDirectory("lori-langchain4j");
        Files.writeString(dir.resolve("chat_template.jinja"), ChatFixture.TEMPLATE);
        host = ModelHost.open(null, dir.resolve("chat_template.jinja"), new Engine.Options(4, 16, 256));
        sparse = ChatFixture.adapter(host.model().config(), 12, 0.9, 1.2);
        host.addAdapter("sparse", sparse, 1.0);
    }

    @AfterAll
    static void close() throws Exception {
        host.close();
        Files.delete(dir.resolve("chat_template.jinja"));
        Files.delete(dir);
    }

    static String reference(LoraAdapter a, String user, int max) {
        return ChatFixture.reference(host.tokenizer(), ChatFixture.chatPrompt(host.tokenizer(), user),
                SamplingParams.greedy(max, host.stopIds()), a, ActiveAdapters.Mode.AUTO);
    }

    @Test
    void chatModelAnswersAsGenerateWithTheAdapterItsModelNamePicks() throws Exception {
        LoriChatModel base = LoriChatModel.builder().host(host).temperature(0.0).maxTokens(30).build();
        LoriChatModel adapted = LoriChatModel.builder().host(host).modelName("sparse").temperature(0.0).maxTokens(30).build();
        // from several threads at once: the requests batch together
        try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
            List<Future<String>> answers = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                LoriChatModel m = i % 2 == 0 ? base : adapted;
                answers.add(pool.submit(() -> m.chat("Where is the cat?")));
            }
            for (int i = 0; i < 4; i++)
                assertEquals(reference(i % 2 == 0 ? null : sparse, "Where is the cat?", 30), answers.get(i).get(60, TimeUnit.SECONDS), "call " + i);
        }
        ChatResponse r = base.chat(ChatRequest.builder().messages(UserMessage.from("Where is the cat?")).modelName("sparse").build());
        assertEquals(reference(sparse, "Where is the cat?", 30), r.aiMessage().text(), "the request's model name wins");
        assertEquals(30, r.tokenUsage().outputTokenCount());
        assertEquals(FinishReason.LENGTH, r.finishReason());

        // system messages go through the template; stop sequences cut
        String prompt = new ChatTemplate(ChatFixture.TEMPLATE, host.tokenizer().bosToken(), host.tokenizer().eosToken())
                .render(List.of(new ChatTemplate.Message("system", "Be kind."), new ChatTemplate.Message("user", "Hi")), true);
        String full = ChatFixture.reference(host.tokenizer(), host.tokenizer().encode(prompt, false), SamplingParams.greedy(30, host.stopIds()),
                null, ActiveAdapters.Mode.AUTO);
        String stop = full.substring(6, 9);
        LoriChatModel stopping = LoriChatModel.builder().host(host).temperature(0.0).maxTokens(30).stop(List.of(stop)).build();
        ChatResponse cut = stopping.chat(SystemMessage.from("Be kind."), UserMessage.from("Hi"));
        assertEquals(full.substring(0, full.indexOf(stop)), cut.aiMessage().text());
        assertEquals(FinishReason.STOP, cut.finishReason());

        assertThrows(RuntimeException.class, () -> LoriChatModel.builder().host(host).modelName("nope").build().chat("Hi"));
    }

    @Test
    void streamingModelSendsThePiecesThenTheWholeAnswer() throws Exception {
        LoriStreamingChatModel m = LoriStreamingChatModel.builder().host(host).modelName("sparse").temperature(0.0).maxTokens(30).build();
        StringBuilder parts = new StringBuilder();
        List<String> pieces = new ArrayList<>();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        m.chat("Where is the cat?", new StreamingChatResponseHandler() {
            @Override public void onPartialResponse(String p) { parts.append(p); pieces.add(p); }
            @Override public void onCompleteResponse(ChatResponse r) { done.complete(r); }
            @Override public void onError(Throwable t) { done.completeExceptionally(t); }
        });
        ChatResponse r = done.get(60, TimeUnit.SECONDS);
        String want = reference(sparse, "Where is the cat?", 30);
        assertEquals(want, parts.toString());
        assertEquals(want, r.aiMessage().text());
        assertTrue(pieces.size() > 1, "streamed in pieces");

        CompletableFuture<Throwable> failed = new CompletableFuture<>();
        LoriStreamingChatModel.builder().host(host).modelName("nope").build().chat("Hi", new StreamingChatResponseHandler() {
            @Override public void onCompleteResponse(ChatResponse r) { failed.complete(null); }
            @Override public void onError(Throwable t) { failed.complete(t); }
        });
        assertNotNull(failed.get(10, TimeUnit.SECONDS), "an unknown model name is an error");
    }
}
