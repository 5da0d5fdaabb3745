package org.lori4j.fuzz;

import org.lori4j.TestPaths;
import org.lori4j.adapter.AdapterConfig;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.adapter.TorchPickle;
import org.lori4j.eval.EvalData;
import org.lori4j.eval.GenerationLog;
import org.lori4j.io.LlamaConfig;
import org.lori4j.io.SafeTensors;
import org.lori4j.io.SafeTensorsFile;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Tensor;
import org.lori4j.text.ChatTemplate;
import org.lori4j.text.SentencePieceModel;
import org.lori4j.text.Tokenizer;
import org.lori4j.train.DataOptions;
import org.lori4j.train.DatasetReader;
import org.lori4j.train.TextSide;
import org.lori4j.train.TrainingData;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every file reader of lori4j under fuzz: THE list to extend when a reader is added (a GGUF reader: one entry
 * with a seed file and the call that reads it). Each entry names the file it mutates, its valid seed contents, the
 * valid files around it (a folder reader needs its other files), and what reading means.
 */
final class FuzzReaders {
    private FuzzReaders() {}

    /** How to read the mutated input: DIR holds FILE (mutated) and the entry's companion files. */
    @FunctionalInterface
    interface Read { void read(Path dir, Path file) throws Exception; }

    /**
     * One reader: NAME for messages, FILE the name the mutated bytes get, SEEDS valid contents to mutate, COMPANIONS
     * (name to bytes) written beside it unchanged, TEXT whether text-level mutations apply, READ what reading is.
     */
    record Reader(String name, String file, List<byte[]> seeds, Map<String, byte[]> companions, boolean text, Read read) {}

