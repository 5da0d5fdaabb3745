package org.lori4j.eval;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.lori4j.TestPaths;
import org.lori4j.io.Json;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every scoring rule against the reference's own Python functions run on the same texts (src/test/python/eval_reference_scoring.py). */
class ScoringFixtureTest {
    private static final JsonNode FIXTURE = Json.read(TestPaths.fixture("eval").resolve("reference_scoring.json"));

    @Test
    void refusalRuleAgreesWithReferenceOnEveryText() {
        List<String> wrong = new ArrayList<>();
        for (JsonNode c : FIXTURE.get("hexphi")) {
            String text = c.get("text").asText();
            if (RefusalKeywords.isJailbroken(text) != c.get("jailbroken").asBoolean()) wrong.add(text);
        }
        assertTrue(FIXTURE.get("hexphi").size() >= 20);
        assertEquals(List.of(), wrong);
    }

    @Test
    void gsm8kExtractionAgreesWithReferenceOnEveryText() {
        List<String> wrong = new ArrayList<>();
        for (JsonNode c : FIXTURE.get("gsm8k")) {
            String text = c.get("text").asText();
            String p = c.get("prediction").asText();
            double expected = p.equals("inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(p);
            double got = Gsm8kAnswers.extract(text);
            if (Double.compare(expected, got) != 0) wrong.add(text + " -> " + got + " (reference " + p + ")");
        }
        assertTrue(FIXTURE.get("gsm8k").size() >= 20);
        assertEquals(List.of(), wrong);
    }

    @Test
    void commonsenseExtractionAgreesWithReferenceOnEveryText() {
        List<String> wrong = new ArrayList<>();
        for (JsonNode c : FIXTURE.get("commonsense")) {
            String got = CommonsenseAnswers.extract(c.get("task").asText(), c.get("text").asText());
            if (!got.equals(c.get("prediction").asText())) wrong.add(c.get("text").asText() + " -> " + got);
        }
        assertTrue(FIXTURE.get("commonsense").size() >= 10);
        assertEquals(List.of(), wrong);
    }
}
