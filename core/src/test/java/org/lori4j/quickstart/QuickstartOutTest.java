package org.lori4j.quickstart;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.LoriCli;
import org.lori4j.io.LoriException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** quickstart --out is all-or-nothing: a folder of the user's is refused before any work, never mixed into. */
class QuickstartOutTest {
    private static final String EARLIER = "{\"single_task\":{},\"merging\":{},\"continual\":{}}";

    @Test
    void onlyNewEmptyOrEarlierQuickstartFoldersAreAccepted(@TempDir Path tmp) throws Exception {
        assertDoesNotThrow(() -> Quickstart.checkOut(tmp.resolve("new")));
        assertDoesNotThrow(() -> Quickstart.checkOut(Files.createDirectory(tmp.resolve("empty"))));
        Path earlier = Files.createDirectory(tmp.resolve("earlier"));
        Files.writeString(earlier.resolve("results.json"), EARLIER);
        Files.createDirectory(earlier.resolve("plots"));
        Files.writeString(earlier.resolve("predictions.jsonl"), "");
        assertDoesNotThrow(() -> Quickstart.checkOut(earlier));

        Path mine = Files.createDirectory(tmp.resolve("mine"));
        Files.writeString(mine.resolve("results.md"), "my notes");
        Files.writeString(mine.resolve("plots"), "a file where the quickstart puts a folder");
        LoriException e = assertThrows(LoriException.class, () -> Quickstart.checkOut(mine));
        assertTrue(e.getMessage().contains("not an earlier quickstart output"), e.getMessage());
        Files.writeString(earlier.resolve("thesis.tex"), "precious");
        e = assertThrows(LoriException.class, () -> Quickstart.checkOut(earlier));
        assertTrue(e.getMessage().contains("'thesis.tex'"), e.getMessage());
        assertEquals("my notes", Files.readString(mine.resolve("results.md")));
    }

    @Test
    void theCommandRefusesRootAndForeignFoldersInOneLineBeforeAnyWork(@TempDir Path tmp) throws Exception {
        LoriCli.Result root = LoriCli.run("quickstart", "--out", "/");
        assertEquals(2, root.code());
        assertTrue(root.err().strip().lines().count() == 1 && root.err().contains("file system root"), root.err());
        Path mine = Files.createDirectory(tmp.resolve("mine"));
        Files.writeString(mine.resolve("notes.txt"), "mine");
        LoriCli.Result r = LoriCli.run("quickstart", "--out", mine.toString());
        assertEquals(2, r.code(), r.err());
        assertEquals(List.of("notes.txt"), Files.list(mine).map(p -> p.getFileName().toString()).toList());
        assertFalse(Files.list(tmp).anyMatch(p -> p.getFileName().toString().startsWith(".")));
    }
}
