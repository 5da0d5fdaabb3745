package org.lori4j.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class TensorStoreTest {
    @TempDir
    Path tmp;

    private static Map<String, Tensor> two() {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("x.weight", Tensor.of(new float[]{1, 2, 3, 4}, 2, 2));
        t.put("x.bias", Tensor.of(new float[]{5, 6}, 2));
        return t;
    }

    @Test
    void opensSingleModelFile() {
        SafeTensors.write(tmp.resolve("model.safetensors"), two(), Map.of());
        try (TensorStore s = TensorStore.openModelDir(tmp)) {
            assertEquals(Set.of("x.weight", "x.bias"), s.names());
            assertTrue(s.has("x.bias"));
            assertFalse(s.has("y"));
            assertEquals(24, s.totalBytes());
            assertEquals(tmp, s.dir());
            assertEquals(tmp.resolve("model.safetensors"), s.fileOf("x.weight"));
            assertArrayEquals(new float[]{5, 6}, s.get("x.bias").toFloatArray());
        }
    }

    @Test
    void modelSafetensorsWinsOverAStaleShardIndexAsInTransformers() throws Exception {
        // transformers looks for model.safetensors first; a later single-file save leaves an earlier index behind
        SafeTensors.write(tmp.resolve("model.safetensors"), two(), Map.of());
        Files.writeString(tmp.resolve("model.safetensors.index.json"),
                "{\"metadata\": {}, \"weight_map\": {\"x.weight\": \"model-00001-of-00002.safetensors\"}}");
        try (TensorStore s = TensorStore.openModelDir(tmp)) {
            assertEquals(Set.of("x.weight", "x.bias"), s.names());
        }
    }

    @Test
    void opensTheOnlySafetensorsFileOfAFolderOrAFilePath() {
        SafeTensors.write(tmp.resolve("weights.safetensors"), two(), Map.of());
        try (TensorStore s = TensorStore.openModelDir(tmp)) {
            assertEquals(2, s.names().size());
        }
        try (TensorStore s = TensorStore.openModelDir(tmp.resolve("weights.safetensors"))) {
            assertEquals(tmp.toAbsolutePath(), s.dir());
            assertEquals(List.of("x.weight", "x.bias"), List.copyOf(s.names()));
        }
    }

    @Test
    void missingTensorNamesFolderAndTensor() {
        SafeTensors.write(tmp.resolve("model.safetensors"), two(), Map.of());
        try (TensorStore s = TensorStore.openModelDir(tmp)) {
            LoriException e = assertThrows(LoriException.class, () -> s.get("lm_head.weight"));
            assertEquals(tmp + ": tensor 'lm_head.weight' not found in the model's safetensors files", e.getMessage());
        }
    }

    @Test
    void emptyFolderAndBadIndexAreReported() throws Exception {
        LoriException e = assertThrows(LoriException.class, () -> TensorStore.openModelDir(tmp));
        assertTrue(e.getMessage().contains("no model.safetensors or model.safetensors.index.json"), e.getMessage());
        Files.writeString(tmp.resolve("model.safetensors.index.json"),
                "{\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\"}}");
        e = assertThrows(LoriException.class, () -> TensorStore.openModelDir(tmp));
        assertTrue(e.getMessage().contains("shard model-00001-of-00002.safetensors listed in weight_map does not exist"), e.getMessage());
        SafeTensors.write(tmp.resolve("model-00001-of-00002.safetensors"), two(), Map.of());
        e = assertThrows(LoriException.class, () -> TensorStore.openModelDir(tmp));
        assertTrue(e.getMessage().contains("tensor 'a' listed in model.safetensors.index.json is not in this shard"), e.getMessage());
        assertThrows(LoriException.class, () -> TensorStore.openModelDir(tmp.resolve("absent")));
    }
}