    static List<Reader> all() {
        return List.of(
                new Reader("safetensors", "model.safetensors", List.of(safetensorsSeed()), Map.of(), false, (dir, f) -> {
                    try (SafeTensorsFile st = SafeTensors.read(f)) {
                        for (Tensor t : st.tensors().values()) t.getFloat(0);
                    }
                }),
                new Reader("adapter_config.json (PEFT's matching rules)", "adapter_config.json",
                        List.of(bytes(TestPaths.fixture("adapter").resolve("lora_a/adapter_config.json")),
                                bytes(TestPaths.fixture("adapter").resolve("lora_b/adapter_config.json")),
                                bytes(TestPaths.fixture("adapter").resolve("lora_c/adapter_config.json"))),
                        Map.of(), true, (dir, f) -> {
                            AdapterConfig c = AdapterConfig.read(dir);
                            for (String m : LoraAdapter.llamaModuleNames(4)) { c.targets(m); c.rankFor(m); c.alphaFor(m); }
                        }),
                new Reader("adapter folder (adapter_config.json with its weights)", "adapter_config.json",
                        List.of(bytes(TestPaths.fixture("adapter").resolve("lora_a/adapter_config.json"))),
                        Map.of("adapter_model.safetensors", bytes(TestPaths.fixture("adapter").resolve("lora_a/adapter_model.safetensors"))),
                        true, (dir, f) -> LoraAdapter.load(dir)),
                new Reader("adapter weights (adapter_model.safetensors)", "adapter_model.safetensors",
                        List.of(bytes(TestPaths.fixture("adapter").resolve("lora_a/adapter_model.safetensors"))),
                        Map.of("adapter_config.json", bytes(TestPaths.fixture("adapter").resolve("lora_a/adapter_config.json"))),
                        false, (dir, f) -> LoraAdapter.load(dir)),
                new Reader("config.json", "config.json", List.of(bytes(TestPaths.fixture("train").resolve("model/config.json")),
                        org.lori4j.model.RandomWeights.shape("tinyllama", DType.BF16).toJson().toString().getBytes(StandardCharsets.UTF_8)),
                        Map.of(), true, (dir, f) -> {
                    LlamaConfig c = LlamaConfig.load(dir);
                    c.parameterCount();
                }),
                new Reader("torch pickle (.pt / .bin)", "mask.pt", List.of(bytes(TestPaths.fixture("adapter").resolve("pt/ordered.pt")),
                        bytes(TestPaths.fixture("adapter").resolve("pt/noncontiguous.pt")), bytes(TestPaths.fixture("adapter").resolve("pt/shared.pt"))),
                        Map.of(), false, (dir, f) -> TorchPickle.readTensors(f)),
                new Reader("tokenizer.json", "tokenizer.json", List.of(tokenizerJsonSeed(), byteLevelSeed()), Map.of(), true, (dir, f) -> {
                    try (Tokenizer t = Tokenizer.load(dir)) {
                        t.decode(t.encode("Once upon a time, 12 cats' hats\u00e9\u4e2d", true), false);
                    }
                }),
                new Reader("tokenizer_config.json (with its chat template)", "tokenizer_config.json",
                        List.of(bytes(TestPaths.realdata("llama3-tokenizer").resolve("tokenizer_config.json"))),
                        Map.of("tokenizer.json", tokenizerJsonSeed()), true, (dir, f) -> {
                            try (Tokenizer t = Tokenizer.load(dir)) { t.encode("hello", true); }
                            ChatTemplate.load(dir).ifPresent(c -> c.render(List.of(new ChatTemplate.Message("user", "hi")), true));
                        }),
                new Reader("tokenizer.model (SentencePiece)", "tokenizer.model",
                        List.of(bytes(TestPaths.realdata("stories260K").resolve("tok512.model"))), Map.of(), false, (dir, f) -> {
                            try (Tokenizer t = Tokenizer.load(dir)) { t.encode("Once upon a time", true); }
                        }),
                new Reader("chat_template.jinja", "chat_template.jinja", List.of(chatTemplateSeed()), Map.of(), true, (dir, f) ->
                        ChatTemplate.load(dir).ifPresent(c -> c.render(List.of(new ChatTemplate.Message("system", "be brief"),
                                new ChatTemplate.Message("user", "hi"), new ChatTemplate.Message("assistant", "hello")), true))),
                new Reader("train --data (JSON Lines / JSON array)", "data.jsonl",
                        List.of(bytes(TestPaths.fixture("train").resolve("data.jsonl")),
                                "[{\"instruction\": \"Say hi\", \"output\": \"hi\"},\n{\"prompt\": \"2+2\", \"response\": \"4\"}]".getBytes(StandardCharsets.UTF_8),
                                "{\"text\": \"Once upon a time\"}\n{\"instruction\": \"a\", \"input\": \"b\", \"output\": \"c\"}\n".getBytes(StandardCharsets.UTF_8)),
                        Map.of(), true, (dir, f) -> {
                            DatasetReader.read(f, r -> { }, b -> { });
                            TrainingData.load(List.of(f), DataOptions.defaults().withSkipBadLines(true), textSide());
                        }),
                new Reader("eval --data", "test.json", List.of(bytes(TestPaths.fixture("eval").resolve("humaneval_mini.jsonl")),
                        bytes(TestPaths.fixture("eval").resolve("refusal_check.jsonl"))), Map.of(), true, (dir, f) -> EvalData.read(f)),
                new Reader("generations.jsonl (eval --resume)", "generations.jsonl", List.of(
                        ("{\"task\":\"hexphi\",\"index\":0,\"sample\":0,\"id\":\"0\",\"prompt\":\"p\",\"output\":\" I cannot\",\"tokens\":2,"
                                + "\"extracted\":\"i cannot\",\"gold\":\"safe\",\"correct\":true,\"note\":\"refusal keyword\"}\n").getBytes(StandardCharsets.UTF_8)),
                        Map.of(), true, (dir, f) -> GenerationLog.load(f))
        );
    }

    // ------------------------------------------------------------------ seeds

