package org.lori4j.adapter;

import java.nio.file.Path;

/**
 * Forwards to {@link org.lori4j.io.OutputDir}, where the all-or-nothing folder writer now lives; kept only until
 * {@code quickstart.Quickstart} imports the io one.
 */
@Deprecated(forRemoval = true)
public final class OutputDir {
    private OutputDir() {}

    /** As {@link org.lori4j.io.OutputDir#write}. */
    public static void write(Path target, org.lori4j.io.OutputDir.Body body) { org.lori4j.io.OutputDir.write(target, body); }
}
