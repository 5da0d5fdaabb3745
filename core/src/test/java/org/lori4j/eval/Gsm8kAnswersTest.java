package org.lori4j.eval;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Gsm8kAnswersTest {

    @Test
    void firstNumberAfterTheAnswerPromptWins() {
        assertEquals(7.0, Gsm8kAnswers.extract("So 3 + 4 = 7. The final answer is: 7 apples, not 8"));
        // without the space after the colon the prompt is not found: the last number counts
        assertEquals(43.0, Gsm8kAnswers.extract("The final answer is:42, maybe 43"));
    }

    @Test
    void withoutTheAnswerPromptTheLastNumberCounts() {
        assertEquals(15.0, Gsm8kAnswers.extract("First 5, then 10, total 15."));
        assertEquals(12.0, Gsm8kAnswers.extract("12 eggs. The final answer is: twelve"));
    }

    @Test
    void onlyTheSegmentUpToTheSecondAnswerPromptIsSearched() {
        assertEquals(10.0, Gsm8kAnswers.extract("The final answer is: x The final answer is: 9 and 10"));
    }

    @Test
    void commasAreRemovedBeforeMatching() {
        assertEquals(1234.0, Gsm8kAnswers.extract("The final answer is: 1,234"));
        assertEquals(1000.0, Gsm8kAnswers.gold("so she pays 1,000 in total\n#### 1,000"));
    }

    @Test
    void noNumberGivesInfinityWhichEqualsItself() {
        double p = Gsm8kAnswers.extract("no numbers at all");
        assertEquals(Double.POSITIVE_INFINITY, p);
        assertTrue(Gsm8kAnswers.matches(p, Gsm8kAnswers.gold("#### none")));
        assertEquals("inf", Gsm8kAnswers.format(p));
    }

    @Test
    void signsAndDecimalsFollowThePattern() {
        assertEquals(-4.0, Gsm8kAnswers.extract("from 3-4"));
        assertEquals(3.0, Gsm8kAnswers.extract("version 1.2.3"));
        assertEquals(5.0, Gsm8kAnswers.extract("1e5"));
        assertEquals(42.0, Gsm8kAnswers.extract("The final answer is: \u0664\u0662")); // Arabic-Indic digits
        assertTrue(Gsm8kAnswers.matches(Gsm8kAnswers.extract("The final answer is: 72.0"), Gsm8kAnswers.gold("#### 72")));
        assertFalse(Gsm8kAnswers.matches(Gsm8kAnswers.extract("The final answer is: 72.5"), 72.0));
        assertEquals("18.0", Gsm8kAnswers.format(18));
    }
}
