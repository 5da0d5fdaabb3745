package org.lori4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.adapter.AdapterInfo;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.io.Json;
import org.lori4j.io.LlamaConfig;
import org.lori4j.model.ModelInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code lori info}: architecture, parameter counts, dtypes, file sizes and memory needs of a model folder
 * (validating every tensor shape against config.json on the way); with {@code --adapter}, what a PEFT
 * adapter holds (alone, or checked against --model when both are given).
 */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = {"Show a model's architecture, parameters, dtypes, file sizes and memory needs.",
                "Also checks every tensor's shape against config.json.",
                "With --adapter: rank, alpha, scaling, targets, parameters, B sparsity (overall, per layer, per projection)",
                "and A statistics of a PEFT LoRA/LoRI adapter (only the adapter unless --model is given)."})
public final class InfoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "a PEFT adapter folder (adapter_config.json + adapter_model.safetensors)")
    Path adapter;

    @Option(names = "--json", description = "print JSON instead of text")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        AdapterInfo adapterInfo = null;
        long baseParams = 0;
        if (adapter != null) {
            LoraAdapter a = LoraAdapter.load(adapter);
            if (model.given()) {
                LlamaConfig c = LlamaConfig.load(model.resolve());
                a.checkAgainst(c);
                baseParams = c.parameterCount();
            }
            adapterInfo = AdapterInfo.of(a);
        }
        ModelInfo info = adapter == null || model.given() ? ModelInfo.of(model.resolve()) : null;
        if (json) {
            ObjectNode root = info == null ? adapterInfo.toJson() : info.toJson();
            if (info != null && adapterInfo != null) {
                ObjectNode a = adapterInfo.toJson();
                ((ObjectNode) a.get("parameters")).put("base_model", baseParams);
                root.set("adapter", a);
            }
            out.println(Json.MAPPER.writeValueAsString(root));
        } else {
            if (info != null) out.print(info.toText());
            if (adapterInfo != null) out.print(adapterInfo.toText());
            if (adapterInfo != null && baseParams > 0)
                out.printf(java.util.Locale.ROOT, "relative     adapter A+B = %.4f%% of the base model's %,d parameters; B = %.4f%%, nonzero B = %.4f%%%n",
                        100.0 * (adapterInfo.paramsA() + adapterInfo.paramsB()) / baseParams, baseParams,
                        100.0 * adapterInfo.paramsB() / baseParams, 100.0 * adapterInfo.nonzeroB() / baseParams);
        }
        out.flush();
        return 0;
    }
}
