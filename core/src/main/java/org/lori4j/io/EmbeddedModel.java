package org.lori4j.io;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The default model shipped inside lori4j: Karpathy's stories260K (MIT) as a Hugging Face folder. From
 * target/classes the resource folder is used directly; from a jar it is extracted once into
 * {@code ~/.cache/lori4j/models/stories260K-<content hash>/} (atomically: temp folder + rename) and reused.
 */
public final class EmbeddedModel {
    public static final String NAME = "stories260K";
    static final String RESOURCE_DIR = "org/lori4j/models/" + NAME + "/";
    static final List<String> FILES = List.of("config.json", "generation_config.json", "model.safetensors",
            "tokenizer.json", "tokenizer_config.json", "LICENSE", "NOTICE");

    private EmbeddedModel() {}

    /** The folder of the embedded model (extracting it from the jar on first use). */
    public static Path path() {
        return path(EmbeddedModel.class.getClassLoader(), defaultCacheRoot());
    }

    /**
     * The cache root: $LORI_CACHE/models if set, else $XDG_CACHE_HOME/lori4j/models, else ~/.cache/lori4j/models.
     */
    public static Path defaultCacheRoot() {
        String lori = System.getenv("LORI_CACHE");
        if (lori != null && !lori.isBlank()) return Path.of(lori, "models");
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) return Path.of(xdg, "lori4j", "models");
        return Path.of(System.getProperty("user.home"), ".cache", "lori4j", "models");
    }

    static Path path(ClassLoader loader, Path cacheRoot) {
        URL config = loader.getResource(RESOURCE_DIR + "config.json");
        if (config == null) throw new LoriException("the embedded model " + NAME + " is missing from the class path ("
                + RESOURCE_DIR + "); pass --model DIR");
        if (config.getProtocol().equals("file")) {
            try {
                return Path.of(config.toURI()).getParent();
            } catch (URISyntaxException e) {
                throw new IllegalStateException(e);
            }
        }
        // The folder is named by a hash of the files: of their names, sizes and CRC-32s as the jar's directory lists
        // them (no file is read when the folder exists), else of their contents.
        String hash = catalogHash(config);
        List<byte[]> contents = null;
        if (hash == null) {
            contents = readAll(loader);
            MessageDigest sha = sha256();
            for (int i = 0; i < FILES.size(); i++) {
                sha.update(FILES.get(i).getBytes(java.nio.charset.StandardCharsets.UTF_8));
                sha.update((byte) 0);
                sha.update(contents.get(i));
            }
            hash = HexFormat.of().formatHex(sha.digest()).substring(0, 12);
        }
        Path target = cacheRoot.resolve(NAME + "-" + hash);
        if (Files.isDirectory(target)) return target;   // only ever created complete, by a rename
        List<byte[]> files = contents != null ? contents : readAll(loader);
        try {
            OutputDir.writeNew(target, tmp -> {
                for (int i = 0; i < FILES.size(); i++) Files.write(tmp.resolve(FILES.get(i)), files.get(i));
            });
        } catch (LoriException e) {
            // another process extracted it first (only ever by a rename): its copy is complete
            if (!Files.isDirectory(target)) {
                String why = e.getCause() != null ? e.getCause().getMessage() : e.getMessage();
                throw new LoriException(cacheRoot + ": cannot extract the embedded model: " + why + " (set LORI_CACHE to a writable folder)");
            }
        }
        return target;
    }

    /** The hash of the files' names, sizes and CRC-32s in the jar that CONFIG comes from; null if not a jar. */
    private static String catalogHash(URL config) {
        try {
            if (!(config.openConnection() instanceof java.net.JarURLConnection jc)) return null;
            jc.setUseCaches(false);
            try (java.util.jar.JarFile jar = jc.getJarFile()) {
                MessageDigest sha = sha256();
                for (String f : FILES) {
                    java.util.zip.ZipEntry e = jar.getEntry(RESOURCE_DIR + f);
                    if (e == null || e.getCrc() < 0 || e.getSize() < 0) return null;
                    sha.update((f + "\0" + e.getSize() + "\0" + e.getCrc() + "\0").getBytes(java.nio.charset.StandardCharsets.UTF_8));
                }
                return "c" + HexFormat.of().formatHex(sha.digest()).substring(0, 11);
            }
        } catch (IOException e) {
            return null;
        }
    }

    private static List<byte[]> readAll(ClassLoader loader) {
        List<byte[]> contents = new ArrayList<>();
        for (String f : FILES) {
            try (InputStream in = loader.getResourceAsStream(RESOURCE_DIR + f)) {
                if (in == null) throw new LoriException("the embedded model file " + RESOURCE_DIR + f + " is missing from the jar");
                contents.add(in.readAllBytes());
            } catch (IOException e) {
                throw new LoriException("cannot read the embedded model file " + RESOURCE_DIR + f + ": " + e.getMessage());
            }
        }
        return contents;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
