package org.lori4j.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.TestPaths;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

import static org.junit.jupiter.api.Assertions.*;

class EmbeddedModelTest {
    @TempDir
    Path tmp;

    @Test
    void shippedFolderIsAFreshImportOfStories260K() throws Exception {
        Path dir = EmbeddedModel.path();
        LlamaConfig c = LlamaConfig.load(dir);
        assertEquals(64, c.hiddenSize());
        // embedding 512*64 + 5 layers * (norms 2*64 + q,o 2*64*64 + k,v 2*32*64 + mlp 3*172*64) + final norm 64
        assertEquals(32768 + 5 * (128 + 8192 + 4096 + 33024) + 64, c.parameterCount());
        try (TensorStore s = TensorStore.openModelDir(dir)) {
            c.checkShapes(s);
        }
        Path shared = TestPaths.realdata("stories260K");
        Path fresh = tmp.resolve("fresh");
        Llama2cImporter.importModel(shared.resolve("stories260K.bin"), shared.resolve("tok512.bin"), fresh);
        for (String f : new String[]{"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"})
            assertEquals(-1, Files.mismatch(fresh.resolve(f), dir.resolve(f)), f + " differs from a fresh import");
        assertTrue(Files.readString(dir.resolve("LICENSE")).startsWith("MIT License"));
    }

    @Test
    void extractsFromAJarOnceIntoAContentNamedCacheFolder() throws Exception {
        Path src = EmbeddedModel.path();
        Path jar = tmp.resolve("m.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            for (String f : EmbeddedModel.FILES) {
                out.putNextEntry(new JarEntry(EmbeddedModel.RESOURCE_DIR + f));
                out.write(Files.readAllBytes(src.resolve(f)));
                out.closeEntry();
            }
        }
        Path cache = tmp.resolve("cache");
        try (URLClassLoader cl = new URLClassLoader(new URL[]{jar.toUri().toURL()}, null)) {
            Path p = EmbeddedModel.path(cl, cache);
            assertEquals(cache, p.getParent());
            assertTrue(p.getFileName().toString().matches("stories260K-[0-9a-f]{12}"), p.toString());
            for (String f : EmbeddedModel.FILES) assertEquals(-1, Files.mismatch(src.resolve(f), p.resolve(f)), f);
            FileTime before = FileTime.fromMillis(1_000_000L);
            Files.setLastModifiedTime(p.resolve("model.safetensors"), before);
            assertEquals(p, EmbeddedModel.path(cl, cache), "second call reuses the folder");
            assertEquals(before, Files.getLastModifiedTime(p.resolve("model.safetensors")), "not rewritten");
            try (var l = Files.list(cache)) {
                assertEquals(1, l.count(), "no temporary folders left behind");
            }
        }
    }

    @Test
    void missingResourcesAreReported() throws Exception {
        try (URLClassLoader cl = new URLClassLoader(new URL[0], null)) {
            LoriException e = assertThrows(LoriException.class, () -> EmbeddedModel.path(cl, tmp));
            assertTrue(e.getMessage().contains("pass --model DIR"), e.getMessage());
        }
    }
}
