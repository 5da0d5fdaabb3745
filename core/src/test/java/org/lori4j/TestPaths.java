package org.lori4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Locations of test inputs. Everything a test needs is inside the repository: {@link #realdata} (real models,
 * tokenizers and task-data subsets copied from the project's shared folder, with their licences) and
 * {@link #fixture} (files made by the scripts under src/test/python). The shared folder beside the checkout
 * ({@code ../shared}, or LORI_SHARED) is optional: {@link #shared} gives it only for extra checks on full data.
 */
public final class TestPaths {
    private TestPaths() {}

    /** The core module's folder, whichever module's tests run. */
    private static Path core() {
        Path here = Path.of("").toAbsolutePath();
        return Files.isDirectory(here.resolve("src/test/resources/realdata")) ? here : here.getParent().resolve("core");
    }

    /**
     * core/src/test/resources/realdata/REL: stories260K, babyllama-tok105, llama3-tokenizer, llama2-tokenizer,
     * mistral-tokenizer (as in ../shared/realdata) and lori-tasks (subsets of ../shared/data/lori-tasks).
     */
    public static Path realdata(String rel) {
        Path p = core().resolve("src/test/resources/realdata").resolve(rel);
        if (!Files.exists(p)) throw new IllegalStateException("test data missing: " + p);
        return p;
    }

    /** The project's shared folder with the full data sets, when it exists (extra checks only; never required). */
    public static Optional<Path> shared() {
        String env = System.getenv("LORI_SHARED");
        Path p = env != null && !env.isEmpty() ? Path.of(env) : core().resolve("../../shared");
        return Files.isDirectory(p) ? Optional.of(p.toAbsolutePath().normalize()) : Optional.empty();
    }

    /** core/src/test/resources/fixtures/NAME */
    public static Path fixture(String name) {
        return core().resolve("src/test/resources/fixtures").resolve(name);
    }
}
