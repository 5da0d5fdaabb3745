package org.lori4j.quickstart;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.lori4j.quickstart.Results.Variant;

import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class ReportTest {
    static final List<String> TASKS = List.of("nlu", "math", "code", "safety");

    static Map<String, Double> acc(double... xs) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (int i = 0; i < xs.length; i++) m.put(TASKS.get(i), xs[i]);
        return m;
    }

    static Results results() {
        Map<Variant, Map<String, Double>> single = new EnumMap<>(Variant.class);
        Map<Variant, Map<String, Long>> trainable = new EnumMap<>(Variant.class);
        Map<Variant, Map<String, double[]>> continual = new EnumMap<>(Variant.class);
        Map<String, Map<Variant, Map<String, Double>>> merging = new LinkedHashMap<>();
        for (String how : Results.MERGES) merging.put(how, new EnumMap<>(Variant.class));
        long[] params = {1000, 500, 50};
        for (Variant v : Variant.values()) {
            single.put(v, acc(1, 0.5, 0.25, 0.75));
            Map<String, Long> t = new LinkedHashMap<>();
            for (String task : TASKS) t.put(task, params[v.ordinal()] + (task.equals("code") ? 4 : 0));
            trainable.put(v, t);
            Map<String, double[]> c = new LinkedHashMap<>();
            c.put("nlu", new double[]{0.1, 0.9});
            c.put("math", new double[]{0.2, 0.8});
            c.put("code", new double[]{0.3, 0.7});
            continual.put(v, c);
            for (String how : Results.MERGES) merging.get(how).put(v, acc(0, 0, 0, how.equals("cat") ? 1 : 0.5));
        }
        return new Results(QuickstartOptions.quick(1), TASKS, acc(0, 0, 0, 0.01), single, trainable, 1000, merging, continual,
                Map.of("nlu-lora", List.of(3.0, 2.0)), Map.of("total", 1.5));
    }

    @Test
    void singleTaskRowsShowPercentAveragesAndParameterShares() {
        String md = Report.singleTable(results());
        assertTrue(md.contains("| Method | # Params (%) | NLU | Math | Code | Safety | Avg |"), md);
        assertTrue(md.contains("| Base model | 0 | 0.0 | 0.0 | 0.0 | 1.0 | 0.3 |"), md);
        assertTrue(md.contains("| LoRA | 1,001 (100.1%) | 100.0 | 50.0 | 25.0 | 75.0 | 62.5 |"), md);   // mean of 1000, 1000, 1004, 1000
        assertTrue(md.contains("| LoRI-S | 51 (5.1%) |"), md);
    }

    @Test
    void mergingAndContinualFollowThePapersLayout() {
        Results r = results();
        String m = Report.mergingTable(r);
        assertTrue(m.contains("| Concat | LoRI-D | 0.0 | 0.0 | 0.0 | 100.0 | 25.0 |"), m);
        assertTrue(m.contains("| Linear | LoRA | 0.0 | 0.0 | 0.0 | 50.0 | 12.5 |"), m);
        String c = Report.continualTable(r);
        assertTrue(c.contains("| Method | Safety alone | Safety (→NLU) | NLU | Safety (→Math) | Math | Safety (→Code) | Code |"), c);
        assertTrue(c.contains("| LoRI-S | 75.0 | 10.0 | 90.0 | 20.0 | 80.0 | 30.0 | 70.0 |"), c);
    }

    @Test
    void jsonKeepsFractionsAndCounts() {
        ObjectNode j = Report.json(results());
        assertEquals(0.5, j.get("single_task").get("LoRI-D").get("math").asDouble());
        assertEquals(0.625, j.get("single_task").get("LoRA").get("avg").asDouble());
        assertEquals(54, j.get("single_task").get("LoRI-S").get("trainable_parameters").get("code").asLong());
        assertEquals(0.5, j.get("merging").get("linear").get("LoRI-S").get("safety").asDouble());
        assertEquals(0.8, j.get("continual").get("LoRA").get("math").get("task").asDouble());
        assertEquals(0.75, j.get("continual").get("LoRA").get("safety_alone").asDouble());
        assertEquals(2.0, j.get("losses").get("nlu-lora").get(1).asDouble());
    }
}
