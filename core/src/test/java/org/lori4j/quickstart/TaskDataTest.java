package org.lori4j.quickstart;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class TaskDataTest {
    @Test
    void splitsAreDisjointAndSized() {
        for (TaskData.Task t : TaskData.all(7, 300, 60)) {
            assertEquals(300, t.train().size(), t.name());
            assertEquals(60, t.test().size(), t.name());
            Set<String> train = new HashSet<>();
            t.train().forEach(i -> train.add(i.prompt()));
            assertEquals(300, train.size(), t.name() + " train prompts distinct");
            t.test().forEach(i -> assertFalse(train.contains(i.prompt()), t.name() + " overlap: " + i.prompt()));
        }
    }

    @Test
    void generationIsDeterministicPerSeed() {
        assertEquals(TaskData.all(3, 50, 10), TaskData.all(3, 50, 10));
        assertNotEquals(TaskData.all(3, 50, 10), TaskData.all(4, 50, 10));
    }

    @Test
    void answersFollowTheTaskRules() {
        List<String> numbers = List.of("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten");
        for (TaskData.Item i : TaskData.math(1, 200, 0).train()) {
            // "X had <a> things. X <gains or loses one>. How many now?"
            int a = numbers.indexOf(i.prompt().split(" ")[2]);
            assertTrue(a >= 2 && a <= 9, i.prompt());
            boolean more = i.prompt().contains(" more");
            assertEquals(more ? "add" : "sub", i.category());
            assertEquals(numbers.get(more ? a + 1 : a - 1), i.answer(), i.prompt());
        }
        for (TaskData.Item i : TaskData.code(1, 200, 0).train()) {
            List<String> in = List.of(i.prompt().substring(i.prompt().indexOf(':') + 2).split(" "));
            assertEquals(in.get(1) + " " + in.get(0) + " " + in.get(2), i.answer());
        }
        for (TaskData.Item i : TaskData.safety(1, 200, 0).train()) {
            assertEquals(i.category().equals("harmful"), i.answer().equals(TaskData.REFUSAL), i.prompt());
        }
        for (TaskData.Item i : TaskData.nlu(1, 200, 0).train()) {
            assertTrue(i.answer().equals("happy") || i.answer().equals("sad"));
        }
    }

    @Test
    void eachTaskHasItsOwnPromptFormat() {
        TaskData.Item it = new TaskData.Item("X", "y", "c");
        assertEquals("Q: X\nA:", TaskData.render("nlu", it));
        assertEquals("X\nThe answer is", TaskData.render("math", it));
        assertEquals("Instruction: X\nResponse:", TaskData.render("code", it));
        assertEquals("Human: X\nAssistant:", TaskData.render("safety", it));
        assertThrows(IllegalArgumentException.class, () -> TaskData.render("chess", it));
    }
}
