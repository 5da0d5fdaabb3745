package org.lori4j.cli;

import org.lori4j.eval.EvalRun;
import org.lori4j.eval.Evaluator;
import org.lori4j.eval.Progress;
import org.lori4j.eval.PythonSandbox;
import org.lori4j.eval.ResultsTable;
import org.lori4j.eval.ScoreOn;
import org.lori4j.io.LoriException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;

/** {@code lori eval}: score a model (with adapters) on HEx-PHI, GSM8K, the commonsense tasks, HumanEval; or compare runs. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Evaluate a model on tasks with the LoRI paper's scoring rules, or compare finished runs.",
                "Tasks: commonsense (every task folder under --data), boolq, piqa, social_i_qa, arc-challenge, arc-easy,",
                "openbookqa, hellaswag, winogrande, hexphi, gsm8k, humaneval, exact. Several tasks (--tasks a,b) read",
                "their data from one --data folder (NAME/test.json, NAME.jsonl, ...) and share one results table.",
                "Writes results.json, results.md and generations.jsonl into --out; progress goes to stderr."})
public final class EvalCommand implements Runnable, picocli.CommandLine.IExitCodeGenerator {

    @Spec
    CommandSpec spec;

    @Option(names = "--compare", arity = "1..*", paramLabel = "DIR", description = "print the results of these runs side by side and exit")
    List<Path> compare;

    @Mixin
    ModelOption modelOption;

    @Mixin
    AdapterOptions adapterOptions;

    @Option(names = {"--tasks", "--task"}, split = ",", paramLabel = "T", description = "task names, comma-separated (see above)")
    List<String> tasks;

    @Option(names = "--data", paramLabel = "FILE|DIR", description = "data file, or folder of task folders for commonsense; hexphi defaults to the bundled refusal check set")
    Path data;

    @Option(names = "--limit", paramLabel = "N", description = "only the first N items of each task")
    Integer limit;

    @Option(names = "--batch-size", paramLabel = "B", defaultValue = "8", description = "prompts generated together (default ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "512", description = "tokens per output at most (default ${DEFAULT-VALUE}, as the reference)")
    int maxNewTokens;

    @Option(names = "--out", paramLabel = "DIR", description = "output folder (default eval-TASKS-TIMESTAMP)")
    Path out;

    @Option(names = "--resume", description = "continue the run in --out, reusing its generations.jsonl")
    boolean resume;

    @Option(names = "--template", paramLabel = "NAME", description = "prompt template (default per task: alpaca-lori16, hexphi, gsm8k, raw)")
    String template;

    @Option(names = "--score-on", paramLabel = "WHAT", defaultValue = "reference",
            description = "text the rules read: reference (prompt + output, as the reference decodes) or output (default ${DEFAULT-VALUE})")
    String scoreOn;

    @Option(names = "--samples", paramLabel = "N", description = "outputs per item (default 1; humaneval 20)")
    Integer samples;

    @Option(names = "--temperature", paramLabel = "T", description = "0 = greedy (default; humaneval 0.2)")
    Double temperature;

    @Option(names = "--top-p", paramLabel = "P", description = "nucleus sampling (default 1; humaneval 0.95)")
    Double topP;

    @Option(names = "--top-k", paramLabel = "K", description = "top-k sampling, 0 = off (default 0)")
    Integer topK;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "sampling seed (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--stop", paramLabel = "TEXT", description = "end an output before TEXT when it appears (repeatable)")
    List<String> stops = List.of();

    @Option(names = "--stop-token", paramLabel = "ID", description = "end an output at this token id, as at EOS (repeatable; "
            + "the adapters' generation_config.json and the model's EOS ids stop too)")
    List<Integer> stopTokens = List.of();

    @Option(names = "--bos", negatable = true, description = "prepend BOS to prompts (default: no, as the reference; humaneval: yes)")
    Boolean bos;

    @Option(names = "--max-length", paramLabel = "N",
            description = "the reference truncates a prompt when prompt + target + EOS exceed N tokens; 0 = never (default 512; humaneval 0)")
    Integer maxLength;

    @Option(names = "--max-prompt-length", paramLabel = "N", defaultValue = "256", description = "tokens kept of a truncated prompt (default ${DEFAULT-VALUE})")
    int maxPromptLength;

    @Option(names = "--no-dedup", description = "score every record; by default records repeating an earlier record's prompt count once "
            + "(the first position, the last record's answer), as the reference's loaders (not humaneval, exact)")
    boolean noDedup;

    @Option(names = "--max-length-generation", paramLabel = "N",
            description = "humaneval: prompt + output tokens at most, as bigcode's --max_length_generation (default 512; 0 = no limit)")
    Integer maxLengthGeneration;

    @Option(names = "--allow-code-execution", description = "humaneval: run model-written Python (one sandboxed process per sample)")
    boolean allowCodeExecution;

    @Option(names = "--python", paramLabel = "EXE", defaultValue = "python3", description = "interpreter for humaneval (default ${DEFAULT-VALUE})")
    String python;

    @Option(names = "--exec-timeout", paramLabel = "SECONDS", defaultValue = "3", description = "time limit of each program's exec, interpreter start-up not counted (default ${DEFAULT-VALUE}, as bigcode); the process is killed 1 s after it")
    double execTimeout;

    @Option(names = "--exec-workers", paramLabel = "N", description = "programs run in parallel (default: number of cores)")
    Integer execWorkers;

    @Mixin
    ClusterOptions cluster;

    /** The exit code of the cluster JVM this command ran in, when it ran again there. */
    private int exitCode;

    @Override
    public int getExitCode() { return exitCode; }

    @Override
    public void run() {
        PrintWriter stdout = spec.commandLine().getOut();
        if (compare != null) {
            stdout.print(ResultsTable.compare(compare));
            stdout.flush();
            return;
        }
        if (tasks == null || tasks.isEmpty()) throw new LoriException("--tasks is required (or --compare DIR...)");
        String task = String.join(",", tasks);
        PythonSandbox sandbox = null;
        if (task.equals("humaneval") && allowCodeExecution) {
            if (!(execTimeout > 0)) throw new LoriException("--exec-timeout must be > 0, got " + execTimeout);
            sandbox = PythonSandbox.create(python, new PythonSandbox.Limits(Duration.ofMillis((long) (execTimeout * 1000)),
                    PythonSandbox.Limits.DEFAULT.addressSpaceBytes(), PythonSandbox.Limits.DEFAULT.fileSizeBytes()));
        }
        // Data and prompts first: format errors surface before minutes of model loading.
        EvalRun run = EvalRun.prepare(new EvalRun.Options(task, data, template, limit, batchSize, maxNewTokens, ScoreOn.parse(scoreOn),
                samples, temperature, topP, topK, seed, bos, maxLength, maxPromptLength, sandbox, execWorkers, noDedup,
                maxLengthGeneration));
        PrintWriter stderr = spec.commandLine().getErr();
        for (var t : run.tasks())
            if (t.repeats() > 0) stderr.println(t.task().name() + ": " + t.repeats() + " record(s) repeat an earlier record's prompt and "
                    + "count once, with the last one's answer, as the reference (--no-dedup scores every record)");
        stderr.flush();
        Path model = modelOption.resolve();
        Path outDir = out != null ? out : Path.of("eval-" + String.join("-", tasks) + "-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        EvalRun.Stops stopping = new EvalRun.Stops(stops, stopTokens);
        Evaluator.Report r;
        if (cluster.given()) {
            var target = cluster.target();
            var runner = ClusterOptions.runner();
            if (runner.isEmpty()) {
                exitCode = ClusterOptions.relaunch(spec);
                return;
            }
            r = runner.get().eval(target, run, model, adapterOptions.forEval(), stopping, outDir, resume, Progress.forConsole());
        } else {
            r = run.run(model, adapterOptions.forEval(), stopping, outDir, resume, Progress.forConsole(), null);
        }
        stdout.print(ResultsTable.markdown(r.results(), r.average()));
        stdout.printf(java.util.Locale.ROOT, "%d outputs generated in %.1f s: %.3f outputs/s, %.2f generated tokens/s%n",
                r.speed().outputs(), r.speed().seconds(), r.speed().outputsPerSecond(), r.speed().tokensPerSecond());
        stdout.println("results in " + outDir.toAbsolutePath().normalize());
        stdout.flush();
        if (!Files.exists(outDir.resolve(Evaluator.RESULTS))) throw new IllegalStateException("no results written");
    }
}