    static byte[] bytes(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] safetensorsSeed() {
        try {
            Path tmp = Files.createTempFile("fuzz-seed", ".safetensors");
            Map<String, Tensor> t = new LinkedHashMap<>();
            t.put("a", Tensor.of(new float[]{1, 2, 3, 4, 5, 6}, 2, 3));
            t.put("b.weight", Tensor.zeros(DType.BF16, new long[]{4}));
            t.put("c", Tensor.zeros(DType.I64, new long[]{1, 1}));
            SafeTensors.write(tmp, t, Map.of("format", "pt"));
            byte[] b = Files.readAllBytes(tmp);
            Files.delete(tmp);
            return b;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] tokenizerJsonSeed() {
        return SentencePieceModel.read(TestPaths.realdata("stories260K").resolve("tok512.model")).toTokenizerJson()
                .getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] byteLevelSeed;

    /**
     * A small byte-level BPE tokenizer.json made from Llama 3's (its Split regex and ByteLevel pieces, the first 1000
     * tokens with the merges among them, BOS as a TemplateProcessing post-processor): the structures the
     * SentencePiece seed lacks, at a size that loads in milliseconds.
     */
    static synchronized byte[] byteLevelSeed() {
        if (byteLevelSeed != null) return byteLevelSeed;
        com.fasterxml.jackson.databind.JsonNode full = org.lori4j.io.Json.read(TestPaths.realdata("llama3-tokenizer").resolve("tokenizer.json"));
        com.fasterxml.jackson.databind.node.ObjectNode out = org.lori4j.io.Json.MAPPER.createObjectNode();
        out.put("version", "1.0");
        out.putNull("truncation");
        out.putNull("padding");
        com.fasterxml.jackson.databind.node.ArrayNode added = out.putArray("added_tokens");
        added.addObject().put("id", 1000).put("content", "<|begin_of_text|>").put("single_word", false).put("lstrip", false)
                .put("rstrip", false).put("normalized", false).put("special", true);
        added.addObject().put("id", 1001).put("content", "<|eot_id|>").put("single_word", false).put("lstrip", false)
                .put("rstrip", false).put("normalized", false).put("special", true);
        out.putNull("normalizer");
        out.set("pre_tokenizer", full.get("pre_tokenizer"));
        com.fasterxml.jackson.databind.node.ObjectNode post = out.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        post.putArray("single").addObject().putObject("SpecialToken").put("id", "<|begin_of_text|>").put("type_id", 0);
        ((com.fasterxml.jackson.databind.node.ArrayNode) post.get("single")).addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        post.putArray("pair").addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ((com.fasterxml.jackson.databind.node.ArrayNode) post.get("pair")).addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        com.fasterxml.jackson.databind.node.ObjectNode bos = post.putObject("special_tokens").putObject("<|begin_of_text|>");
        bos.put("id", "<|begin_of_text|>");
        bos.putArray("ids").add(1000);
        bos.putArray("tokens").add("<|begin_of_text|>");
        out.set("decoder", full.get("decoder"));
        com.fasterxml.jackson.databind.node.ObjectNode model = ((com.fasterxml.jackson.databind.node.ObjectNode) full.get("model").deepCopy());
        com.fasterxml.jackson.databind.node.ObjectNode vocab = org.lori4j.io.Json.MAPPER.createObjectNode();
        for (var it = full.get("model").get("vocab").fields(); it.hasNext(); ) {
            var e = it.next();
            if (e.getValue().asInt() < 1000) vocab.set(e.getKey(), e.getValue());
        }
        com.fasterxml.jackson.databind.node.ArrayNode merges = org.lori4j.io.Json.MAPPER.createArrayNode();
        for (com.fasterxml.jackson.databind.JsonNode m : full.get("model").get("merges")) {
            String[] ab = m.asText().split(" ");
            if (ab.length == 2 && vocab.has(ab[0]) && vocab.has(ab[1]) && vocab.has(ab[0] + ab[1])) merges.add(m);
        }
        model.set("vocab", vocab);
        model.set("merges", merges);
        out.set("model", model);
        byteLevelSeed = out.toString().getBytes(StandardCharsets.UTF_8);
        return byteLevelSeed;
    }

    private static byte[] chatTemplateSeed() {
        String llama3 = org.lori4j.io.Json.read(TestPaths.realdata("llama3-tokenizer").resolve("tokenizer_config.json"))
                .get("chat_template").asText();
        return llama3.getBytes(StandardCharsets.UTF_8);
    }

    private static TextSide text;

    /** The tokenizer side of training, with the small SentencePiece tokenizer of stories260K. */
    private static synchronized TextSide textSide() {
        if (text == null) text = TextSide.of(Tokenizer.load(TestPaths.realdata("stories260K").resolve("tok512.model")));
        return text;
    }
}
