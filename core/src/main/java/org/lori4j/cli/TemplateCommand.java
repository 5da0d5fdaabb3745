package org.lori4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;
import org.lori4j.text.ChatTemplate;
import org.lori4j.text.ChatTemplate.Message;
import org.lori4j.text.PromptTemplates;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code lori template}: renders a model's chat template for a messages file, or one of lori4j's fixed prompt
 * templates (the LoRI Alpaca, HEx-PHI and GSM8K prompts) for an instruction. Prints the prompt exactly, with no
 * newline added.
 */
@Command(name = "template", mixinStandardHelpOptions = true,
        description = {"Print a prompt exactly as the model will see it (no newline added).",
                "The model's chat template applied to --messages, or a fixed prompt template (--prompt)."})
public final class TemplateCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Mode mode;

    static final class Mode {
        @Option(names = "--messages", paramLabel = "FILE.json",
                description = "JSON list of {role, content}, or {\"messages\": [...]}")
        Path messages;

        @Option(names = "--prompt", paramLabel = "NAME", description = "fixed prompt template: ${COMPLETION-CANDIDATES}",
                completionCandidates = PromptNames.class)
        String prompt;

        @Option(names = "--list-prompts", description = "list the fixed prompt templates")
        boolean list;
    }

    @Option(names = "--add-generation-prompt", description = "end with the assistant header (chat templates that support it)")
    boolean addGenerationPrompt;

    @Option(names = "--instruction", paramLabel = "TEXT", description = "instruction for --prompt")
    String instruction;

    @Option(names = "--input", paramLabel = "TEXT", description = "optional input for --prompt (Alpaca templates)")
    String input;

    static final class PromptNames extends ArrayList<String> {
        PromptNames() { super(PromptTemplates.names()); }
    }

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        if (mode.list) {
            for (String n : PromptTemplates.names()) out.println(n + "\t" + PromptTemplates.description(n));
        } else if (mode.prompt != null) {
            if (instruction == null) throw new LoriException("--prompt needs --instruction");
            out.print(PromptTemplates.format(mode.prompt, instruction, input));
        } else {
            Path dir = model.resolveTokenizer();
            ChatTemplate t = ChatTemplate.load(dir).orElseThrow(() -> new LoriException(
                    dir + ": no chat template (" + ChatTemplate.WHERE + ")"));
            out.print(t.render(readMessages(mode.messages), addGenerationPrompt));
        }
        out.flush();
    }

    /** A messages file: [{"role": ..., "content": ...}, ...] or {"messages": [...]}. */
    static List<Message> readMessages(Path file) {
        JsonNode root = Json.read(file);
        JsonNode arr = root.isObject() ? root.get("messages") : root;
        if (arr == null || !arr.isArray()) {
            throw new LoriException(file + ": expected a JSON list of {role, content} or {\"messages\": [...]}");
        }
        List<Message> out = new ArrayList<>();
        for (int i = 0; i < arr.size(); i++) {
            JsonNode m = arr.get(i);
            if (!m.path("role").isTextual() || !m.path("content").isTextual()) {
                throw new LoriException(file + ": message " + i + " needs string fields \"role\" and \"content\"");
            }
            out.add(new Message(m.get("role").asText(), m.get("content").asText()));
        }
        return out;
    }
}
