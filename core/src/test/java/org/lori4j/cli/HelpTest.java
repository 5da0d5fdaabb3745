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
        var names = Main.commandLine().getSubcommands().keySet();
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
        // the command list shows each description's first line: a whole sentence, not a fragment cut at a line end
        for (var e : Main.commandLine().getSubcommands().entrySet()) {
            String[] d = e.getValue().getCommandSpec().usageMessage().description();
            assertTrue(d.length > 0, e.getKey());
            assertTrue(d[0].endsWith("."), e.getKey() + ": '" + d[0] + "'");
        }
        assertFalse(top.out().contains("\n\n  "), "a blank line inside the command list:\n" + top.out());
    }

    @Test
    void theHelpOfTheLoriCommandIsTheSameWhateverIsBuilt() {
        // lori builds only the subcommand that runs; the others are stubs with their names and descriptions
        java.io.StringWriter full = new java.io.StringWriter();
        Main.commandLine().usage(new java.io.PrintWriter(full));
        assertEquals(full.toString(), LoriCli.run("--help").out());
        assertEquals(full.toString(), LoriCli.run().out());
        assertEquals(full.toString(), LoriCli.run("help").out());
        LoriCli.Result gen = LoriCli.run("help", "generate");
        assertEquals(LoriCli.run("generate", "--help").out(), gen.out());
        assertTrue(gen.out().startsWith("Usage: lori generate"), gen.out());
        // only the lori command itself has a version to print
        assertFalse(gen.out().contains("--version"), gen.out());
        assertTrue(full.toString().contains("--version"));
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

    @Test
    void optionValuesAreCheckedEvenWhenTheyWouldNotBeUsed(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        LoriCli.Result r = LoriCli.run("generate", "--prompt", "Once", "--lora-b", "weird", "--max-new-tokens", "1");
        assertEquals(2, r.code());
        assertEquals("error: --lora-b: expected auto, dense or sparse, got 'weird'", r.err().strip());
        // an SVD merge cannot have more rank than min(out, in) of a module (PEFT fails there too)
        String fx = org.lori4j.TestPaths.fixture("adapter").toString();
        java.nio.file.Path out = tmp.resolve("m");
        LoriCli.Result m = LoriCli.run("merge", "--adapter", fx + "/lora_a", "--adapter", fx + "/lora_b", "--method", "svd",
                "--svd-rank", "100000", "--out", out.toString());
        assertEquals(2, m.code());
        assertTrue(m.err().contains("--svd-rank 100000 exceeds the rank an SVD of"), m.err());
        assertFalse(java.nio.file.Files.exists(out));
        // output and input paths of the wrong kind are named as such
        assertEquals("error: an empty output file name", LoriCli.run("logits", "--tokens", "1,2", "--out", "").err().strip());
        LoriCli.Result im = LoriCli.run("import", "llama2c", "--checkpoint", tmp.toString(), "--tokenizer", "x", "--out",
                tmp.resolve("im").toString());
        assertEquals("error: " + tmp + ": is a folder; --checkpoint names the .bin file", im.err().strip());
        // a JSON syntax error names file, line and column once, without the parser's own location text
        java.nio.file.Path bad = java.nio.file.Files.writeString(tmp.resolve("g.json"), "{\n");
        String msg = assertThrows(org.lori4j.io.LoriException.class, () -> org.lori4j.io.Json.read(bad)).getMessage();
        assertFalse(msg.contains("Source"), msg);
        assertTrue(msg.startsWith(bad + ": invalid JSON at line 2"), msg);
    }
}
