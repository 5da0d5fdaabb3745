package org.lori4j.spark;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.LoriCli;
import org.lori4j.TestPaths;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code --cluster local[2]}: the Spark code path (barrier stages, allGather, shards) in this JVM. */
class LocalModeTest {
    static final String DATA = TestPaths.realdata("lori-tasks/boolq/train.json").toString();

    static String[] train(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--out", out.toString(), "--data", DATA, "--max-length", "96",
                "--max-prompt-length", "64", "--batch-size", "8", "--micro-batch-size", "2", "--steps", "3", "--lr", "1e-3"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void loriDOnLocal1AndLocal2EqualsOneProcess(@TempDir Path tmp) throws Exception {
        Path one = tmp.resolve("one");
        LoriCli.Result r1 = LoriCli.run(train(one));
        assertEquals(0, r1.code(), r1.err());
        for (String master : new String[]{"local[1]", "local[2]"}) {
            Path two = tmp.resolve(master);
            LoriCli.Result r2 = LoriCli.run(train(two, "--cluster", master));
            assertEquals(0, r2.code(), r2.err() + r2.out());
            assertArrayEquals(Files.readAllBytes(one.resolve("adapter_model.safetensors")), Files.readAllBytes(two.resolve("adapter_model.safetensors")), master);
            assertArrayEquals(Files.readAllBytes(one.resolve("training_state/state.safetensors")),
                    Files.readAllBytes(two.resolve("training_state/state.safetensors")), master);
        }
    }

    @Test
    void jvmOptionsAreThoseOfSparksLauncher() throws Exception {
        // target/spark/jvm.options (for the JVM ./lori starts) and the tests' argLine follow Spark's own list
        List<String> file = Files.readAllLines(Path.of("src/main/dist/jvm.options")).stream().filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
        assertEquals(List.of(org.apache.spark.launcher.JavaModuleOptions.defaultModuleOptionArray()), file);
    }
}
