package org.lori4j.eval;

/**
 * One question of an evaluation: the prompt given to the model and what scoring needs.
 *
 * @param task     the task name ("boolq", "hexphi", ...)
 * @param index    position in the data file (0-based, after --limit), the key for --resume
 * @param id       the record's own id when it has one (HumanEval task_id), else the index as text
 * @param category the HEx-PHI category, or "" when the task has none
 * @param prompt   the exact text given to the model (template applied)
 * @param gold     the task's gold: the answer word, the GSM8K number, the HumanEval test code, "" for HEx-PHI
 * @param target   the reference response the reference's data loader pairs with the prompt (its length decides
 *                 whether the prompt is truncated, see {@link ModelTextGenerator}); "" when none
 * @param where    "file:line" of the record, for messages
 */
public record EvalItem(String task, int index, String id, String category, String prompt, String gold, String target,
                       String where) {

    /** This item in place of an earlier one with the same prompt: its position and id, this item's answer. */
    EvalItem replacing(EvalItem earlier) {
        return new EvalItem(task, earlier.index, earlier.id, category, prompt, gold, target, where);
    }

    /** The same item as the model saw it when its prompt was truncated. */
    public EvalItem withPrompt(String seen) {
        return new EvalItem(task, index, id, category, seen, gold, target, where);
    }
}
