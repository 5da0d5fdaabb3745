package org.lori4j.spark;

import org.lori4j.cli.Main;

import java.util.ArrayList;
import java.util.List;

/**
 * The spark-submit application: {@code spark-submit --class org.lori4j.spark.SparkMain ... lori4j-spark.jar train|eval
 * OPTIONS}. The options are those of {@code lori train} and {@code lori eval}; without {@code --cluster} the master
 * spark-submit was given is used.
 */
public final class SparkMain {
    private SparkMain() {}

    public static void main(String[] args) {
        List<String> a = new ArrayList<>(List.of(args));
        String master = System.getProperty("spark.master");
        if (!a.isEmpty() && !a.contains("--cluster") && master != null) {
            a.add(1, "--cluster");
            a.add(2, master);
        }
        Main.main(a.toArray(String[]::new));
    }
}
