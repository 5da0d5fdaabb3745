package org.lori4j.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face fast tokenizer ({@code tokenizer.json}) run by the Rust {@code tokenizers} library through DJL,
 * plus what transformers reads from {@code tokenizer_config.json}, {@code config.json} and
 * {@code generation_config.json}: BOS/EOS tokens, {@code add_bos_token}/{@code add_eos_token}, special tokens.
 * Not thread-safe to close while in use; encode/decode themselves may be called from several threads.
 */
public final class Tokenizer implements AutoCloseable {

    private final Path dir;
    private final HuggingFaceTokenizer hf;
    private final String[] tokens;           // id -> token string as stored in tokenizer.json (null for gaps)
    private final Map<String, Integer> ids;  // token string -> id, vocab and added tokens
    private final BitSet special;            // added tokens marked "special": true
    private final Integer bosId;
    private final String bosToken;
    private final List<Integer> eosIds;
    private final String eosToken;
    // Non-null when tokenizer_config.json decides the special tokens (as LlamaTokenizerFast does), replacing
    // whatever the post-processor of tokenizer.json would add.
    private final Boolean addBos;
    private final Boolean addEos;
    private final boolean cleanUpSpaces;

    private Tokenizer(Path dir, HuggingFaceTokenizer hf, String[] tokens, Map<String, Integer> ids, BitSet special,
                      Integer bosId, String bosToken, List<Integer> eosIds, String eosToken,
                      Boolean addBos, Boolean addEos, boolean cleanUpSpaces) {
        this.dir = dir;
        this.hf = hf;
        this.tokens = tokens;
        this.ids = ids;
        this.special = special;
        this.bosId = bosId;
        this.bosToken = bosToken;
        this.eosIds = eosIds;
        this.eosToken = eosToken;
        this.addBos = addBos;
        this.addEos = addEos;
        this.cleanUpSpaces = cleanUpSpaces;
    }

    /**
     * Loads DIR/tokenizer.json (or, when absent, converts a SentencePiece BPE DIR/tokenizer.model) and
     * DIR/tokenizer_config.json, DIR/config.json, DIR/generation_config.json (each optional). DIR may also be a
     * SentencePiece file itself (e.g. llama2.c's tok512.model); its folder then supplies the optional files.
     * EOS ids are the tokenizer_config eos token followed by the eos_token_id(s) of generation_config.json and
     * config.json (then the SentencePiece model's), because generation stops on any of them (Llama-3-Instruct lists
     * both {@code <|end_of_text|>} and {@code <|eot_id|>} there).
     */
    public static Tokenizer load(Path dir) {
        Path spmFile = dir.resolve("tokenizer.model");
        boolean explicitSpm = Files.isRegularFile(dir) && dir.getFileName().toString().endsWith(".model");
        if (explicitSpm) {
            spmFile = dir;
            dir = dir.toAbsolutePath().getParent();
        }
        Path file = dir.resolve("tokenizer.json");
        SentencePieceModel spm = null;
        String json = null;
        if (explicitSpm || !Files.isRegularFile(file)) {
            if (!Files.isRegularFile(spmFile)) throw new LoriException(file + ": file not found");
            // a Llama-2-era folder or llama2.c model with only the SentencePiece model: convert as transformers does
            spm = SentencePieceModel.read(spmFile);
            json = spm.toTokenizerJson();
        }
        Vocab vocab = json == null ? readVocab(file, null) : readVocab(spmFile, json);

        JsonNode tc = optionalJson(dir.resolve("tokenizer_config.json"));
        JsonNode cfg = optionalJson(dir.resolve("config.json"));
        JsonNode gen = optionalJson(dir.resolve("generation_config.json"));

        String bosToken = tokenContent(tc.get("bos_token"));
        Integer bosId = bosToken != null ? vocab.ids.get(bosToken) : null;
        if (bosId == null) bosId = firstInt(gen.get("bos_token_id"));
        if (bosId == null) bosId = firstInt(cfg.get("bos_token_id"));
        if (bosId == null && spm != null && spm.bosId() >= 0) bosId = spm.bosId();
        if (bosToken == null && bosId != null && bosId >= 0 && bosId < vocab.tokens.length) bosToken = vocab.tokens[bosId];

        String eosToken = tokenContent(tc.get("eos_token"));
        Set<Integer> eos = new LinkedHashSet<>();
        if (eosToken != null && vocab.ids.containsKey(eosToken)) eos.add(vocab.ids.get(eosToken));
        eos.addAll(ints(gen.get("eos_token_id")));
        eos.addAll(ints(cfg.get("eos_token_id")));
        if (eos.isEmpty() && spm != null && spm.eosId() >= 0) eos.add(spm.eosId());
        List<Integer> eosIds = List.copyOf(eos);
        if (eosToken == null && !eosIds.isEmpty() && eosIds.getFirst() < vocab.tokens.length) {
            eosToken = vocab.tokens[eosIds.getFirst()];
        }

        // transformers (4.x) LlamaTokenizerFast rebuilds the post-processor from add_bos_token (default true) and
        // add_eos_token (default false); other fast classes (PreTrainedTokenizerFast: Llama-3) ignore both keys and
        // keep tokenizer.json's post-processor.
        String cls = tc.path("tokenizer_class").asText("");
        boolean llamaClass = cls.startsWith("Llama") || cls.startsWith("CodeLlama");
        Boolean addBos = null, addEos = null;
        if (llamaClass) {
            addBos = tc.path("add_bos_token").isBoolean() ? tc.get("add_bos_token").asBoolean() : llamaClass;
            addEos = tc.path("add_eos_token").isBoolean() && tc.get("add_eos_token").asBoolean();
            if (addBos && bosId == null) throw new LoriException(dir.resolve("tokenizer_config.json")
                    + ": add_bos_token is true but no bos token is defined");
            if (addEos && eosIds.isEmpty()) throw new LoriException(dir.resolve("tokenizer_config.json")
                    + ": add_eos_token is true but no eos token is defined");
        }
        boolean cleanUp = tc.path("clean_up_tokenization_spaces").asBoolean(false);

        HuggingFaceTokenizer hf = json == null ? openNative(file, null) : openNative(spmFile, json);
        return new Tokenizer(dir, hf, vocab.tokens, vocab.ids, vocab.special, bosId, bosToken, eosIds, eosToken,
                addBos, addEos, cleanUp);
    }

