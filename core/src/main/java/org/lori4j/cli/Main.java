package org.lori4j.cli;

import org.lori4j.io.LoriException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.function.Supplier;

/** The {@code lori} command: one subcommand per capability. */
@Command(name = "lori", mixinStandardHelpOptions = true, version = "lori4j 0.1.0",
        description = "LoRI adapters for Llama-family models on the JVM.")
public final class Main implements Runnable {
    /** The subcommands, in the order of the help's list (then those of other modules: {@link ExtensionCommand}). */
    static final List<Supplier<Object>> COMMANDS = List.of(
            CommandLine.HelpCommand::new,
            TokenizeCommand::new,
            TemplateCommand::new,
            ImportCommand::new,
            InfoCommand::new,
            MasksCommand::new,
            MergeCommand::new,
            ExportCommand::new,
            GenerateCommand::new,
            LogitsCommand::new,
            BenchCommand::new,
            EvalCommand::new,
            TrainCommand::new,
            PipelineCommand::new,
            QuickstartCommand::new);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() { spec.commandLine().usage(System.out); }

    /** The whole command tree. */
    public static CommandLine commandLine() { return commandLine(null); }

    /**
     * The command tree for ARGS (null: the whole tree). picocli reflects over every option of every command it holds,
     * which costs start-up time, so only the subcommand that will run is built in full (for {@code help NAME}: NAME);
     * the others are stubs with their names and descriptions, which is all the command list, the help and the
     * suggestions for a mistyped name need.
     */
    static CommandLine commandLine(String[] args) {
        List<Object> commands = new ArrayList<>();
        List<ExtensionCommand> nested = new ArrayList<>();   // extensions that go under a built-in command
        for (Supplier<Object> s : COMMANDS) commands.add(s.get());
        for (ExtensionCommand c : ServiceLoader.load(ExtensionCommand.class)) {
            if (c.parent() == null) commands.add(c);
            else nested.add(c);
        }
        String first = args != null && args.length > 0 ? args[0] : null;
        String runs = "help".equals(first) && args.length > 1 ? args[1] : first;
        CommandLine cl = new CommandLine(new Main());
        for (Object c : commands) {
            String name = name(c);
            boolean full = args == null || name.equals(runs) || name.equals("help");
            CommandLine sub = full ? new CommandLine(c) : stub(c);
            cl.addSubcommand(name, sub);
            if (!full) continue;
            for (ExtensionCommand e : nested) if (name.equals(e.parent())) sub.addSubcommand(name(e), new CommandLine(e));
        }
        for (ExtensionCommand e : nested)
            if (!cl.getSubcommands().containsKey(e.parent()))
                throw new IllegalStateException(e.getClass().getName() + ": no command '" + e.parent() + "' to go under");
        // -V/--version is the lori command's; a subcommand has nothing else to say with it
        for (CommandLine sub : cl.getSubcommands().values()) withoutVersionOption(sub);
        return cl;
    }

    /** A command's name, aliases and description only. */
    private static CommandLine stub(Object command) {
        Command a = command.getClass().getAnnotation(Command.class);
        CommandLine.Model.CommandSpec spec = CommandLine.Model.CommandSpec.create().name(a.name()).aliases(a.aliases());
        spec.usageMessage().description(a.description()).hidden(a.hidden());
        return new CommandLine(spec);
    }

    private static String name(Object command) {
        Command c = command.getClass().getAnnotation(Command.class);
        return c != null ? c.name() : "";
    }

    private static void withoutVersionOption(CommandLine cl) {
        CommandLine.Model.OptionSpec v = cl.getCommandSpec().findOption("--version");
        if (v != null && v.versionHelp()) cl.getCommandSpec().remove(v);
        for (CommandLine sub : cl.getSubcommands().values()) withoutVersionOption(sub);
    }

    /** Runs the CLI and returns the exit code (used by tests). */
    public static int run(String... args) {
        CommandLine cl = commandLine(args);
        // UTF-8 whatever the locale: decoded text and prompts must come out byte-exact
        cl.setOut(new java.io.PrintWriter(new java.io.OutputStreamWriter(System.out, java.nio.charset.StandardCharsets.UTF_8), true));
        cl.setExecutionExceptionHandler((ex, cmd, parse) -> {
            Throwable t = ex;
            while (t != null && !(t instanceof LoriException) && t.getCause() != null && t != t.getCause()) t = t.getCause();
            if (t instanceof LoriException le) {
                cmd.getErr().println("error: " + withoutErrorPrefix(le.getMessage()));
                return 2;
            }
            cmd.getErr().println("error: internal error: " + ex);
            if (System.getenv("LORI_DEBUG") != null) ex.printStackTrace(cmd.getErr());
            return 1;
        });
        // A command-line mistake is one line naming it (picocli would print the whole usage after it), exit code 2;
        // a mistyped option or command name gets the nearest known one.
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine cmd = ex.getCommandLine();
            String hint = "";
            if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty())
                hint = "; did you mean " + u.getSuggestions().getFirst() + "?";
            cmd.getErr().println("error: " + withoutErrorPrefix(ex.getMessage().strip().replaceAll("\\s*\\R\\s*", " ")) + hint
                    + " (see: " + cmd.getCommandSpec().qualifiedName(" ") + " --help)");
            return 2;
        });
        return cl.execute(args);
    }

    /** MESSAGE without a leading "Error: " of its own (picocli starts some messages so), as lori prints "error: " first. */
    static String withoutErrorPrefix(String message) {
        return message == null ? "" : message.replaceFirst("^(?i)error:\\s*", "");
    }

    /**
     * When the command was launched, in epoch milliseconds: the {@code lori} script's start (-Dlori.launched, its
     * $EPOCHREALTIME), else the JVM's.
     */
    public static long launchedMillis() {
        String s = System.getProperty("lori.launched");
        if (s != null) {
            try {
                return Math.round(Double.parseDouble(s.replace(',', '.')) * 1000);
            } catch (NumberFormatException ignored) {
                // fall through to the JVM's start
            }
        }
        return java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();
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
