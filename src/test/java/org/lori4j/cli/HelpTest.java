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

    @Test
    void aCommandLineMistakeIsOneLineNamingItWithExitCode2() {
        for (String[] args : new String[][]{{"tokenize", "--decode", "abc"}, {"export", "--out", "x"}, {"bogus"},
                {"generate", "--chat", "hi", "--prompt", "x"}, {"info", "--model", "a", "--model", "b"}}) {
            LoriCli.Result r = LoriCli.run(args);
            assertEquals(2, r.code(), String.join(" ", args));
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().startsWith("error: ") && r.err().contains("--help)"), r.err());
            assertEquals("", r.out());
        }
    }
}
