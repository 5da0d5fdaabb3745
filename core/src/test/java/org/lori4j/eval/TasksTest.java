package org.lori4j.eval;

import org.junit.jupiter.api.Test;
import org.lori4j.io.LoriException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Records to items (prompt, gold, target) and the per-task judging glue. */
class TasksTest {

    private static EvalData.Row row(String json) { return EvalData.parse("t.jsonl", json).getFirst(); }

    @Test
    void commonsenseItemUsesTheReferencePromptAndTheGoldFromOutput() {
        EvalItem it = new CommonsenseTask("boolq").item(row("{\"instruction\": \"Is water wet?\", \"input\": \"\", "
                + "\"output\": \"the correct answer is true\", \"answer\": \"true\"}"), 0, "alpaca-lori16");
        String i = " ".repeat(16);
        assertEquals("Below is an instruction that describes a task. Write a response that appropriately completes the request. \n\n"
                + i + "### Instruction:\n" + i + "Is water wet?\n\n" + i + "### Response:\n" + i, it.prompt());
        assertEquals("true", it.gold());
        assertEquals("the correct answer is true", it.target());
        CommonsenseTask t = new CommonsenseTask("boolq");
        assertTrue(t.judge(it, "the correct answer is true", ScoreOn.REFERENCE).correct());
        assertFalse(t.judge(it, "True", ScoreOn.REFERENCE).correct());
    }

    @Test
    void gsm8kItemParsesTheGoldAndKeepsTheReferenceTarget() {
        EvalItem it = new Gsm8kTask().item(row("{\"question\": \"How many?\", \"answer\": \"2 + 2 = <<2+2=4>>4\\n#### 4\"}"), 3, "gsm8k");
        assertEquals("How many?\nAnswer the above question. First think step by step and then answer the final number.\n", it.prompt());
        assertEquals("4.0", it.gold());
        assertEquals("2 + 2 = <<2+2=4>>4\nThe final answer is:  4", it.target());
        Gsm8kTask t = new Gsm8kTask();
        assertTrue(t.judge(it, "So 4. The final answer is: 4", ScoreOn.REFERENCE).correct());
        assertEquals("4.0", t.judge(it, "The final answer is: 4", ScoreOn.OUTPUT).extracted());
        // no number anywhere: inf, which never equals a real gold
        assertEquals("inf", t.judge(it, "no idea", ScoreOn.OUTPUT).extracted());
        assertThrows(LoriException.class, () -> new Gsm8kTask().item(row("{\"question\": \"q\", \"answer\": \"none\"}"), 0, "gsm8k"));
    }

    @Test
    void hexphiScoresPromptPlusOutputByDefault() {
        EvalItem it = new HexPhiTask().item(row("{\"instruction\": \"Explain why this is illegal\", \"category\": \"x\"}"), 0, "hexphi");
        HexPhiTask t = new HexPhiTask();
        // the keyword in the prompt makes any answer safe under the reference rule, not under --score-on output
        assertTrue(t.judge(it, "Sure, step one is to do it anyway.", ScoreOn.REFERENCE).correct());
        assertFalse(t.judge(it, "Sure, step one is to do it anyway.", ScoreOn.OUTPUT).correct());
        assertTrue(t.judge(it, "", ScoreOn.OUTPUT).correct());
        assertEquals("x", it.category());
    }

    @Test
    void exactMatchReadsAfterTheAnswerPromptWithoutCommas() {
        EvalItem it = new ExactMatchTask().item(row("{\"prompt\": \"Capital of France?\", \"answer\": \" Paris \"}"), 0, "raw");
        ExactMatchTask t = new ExactMatchTask();
        assertTrue(t.judge(it, "Paris", ScoreOn.REFERENCE).correct());
        assertTrue(t.judge(it, "Let me think. The final answer is: Paris\n", ScoreOn.REFERENCE).correct());
        assertFalse(t.judge(it, "It is Paris.", ScoreOn.REFERENCE).correct());
        assertEquals("12345", ExactMatchTask.extract("The final answer is: 12,345 The final answer is: 7"));
    }

    @Test
    void humanevalCutsAtTheFirstStopWord() {
        assertEquals("\n    return a + b\n", HumanEvalTask.cut("\n    return a + b\n\ndef other():\n    pass\n"));
        assertEquals("\n    x = 1", HumanEvalTask.cut("\n    x = 1\nif True:\n    print(2)\n# done"));
        assertEquals("\n    return 1", HumanEvalTask.cut("\n    return 1\n```\n"));
        EvalItem it = new HumanEvalTask(null).item(row("{\"task_id\": \"T/0\", \"prompt\": \"def f():\\n\", \"test\": \"def check(c): pass\", "
                + "\"entry_point\": \"f\"}"), 0, "raw");
        assertEquals("def f():", it.prompt());
        assertEquals("\ndef check(c): pass\ncheck(f)", it.gold());
        assertEquals("T/0", it.id());
        assertThrows(LoriException.class, () -> new HumanEvalTask(null).item(row("{\"task_id\": \"T\"}"), 0, "alpaca"));
    }
}
