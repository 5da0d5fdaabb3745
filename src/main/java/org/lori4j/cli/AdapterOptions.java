package org.lori4j.cli;

import org.lori4j.io.LoriException;
import org.lori4j.model.LlamaModel;
import picocli.CommandLine.Option;

import java.util.List;

/**
 * The {@code --adapter DIR[:W]} (repeatable) and {@code --merge} options of the commands that run a
 * model. Adapters are not wired yet: giving one is refused with a clear message.
 */
public final class AdapterOptions {
    @Option(names = "--adapter", paramLabel = "DIR[:W]",
            description = "PEFT/LoRI adapter folder to apply, optionally with a weight W (repeatable)")
    List<String> adapters = List.of();

    @Option(names = "--merge", description = "merge the adapters into the weights instead of applying them on the fly")
    boolean merge;

    /** Applies the requested adapters to MODEL (none given: nothing happens). */
    public void apply(LlamaModel model) {
        if (!adapters.isEmpty()) throw new LoriException("--adapter: adapters are not supported yet");
        if (merge) throw new LoriException("--merge needs at least one --adapter");
    }
}
