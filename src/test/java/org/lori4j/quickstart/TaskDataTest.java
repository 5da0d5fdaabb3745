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
        for (TaskData.Item i : TaskData.math(1, 200, 0).train()) {
            // "X had a things. Then X got b more." or "... gave b away."
            String[] w = i.prompt().split(" ");
            int a = Integer.parseInt(w[2]);
            int b = Integer.parseInt(w[7]);
            int expect = i.prompt().contains(" more.") ? a + b : a - b;
            assertEquals(Integer.toString(expect), i.answer(), i.prompt());
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
}
