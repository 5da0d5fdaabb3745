package org.lori4j.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * What a path given as {@code --model} is, when it is not a Hugging Face model folder: one diagnosis, in one place,
 * that names what was found and what to do (a missing path, a hub id, a GGUF file, a llama2.c checkpoint, an adapter
 * folder, a weights file, PyTorch-only weights), instead of the first missing file a loader would trip over.
 */
public final class ModelFolder {
    private ModelFolder() {}

    /** Hub ids: "org/name" as huggingface.co spells them. */
    private static final java.util.regex.Pattern HUB_ID = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*");

    /** DIR itself when it holds a config.json; otherwise a LoriException saying what DIR is and what to do instead. */
    public static Path check(Path dir) {
        problem(dir).ifPresent(m -> {
            throw new LoriException(m);
        });
        return dir;
    }

    /** Why DIR cannot be loaded as a model folder, or empty when it holds a config.json. */
    public static Optional<String> problem(Path dir) {
        String name = dir.getFileName() == null ? dir.toString() : dir.getFileName().toString();
        if (!Files.exists(dir)) {
            if (HUB_ID.matcher(dir.toString()).matches())
                return Optional.of(dir + ": not found; it looks like a Hugging Face hub id, and lori4j does not download models: "
                        + "download the folder first (e.g. huggingface-cli download " + dir + " --local-dir models/" + name
                        + ") and pass that folder");
            return Optional.of(dir + ": not found");
        }
        if (Files.isRegularFile(dir)) {
            String lower = name.toLowerCase(java.util.Locale.ROOT);
            if (lower.endsWith(".gguf")) return Optional.of(gguf(dir));
            if (Llama2cImporter.isCheckpoint(dir)) return Optional.of(llama2c(dir, dir, tokenizerBeside(dir.toAbsolutePath().getParent())));
            if (lower.endsWith(".safetensors") || name.equals("config.json"))
                return Optional.of(dir + ": is a file; --model takes the folder that holds it (with config.json): "
                        + dir.toAbsolutePath().getParent());
            return Optional.of(dir + ": is a file; --model takes a Hugging Face model folder (config.json, *.safetensors, tokenizer.json)");
        }
        if (Files.isRegularFile(dir.resolve("config.json"))) return Optional.empty();
        if (Files.isRegularFile(dir.resolve("adapter_config.json"))) {
            String base = "";
            try {
                String b = Json.read(dir.resolve("adapter_config.json")).path("base_model_name_or_path").asText("");
                if (!b.isEmpty()) base = " (it was trained on " + b + ")";
            } catch (LoriException ignored) {
                // an unreadable config is reported when the adapter is loaded
            }
            return Optional.of(dir + ": an adapter folder (adapter_config.json), not a model: pass it as --adapter " + dir
                    + " and its base model as --model" + base);
        }
        List<Path> files = list(dir);
        for (Path f : files)
            if (f.getFileName().toString().endsWith(".bin") && Llama2cImporter.isCheckpoint(f)) return Optional.of(llama2c(dir, f, tokenizerBeside(dir)));
        for (Path f : files) if (f.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".gguf")) return Optional.of(gguf(f));
        for (Path f : files) {
            String n = f.getFileName().toString();
            if (n.equals("pytorch_model.bin") || n.startsWith("pytorch_model-") || n.endsWith(".pt") || n.endsWith(".pth"))
                return Optional.of(dir + ": holds PyTorch weights (" + n + ") and no config.json/safetensors; lori4j reads Hugging Face "
                        + "folders with safetensors weights (transformers: model.save_pretrained(DIR, safe_serialization=True))");
        }
        return Optional.of(dir + ": no config.json, so not a Hugging Face model folder (expected config.json, *.safetensors, tokenizer.json)");
    }

    /** The message for a GGUF file (changes when GGUF loading exists). */
    static String gguf(Path file) {
        return file + ": a GGUF file; GGUF: not supported yet; pass a Hugging Face model folder (config.json, *.safetensors)";
    }

    private static String llama2c(Path given, Path checkpoint, Path tokenizer) {
        return given + ": " + (given.equals(checkpoint) ? "a llama2.c checkpoint" : "a llama2.c checkpoint folder (" + checkpoint.getFileName() + ")")
                + "; convert it first: lori import llama2c --checkpoint " + checkpoint + " --tokenizer "
                + (tokenizer != null ? tokenizer : "TOKENIZER.bin") + " --out DIR, then pass --model DIR";
    }

    /** A llama2.c tokenizer file in DIR (tokenizer.bin, tok*.bin or *.model), or null. */
    private static Path tokenizerBeside(Path dir) {
        if (dir == null) return null;
        for (Path f : list(dir)) {
            String n = f.getFileName().toString();
            if (n.equals("tokenizer.bin") || (n.startsWith("tok") && n.endsWith(".bin")) || n.endsWith(".model")) return f;
        }
        return null;
    }

    private static List<Path> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