    /**
     * Token ids of TEXT. With addSpecialTokens, adds what transformers would add: BOS/EOS per tokenizer_config's
     * add_bos_token/add_eos_token when it decides them, else what tokenizer.json's post-processor adds.
     * Special-token strings in the text (e.g. "<|eot_id|>") are always matched as single tokens, as in HF.
     */
    public int[] encode(String text, boolean addSpecialTokens) {
        if (text == null) throw new NullPointerException("text");
        checkLength(text);
        long encoding = TokenizersLibrary.LIB.encode(hf.getHandle(), text, addSpecialTokens && addBos == null);
        return withSpecialTokens(idsOf(encoding), addSpecialTokens);
    }

    /**
     * {@link #encode} of every text, tokenized together by the Rust library (on several threads): the same ids as
     * one call per text.
     */
    public List<int[]> encodeAll(List<String> texts, boolean addSpecialTokens) {
        for (String t : texts) {
            if (t == null) throw new NullPointerException("text");
            checkLength(t);
        }
        if (texts.isEmpty()) return List.of();
        long[] encodings = TokenizersLibrary.LIB.batchEncode(hf.getHandle(), texts.toArray(String[]::new),
                addSpecialTokens && addBos == null);
        List<int[]> out = new ArrayList<>(texts.size());
        try {
            for (int i = 0; i < encodings.length; i++) {
                long e = encodings[i];
                encodings[i] = 0;
                out.add(withSpecialTokens(idsOf(e), addSpecialTokens));
            }
        } finally {
            for (long e : encodings) if (e != 0) TokenizersLibrary.LIB.deleteEncoding(e);
        }
        return out;
    }

    private static void checkLength(String text) {
        if (text.length() > MAX_TEXT_CHARS)
            throw new LoriException("a text of " + text.length() + " characters is longer than the " + MAX_TEXT_CHARS
                    + " characters lori4j tokenizes at once");
    }

    /**
     * The ids of a native encoding, which is then freed. Read directly, not through DJL's Encoding, which also
     * fetches the tokens' strings, offsets and masks: three times the cost of tokenizing (a ~180-token prompt:
     * 165 -> 50 us).
     */
    private static long[] idsOf(long encoding) {
        try {
            return TokenizersLibrary.LIB.getTokenIds(encoding);
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(encoding);
        }
    }

    /**
     * The ids with the special tokens transformers adds: lori4j's BOS/EOS when tokenizer_config decides them (addBos
     * not null; the library was then asked for none), else whatever the library's post-processor added.
     */
    private int[] withSpecialTokens(long[] raw, boolean addSpecialTokens) {
        if (!addSpecialTokens || addBos == null) return toInts(raw, 0, 0);
        int pre = addBos ? 1 : 0, post = addEos ? 1 : 0;
        int[] out = toInts(raw, pre, post);
        if (addBos) out[0] = bosId;
        if (addEos) out[out.length - 1] = eosIds.getFirst();
        return out;
    }

