package org.lori4j.server;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lori4j.generate.Engine;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Clients nobody here wrote against a running server: the official OpenAI Java SDK and LangChain4j's OpenAI chat
 * models (chat, streaming, stop sequences, adapters by model id); every answer is compared with {@code lori
 * generate}'s greedy output for the same prompt and adapter.
 */
class ClientsTest {
    static TestServer ts;
    static OpenAIClient openai;

    @BeforeAll
    static void start() throws Exception {
        ts = new TestServer(new Engine.Options(4, 16, 256), TestServer.KEY, 64);
        openai = OpenAIOkHttpClient.builder().baseUrl(ts.url() + "/v1").apiKey(TestServer.KEY).maxRetries(0).build();
    }

    @AfterAll
    static void stop() throws Exception {
        openai.close();
        ts.close();
    }

    static ChatCompletionCreateParams.Builder chat(String model, String user, int max) {
        return ChatCompletionCreateParams.builder().model(model).addUserMessage(user).maxCompletionTokens(max).temperature(0.0);
    }

    @Test
    void openAiSdkChatStreamingStopsAndAdapters() {
        assertEquals(List.of("stories260K", "dense", "sparse"), openai.models().list().data().stream().map(Model::id).toList());
        for (String model : List.of("stories260K", "dense", "sparse")) {
            String want = ts.reference(model.equals("stories260K") ? null : model, "Tell me a story", 40, List.of());
            ChatCompletion c = openai.chat().completions().create(chat(model, "Tell me a story", 40).build());
            assertEquals(want, c.choices().getFirst().message().content().orElseThrow(), model);
            assertEquals(40, c.usage().orElseThrow().completionTokens());
            assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, c.choices().getFirst().finishReason());
        }
        assertNotEquals(ts.reference(null, "Tell me a story", 40, List.of()), ts.reference("sparse", "Tell me a story", 40, List.of()),
                "the adapter changes the answer");

        // streaming, with the usage chunk at the end
        StringBuilder text = new StringBuilder();
        long[] usage = {-1};
        try (StreamResponse<ChatCompletionChunk> s = openai.chat().completions().createStreaming(chat("sparse", "Tell me a story", 40)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            s.stream().forEach(chunk -> {
                chunk.choices().forEach(ch -> ch.delta().content().ifPresent(text::append));
                chunk.usage().ifPresent(u -> usage[0] = u.completionTokens());
            });
        }
        assertEquals(ts.reference("sparse", "Tell me a story", 40, List.of()), text.toString());
        assertEquals(40, usage[0]);

        // a stop sequence cuts the text before it, as OpenAI does
        String full = ts.reference("dense", "Tell me a story", 40, List.of());
        String stop = full.substring(12, 15);
        ChatCompletion c = openai.chat().completions().create(chat("dense", "Tell me a story", 40).stop(stop).build());
        assertEquals(full.substring(0, full.indexOf(stop)), c.choices().getFirst().message().content().orElseThrow());
        assertEquals(ChatCompletion.Choice.FinishReason.STOP, c.choices().getFirst().finishReason());

        // plain completions
        Completion done = openai.completions().create(CompletionCreateParams.builder().model("stories260K").prompt("Once upon a time")
                .maxTokens(30).temperature(0.0).build());
        assertEquals(ts.referencePrompt(null, "Once upon a time", 30), done.choices().getFirst().text());
    }

    @Test
    void langChain4jChatAndStreamingModels() throws Exception {
        OpenAiChatModel chat = OpenAiChatModel.builder().baseUrl(ts.url() + "/v1").apiKey(TestServer.KEY).modelName("sparse")
                .temperature(0.0).maxTokens(30).maxRetries(0).build();
        assertEquals(ts.reference("sparse", "Where is the cat?", 30, List.of()), chat.chat("Where is the cat?"));

        String full = ts.reference(null, "Where is the cat?", 30, List.of());
        String stop = full.substring(10, 13);
        OpenAiChatModel stopping = OpenAiChatModel.builder().baseUrl(ts.url() + "/v1").apiKey(TestServer.KEY).modelName("stories260K")
                .temperature(0.0).maxTokens(30).stop(List.of(stop, "never appears")).maxRetries(0).build();
        assertEquals(full.substring(0, full.indexOf(stop)), stopping.chat("Where is the cat?"));

        OpenAiStreamingChatModel streaming = OpenAiStreamingChatModel.builder().baseUrl(ts.url() + "/v1").apiKey(TestServer.KEY)
                .modelName("dense").temperature(0.0).maxTokens(30).build();
        StringBuilder parts = new StringBuilder();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        streaming.chat("Where is the cat?", new StreamingChatResponseHandler() {
            @Override public void onPartialResponse(String partial) { parts.append(partial); }
            @Override public void onCompleteResponse(ChatResponse r) { done.complete(r); }
            @Override public void onError(Throwable t) { done.completeExceptionally(t); }
        });
        ChatResponse r = done.get(60, TimeUnit.SECONDS);
        String want = ts.reference("dense", "Where is the cat?", 30, List.of());
        assertEquals(want, parts.toString());
        assertEquals(want, r.aiMessage().text());
        assertEquals(30, r.tokenUsage().outputTokenCount());
    }
}
