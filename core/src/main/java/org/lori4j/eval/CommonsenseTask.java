package org.lori4j.eval;

import org.lori4j.io.LoriException;
import org.lori4j.text.PromptTemplates;

/**
 * One commonsense task (boolq, piqa, ...): records {instruction, input, output, answer} as in LoRI's tasks/
 * folder; the gold is the answer word in "output" (as the reference extracts it), scored by {@link CommonsenseAnswers}.
 */
public final class CommonsenseTask implements EvalTask {
    private final String name;

    public CommonsenseTask(String name) {
        if (!CommonsenseAnswers.isTask(name)) throw new LoriException("unknown commonsense task '" + name + "'");
        this.name = name;
    }

    @Override public String name() { return name; }
    @Override public String metric() { return "accuracy"; }
    @Override public String defaultTemplate() { return "alpaca-lori16"; }

    @Override
    public EvalItem item(EvalData.Row row, int index, String template) {
        String instruction = row.text("instruction");
        String input = row.optionalText("input");
        String output = row.optionalText("output");
        String source = output != null ? output : row.text("answer");
        String gold = CommonsenseAnswers.extract(name, source);
        if (gold.isEmpty()) throw new LoriException(row.where() + ": '" + source + "' holds no " + name + " answer ("
                + CommonsenseAnswers.PATTERNS.get(name).pattern() + ")");
        return new EvalItem(name, index, Integer.toString(index), "", PromptTemplates.format(template, instruction, input),
                gold, source, row.where());
    }

    @Override
    public Judgement judge(EvalItem item, String output, ScoreOn scoreOn) {
        String pred = CommonsenseAnswers.extract(name, scoreOn.text(item.prompt(), output));
        return new Judgement(pred, pred.equals(item.gold()), "");
    }
}
