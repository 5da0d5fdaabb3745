package org.lori4j.eval;

import org.lori4j.io.LoriException;
import org.lori4j.text.PromptTemplates;

/** GSM8K: jsonl records {question, answer with "#### N"}; scored by {@link Gsm8kAnswers}. */
public final class Gsm8kTask implements EvalTask {
    @Override public String name() { return "gsm8k"; }
    @Override public String metric() { return "accuracy"; }
    @Override public String defaultTemplate() { return "gsm8k"; }

    @Override
    public EvalItem item(EvalData.Row row, int index, String template) {
        String question = row.text("question");
        String answer = row.text("answer");
        double gold = Gsm8kAnswers.gold(answer);
        if (Double.isInfinite(gold)) throw new LoriException(row.where() + ": field 'answer' holds no number");
        return new EvalItem(name(), index, Integer.toString(index), "",
                PromptTemplates.format(template, question, null), Gsm8kAnswers.format(gold),
                PromptTemplates.gsm8kTarget(answer), row.where());
    }

    @Override
    public Judgement judge(EvalItem item, String output, ScoreOn scoreOn) {
        double pred = Gsm8kAnswers.extract(scoreOn.text(item.prompt(), output));
        double gold = item.gold().equals("inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(item.gold());
        return new Judgement(Gsm8kAnswers.format(pred), Gsm8kAnswers.matches(pred, gold), "");
    }
}
