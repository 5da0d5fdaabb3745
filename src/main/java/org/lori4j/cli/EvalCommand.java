package org.lori4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.adapter.AdapterSpec;
import org.lori4j.eval.Decoding;
import org.lori4j.eval.EvalInputs;
import org.lori4j.eval.EvalTask;
import org.lori4j.eval.Evaluator;
import org.lori4j.eval.ModelTextGenerator;
import org.lori4j.eval.Progress;
import org.lori4j.eval.PythonSandbox;
import org.lori4j.eval.ResultsTable;
import org.lori4j.eval.ScoreOn;
import org.lori4j.eval.TextGenerator;
import org.lori4j.eval.WeightHashes;
import org.lori4j.generate.GenerationConfig;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;
import org.lori4j.model.LlamaModel;
import org.lori4j.text.Tokenizer;
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
        description = {"Evaluate a model on a task with the LoRI paper's scoring rules, or compare finished runs.",
                "Tasks: commonsense (every task folder under --data), boolq, piqa, social_i_qa, arc-challenge, arc-easy,",
                "openbookqa, hellaswag, winogrande, hexphi, gsm8k, humaneval, exact.",
                "Writes results.json, results.md and generations.jsonl into --out."})
public final class EvalCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Option(names = "--compare", arity = "1..*", paramLabel = "DIR", description = "print the results of these runs side by side and exit")
    List<Path> compare;

    @Mixin
    ModelOption modelOption;

    @Mixin
    AdapterOptions adapterOptions;

    @Option(names = "--task", paramLabel = "T", description = "task name (see above)")
    String task;

    @Option(names = "--data", paramLabel = "FILE|DIR", description = "data file, or folder of task folders for commonsense; hexphi defaults to the bundled refusal check set")
    Path data;

    @Option(names = "--limit", paramLabel = "N", description = "only the first N items of each task")
    Integer limit;

    @Option(names = "--batch-size", paramLabel = "B", defaultValue = "8", description = "prompts generated together (default ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "512", description = "tokens per output at most (default ${DEFAULT-VALUE}, as the reference)")
    int maxNewTokens;

    @Option(names = "--out", paramLabel = "DIR", description = "output folder (default eval-TASK-TIMESTAMP)")
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

    @Option(names = "--bos", negatable = true, description = "prepend BOS to prompts (default: no, as the reference; humaneval: yes)")
    Boolean bos;

    @Option(names = "--max-length", paramLabel = "N", defaultValue = "512",
            description = "the reference truncates a prompt when prompt + target + EOS exceed N tokens; 0 = never (default ${DEFAULT-VALUE}; humaneval 0)")
    int maxLength;

    @Option(names = "--max-prompt-length", paramLabel = "N", defaultValue = "256", description = "tokens kept of a truncated prompt (default ${DEFAULT-VALUE})")
    int maxPromptLength;

    @Option(names = "--allow-code-execution", description = "humaneval: run model-written Python (one sandboxed process per sample)")
    boolean allowCodeExecution;

    @Option(names = "--python", paramLabel = "EXE", defaultValue = "python3", description = "interpreter for humaneval (default ${DEFAULT-VALUE})")
    String python;

    @Option(names = "--exec-timeout", paramLabel = "SECONDS", defaultValue = "3", description = "wall-clock limit per program (default ${DEFAULT-VALUE}, as bigcode)")
    double execTimeout;

    @Option(names = "--exec-workers", paramLabel = "N", description = "programs run in parallel (default: number of cores)")
    Integer execWorkers;

    @Override
    public void run() {
        PrintWriter stdout = spec.commandLine().getOut();
        if (compare != null) {
            stdout.print(ResultsTable.compare(compare));
            stdout.flush();
            return;
        }
        if (task == null) throw new LoriException("--task is required (or --compare DIR...)");
        boolean humaneval = task.equals("humaneval");
        PythonSandbox sandbox = null;
        if (humaneval && allowCodeExecution) {
            if (!(execTimeout > 0)) throw new LoriException("--exec-timeout must be > 0, got " + execTimeout);
            sandbox = PythonSandbox.create(python, new PythonSandbox.Limits(Duration.ofMillis((long) (execTimeout * 1000)),
                    PythonSandbox.Limits.DEFAULT.addressSpaceBytes(), PythonSandbox.Limits.DEFAULT.fileSizeBytes()));
        }
        // Data and prompts first: format errors surface before minutes of model loading.
        List<Evaluator.TaskData> tasks = EvalInputs.load(task, data, template, limit, sandbox);
        EvalTask first = tasks.getFirst().task();
        Decoding base = first.defaultDecoding(maxNewTokens);
        Decoding decoding = new Decoding(maxNewTokens, temperature != null ? temperature : base.temperature(),
                topK != null ? topK : base.topK(), topP != null ? topP : base.topP(), base.stop());
        int n = samples != null ? samples : first.defaultSamples();
        boolean addBos = bos != null ? bos : humaneval;
        int maxLen = humaneval && !spec.commandLine().getParseResult().hasMatchedOption("--max-length") ? 0 : maxLength;
        ScoreOn on = ScoreOn.parse(scoreOn);
        int workers = execWorkers != null ? execWorkers : Runtime.getRuntime().availableProcessors();
        Path model = modelOption.resolve();
        Path outDir = out != null ? out : Path.of("eval-" + task + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));

        ObjectNode meta = Json.MAPPER.createObjectNode();
        ObjectNode s = meta.putObject("settings");
        s.put("task", task);
        ArrayNode sources = s.putArray("data");
        tasks.forEach(t -> sources.add(t.source()));
        if (limit != null) s.put("limit", limit); else s.putNull("limit");
        s.put("template", template != null ? template : first.defaultTemplate());
        s.put("score_on", on.label());
        s.put("max_new_tokens", decoding.maxNewTokens());
        s.put("temperature", decoding.temperature());
        s.put("top_k", decoding.topK());
        s.put("top_p", decoding.topP());
        s.put("samples", n);
        s.put("seed", seed);
        s.put("bos", addBos);
        s.put("max_length", maxLen);
        s.put("max_prompt_length", maxPromptLength);
        s.put("batch_size", batchSize);
        if (sandbox != null) {
            s.put("exec_timeout_s", execTimeout);
            s.put("exec_workers", workers);
            s.put("network_isolated", sandbox.networkIsolated());
        }
        ObjectNode m = meta.putObject("model");
        m.put("path", model.toAbsolutePath().normalize().toString());
        ObjectNode mw = m.putObject("weights_sha256");
        WeightHashes.of(model).forEach(mw::put);
        ArrayNode ad = meta.putArray("adapters");
        for (String a : adapterOptions.adapters) {
            AdapterSpec spec = AdapterSpec.parse(a);
            ObjectNode o = ad.addObject();
            o.put("path", spec.dir().toAbsolutePath().normalize().toString());
            o.put("weight", spec.weight());
            ObjectNode w = o.putObject("weights_sha256");
            WeightHashes.of(spec.dir()).forEach(w::put);
        }
        meta.put("merge", adapterOptions.merge);

        Evaluator.Settings settings = new Evaluator.Settings(batchSize, decoding, n, seed, on, workers);
        new ModelTextGenerator.Options(addBos, maxLen, maxPromptLength, List.of()); // validates before loading
        try (Tokenizer tok = Tokenizer.load(model); LlamaModel lm = LlamaModel.load(model)) {
            adapterOptions.apply(lm);
            List<Integer> stop = GenerationConfig.load(model).eosTokenIds();
            if (stop.isEmpty()) stop = lm.config().eosTokenIds();
            if (stop.isEmpty()) stop = tok.eosIds();
            TextGenerator gen = new ModelTextGenerator(lm, tok, new ModelTextGenerator.Options(addBos, maxLen, maxPromptLength, stop));
            Evaluator.Report r = new Evaluator(gen, settings, Progress.forConsole()).run(tasks, outDir, resume, meta);
            stdout.print(ResultsTable.markdown(r.results(), r.average()));
            stdout.printf(java.util.Locale.ROOT, "%d outputs generated in %.1f s: %.3f outputs/s, %.2f generated tokens/s%n",
                    r.speed().outputs(), r.speed().seconds(), r.speed().outputsPerSecond(), r.speed().tokensPerSecond());
            stdout.println("results in " + outDir.toAbsolutePath().normalize());
            stdout.flush();
        }
        if (!Files.exists(outDir.resolve(Evaluator.RESULTS))) throw new IllegalStateException("no results written");
    }
}
