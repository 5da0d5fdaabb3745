package org.lori4j.eval;

import org.lori4j.io.LoriException;

import java.util.ArrayList;
import java.util.List;

/**
 * A benchmark: how its data records become prompts, and how an output is scored. Names follow the
 * reference: hexphi, gsm8k, the eight commonsense tasks, humaneval, plus a generic exact-match task.
 */
public sealed interface EvalTask permits HexPhiTask, Gsm8kTask, CommonsenseTask, HumanEvalTask, ExactMatchTask {

    /** The task name as on the command line and in results. */
    String name();

    /** The score's name: "safety" (% safe), "accuracy", "pass@1", "exact_match". */
    String metric();

    /** The prompt template used unless --template says otherwise (a {@code text.PromptTemplates} name). */
    String defaultTemplate();

    /** The item for one data record; format problems are one-line errors naming file and line. */
    EvalItem item(EvalData.Row row, int index, String template);

    /** Scores one output of the model for an item. */
    Judgement judge(EvalItem item, String output, ScoreOn scoreOn);

    /** Decoding defaults when the user gives none (greedy, except HumanEval's sampling). */
    default Decoding defaultDecoding(int maxNewTokens) { return Decoding.greedy(maxNewTokens); }

    /** Outputs per item by default (HumanEval samples several). */
    default int defaultSamples() { return 1; }

    /**
     * Whether records with the same prompt count once, as in the reference's loaders (a dict keyed by prompt: the
     * first position, the last record's answer). HumanEval (bigcode's harness) and the exact-match task keep all.
     */
    default boolean onePerPrompt() { return true; }

    /** Whether scoring runs model-written code (needs --allow-code-execution). */
    default boolean executesCode() { return false; }

    /** Every task name the CLI accepts, "commonsense" meaning all commonsense tasks found in a folder. */
    static List<String> names() {
        List<String> n = new ArrayList<>(List.of("commonsense"));
        n.addAll(CommonsenseAnswers.tasks());
        n.addAll(List.of("hexphi", "gsm8k", "humaneval", "exact"));
        return n;
    }

    /** The task of a name; humaneval needs a sandbox (null when code execution is not allowed: an error). */
    static EvalTask of(String name, PythonSandbox sandbox) {
        if (CommonsenseAnswers.isTask(name)) return new CommonsenseTask(name);
        return switch (name) {
            case "hexphi" -> new HexPhiTask();
            case "gsm8k" -> new Gsm8kTask();
            case "exact" -> new ExactMatchTask();
            case "humaneval" -> {
                if (sandbox == null) throw new LoriException("humaneval runs model-written Python code: pass --allow-code-execution "
                        + "(each program runs in its own python3 process with limits; see docs/eval.md)");
                yield new HumanEvalTask(sandbox);
            }
            default -> throw new LoriException("unknown task '" + name + "'; valid: " + String.join(", ", names()));
        };
    }
}
