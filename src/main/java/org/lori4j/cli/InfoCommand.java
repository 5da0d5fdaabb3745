package org.lori4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lori4j.io.Json;
import org.lori4j.model.ModelInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/**
 * {@code lori info}: architecture, parameter counts, dtypes, file sizes and memory needs of a model folder
 * (validating every tensor shape against config.json on the way).
 */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = {"Show a model's architecture, parameters, dtypes, file sizes and memory needs.",
                "Also checks every tensor's shape against config.json."})
public final class InfoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Option(names = "--json", description = "print JSON instead of text")
    boolean json;

    // Extension point for adapters: an `--adapter DIR` option goes here; its summary is added below as an
    // "adapter" object of the JSON and as extra "adapter ..." lines of the text.

    @Override
    public Integer call() throws Exception {
        ModelInfo info = ModelInfo.of(model.resolve());
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode root = info.toJson();
            // adapter section: root.set("adapter", ...)
            out.println(Json.MAPPER.writeValueAsString(root));
        } else {
            out.print(info.toText());
            // adapter section: out.print(...)
        }
        out.flush();
        return 0;
    }
}
