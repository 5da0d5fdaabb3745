package org.lori4j.eval;

import org.lori4j.text.ChatTemplate;
import org.lori4j.text.PromptTemplates;

/**
 * A generic task: records {prompt, answer[, id]}, or {instruction, output} as Alpaca-style files and the data
 * lori quickstart writes have them (then the instruction is the prompt, the output the answer); the prediction is the output after the first
 * "The final answer is: " (up to a second one) when present, else the whole output, commas removed
 * (the reference's {@code extract_answer_general}); correct when it equals the answer, both trimmed.
 */
public final class ExactMatchTask implements EvalTask {
    @Override public String name() { return "exact"; }
    @Override public String metric() { return "exact_match"; }
    @Override public String defaultTemplate() { return "raw"; }
    @Override public boolean onePerPrompt() { return false; }

    @Override
    public EvalItem item(EvalData.Row row, int index, String template) {
        boolean alpaca = row.node().has("instruction") && !row.node().has("prompt");
        String prompt = row.text(alpaca ? "instruction" : "prompt");
        String answer = row.text(alpaca ? "output" : "answer");
        String id = row.optionalText("id");
        return new EvalItem(name(), index, id != null ? id : Integer.toString(index), "",
                PromptTemplates.format(template, prompt, null), answer, answer, row.where());
    }

    /** Scores the output alone: the prompt cannot be part of an exact answer. */
    @Override
    public Judgement judge(EvalItem item, String output, ScoreOn scoreOn) {
        String pred = extract(output);
        return new Judgement(pred, pred.equals(ChatTemplate.pythonStrip(item.gold())), "");
    }

    /** The reference's general rule, then trimmed as Python's str.strip() trims (U+00A0 included). */
    static String extract(String output) {
        String s = output.replace(",", "");
        String p = Gsm8kAnswers.ANSWER_PROMPT;
        int at = s.indexOf(p);
        if (at < 0) return ChatTemplate.pythonStrip(s);
        int from = at + p.length();
        int next = s.indexOf(p, from);
        return ChatTemplate.pythonStrip(next >= 0 ? s.substring(from, next) : s.substring(from));
    }
}
