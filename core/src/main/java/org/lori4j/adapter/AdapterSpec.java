package org.lori4j.adapter;

import org.lori4j.io.LoriException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An adapter named on the command line as {@code DIR} or {@code DIR:WEIGHT} (weight 1 when absent).
 * The text after the last colon is a weight only if it parses as a number and DIR exists without it.
 */
public record AdapterSpec(Path dir, double weight) {

    public static AdapterSpec parse(String s) {
        int c = s.lastIndexOf(':');
        if (c > 0 && c < s.length() - 1) {
            String w = s.substring(c + 1);
            try {
                double v = Double.parseDouble(w);
                if (!Double.isFinite(v)) throw new LoriException("adapter weight '" + w + "' is not a finite number");
                Path p = Path.of(s.substring(0, c));
                if (Files.exists(p) || !Files.exists(Path.of(s))) return new AdapterSpec(p, v);
            } catch (NumberFormatException ignored) {
                // a colon that is part of the path, unless the text before it names an existing path and the whole does not
                if (Files.exists(Path.of(s.substring(0, c))) && !Files.exists(Path.of(s)))
                    throw new LoriException("--adapter " + s + ": weight '" + w + "' is not a number (DIR:W, e.g. " + s.substring(0, c) + ":0.5)");
            }
        }
        return new AdapterSpec(Path.of(s), 1.0);
    }

    /** Adapters loaded from command-line specs, with their weights in the same order. */
    public record Loaded(List<LoraAdapter> adapters, double[] weights) {}

    /** Parses each {@code DIR[:W]} and loads its adapter. */
    public static Loaded loadAll(List<String> specs) {
        List<LoraAdapter> adapters = new ArrayList<>(specs.size());
        double[] weights = new double[specs.size()];
        for (int i = 0; i < specs.size(); i++) {
            AdapterSpec s = parse(specs.get(i));
            adapters.add(LoraAdapter.load(s.dir()));
            weights[i] = s.weight();
        }
        return new Loaded(List.copyOf(adapters), weights);
    }

    @Override
    public String toString() { return dir + ":" + weight; }
}
