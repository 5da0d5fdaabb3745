package org.lori4j.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.DefaultChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import org.lori4j.generate.Engine;
import org.lori4j.generate.ModelHost;
import org.lori4j.generate.SamplingParams;
import org.lori4j.io.LoriException;
import org.lori4j.model.DeltaSet;
import org.lori4j.text.ChatTemplate;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * What {@link LoriChatModel} and {@link LoriStreamingChatModel} share: their defaults, and the turn of a LangChain4j
 * chat request into an {@link Engine} request (messages through the model's chat template, the model name picking the
 * base model or an adapter of the {@link ModelHost}, sampling as OpenAI's: temperature 1 and top-p 1 unless set).
 */
final class LoriChat {
    final ModelHost host;
    final ChatRequestParameters defaults;
    final Long seed;

    LoriChat(ModelHost host, String modelName, Double temperature, Double topP, Integer topK, Integer maxTokens, List<String> stop,
             Long seed) {
        if (host == null) throw new IllegalArgumentException("a ModelHost is required (ModelHost.open(...))");
        this.host = host;
        this.seed = seed;
        this.defaults = DefaultChatRequestParameters.builder().modelName(modelName != null ? modelName : host.id()).temperature(temperature)
                .topP(topP).topK(topK).maxOutputTokens(maxTokens).stopSequences(stop == null ? List.of() : stop).build();
    }

    /** The engine request for CHAT (its parameters already merged with the defaults by LangChain4j). */
    Engine.Request request(ChatRequest chat) {
        ChatRequestParameters p = chat.parameters();
        if (p.toolSpecifications() != null && !p.toolSpecifications().isEmpty())
            throw new UnsupportedOperationException("lori4j models do not call tools");
        String name = p.modelName() != null ? p.modelName() : host.id();
        DeltaSet adapter = null;
        if (!name.equals(host.id()))
            adapter = host.adapter(name).orElseThrow(() -> new LoriException("no model or adapter named '" + name + "' (served: "
                    + host.id() + ", " + String.join(", ", host.adapterNames()) + ")"));
        List<ChatTemplate.Message> messages = new ArrayList<>();
        for (ChatMessage m : chat.messages()) messages.add(message(m));
        int[] prompt = host.encodeChat(messages);
        int context = host.engine().contextLength();
        int max = p.maxOutputTokens() != null ? p.maxOutputTokens() : context - prompt.length;
        float temperature = p.temperature() != null ? p.temperature().floatValue() : 1f;
        float topP = p.topP() != null ? p.topP().floatValue() : 1f;
        int topK = p.topK() != null ? p.topK() : 0;
        long s = seed != null ? seed : ThreadLocalRandom.current().nextLong();
        SamplingParams sp;
        try {
            sp = new SamplingParams(temperature, topK, topP, s, 1f, Math.max(0, max), host.stopIds());
        } catch (IllegalArgumentException e) {
            throw new LoriException(e.getMessage());
        }
        List<String> stop = p.stopSequences() == null ? List.of() : p.stopSequences();
        return new Engine.Request(prompt, sp, stop, adapter);
    }

    private static ChatTemplate.Message message(ChatMessage m) {
        return switch (m) {
            case SystemMessage s -> new ChatTemplate.Message("system", s.text());
            case UserMessage u -> {
                if (!u.hasSingleText()) throw new UnsupportedOperationException("lori4j models read text only");
                yield new ChatTemplate.Message("user", u.singleText());
            }
            case AiMessage a -> {
                if (a.hasToolExecutionRequests()) throw new UnsupportedOperationException("lori4j models do not call tools");
                yield new ChatTemplate.Message("assistant", a.text() == null ? "" : a.text());
            }
            default -> throw new UnsupportedOperationException("lori4j models take system, user and AI messages, not " + m.type());
        };
    }

    /** The response of a finished request. */
    ChatResponse response(String modelName, String text, Engine.FinishReason reason, Engine.Usage usage) {
        return ChatResponse.builder().aiMessage(AiMessage.from(text)).modelName(modelName)
                .tokenUsage(new TokenUsage(usage.promptTokens(), usage.completionTokens()))
                .finishReason(reason == Engine.FinishReason.LENGTH ? FinishReason.LENGTH : FinishReason.STOP).build();
    }
}
