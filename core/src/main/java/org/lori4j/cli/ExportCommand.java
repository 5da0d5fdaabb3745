package org.lori4j.cli;

import org.lori4j.adapter.AdapterSpec;
import org.lori4j.adapter.Export;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code lori export}: merge adapters into the base weights and write a full Hugging Face checkpoint. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Merge adapters into the base model and write a full Hugging Face checkpoint.",
                "W' = W + w s B A, as PEFT merge_and_unload; writes config, tokenizer files and sharded safetensors,",
                "streamed tensor by tensor."})
public final class ExportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR[:W]", description = "adapter folder and weight (default 1); repeatable")
    List<String> adapters;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "new model folder (must not exist or be empty)")
    Path out;

    @Option(names = "--dtype", defaultValue = "keep", paramLabel = "f32|bf16|f16|keep", description = "output dtype (default: keep each tensor's)")
    String dtype;

    @Option(names = "--shard-size", defaultValue = "5GB", paramLabel = "SIZE", description = "largest shard, as transformers' max_shard_size (default 5GB)")
    String shardSize;

    @Override
    public Integer call() {
        DType d = MergeCommand.parseDtype(dtype, true);
        long shard = Export.parseSize(shardSize);
        AdapterSpec.Loaded specs = AdapterSpec.loadAll(adapters);
        List<LoraAdapter> ads = specs.adapters();
        double[] w = specs.weights();
        PrintWriter pw = spec.commandLine().getOut(), err = spec.commandLine().getErr();   // the result, progress
        Export.export(model.resolve(), ads, w, out, d, shard, line -> {
            err.println(line);
            err.flush();
        });
        pw.println("exported " + model.resolve() + " + " + adapters.size() + " adapter(s) -> " + out);
        pw.flush();
        return 0;
    }
}
