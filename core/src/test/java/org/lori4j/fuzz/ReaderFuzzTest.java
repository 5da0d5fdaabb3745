package org.lori4j.fuzz;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.lori4j.io.LoriException;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A seeded mutation fuzzer over every reader of {@link FuzzReaders}: each case mutates a valid seed (bit flips,
 * interesting integers at random offsets, cut, duplicated and inserted ranges; for text formats also huge numbers,
 * deep nesting, long strings, risky regular expressions and JSON beyond Jackson's limits) and reads it. A case
 * passes when the read succeeds or fails with a {@link LoriException} of one line, within {@link #CASE_SECONDS}
 * and {@link #CASE_HEAP_BYTES} of heap allocated by the reading thread; anything else (another exception, a hang, an Error) fails the
 * test, naming the seed and case and saving the input under target/fuzz-failures/ to reproduce it.
 * Cases per reader: {@code -Dlori.fuzz.cases=N} (default {@link #DEFAULT_CASES}); seed: {@code -Dlori.fuzz.seed=S}.
 */
class ReaderFuzzTest {
    static final int DEFAULT_CASES = 60;
    static final long CASE_SECONDS = 20;
    /** Heap allocated by one read (churn included): catches the multi-gigabyte allocations of a blow-up. */
    static final long CASE_HEAP_BYTES = 4L << 30;

    @TestFactory
    List<DynamicTest> everyReaderFailsInOneLineOrSucceeds() {
        int cases = Integer.getInteger("lori.fuzz.cases", DEFAULT_CASES);
        long seed = Long.getLong("lori.fuzz.seed", 19L);
        List<DynamicTest> tests = new ArrayList<>();
        for (FuzzReaders.Reader r : FuzzReaders.all())
            tests.add(DynamicTest.dynamicTest(r.name() + " (" + cases + " cases)", () -> fuzz(r, cases, seed)));
        return tests;
    }

    private static void fuzz(FuzzReaders.Reader r, int cases, long seed) throws Exception {
        Random rnd = new Random(seed ^ r.name().hashCode());
        Path dir = Files.createTempDirectory("lori-fuzz-");
        ExecutorService one = Executors.newSingleThreadExecutor(t -> {
            Thread th = new Thread(t, "fuzz-" + r.name());
            th.setDaemon(true);
            return th;
        });
        try {
            // the seeds themselves read without error (else the mutations would exercise only error paths)
            for (byte[] seedBytes : r.seeds()) {
                org.lori4j.io.OutputDir.deleteTree(dir);
                Files.createDirectories(dir);
                for (Map.Entry<String, byte[]> e : r.companions().entrySet()) Files.write(dir.resolve(e.getKey()), e.getValue());
                Files.write(dir.resolve(r.file()), seedBytes);
                r.read().read(dir, dir.resolve(r.file()));
            }
            List<byte[]> fixed = r.text() ? beyondJacksonLimits() : List.of();
            for (int c = 0; c < cases + fixed.size(); c++) {
                byte[] input = c < fixed.size() ? fixed.get(c)
                        : mutate(r.seeds().get(rnd.nextInt(r.seeds().size())), rnd, r.text());
                runCase(r, dir, input, one, seed, c);
            }
        } finally {
            one.shutdownNow();
            org.lori4j.io.OutputDir.deleteTree(dir);
        }
    }

    private static void runCase(FuzzReaders.Reader r, Path dir, byte[] input, ExecutorService one, long seed, int c) throws Exception {
        org.lori4j.io.OutputDir.deleteTree(dir);
        Files.createDirectories(dir);
        for (Map.Entry<String, byte[]> e : r.companions().entrySet()) Files.write(dir.resolve(e.getKey()), e.getValue());
        Path file = dir.resolve(r.file());
        Files.write(file, input);
        Future<String> f = one.submit(() -> {
            var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            long id = Thread.currentThread().threadId(), before = mx.getThreadAllocatedBytes(id);
            String problem = null;
            try {
                r.read().read(dir, file);
            } catch (LoriException e) {
                String m = e.getMessage();
                if (m == null || m.isBlank() || m.contains("\n") || m.length() > 2000)
                    problem = "LoriException not one line: " + (m == null ? null : m.substring(0, Math.min(500, m.length())));
            } catch (Throwable t) {
                java.io.StringWriter w = new java.io.StringWriter();
                t.printStackTrace(new java.io.PrintWriter(w));
                problem = "not a LoriException: " + w.toString().lines().limit(12).reduce((a, b) -> a + "\n" + b).orElse("");
            }
            long used = mx.getThreadAllocatedBytes(id) - before;
            if (problem == null && used > CASE_HEAP_BYTES) problem = "allocated " + (used >> 20) + " MiB of heap";
            return problem;
        });
        String problem;
        try {
            problem = f.get(CASE_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            problem = "took longer than " + CASE_SECONDS + " s";
        }
        if (problem != null) {
            Path saved = Path.of("target", "fuzz-failures", r.file() + "-seed" + seed + "-case" + c);
            Files.createDirectories(saved.getParent());
            Files.write(saved, input);
            fail(r.name() + ", seed " + seed + ", case " + c + " (input saved as " + saved.toAbsolutePath() + "): " + problem);
        }
    }

    // ------------------------------------------------------------------ mutations

    private static final long[] INTERESTING = {0, 1, -1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, Integer.MAX_VALUE, Integer.MIN_VALUE,
            0xffffffffL, 1L << 32, 1L << 40, 1L << 61, 1L << 62, Long.MAX_VALUE, Long.MIN_VALUE, 100_000_001};
    private static final String[] NUMBERS = {"0", "-1", "1e9", "1000000000", "2147483647", "2147483648", "-2147483649",
            "9223372036854775808", "99999999999999999999999", "1e400", "-0", "0.5", "NaN", "Infinity", "\"12\"", "null", "[]"};
    private static final String[] STRINGS = {"", "(a+)+$", "((((.*)*)*)*)*x", "(?P<a>q)(?P=a)", "\\\\", "{{ 'a'.repeat(9) }}",
            "{% if %}", "\u0000", "\uFFFD", "layers.00", "model.layers.2147483648.self_attn.q_proj", "../../etc/passwd",
            "{{ raise_exception('x\\ny') }}", "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"};

    static byte[] mutate(byte[] seed, Random rnd, boolean text) {
        byte[] b = seed.clone();
        int n = 1 + rnd.nextInt(4);
        for (int k = 0; k < n; k++) {
            int op = rnd.nextInt(text ? 10 : 7);
            if (b.length == 0) b = new byte[]{'{'};
            int at = rnd.nextInt(b.length);
            switch (op) {
                case 0 -> b[at] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> b[at] = (byte) INTERESTING[rnd.nextInt(INTERESTING.length)];
                case 2 -> {   // a little-endian integer (lengths, offsets, sizes of binary formats)
                    long v = INTERESTING[rnd.nextInt(INTERESTING.length)];
                    int width = rnd.nextBoolean() ? 8 : 4;
                    for (int i = 0; i < width && at + i < b.length; i++) b[at + i] = (byte) (v >>> (8 * i));
                }
                case 3 -> b = Arrays.copyOf(b, at);   // cut
                case 4 -> {   // delete a range
                    int len = Math.min(b.length - at, 1 + rnd.nextInt(64));
                    byte[] o = new byte[b.length - len];
                    System.arraycopy(b, 0, o, 0, at);
                    System.arraycopy(b, at + len, o, at, b.length - at - len);
                    b = o;
                }
                case 5 -> {   // duplicate a range
                    int from = rnd.nextInt(b.length);
                    b = splice(b, at, Arrays.copyOfRange(b, from, Math.min(b.length, from + 1 + rnd.nextInt(256))));
                }
                case 6 -> {
                    byte[] r = new byte[1 + rnd.nextInt(16)];
                    rnd.nextBytes(r);
                    b = splice(b, at, r);
                }
                case 7 -> b = replaceToken(b, rnd, true);
                case 8 -> b = replaceToken(b, rnd, false);
                default -> {   // nesting at a random place
                    int depth = 1 + rnd.nextInt(rnd.nextBoolean() ? 50 : 5000);
                    String open = rnd.nextBoolean() ? "[" : "{\"k\":";
                    b = splice(b, at, (open.repeat(depth) + "1" + (open.equals("[") ? "]" : "}").repeat(depth)).getBytes(StandardCharsets.UTF_8));
                }
            }
        }
        return b;
    }

    private static byte[] splice(byte[] b, int at, byte[] insert) {
        byte[] o = new byte[b.length + insert.length];
        System.arraycopy(b, 0, o, 0, at);
        System.arraycopy(insert, 0, o, at, insert.length);
        System.arraycopy(b, at, o, at + insert.length, b.length - at);
        return o;
    }

    /** Replaces a number (NUMBER) or a string literal's content in a text format with an interesting one. */
    private static byte[] replaceToken(byte[] b, Random rnd, boolean number) {
        String s = new String(b, StandardCharsets.UTF_8);
        java.util.regex.Matcher m = (number ? java.util.regex.Pattern.compile("-?\\d+(\\.\\d+)?([eE][-+]?\\d+)?")
                : java.util.regex.Pattern.compile("\"((?:[^\"\\\\]|\\\\.){0,200})\"")).matcher(s);
        List<int[]> spans = new ArrayList<>();
        while (m.find() && spans.size() < 10_000) spans.add(number ? new int[]{m.start(), m.end()} : new int[]{m.start(1), m.end(1)});
        if (spans.isEmpty()) return b;
        int[] sp = spans.get(rnd.nextInt(spans.size()));
        String with = number ? NUMBERS[rnd.nextInt(NUMBERS.length)]
                : rnd.nextInt(8) == 0 ? "x".repeat(1 + rnd.nextInt(1 << 20)) : STRINGS[rnd.nextInt(STRINGS.length)].replace("\"", "\\\"");
        return (s.substring(0, sp[0]) + with + s.substring(sp[1])).getBytes(StandardCharsets.UTF_8);
    }

    /** JSON beyond Jackson's default limits: 100k-deep nesting, a 21M-character string, a 2000-digit number. */
    static List<byte[]> beyondJacksonLimits() {
        return List.of(("[".repeat(100_000) + "]".repeat(100_000)).getBytes(StandardCharsets.US_ASCII),
                ("{\"model_type\": \"" + "a".repeat(21_000_000) + "\"}").getBytes(StandardCharsets.US_ASCII),
                ("{\"r\": " + "9".repeat(2000) + "}").getBytes(StandardCharsets.US_ASCII));
    }
}
