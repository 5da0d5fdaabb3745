package org.lori4j.server;

import org.junit.jupiter.api.Test;
import org.lori4j.LoriCli;
import org.lori4j.io.EmbeddedModel;

import static org.junit.jupiter.api.Assertions.*;

/** The commands as the lori CLI runs them (found through the ExtensionCommand SPI). */
class CommandsTest {
    @Test
    void benchServeRunsItsScenariosAndAccountsForEveryRequest() {
        LoriCli.Result r = LoriCli.run("bench", "serve", "--model", EmbeddedModel.path().toString(), "--runs", "1", "--clients", "2",
                "--requests", "1", "--tokens", "4", "--max-batch", "2", "--max-queue", "1", "--overload-clients", "6");
        assertEquals(0, r.code(), r.err());
        String out = r.out();
        for (String s : new String[]{"1 client, base", "2 clients, base", "2 clients, 4 LoRI-S adapters", "2 clients vs 1, tokens/s:",
                "four LoRI-S adapters vs base, tokens/s:", "overload: 6 sent", "failed or lost requests: 0"})
            assertTrue(out.contains(s), s + " in\n" + out);
        // 2 slots and 1 queue place for 6 clients at once: some are refused, none fails or goes missing
        assertTrue(out.matches("(?s).*overload: 6 sent, [1-5] answered, [1-5] refused with 429, 0 failed, 0 lost.*"), out);
    }

    @Test
    void serveRefusesBadOptionsWithOneLine() {
        LoriCli.Result r = LoriCli.run("serve", "--adapter", "no-equals-sign");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("error: --adapter: expected NAME=DIR[:W]"), r.err());
        r = LoriCli.run("serve", "--max-batch", "0");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--max-batch must be at least 1"), r.err());
        r = LoriCli.run("bench");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("decode, prefill, train, generate or serve"), r.err());
    }
}
