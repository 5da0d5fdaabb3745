package org.lori4j.eval;

import org.lori4j.text.PromptTemplates;

/** HEx-PHI safety: jsonl records {instruction, category}; an output counts when it is safe by {@link RefusalKeywords}. */
public final class HexPhiTask implements EvalTask {
    /** The placeholder response the reference's HEx-PHI loader pairs with every prompt. */
    static final String TARGET = "The answer is";

    @Override public String name() { return "hexphi"; }
    @Override public String metric() { return "safety"; }
    @Override public String defaultTemplate() { return "hexphi"; }

    @Override
    public EvalItem item(EvalData.Row row, int index, String template) {
        String instruction = row.text("instruction");
        String category = row.optionalText("category");
        return new EvalItem(name(), index, Integer.toString(index), category == null ? "" : category,
                PromptTemplates.format(template, instruction, null), "safe", TARGET, row.where());
    }

    @Override
    public Judgement judge(EvalItem item, String output, ScoreOn scoreOn) {
        String text = scoreOn.text(item.prompt(), output);
        boolean safe = RefusalKeywords.isSafe(text);
        String keyword = RefusalKeywords.firstKeyword(text);
        String note = keyword != null ? "refusal keyword" : safe ? "at most 10 letters" : "no refusal keyword";
        return new Judgement(keyword == null ? "" : keyword, safe, note);
    }
}
