package org.lori4j.eval;

import org.lori4j.io.LoriException;

import java.util.List;

/**
 * HumanEval as the bigcode harness runs it for LoRI: the stripped prompt; the completion cut at the first
 * stop word; the program {@code prompt + completion + "\n" + "\n" + test + "\n" + "check(entry_point)"}
 * executed by {@link PythonSandbox}; pass@k over the samples (20 at temperature 0.2, top-p 0.95 upstream).
 */
public final class HumanEvalTask implements EvalTask {
    /** bigcode's stop words for HumanEval. */
    public static final List<String> STOP_WORDS = List.of("\nclass", "\ndef", "\n#", "\n@", "\nprint", "\nif", "\n```", "<file_sep>");

    private final PythonSandbox sandbox;

    public HumanEvalTask(PythonSandbox sandbox) { this.sandbox = sandbox; }

    @Override public String name() { return "humaneval"; }
    @Override public String metric() { return "pass@1"; }
    @Override public String defaultTemplate() { return "raw"; }
    @Override public int defaultSamples() { return 20; }
    @Override public boolean executesCode() { return true; }
    @Override public boolean onePerPrompt() { return false; }

    @Override
    public Decoding defaultDecoding(int maxNewTokens) { return new Decoding(maxNewTokens, 0.2, 0, 0.95, STOP_WORDS); }

    @Override
    public EvalItem item(EvalData.Row row, int index, String template) {
        if (!template.equals("raw")) throw new LoriException("humaneval prompts are code and take no template (got --template " + template + ")");
        String taskId = row.text("task_id");
        String prompt = row.text("prompt").strip();
        String test = row.text("test");
        String entry = row.text("entry_point");
        return new EvalItem(name(), index, taskId, "", prompt, "\n" + test + "\n" + "check(" + entry + ")", "",
                row.where());
    }

    @Override
    public Judgement judge(EvalItem item, String output, ScoreOn scoreOn) {
        String completion = cut(output);
        PythonSandbox.Outcome o = sandbox.run(item.prompt() + completion + "\n" + item.gold());
        return new Judgement(completion, o.passed(), o.detail());
    }

    /** The completion up to the first stop word (bigcode's {@code _stop_at_stop_token}). */
    public static String cut(String output) {
        int end = output.length();
        for (String s : STOP_WORDS) {
            int i = output.indexOf(s);
            if (i >= 0 && i < end) end = i;
        }
        return output.substring(0, end);
    }
}
