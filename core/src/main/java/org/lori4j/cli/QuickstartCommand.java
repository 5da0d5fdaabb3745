package org.lori4j.cli;

import org.lori4j.io.EmbeddedModel;
import org.lori4j.quickstart.ProgressBar;
import org.lori4j.quickstart.Quickstart;
import org.lori4j.quickstart.QuickstartOptions;
import org.lori4j.quickstart.Report;
import org.lori4j.quickstart.Results;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code lori quickstart}: the LoRI paper's experiments in miniature on the embedded model. */
@Command(name = "quickstart", mixinStandardHelpOptions = true,
        description = {"LoRI in miniature on the embedded stories260K model.",
                "Four seeded tasks (NLU, math, code, safety); LoRA, LoRI-D and LoRI-S adapters per task;",
                "merging (cat, linear); continual learning after safety. Prints the three tables and writes",
                "the data, adapters, masks, predictions, results.md, results.json and PNG charts into --out."})
public final class QuickstartCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N", description = "seed of the data, the adapters' A and the data order (default 0)")
    long seed;

    @Option(names = "--out", defaultValue = "quickstart-out", paramLabel = "DIR", description = "output folder (default ./quickstart-out)")
    Path out;

    @Option(names = "--quick", description = "a small run of every stage (for tests and a first look)")
    boolean quick;

    @Override
    public Integer call() {
        QuickstartOptions opt = quick ? QuickstartOptions.quick(seed) : QuickstartOptions.full(seed);
        PrintWriter w = spec.commandLine().getOut();
        ProgressBar bar = ProgressBar.forConsole();
        Results r = Quickstart.run(opt, EmbeddedModel.path(), out, bar);
        bar.finish();
        w.println(Report.markdown(r));
        w.printf(Locale.ROOT, "Written to %s: results.md, results.json, plots/*.png, predictions.jsonl, data/, adapters/%n", out);
        w.flush();
        return 0;
    }
}
