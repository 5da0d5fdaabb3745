package org.lori4j.cli;

import org.lori4j.io.LoriException;
import org.lori4j.text.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

/** {@code lori tokenize}: text to token ids (one line, space-separated) or ids back to text, with a model's tokenizer. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Print the token ids of a text (one line, space-separated), or the text of ids.",
                "Only tokenizer.json (or a SentencePiece tokenizer.model) is needed in the model folder."})
public final class TokenizeCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--text", paramLabel = "TEXT", description = "text to encode")
        String text;

        @Option(names = "--file", paramLabel = "FILE", description = "UTF-8 file to encode as is ('-' for stdin)")
        Path file;

        @Option(names = "--decode", paramLabel = "IDS", split = ",", description = "comma-separated ids to decode")
        int[] decode;
    }

    @Option(names = "--special", description = "add the special tokens the tokenizer adds (e.g. BOS) when encoding")
    boolean special;

    @Option(names = "--skip-special", description = "drop special tokens when decoding")
    boolean skipSpecial;

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        try (Tokenizer tok = Tokenizer.load(model.resolveTokenizer())) {
            if (input.decode != null) {
                out.print(tok.decode(input.decode, skipSpecial));
                out.println();
            } else {
                String text = input.text != null ? input.text : readText(input.file);
                int[] ids = tok.encode(text, special);
                out.println(Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(" ")));
            }
            out.flush();
        }
    }

    static String readText(Path file) {
        try {
            if (file.toString().equals("-")) return new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new LoriException(file + ": file not found");
        } catch (java.nio.charset.MalformedInputException e) {
            throw new LoriException(file + ": not valid UTF-8");
        } catch (IOException e) {
            throw new LoriException(file + ": cannot read: " + LoriException.reason(e));
        }
    }
}
