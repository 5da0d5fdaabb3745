package org.lori4j.quickstart;

import org.junit.jupiter.api.Test;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.XYChart;
import org.lori4j.quickstart.Results.Variant;

import java.awt.Color;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** What the quickstart's charts show: one colour per method in every chart, values on the bars, safety alone in the continual chart. */
class ChartsTest {
    static List<Double> ys(CategorySeries s) {
        List<Double> out = new ArrayList<>();
        for (Number n : s.getYData()) out.add(n.doubleValue());
        return out;
    }

    @Test
    void eachMethodKeepsItsColourInEveryChart() {
        Results r = ReportTest.results();
        CategoryChart single = Charts.singleChart(r), merging = Charts.mergingChart(r), continual = Charts.continualChart(r);
        XYChart loss = Charts.lossChart("loss", Map.of("nlu-lora", List.of(3.0, 2.0), "nlu-lori-d", List.of(3.0, 1.0),
                "nlu-lori-s", List.of(3.0, 2.5)), run -> true);
        List<Color> colours = new ArrayList<>();
        for (Variant v : Variant.values()) {
            Color c = Charts.COLOURS.get(v);
            assertFalse(colours.contains(c), "two methods share a colour");
            colours.add(c);
            assertEquals(c, single.getSeriesMap().get(v.label()).getFillColor(), v.label());
            assertEquals(c, continual.getSeriesMap().get(v.label()).getFillColor(), v.label());
            assertEquals(c, merging.getSeriesMap().get(v.label() + " cat").getFillColor(), v.label());
            assertEquals(Charts.lighter(c), merging.getSeriesMap().get(v.label() + " linear").getFillColor(), v.label());
            assertEquals(c, loss.getSeriesMap().get("nlu-" + v.id()).getLineColor(), v.label());
        }
        assertEquals(Charts.BASE, single.getSeriesMap().get("Base model").getFillColor());
        assertFalse(colours.contains(Charts.BASE));
    }

    @Test
    void barsCarryTheirValuesAndZeroIsAValue() {
        Results r = ReportTest.results();
        for (CategoryChart c : List.of(Charts.singleChart(r), Charts.mergingChart(r), Charts.continualChart(r))) {
            assertTrue(c.getStyler().isLabelsVisible(), c.getTitle());
            assertEquals(0.0, c.getStyler().getYAxisMin());
        }
        // the base model's 0 is a bar of value 0 (labelled "0"), not a missing one
        CategorySeries base = Charts.singleChart(r).getSeriesMap().get("Base model");
        assertEquals(List.of(0.0, 0.0, 0.0, 1.0, 0.3), ys(base));   // the average 0.25 rounded as the table rounds it
    }

    @Test
    void theContinualChartPutsSafetyAloneBeforeTheAfterTrainingValues() {
        Results r = ReportTest.results();
        CategoryChart c = Charts.continualChart(r);
        for (Variant v : Variant.values()) {
            CategorySeries s = c.getSeriesMap().get(v.label());
            List<?> cats = new ArrayList<>(s.getXData());
            assertEquals(List.of("Safety alone", "Safety (->NLU)", "NLU", "Safety (->Math)", "Math", "Safety (->Code)", "Code"), cats);
            // single-task safety 0.75; after NLU 0.1 (task 0.9), after math 0.2 (0.8), after code 0.3 (0.7)
            assertEquals(List.of(75.0, 10.0, 90.0, 20.0, 80.0, 30.0, 70.0), ys(s));
        }
    }
}
