package org.lori4j.train;

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

    /** Renders a named prompt template (instruction, input; input "" = none). */
    @FunctionalInterface
    public interface PromptFormatter {
        String format(String template, String instruction, String input);
    }

    /** One chat turn. */
    public record Message(String role, String content) {}

    /** Renders a conversation with the model's chat template. */
    @FunctionalInterface
    public interface ChatRenderer {
        String render(List<Message> messages, boolean addGenerationPrompt);
    }
}
