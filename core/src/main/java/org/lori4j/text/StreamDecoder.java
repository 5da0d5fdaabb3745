package org.lori4j.text;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns a stream of generated token ids into text pieces whose concatenation equals decoding all ids at once.
 * Like the tokenizers library's DecodeStream: it decodes a short window (the tokens of the last emitted piece
 * plus the new ones) and emits what the new tokens add once that is stable, i.e. not ending in U+FFFD (a UTF-8
 * character still split over byte tokens). Decoding with the previous piece as context keeps SentencePiece's
 * leading "▁" as a space instead of the start-of-text strip.
 */
public final class StreamDecoder {

    private static final char REPLACEMENT = '\uFFFD';

    private final Tokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private final List<Integer> window = new ArrayList<>(); // context tokens, then tokens not yet emitted
    private int contextLen;                                  // how many leading window tokens were already emitted
    private String contextText;                              // decode(window[0:contextLen])

    StreamDecoder(Tokenizer tokenizer, int[] context, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
        for (int id : context) window.add(id);
        contextLen = window.size();
        contextText = decodeWindow(contextLen);
        // A context ending inside a UTF-8 character (byte tokens decoding to U+FFFD; at most 3 of them) leaves those
        // tokens pending, so the character is emitted once the generated tokens complete it instead of being lost
        // (its completed text would be no longer than the context's replacement characters).
        for (int k = 0; k < 3 && contextLen > 0 && contextText.endsWith(String.valueOf(REPLACEMENT)); k++)
            contextText = decodeWindow(--contextLen);
    }

    /** Adds one token; returns the newly completed text, or "" when nothing is stable yet. */
    public String push(int id) {
        window.add(id);
        String text = decodeWindow(window.size());
        if (text.length() <= contextText.length() || text.charAt(text.length() - 1) == REPLACEMENT) return "";
        String piece = suffixAfter(text, contextText);
        // the tokens just emitted become the context of the next piece
        window.subList(0, contextLen).clear();
        contextLen = window.size();
        contextText = decodeWindow(contextLen);
        return piece;
    }

    /** Returns whatever is pending (possibly with U+FFFD for an incomplete character) and empties the buffer. */
    public String finish() {
        String text = decodeWindow(window.size());
        String piece = text.length() > contextText.length() ? suffixAfter(text, contextText) : "";
        window.subList(0, contextLen).clear();
        contextLen = window.size();
        contextText = decodeWindow(contextLen);
        return piece;
    }

    private String decodeWindow(int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = window.get(i);
        return tokenizer.decode(ids, skipSpecialTokens);
    }

    /** TEXT minus PREFIX; decoders are prefix-stable in practice, and if not, emit from the first difference. */
    private static String suffixAfter(String text, String prefix) {
        if (text.startsWith(prefix)) return text.substring(prefix.length());
        int i = 0;
        while (i < prefix.length() && i < text.length() && text.charAt(i) == prefix.charAt(i)) i++;
        return text.substring(i);
    }
}
