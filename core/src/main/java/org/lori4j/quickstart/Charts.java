package org.lori4j.quickstart;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.CategoryStyler;
import org.knowm.xchart.style.Styler;
import org.lori4j.io.AtomicFiles;
import org.lori4j.io.LoriException;
import org.lori4j.quickstart.Results.Variant;

import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The quickstart's PNG charts, drawn with XChart without a display (java.awt.headless): one loss chart per
 * task with a curve per training run, and one bar chart per results table. Each method has one colour in every
 * chart (the base model grey; a linear merge a lighter tint of its method's colour), and every bar carries its
 * value, so a 0% bar reads "0" instead of being missing.
 */
public final class Charts {
    private static final int W = 900, H = 520;

    /** The base model's colour and each method's (matplotlib's tab10 grey, blue, orange, green). */
    static final Color BASE = new Color(127, 127, 127);
    static final Map<Variant, Color> COLOURS = Map.of(Variant.LORA, new Color(31, 119, 180), Variant.LORI_D, new Color(255, 127, 14),
            Variant.LORI_S, new Color(44, 160, 44));

    private Charts() {}

    /** Writes loss-*.png and single.png, merging.png, continual.png into DIR. */
    public static void write(Results r, Path dir) {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        try {
            Files.createDirectories(dir);
            for (String task : r.tasks()) {
                save(lossChart("Training loss: " + Report.display(task) + " (single task)", r.losses(),
                        run -> isRun(run, task + "-")), dir.resolve("loss-" + task + ".png"));
                if (!task.equals("safety"))
                    save(lossChart("Training loss: " + Report.display(task) + " after safety (continual)", r.losses(),
                            run -> isRun(run, "safety-then-" + task + "-")), dir.resolve("loss-safety-then-" + task + ".png"));
            }
            save(singleChart(r), dir.resolve("single.png"));
            save(mergingChart(r), dir.resolve("merging.png"));
            save(continualChart(r), dir.resolve("continual.png"));
        } catch (IOException | RuntimeException | LinkageError e) {
            throw new LoriException(dir + ": cannot draw the charts: " + e, e);
        }
    }

    /** Whether RUN is PREFIX followed by a variant id ("math-" + "lori-s"). */
    private static boolean isRun(String run, String prefix) {
        return variantOf(run, prefix) != null;
    }

    /** The variant of RUN = PREFIX + a variant id, or null. */
    private static Variant variantOf(String run, String prefix) {
        for (Variant v : Variant.values()) if (run.equals(prefix + v.id())) return v;
        return null;
    }

    static XYChart lossChart(String title, Map<String, List<Double>> losses, java.util.function.Predicate<String> runs) {
        XYChart c = new XYChartBuilder().width(W).height(H).title(title).xAxisTitle("step").yAxisTitle("loss (mean NLL per answer token)").build();
        c.getStyler().setMarkerSize(0);
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        losses.forEach((run, curve) -> {
            if (!runs.test(run) || curve.isEmpty()) return;
            double[] x = new double[curve.size()], y = new double[curve.size()];
            for (int i = 0; i < x.length; i++) { x[i] = i + 1; y[i] = curve.get(i); }
            XYSeries series = c.addSeries(run, x, y);
            for (Variant v : Variant.values()) if (run.endsWith("-" + v.id())) series.setLineColor(COLOURS.get(v));
        });
        return c;
    }

    static CategoryChart singleChart(Results r) {
        CategoryChart c = bars("Single-task accuracy (%)", W);
        List<String> cats = categories(r.tasks());
        c.addSeries("Base model", cats, withAverage(r.tasks(), r.base())).setFillColor(BASE);
        for (Variant v : Variant.values())
            c.addSeries(v.label(), cats, withAverage(r.tasks(), r.single().get(v))).setFillColor(COLOURS.get(v));
        return c;
    }

    static CategoryChart mergingChart(Results r) {
        CategoryChart c = bars("Accuracy (%) after merging all four adapters (linear: lighter)", W + 300);
        List<String> cats = categories(r.tasks());
        for (String how : Results.MERGES)
            for (Variant v : Variant.values())
                c.addSeries(v.label() + " " + how, cats, withAverage(r.tasks(), r.merging().get(how).get(v)))
                        .setFillColor(how.equals("cat") ? COLOURS.get(v) : lighter(COLOURS.get(v)));
        return c;
    }

    /**
     * Safety alone (each method's single-task safety adapter), then for each later task the safety accuracy after
     * training on it and the task's accuracy: forgetting shows as the drop from the first group.
     */
    static CategoryChart continualChart(Results r) {
        CategoryChart c = bars("Continual learning: safety, then the task (%)", W + 200);
        List<String> cats = new ArrayList<>(List.of("Safety alone"));
        List<String> later = r.tasks().stream().filter(t -> !t.equals("safety")).toList();
        for (String t : later) {
            cats.add("Safety (->" + Report.display(t) + ")");
            cats.add(Report.display(t));
        }
        for (Variant v : Variant.values()) {
            List<Double> ys = new ArrayList<>();
            ys.add(percent(r.single().get(v).get("safety")));
            for (String t : later) {
                double[] st = r.continual().get(v).get(t);
                ys.add(percent(st[0]));
                ys.add(percent(st[1]));
            }
            c.addSeries(v.label(), cats, ys).setFillColor(COLOURS.get(v));
        }
        return c;
    }

    private static CategoryChart bars(String title, int width) {
        CategoryChart c = new CategoryChartBuilder().width(width).height(H).title(title).yAxisTitle("accuracy (%)").build();
        CategoryStyler s = c.getStyler();
        s.setLegendPosition(Styler.LegendPosition.OutsideS);
        s.setLegendLayout(Styler.LegendLayout.Horizontal);
        s.setYAxisMin(0.0);
        s.setYAxisMax(100.0);
        // every bar's value on it (at its top; a 0 sits on the axis), one decimal at most
        s.setLabelsVisible(true);
        s.setLabelsPosition(1.0);
        s.setDecimalPattern("#0.#");
        s.setLabelsFontColorAutomaticEnabled(false);
        s.setLabelsFontColor(Color.BLACK);
        s.setLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        return c;
    }

    /** COLOUR mixed half-way with white. */
    static Color lighter(Color c) {
        return new Color((c.getRed() + 255) / 2, (c.getGreen() + 255) / 2, (c.getBlue() + 255) / 2);
    }

    private static List<String> categories(List<String> tasks) {
        List<String> cats = new ArrayList<>();
        for (String t : tasks) cats.add(Report.display(t));
        cats.add("Avg");
        return cats;
    }

    private static List<Double> withAverage(List<String> tasks, Map<String, Double> acc) {
        List<Double> ys = new ArrayList<>();
        for (String t : tasks) ys.add(percent(acc.get(t)));
        ys.add(percent(Results.average(acc)));
        return ys;
    }

    /** A fraction as the percentage the tables show (one decimal, rounded as they round it). */
    static double percent(double fraction) {
        return Double.isNaN(fraction) ? Double.NaN : Double.parseDouble(Report.pct(fraction));
    }

    private static void save(Chart<?, ?> chart, Path file) throws IOException {
        byte[] png = BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        AtomicFiles.write(file, os -> os.write(png));
    }
}
