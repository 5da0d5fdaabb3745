package org.lori4j.cli;

import org.junit.jupiter.api.Test;
import org.lori4j.LoriCli;
import picocli.CommandLine;

import static org.junit.jupiter.api.Assertions.*;

/** Every command's {@code --help} renders: exit 0, usage on stdout, and nothing on stderr (picocli reports an
 *  unescaped {@code %} in a description there, once per rendering, as "[picocli WARN] Could not format"). */
class HelpTest {
    @Test
    void everyCommandsHelpRendersWithoutWarnings() {
        var names = new CommandLine(new Main()).getSubcommands().keySet();
        assertTrue(names.size() >= 15, names.toString());
        for (String name : names) {
            if (name.equals("help")) continue;
            LoriCli.Result r = LoriCli.run(name, "--help");
            assertEquals(0, r.code(), name + ": " + r.err());
            assertTrue(r.out().startsWith("Usage: lori " + name), name + ": " + r.out());
            assertEquals("", r.err(), name);
        }
        LoriCli.Result top = LoriCli.run("--help");
        assertEquals(0, top.code());
        assertEquals("", top.err());
    }
}
