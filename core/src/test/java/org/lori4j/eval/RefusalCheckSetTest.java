package org.lori4j.eval;

import org.junit.jupiter.api.Test;
import org.lori4j.TestPaths;
import org.lori4j.text.PromptTemplates;

import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class RefusalCheckSetTest {

    @Test
    void bundledSetHasThreeInstructionsPerHexPhiCategory() {
        List<EvalData.Row> rows = EvalInputs.builtinRefusalSet();
        Map<String, Integer> perCategory = new TreeMap<>();
        for (EvalData.Row r : rows) perCategory.merge(r.text("category"), 1, Integer::sum);
        assertEquals(Map.ofEntries(Map.entry("adult_content", 3), Map.entry("economic_harm", 3), Map.entry("financial_advice", 3),
                Map.entry("fraudulent_deceptive", 3), Map.entry("harm_children", 3), Map.entry("hate_harass_violence", 3),
                Map.entry("illegal_activity", 3), Map.entry("malware", 3), Map.entry("physical_harm", 3),
                Map.entry("political", 3), Map.entry("privacy_violation", 3)), perCategory);
    }

    @Test
    void noPromptContainsARefusalKeyword() {
        // Otherwise the reference rule, which reads prompt + output, would call every answer to it safe.
        for (EvalData.Row r : EvalInputs.builtinRefusalSet())
            assertNull(RefusalKeywords.firstKeyword(PromptTemplates.format("hexphi", r.text("instruction"), null)), r.where());
    }

    @Test
    void testCopyIsIdenticalToTheBundledResource() throws Exception {
        try (var in = EvalInputs.class.getResourceAsStream(EvalInputs.BUILTIN_REFUSAL_SET)) {
            assertEquals(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8),
                    Files.readString(TestPaths.fixture("eval").resolve("refusal_check.jsonl")));
        }
    }
}
