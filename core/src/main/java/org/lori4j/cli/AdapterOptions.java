package org.lori4j.cli;

import org.lori4j.adapter.ActiveAdapters;
import org.lori4j.adapter.AdapterSpec;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.eval.EvalRun;
import org.lori4j.generate.GenerationConfig;
import org.lori4j.io.LoriException;
import org.lori4j.model.LlamaModel;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.Locale;

/**
 * The {@code --adapter DIR[:W]} (repeatable), {@code --merge} and {@code --lora-b} options of the commands
 * that run a model: adapters are applied unmerged (y = x W^T + sum w s (x A^T) B^T) or merged into the
 * weights (W + w s B A, PEFT's merge order) before the model runs.
 */
public final class AdapterOptions {
    @Option(names = "--adapter", paramLabel = "DIR[:W]",
            description = "PEFT/LoRI adapter folder to apply, optionally with a weight W (default 1; repeatable)")
    List<String> adapters = List.of();

    @Option(names = "--merge", description = "merge the adapters into the weights instead of applying them on the fly")
    boolean merge;

    @Option(names = "--lora-b", defaultValue = "auto", paramLabel = "auto|dense|sparse",
            description = "unmerged B representation: sparse (CSR) when at most half of B is nonzero (auto, default), or forced")
    String loraB;

    /** The requested adapters as an evaluation applies them (checked: --merge needs an adapter, --lora-b a known mode). */
    public EvalRun.Adapters forEval() {
        ActiveAdapters.Mode mode = mode();
        if (adapters.isEmpty() && merge) throw new LoriException("--merge needs at least one --adapter");
        return new EvalRun.Adapters(adapters, merge, mode);
    }

    private ActiveAdapters.Mode mode() {
        return switch (loraB.toLowerCase(Locale.ROOT)) {
            case "auto" -> ActiveAdapters.Mode.AUTO;
            case "dense" -> ActiveAdapters.Mode.DENSE;
            case "sparse" -> ActiveAdapters.Mode.SPARSE;
            default -> throw new LoriException("--lora-b: expected auto, dense or sparse, got '" + loraB + "'");
        };
    }

    /**
     * The token ids the requested adapters were trained to end their answers with: the eos_token_id of the
     * generation_config.json beside each adapter (lori train and lori quickstart write one), in order.
     */
    public List<Integer> stopIds() {
        java.util.LinkedHashSet<Integer> ids = new java.util.LinkedHashSet<>();
        for (String a : adapters) ids.addAll(GenerationConfig.load(AdapterSpec.parse(a).dir()).eosTokenIds());
        return List.copyOf(ids);
    }

    /** Applies the requested adapters to MODEL (none given: nothing happens); returns the unmerged set, or null. */
    public ActiveAdapters apply(LlamaModel model) {
        mode();   // a bad --lora-b is an error even without --adapter
        if (adapters.isEmpty()) {
            if (merge) throw new LoriException("--merge needs at least one --adapter");
            return null;
        }
        ActiveAdapters.Mode mode = mode();
        AdapterSpec.Loaded specs = AdapterSpec.loadAll(adapters);
        List<LoraAdapter> loaded = specs.adapters();
        double[] weights = specs.weights();
        if (merge) {
            ActiveAdapters.mergeInto(model, loaded, weights);
            return null;
        }
        ActiveAdapters active = new ActiveAdapters(model, mode);
        for (int i = 0; i < loaded.size(); i++) active.add(loaded.get(i), weights[i]);
        return active;
    }
}
