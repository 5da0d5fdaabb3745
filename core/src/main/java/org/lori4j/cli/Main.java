package org.lori4j.cli;

import org.lori4j.io.LoriException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code lori} command: one subcommand per capability. */
@Command(name = "lori", mixinStandardHelpOptions = true, version = "lori4j 0.1.0",
        description = "LoRI adapters for Llama-family models on the JVM.",
        subcommands = {
                CommandLine.HelpCommand.class,
                TokenizeCommand.class,
                TemplateCommand.class,
                ImportCommand.class,
                InfoCommand.class,
                MasksCommand.class,
                MergeCommand.class,
                ExportCommand.class,
                GenerateCommand.class,
                LogitsCommand.class,
                BenchCommand.class,
                EvalCommand.class,
                TrainCommand.class,
                PipelineCommand.class,
                QuickstartCommand.class,
        })
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() { spec.commandLine().usage(System.out); }

    /** Runs the CLI and returns the exit code (used by tests). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        for (ExtensionCommand c : java.util.ServiceLoader.load(ExtensionCommand.class)) {
            CommandLine parent = c.parent() == null ? cl : cl.getSubcommands().get(c.parent());
            if (parent == null) throw new IllegalStateException(c.getClass().getName() + ": no command '" + c.parent() + "' to go under");
            parent.addSubcommand(c);
        }
        // UTF-8 whatever the locale: decoded text and prompts must come out byte-exact
        cl.setOut(new java.io.PrintWriter(new java.io.OutputStreamWriter(System.out, java.nio.charset.StandardCharsets.UTF_8), true));
        cl.setExecutionExceptionHandler((ex, cmd, parse) -> {
            Throwable t = ex;
            while (t != null && !(t instanceof LoriException) && t.getCause() != null && t != t.getCause()) t = t.getCause();
            if (t instanceof LoriException le) {
                cmd.getErr().println("error: " + le.getMessage());
                return 2;
            }
            cmd.getErr().println("error: internal error: " + ex);
            if (System.getenv("LORI_DEBUG") != null) ex.printStackTrace(cmd.getErr());
            return 1;
        });
        // A command-line mistake is one line naming it (picocli would print the whole usage after it), exit code 2.
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine cmd = ex.getCommandLine();
            cmd.getErr().println("error: " + ex.getMessage().strip().replaceAll("\\s*\\R\\s*", " ")
                    + " (see: " + cmd.getCommandSpec().qualifiedName(" ") + " --help)");
            return 2;
        });
        return cl.execute(args);
    }

    public static void main(String[] args) {
        int code;
        try {
            code = run(args);
        } catch (OutOfMemoryError e) {
            System.err.println("error: out of memory; raise the heap with LORI_HEAP=16g (the lori script) or -Xmx");
            code = 3;
        }
        System.exit(code);
    }
}
