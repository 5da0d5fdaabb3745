package org.lori4j;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locations of test inputs: the read-only ../shared folder (LORI_SHARED overrides) and committed fixtures. */
public final class TestPaths {
    private TestPaths() {}

    /** The project's ../shared folder with real models, tokenizers and task data. */
    public static Path shared() {
        String env = System.getenv("LORI_SHARED");
        Path p = env != null ? Path.of(env) : Path.of("..", "shared");
        if (!Files.isDirectory(p)) throw new IllegalStateException("shared folder not found at " + p.toAbsolutePath());
        return p.toAbsolutePath().normalize();
    }

    /** src/test/resources/fixtures/NAME */
    public static Path fixture(String name) {
        return Path.of("src", "test", "resources", "fixtures", name).toAbsolutePath();
    }
}
