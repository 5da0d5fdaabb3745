package org.lori4j.train;

import org.lori4j.io.LoriException;
import org.lori4j.text.ChatTemplate;
import org.lori4j.text.PromptTemplates;
import org.lori4j.text.Tokenizer;

import java.util.List;

/**
 * What the data pipeline needs from the model's tokenizer and templates: encoding without special tokens, the
 * EOS appended to responses, the BOS for the optional prefix, prompt templates by name and the chat template.
 *
 * @param bosId     BOS id, or -1 when the tokenizer has none
 * @param vocabSize ids must be below this (checks pre-tokenized records); 0 = unchecked
 * @param chat      renders chat messages, or null when the model has no chat template
 */
public record TextSide(ExampleTokenizer.Encoder encoder, int eosId, int bosId, int vocabSize,
                       PromptFormatter prompts, ChatRenderer chat) {

    /**
     * The model tokenizer's side: encode without special tokens, the tokenizer's own EOS (tokenizer_config's
     * eos_token, as HF's {@code tokenizer.eos_token_id}), its BOS, and {@link PromptTemplates}. No chat template.
     */
    public static TextSide of(Tokenizer tokenizer) {
        return of(tokenizer, null);
    }

    /** As {@link #of(Tokenizer)}, with the model's chat template for chat records (null: chat records are rejected). */
    public static TextSide of(Tokenizer tokenizer, ChatTemplate chatTemplate) {
        ChatRenderer chat = chatTemplate == null ? null : chatTemplate::render;
        if (tokenizer.eosIds().isEmpty())
            throw new LoriException(tokenizer.dir() + ": the tokenizer defines no EOS token, which training appends to responses");
        Integer bos = tokenizer.bosId();
        return new TextSide(text -> tokenizer.encode(text, false), tokenizer.eosIds().getFirst(), bos == null ? -1 : bos,
                tokenizer.vocabSize(), PromptTemplates::format, chat);
    }

    /** Renders a named prompt template (instruction, input; input "" = none). */
    @FunctionalInterface
    public interface PromptFormatter {
        String format(String template, String instruction, String input);
    }

    /** Renders a conversation with the model's chat template. */
    @FunctionalInterface
    public interface ChatRenderer {
        String render(List<ChatTemplate.Message> messages, boolean addGenerationPrompt);
    }
}
