package org.lori4j.cli;

import org.lori4j.adapter.AdapterMerge;
import org.lori4j.adapter.AdapterSpec;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.io.OutputDir;
import org.lori4j.io.LoriException;
import org.lori4j.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code lori merge}: PEFT add_weighted_adapter, written as a new PEFT adapter. */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = {"Merge adapters into one PEFT adapter with PEFT's add_weighted_adapter semantics.",
                "cat: B'A' = sum w_i s_i B_i A_i exactly (r' = sum of ranks); linear/ties/dare_linear/dare_ties/",
                "magnitude_prune combine A's and B's separately (equal ranks needed);",
                "svd: the best rank-r' approximation of sum w_i s_i B_i A_i; ties_svd, magnitude_prune_svd, dare_*_svd:",
                "of the pruned combination of the full deltas."})
public final class MergeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--adapter", required = true, paramLabel = "DIR[:W]", description = "adapter folder and weight (default 1); repeat for each adapter")
    List<String> adapters;

    @Option(names = "--method", defaultValue = "cat", paramLabel = "M", description = "cat (default), linear, ties, dare_linear, dare_ties, magnitude_prune, svd, ties_svd, dare_linear_svd, dare_ties_svd, magnitude_prune_svd")
    String method;

    @Option(names = "--density", paramLabel = "D", description = "fraction of entries kept by ties / dare_* / magnitude_prune")
    Double density;

    @Option(names = "--majority-sign-method", defaultValue = "total", paramLabel = "total|frequency", description = "sign election of ties / dare_ties")
    String majority;

    @Option(names = "--seed", defaultValue = "0", description = "seed of DARE's random pruning (java SplittableRandom; torch's stream cannot be reproduced)")
    long seed;

    @Option(names = "--no-dare-rescale", description = "do not divide DARE survivors by density (PEFT 0.12-0.18 behaviour)")
    boolean noRescale;

    @Option(names = "--rslora-fix", description = "when the first adapter uses rsLoRA, write use_rslora=false so the merged scaling is 1 (PEFT would scale by sqrt(r'))")
    boolean rsloraFix;

    @Option(names = "--svd-rank", paramLabel = "R", description = "*svd: rank of the result (default: the largest adapter rank)")
    Integer svdRank;

    @Option(names = "--svd-clamp", paramLabel = "Q", description = "*svd: clamp both factors to the Q-quantile of their values (PEFT's svd_clamp; default none)")
    Double svdClamp;

    @Option(names = "--dtype", defaultValue = "f32", paramLabel = "f32|bf16|f16", description = "dtype of the merged tensors (default f32)")
    String dtype;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "new adapter folder (must not exist or be empty)")
    Path out;

    @Override
    public Integer call() {
        PrintWriter pw = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        AdapterMerge.Options opt = new AdapterMerge.Options(AdapterMerge.Method.parse(method), density, majority, seed, !noRescale, rsloraFix,
                svdRank, svdClamp);
        if ((svdRank != null || svdClamp != null) && !opt.method().isSvd())
            throw new LoriException("--svd-rank and --svd-clamp apply to the svd methods only");
        DType d = parseDtype(dtype, false);
        AdapterSpec.Loaded specs = AdapterSpec.loadAll(adapters);
        List<LoraAdapter> ads = specs.adapters();
        double[] w = specs.weights();
        LoraAdapter merged = AdapterMerge.merge(ads, w, opt, m -> err.println("warning: " + m));
        err.flush();
        LoraAdapter toSave = merged.withDtype(d);
        // the first adapter's generation_config.json (the token its answers end with) goes with the merge, as its config does
        java.nio.file.Path genConfig = AdapterSpec.parse(adapters.getFirst()).dir().resolve("generation_config.json");
        OutputDir.writeNew(out, tmp -> {
            toSave.writeTo(tmp);
            if (java.nio.file.Files.isRegularFile(genConfig)) java.nio.file.Files.copy(genConfig, tmp.resolve("generation_config.json"));
        });
        pw.printf(Locale.ROOT, "merged %d adapters with %s: r = %d, lora_alpha = %d, %d modules, scaling %s -> %s%n",
                ads.size(), ads.size() == 1 ? "linear" : opt.method().peftName(), merged.config().r(), merged.config().r(),
                merged.modules().size(), merged.modules().values().iterator().next().scaling(), out);
        pw.flush();
        return 0;
    }

    static DType parseDtype(String s, boolean allowKeep) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "f32", "float32", "fp32" -> DType.F32;
            case "bf16", "bfloat16" -> DType.BF16;
            case "f16", "float16", "fp16" -> DType.F16;
            case "keep" -> {
                if (!allowKeep) throw new LoriException("--dtype keep is not valid here (f32, bf16, f16)");
                yield null;
            }
            default -> throw new LoriException("--dtype: unknown dtype '" + s + "' (f32, bf16, f16" + (allowKeep ? ", keep" : "") + ")");
        };
    }
}
