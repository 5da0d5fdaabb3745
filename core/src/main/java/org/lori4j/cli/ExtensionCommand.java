package org.lori4j.cli;

/**
 * A {@code lori} subcommand from another module (e.g. {@code serve} in lori4j-server): a picocli
 * {@code @Command} class implementing this interface and listed in
 * {@code META-INF/services/org.lori4j.cli.ExtensionCommand}. {@link Main} adds every one found on the
 * class path, so the core module never depends on the modules that extend it.
 */
public interface ExtensionCommand extends Runnable {
    /**
     * The name of the built-in command this one goes under (e.g. "bench" for {@code lori bench serve}), or null for
     * a top-level command.
     */
    default String parent() { return null; }
}
