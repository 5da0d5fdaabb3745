package org.lori4j.eval;

import org.junit.jupiter.api.Test;
import org.lori4j.io.LoriException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CommonsenseAnswersTest {

    @Test
    void firstMatchWins() {
        assertEquals("answer2", CommonsenseAnswers.extract("arc-easy", "the correct answer is answer2, not answer1"));
        assertEquals("false", CommonsenseAnswers.extract("boolq", "false or true"));
        assertEquals("answer1", CommonsenseAnswers.extract("social_i_qa", "answer10"));
    }

    @Test
    void onlyTextAfterTheLastResponseMarkIsSearched() {
        String prompt = "Answer format: answer1/answer2\n\n                ### Response:\n                ";
        assertEquals("answer3", CommonsenseAnswers.extract("arc-easy", prompt + "the correct answer is answer3"));
        assertEquals("", CommonsenseAnswers.extract("arc-easy", prompt + "no idea"));
        assertEquals("answer4", CommonsenseAnswers.extract("arc-easy", "### Response: answer1 ### Response: answer4"));
    }

    @Test
    void commasAreRemovedAndMatchingIsCaseSensitiveSubstring() {
        assertEquals("answer4", CommonsenseAnswers.extract("openbookqa", "ans,wer4"));
        assertEquals("", CommonsenseAnswers.extract("boolq", "True"));
        assertEquals("true", CommonsenseAnswers.extract("boolq", "that is untrue"));
    }

    @Test
    void goldAnswersComeFromTheOutputField() {
        assertEquals("option2", CommonsenseAnswers.extract("winogrande", "the correct answer is option2"));
        assertEquals("ending4", CommonsenseAnswers.extract("hellaswag", "the correct answer is ending4"));
        assertEquals("solution1", CommonsenseAnswers.extract("piqa", "the correct answer is solution1"));
    }

    @Test
    void unknownTaskIsAUserError() {
        LoriException e = assertThrows(LoriException.class, () -> CommonsenseAnswers.extract("mmlu", "x"));
        assertTrue(e.getMessage().contains("mmlu"));
        assertEquals(8, CommonsenseAnswers.tasks().size());
    }
}