    /** Text of IDS as the tokenizer.json decoder gives it (HF decode with clean_up_tokenization_spaces=False). */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        if (ids.length == 0) return "";
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= tokens.length) throw new LoriException("token id " + ids[i]
                    + " out of range for " + dir.resolve("tokenizer.json") + " (vocabulary size " + tokens.length + ")");
            l[i] = ids[i];
        }
        return hf.decode(l, skipSpecialTokens);
    }

    /**
     * Like {@link #decode(int[], boolean)}, then, if cleanUpSpaces, transformers' clean_up_tokenization
     * (" ." to ".", " n't" to "n't", ...). HF's own decode does this when tokenizer_config sets
     * clean_up_tokenization_spaces (see {@link #cleanUpTokenizationSpaces()}), e.g. for Llama-3.
     */
    public String decode(int[] ids, boolean skipSpecialTokens, boolean cleanUpSpaces) {
        String s = decode(ids, skipSpecialTokens);
        return cleanUpSpaces ? cleanUp(s) : s;
    }

    /** transformers' clean_up_tokenization: removes the space before some punctuation and English contractions. */
    public static String cleanUp(String s) {
        return s.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
                .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s")
                .replace(" 've", "'ve").replace(" 're", "'re");
    }

    /** tokenizer_config.json's clean_up_tokenization_spaces (false when absent). */
    public boolean cleanUpTokenizationSpaces() { return cleanUpSpaces; }

    /** An incremental decoder for streaming generation, starting a fresh text. */
    public StreamDecoder streamDecoder(boolean skipSpecialTokens) {
        return new StreamDecoder(this, new int[0], skipSpecialTokens);
    }

    /**
     * An incremental decoder whose text continues after CONTEXT (e.g. the prompt): the context is not emitted but
     * decides spacing, so a SentencePiece "▁word" after it yields " word".
     */
    public StreamDecoder streamDecoder(int[] context, boolean skipSpecialTokens) {
        return new StreamDecoder(this, context, skipSpecialTokens);
    }

    /** BOS id, or null when the tokenizer has none. */
    public Integer bosId() { return bosId; }

    /** EOS ids, the tokenizer's own first; possibly empty. */
    public List<Integer> eosIds() { return eosIds; }

    /** BOS token string, or null. */
    public String bosToken() { return bosToken; }

    /** EOS token string, or null. */
    public String eosToken() { return eosToken; }

    /** Highest id in the vocabulary or added tokens, plus one (the embedding rows a model needs). */
    public int vocabSize() { return tokens.length; }

    /** The token string stored for ID (byte-level or "▁" form, as HF convert_ids_to_tokens), or null. */
    public String idToToken(int id) { return id >= 0 && id < tokens.length ? tokens[id] : null; }

    /** The id of a token string, or null. */
    public Integer tokenToId(String token) { return ids.get(token); }

    /** Whether ID is an added token marked special (what decode's skipSpecialTokens drops). */
    public boolean isSpecial(int id) { return id >= 0 && special.get(id); }

    /** The folder this tokenizer was loaded from. */
    public Path dir() { return dir; }

    @Override
    public void close() { hf.close(); }

    // ---- loading ----

    private record Vocab(String[] tokens, Map<String, Integer> ids, BitSet special) {}

    /** The largest tokenizer.json read (real ones are up to ~35 MB). */
    static final long MAX_FILE_BYTES = 256L << 20;
    /**
     * The longest text tokenized, in characters: far beyond any context, and short enough that a run of whitespace
     * stays below the per-match retry limit (10 million) of the library's regex engine, whose overrun aborts the
     * process (Llama 3's pre-tokenizer retries once per whitespace character of a run).
     */
    public static final int MAX_TEXT_CHARS = 4_000_000;
    /** The highest token id accepted (ids index an array; real vocabularies stay below 300,000). */
    static final int MAX_TOKEN_ID = (1 << 24) - 1;

    /**
     * Reads model.vocab and added_tokens with a streaming parser (skipping the large merges list), and checks the
     * regular expressions of the normalizer, pre-tokenizer, post-processor and decoder before the Rust library sees
     * them ({@link RegexRisk}).
     */
    private static Vocab readVocab(Path file, String json) {
        Map<String, Integer> ids = new HashMap<>();
        BitSet special = new BitSet();
        List<JsonNode> added = new ArrayList<>();
        try {
            if (json == null && Files.size(file) > MAX_FILE_BYTES)
                throw new LoriException(file + ": larger than " + (MAX_FILE_BYTES >> 20) + " MiB; not a plausible tokenizer");
        } catch (IOException e) {
            throw new LoriException(file + ": cannot read: " + LoriException.reason(e));
        }
        try (JsonParser p = json != null ? Json.MAPPER.getFactory().createParser(json)
                : Json.MAPPER.getFactory().createParser(file.toFile())) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new LoriException(file + ": not a JSON object");
            boolean sawModel = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken t = p.nextToken();
                if (name.equals("added_tokens") && t == JsonToken.START_ARRAY) {
                    JsonNode arr = p.readValueAsTree();
                    arr.forEach(added::add);
                } else if (name.equals("model") && t == JsonToken.START_OBJECT) {
                    sawModel = true;
                    readModel(p, ids, file);
                } else if (List.of("normalizer", "pre_tokenizer", "post_processor", "decoder").contains(name)
                        && t == JsonToken.START_OBJECT) {
                    checkRegexes(p.readValueAsTree(), name, file);
                } else {
                    p.skipChildren();
                }
            }
            if (!sawModel) throw new LoriException(file + ": no \"model\" object");
        } catch (JsonProcessingException e) {
            throw Json.invalid(file.toString(), e);
        } catch (IOException e) {
            throw new LoriException(file + ": cannot read: " + LoriException.reason(e));
        }
        if (ids.isEmpty() && added.isEmpty()) throw new LoriException(file + ": the vocabulary (model.vocab) is empty");
        for (JsonNode a : added) {
            if (!a.path("id").canConvertToInt() || !a.path("content").isTextual()) {
                throw new LoriException(file + ": added_tokens entry without id/content: " + a);
            }
            int id = a.get("id").asInt();
            ids.put(a.get("content").asText(), id);
            if (a.path("special").asBoolean(false)) special.set(id);
        }
        int size = 0;
        for (Map.Entry<String, Integer> e : ids.entrySet()) {
            int id = e.getValue();
            if (id < 0 || id > MAX_TOKEN_ID || id > 2 * ids.size() + 65536)
                throw new LoriException(file + ": token id " + id + " of " + Json.MAPPER.valueToTree(e.getKey())
                        + " is implausible for a vocabulary of " + ids.size() + " tokens");
            size = Math.max(size, id + 1);
        }
        String[] tokens = new String[size];
        for (Map.Entry<String, Integer> e : ids.entrySet()) {
            if (e.getValue() < 0) throw new LoriException(file + ": negative token id for " + e.getKey());
            // an added token may repeat a vocab entry; both map to the same string, keep one
            tokens[e.getValue()] = e.getKey();
        }
        return new Vocab(tokens, ids, special);
    }

    /**
     * Refuses what the Rust library accepts on loading but panics on when encoding (a panic aborts the JVM): the
     * regular expressions ({"Regex": ...} anywhere in NODE) that {@link RegexRisk} finds risky, and TemplateProcessing
     * post-processors whose templates name special tokens they do not define or a second sequence ($B) in the
     * single-sequence template (both unchecked when the library reads a file).
     */
    private static void checkRegexes(com.fasterxml.jackson.core.TreeNode node, String field, Path file) {
        if (!(node instanceof JsonNode n)) return;
        if (n.isObject() && "TemplateProcessing".equals(n.path("type").asText(null))) checkTemplate(n, field, file);
        if (n.isObject() && n.path("Regex").isTextual()) {
            String regex = n.get("Regex").asText();
            String why = RegexRisk.check(regex);
            if (why != null)
                throw new LoriException(file + ": " + field + " regex " + Json.MAPPER.valueToTree(regex.length() > 80
                        ? regex.substring(0, 80) + "..." : regex) + " refused: " + why
                        + " (the regex engine of the tokenizers library could crash or abort the process on it)");
        }
        for (JsonNode child : n) checkRegexes(child, field, file);
    }

    private static void checkTemplate(JsonNode t, String field, Path file) {
        JsonNode specials = t.path("special_tokens");
        for (var it = specials.fields(); it.hasNext(); ) {
            var e = it.next();
            JsonNode ids = e.getValue().path("ids"), toks = e.getValue().path("tokens");
            if (!ids.isArray() || !toks.isArray() || ids.size() != toks.size())
                throw new LoriException(file + ": " + field + ".special_tokens[" + Json.MAPPER.valueToTree(e.getKey())
                        + "] needs lists 'ids' and 'tokens' of the same length");
        }
        for (String which : List.of("single", "pair")) {
            for (JsonNode piece : t.path(which)) {
                JsonNode special = piece.get("SpecialToken"), seq = piece.get("Sequence");
                if (special != null && !specials.has(special.path("id").asText("")))
                    throw new LoriException(file + ": " + field + "." + which + " uses special token "
                            + special.path("id") + ", which " + field + ".special_tokens does not define");
                if (seq != null && which.equals("single") && !"A".equals(seq.path("id").asText("A")))
                    throw new LoriException(file + ": " + field + ".single uses sequence " + seq.path("id")
                            + "; a single-sequence template has only A");
            }
        }
    }

    /** model.vocab is {token: id} for BPE/WordPiece/WordLevel and [[piece, score], ...] (id = index) for Unigram. */
    private static void readModel(JsonParser p, Map<String, Integer> ids, Path file) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken t = p.nextToken();
            if (name.equals("vocab") && t == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String tok = p.currentName();
                    if (p.nextToken() != JsonToken.VALUE_NUMBER_INT) throw new LoriException(file + ": model.vocab["
                            + tok + "] is not an integer id");
                    ids.put(tok, p.getIntValue());
                }
            } else if (name.equals("vocab") && t == JsonToken.START_ARRAY) {
                int id = 0;
                while (p.nextToken() == JsonToken.START_ARRAY) {
                    p.nextToken();
                    ids.put(p.getText(), id++);
                    while (p.nextToken() != JsonToken.END_ARRAY) p.skipChildren();
                }
            } else {
                p.skipChildren();
            }
        }
    }

    /** Opens FILE with the Rust library, or the converted JSON text when given (FILE then names its source). */
    private static HuggingFaceTokenizer openNative(Path file, String json) {
        // DJL pings an EC2 metadata endpoint on first use unless tracking is opted out; stay offline.
        if (System.getProperty("OPT_OUT_TRACKING") == null) System.setProperty("OPT_OUT_TRACKING", "true");
        // On a machine with CUDA, DJL picks a GPU build of the library, which the jar does not carry, and tries to
        // download it (offline: "Failed to load Huggingface native library"). Tokenizing is CPU work: use the
        // bundled CPU build unless the user chose a flavor (DJL reads the environment first, then this property).
        if (System.getenv("RUST_FLAVOR") == null && System.getProperty("RUST_FLAVOR") == null)
            System.setProperty("RUST_FLAVOR", "cpu");
        // DJL otherwise truncates to 512 tokens (model_max_length default) and pads batches.
        Map<String, String> options = Map.of("truncation", "false", "padding", "false",
                "addSpecialTokens", "true", "withOverflowingTokens", "false");
        try {
            if (json != null) {
                return HuggingFaceTokenizer.newInstance(
                        new java.io.ByteArrayInputStream(json.getBytes(java.nio.charset.StandardCharsets.UTF_8)), options);
            }
            return HuggingFaceTokenizer.newInstance(file, options);
        } catch (IOException e) {
            throw new LoriException(file + ": cannot read: " + LoriException.reason(e));
        } catch (RuntimeException e) {
            String msg = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
            if (msg.contains("native library")) {
                Throwable c = e.getCause();
                throw new LoriException("cannot load the Hugging Face tokenizers native library (DJL) to read " + file
                        + ": " + msg + (c == null ? "" : " (" + c.getMessage() + ")"));
            }
            throw new LoriException(file + ": tokenizers library rejected it: " + msg);
        }
    }

    private static JsonNode optionalJson(Path file) {
        return Files.isRegularFile(file) ? Json.read(file) : Json.MAPPER.createObjectNode();
    }

    /** A special token in tokenizer_config is a string or an AddedToken object {"content": ...}. */
    static String tokenContent(JsonNode n) {
        if (n == null || n.isNull()) return null;
        if (n.isTextual()) return n.asText();
        if (n.isObject() && n.path("content").isTextual()) return n.get("content").asText();
        return null;
    }

    private static Integer firstInt(JsonNode n) {
        List<Integer> l = ints(n);
        return l.isEmpty() ? null : l.getFirst();
    }

    /** An id field that may be an int or a list of ints (eos_token_id in generation_config). */
    private static List<Integer> ints(JsonNode n) {
        List<Integer> out = new ArrayList<>();
        if (n == null) return out;
        if (n.canConvertToInt() && n.isIntegralNumber()) out.add(n.asInt());
        else if (n.isArray()) for (JsonNode e : n) if (e.isIntegralNumber()) out.add(e.asInt());
        return out;
    }

    private static int[] toInts(long[] raw, int pre, int post) {
        int[] out = new int[pre + raw.length + post];
        for (int i = 0; i < raw.length; i++) out[pre + i] = Math.toIntExact(raw[i]);
        return out;
    }
}
