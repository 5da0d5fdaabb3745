package org.lori4j;

import org.junit.jupiter.api.Test;
import org.lori4j.adapter.ActiveAdapters;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.generate.Generator;
import org.lori4j.generate.SamplingParams;
import org.lori4j.io.EmbeddedModel;
import org.lori4j.model.LlamaModel;
import org.lori4j.text.Tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README and docs/ stay true: the Java example is this code and prints what the CLI prints; every link resolves. */
class ReadmeTest {
    static Path root() {
        Path here = Path.of("").toAbsolutePath();
        return Files.exists(here.resolve("README.md")) ? here : here.getParent();
    }

    static String read(Path p) throws IOException { return Files.readString(p, StandardCharsets.UTF_8); }

    @Test
    void javaExampleIsThisCodeAndPrintsWhatGeneratePrints() throws Exception {
        String readme = read(root().resolve("README.md"));
        int section = readme.indexOf("## Using lori4j from Java");
        assertTrue(section >= 0, "README has no 'Using lori4j from Java' section");
        int start = readme.indexOf("```java\n", section) + "```java\n".length();
        String block = readme.substring(start, readme.indexOf("```", start));
        String source = read(root().resolve("core/src/test/java/org/lori4j/ReadmeTest.java"));
        for (String line : block.split("\n"))
            if (!line.isBlank()) assertTrue(source.contains(line.strip()), "README's Java line is not in ReadmeTest: " + line);

        java.io.PrintStream stdout = System.out;
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(printed, true, StandardCharsets.UTF_8));
        try {
        // --- the README's example ---
        Path dir = EmbeddedModel.path();                 // or a Hugging Face model folder
        try (Tokenizer tok = Tokenizer.load(dir); LlamaModel model = LlamaModel.load(dir)) {
            // optional: apply a PEFT/LoRI adapter unmerged, with weight 1
            // new ActiveAdapters(model, ActiveAdapters.Mode.AUTO).add(LoraAdapter.load(Path.of("runs/nlu-s")), 1.0);
            if (false) new ActiveAdapters(model, ActiveAdapters.Mode.AUTO).add(LoraAdapter.load(Path.of("runs/nlu-s")), 1.0);  // compiles
            int[] prompt = tok.encode("Once upon a time", true);
            SamplingParams greedy = SamplingParams.greedy(40, tok.eosIds());
            new Generator(model).generate(prompt, greedy, tok, System.out::print);
        }
        // ---
        } finally {
            System.setOut(stdout);
        }
        LoriCli.Result cli = LoriCli.run("generate", "--prompt", "Once upon a time", "--max-new-tokens", "40", "--no-echo");
        assertEquals(0, cli.code(), cli.err());
        assertEquals(cli.out().strip(), printed.toString(StandardCharsets.UTF_8).strip());
    }

    private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");

    @Test
    void everyRelativeLinkAndAnchorResolves() throws IOException {
        List<Path> pages = new ArrayList<>(List.of(root().resolve("README.md")));
        try (Stream<Path> s = Files.list(root().resolve("docs"))) {
            s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
        }
        for (Path page : pages) {
            Matcher m = LINK.matcher(read(page));
            while (m.find()) {
                String target = m.group(1);
                if (target.matches("[a-z]+:.*")) continue;   // https:, mailto:
                int hash = target.indexOf('#');
                String file = hash < 0 ? target : target.substring(0, hash);
                Path p = file.isEmpty() ? page : page.getParent().resolve(file).normalize();
                assertTrue(Files.exists(p), page.getFileName() + ": link to a missing file: " + target);
                if (hash >= 0 && p.toString().endsWith(".md"))
                    assertTrue(anchors(read(p)).contains(target.substring(hash + 1)),
                            page.getFileName() + ": link to a missing heading: " + target + " (headings: " + anchors(read(p)) + ")");
            }
        }
    }

    /** GitHub's heading anchors: lower case, punctuation other than '-' and '_' dropped, spaces to '-'. */
    static Set<String> anchors(String markdown) {
        Set<String> out = new HashSet<>();
        boolean fence = false;
        for (String line : markdown.split("\n")) {
            if (line.startsWith("```")) fence = !fence;
            if (fence || !line.startsWith("#")) continue;
            String h = line.replaceFirst("^#+\\s*", "").strip().toLowerCase(Locale.ROOT);
            out.add(h.replaceAll("[^\\p{L}\\p{N} _-]", "").replace(' ', '-'));
        }
        return out;
    }
}
