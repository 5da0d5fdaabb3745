package org.lori4j.generate;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.io.LoriException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GenerationConfigTest {

    @Test
    void readsHfFieldsAndTurnsThemIntoSamplingParams(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("generation_config.json"), """
                {"do_sample": true, "temperature": 0.6, "top_p": 0.9, "eos_token_id": [128001, 128009],
                 "max_length": 4096, "bos_token_id": 128000, "transformers_version": "4.40.0"}""");
        GenerationConfig g = GenerationConfig.load(dir);
        assertEquals(List.of(128001, 128009), g.eosTokenIds());
        assertEquals(50, g.topK());                           // HF default
        SamplingParams p = g.toSamplingParams(96, 256, 5);
        assertEquals(0.6f, p.temperature());
        assertEquals(0.9f, p.topP());
        assertEquals(4000, p.maxNewTokens());                 // max_length minus the prompt
        assertEquals(List.of(128001, 128009), p.stopIds());
    }

    @Test
    void missingFileGivesHfDefaultsAndGreedy(@TempDir Path dir) {
        SamplingParams p = GenerationConfig.load(dir).toSamplingParams(10, 77, 0);
        assertTrue(p.isGreedy());
        assertEquals(77, p.maxNewTokens());
        assertEquals(1f, p.repetitionPenalty());
    }

    @Test
    void badFieldNamesTheFile(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("generation_config.json"), "{\"temperature\": \"hot\"}");
        LoriException e = assertThrows(LoriException.class, () -> GenerationConfig.load(dir));
        assertTrue(e.getMessage().contains("generation_config.json") && e.getMessage().contains("temperature"), e.getMessage());
    }

    @Test
    void fieldsTransformersWouldApplyButLoriDoesNotAreNamed(@TempDir Path dir) throws Exception {
        assertEquals(java.util.List.of(), GenerationConfig.unapplied(dir));   // no file
        java.nio.file.Files.writeString(dir.resolve(GenerationConfig.FILE), """
                {"do_sample": true, "min_new_tokens": 5, "no_repeat_ngram_size": 0, "min_p": null, "num_beams": 1,
                 "suppress_tokens": [], "bad_words_ids": [[7]], "typical_p": 0.9, "top_k": 20}""");
        // neutral values (0, 1, null, []) change nothing and are not named
        assertEquals(java.util.List.of("min_new_tokens", "bad_words_ids", "typical_p"), GenerationConfig.unapplied(dir));
    }
}
