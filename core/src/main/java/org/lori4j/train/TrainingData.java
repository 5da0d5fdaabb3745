package org.lori4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import org.lori4j.io.LoriException;
import org.lori4j.text.ChatTemplate;
import org.lori4j.text.PromptTemplates;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * The tokenized training examples of one or more data set files, in file order (each file's records in their
 * order, after the reference's per-file prompt de-duplication), with counts of what loading did.
 */
public final class TrainingData {
    /** How many bad records are quoted in {@link Stats#skippedMessages()}. */
    public static final int QUOTED_BAD_RECORDS = 5;

    /**
     * What loading did.
     *
     * @param records           records read (after data fraction), bad ones included
     * @param skipped           bad records skipped (only with skipBadLines)
     * @param skippedMessages   the first few of their "FILE:LINE: problem" messages
     * @param duplicatePrompts  records merged into an earlier record with the same prompt
     * @param promptTruncated   examples whose prompt was cut
     * @param responseTruncated examples whose response was cut (pre-tokenized records cut to maxLength count here)
     * @param tokens            total tokens over all examples
     * @param scoredTokens      total tokens that carry loss (after the one-token shift)
     * @param longest           longest example, in tokens
     * @param unscored          examples with no scored token (they add nothing to the loss)
     */
    public record Stats(int files, int records, int skipped, List<String> skippedMessages, int duplicatePrompts,
                        int promptTruncated, int responseTruncated, int examples, long tokens, long scoredTokens,
                        int longest, int unscored) {
        /** The reading counts given, and the example counts (tokens, scored, longest, unscored) derived from examples. */
        static Stats of(List<Example> examples, int files, int records, int skipped, List<String> skippedMessages,
                        int duplicatePrompts, int promptTruncated, int responseTruncated) {
            long tokens = 0, scored = 0;
            int longest = 0, unscored = 0;
            for (Example e : examples) {
                tokens += e.length();
                int sc = e.scoredTokens();
                scored += sc;
                if (sc == 0) unscored++;
                longest = Math.max(longest, e.length());
            }
            return new Stats(files, records, skipped, skippedMessages, duplicatePrompts, promptTruncated, responseTruncated,
                    examples.size(), tokens, scored, longest, unscored);
        }

        /** A few human-readable lines for the CLI. */
        public String summary() {
            StringBuilder sb = new StringBuilder();
            sb.append(String.format("%d examples from %d records in %d file(s): %d tokens, %d scored, longest %d",
                    examples, records, files, tokens, scoredTokens, longest));
            if (duplicatePrompts > 0) sb.append(String.format("%n%d records repeat an earlier prompt (kept the last response, as the reference)", duplicatePrompts));
            if (promptTruncated + responseTruncated > 0)
                sb.append(String.format("%ntruncated: %d prompts, %d responses", promptTruncated, responseTruncated));
            if (unscored > 0) sb.append(String.format("%n%d examples have no scored token", unscored));
            if (skipped > 0) {
                sb.append(String.format("%nskipped %d bad records:", skipped));
                for (String m : skippedMessages) sb.append(System.lineSeparator()).append("  ").append(m);
                if (skipped > skippedMessages.size()) sb.append(System.lineSeparator()).append("  ...");
            }
            return sb.toString();
        }
    }

    private final List<Example> examples;
    private final Stats stats;

    private TrainingData(List<Example> examples, Stats stats) {
        this.examples = Collections.unmodifiableList(examples);
        this.stats = stats;
    }

    /** Wraps already-made examples (tests, programmatic use). */
    public static TrainingData of(List<Example> examples) {
        if (examples.isEmpty()) throw new LoriException("no training examples");
        return new TrainingData(new ArrayList<>(examples), Stats.of(examples, 0, examples.size(), 0, List.of(), 0, 0, 0));
    }

    public List<Example> examples() { return examples; }
    public int size() { return examples.size(); }
    public Example get(int i) { return examples.get(i); }
    public Stats stats() { return stats; }

    /** Reads and tokenizes FILES in order (see README "Training data formats"). */
    public static TrainingData load(List<Path> files, DataOptions opts, TextSide text) {
        if (files.isEmpty()) throw new LoriException("no data files given");
        if (opts.template() != null) opts = checkTemplate(opts, text);
        ExampleTokenizer tokenizer = new ExampleTokenizer(text.encoder(), text.eosId(),
                opts.addBos() ? requireBos(text) : -1, opts.maxLength(), opts.maxPromptLength(), opts.truncation());
        Loader loader = new Loader(opts, text, tokenizer);
        for (Path f : files) loader.loadFile(f);
        return loader.finish(files.size() == 1 ? files.getFirst().toString() : files.size() + " files", files.size());
    }

    /** A prompt and the response to train on, already rendered as text (programmatic data). */
    public record TextPair(String prompt, String response) {}

    /**
     * Tokenizes PAIRS with the same rule as files (no template: the prompts are used as given). SOURCE names them in
     * messages ("SOURCE#i: problem", i 0-based); de-duplication, BOS and limits follow OPTS, format and template are unused.
     */
    public static TrainingData fromText(String source, List<TextPair> pairs, DataOptions opts, TextSide text) {
        ExampleTokenizer tokenizer = new ExampleTokenizer(text.encoder(), text.eosId(),
                opts.addBos() ? requireBos(text) : -1, opts.maxLength(), opts.maxPromptLength(), opts.truncation());
        Loader loader = new Loader(opts, text, tokenizer);
        List<Pending> pending = new ArrayList<>();
        Map<String, Integer> byPrompt = new LinkedHashMap<>();
        for (int i = 0; i < pairs.size(); i++) {
            TextPair tp = pairs.get(i);
            loader.add(pending, byPrompt, new Pending(source + "#" + i, tp.prompt(), tp.response(), true, null, false));
        }
        loader.records += pairs.size();
        loader.tokenizeAll(pending);
        return loader.finish(source);
    }

    private static DataOptions checkTemplate(DataOptions opts, TextSide text) {
        text.prompts().format(opts.template(), "x", ""); // throws LoriException naming the valid templates
        return opts;
    }

    private static int requireBos(TextSide text) {
        if (text.bosId() < 0) throw new LoriException("--add-bos: the tokenizer defines no BOS token");
        return text.bosId();
    }

    /** A record turned into a prompt/response pair, or directly into an example (pre-tokenized records). */
    private record Pending(String where, String prompt, String response, boolean checkPromptEos, Example tokens,
                           boolean tokensCut) {
        /** The reference's loaders key examples by prompt; chat (no upstream loader) and token records are never merged. */
        boolean mergesByPrompt() { return prompt != null && checkPromptEos; }
    }

    /** Thrown for a record-level problem (skippable); the message has no location yet. */
    private static final class BadRecordException extends RuntimeException {
        BadRecordException(String message) { super(message, null, false, false); }
    }

    /** Accumulates examples and counts over the files. */
    private static final class Loader {
        private final DataOptions opts;
        private final TextSide text;
        private final ExampleTokenizer tokenizer;
        private final List<Example> examples = new ArrayList<>();
        private final List<String> skippedMessages = new ArrayList<>();
        int records;
        private int skipped, duplicates, promptCut, responseCut;

        Loader(DataOptions opts, TextSide text, ExampleTokenizer tokenizer) {
            this.opts = opts;
            this.text = text;
            this.tokenizer = tokenizer;
        }

        private void bad(String message) {
            if (!opts.skipBadLines()) throw new LoriException(message);
            skipped++;
            if (skippedMessages.size() < QUOTED_BAD_RECORDS) skippedMessages.add(message);
        }

        void loadFile(Path file) {
            // 1. parse, keeping bad lines in order so that the data fraction counts them like records
            List<Object> items = new ArrayList<>();
            DatasetReader.read(file, items::add, items::add);
            int n = (int) (items.size() * opts.dataFraction());
            items = items.subList(0, n);
            records += n;

            // 2. convert to prompt/response (or tokens); the reference keys text examples by prompt
            List<Pending> pending = new ArrayList<>();
            Map<String, Integer> byPrompt = new LinkedHashMap<>();
            for (Object item : items) {
                if (item instanceof DatasetReader.BadRecord b) { bad(b.message()); continue; }
                DatasetReader.SourceRecord r = (DatasetReader.SourceRecord) item;
                Pending p;
                try {
                    p = convert(r);
                } catch (BadRecordException e) {
                    bad(r.where() + ": " + e.getMessage());
                    continue;
                }
                add(pending, byPrompt, p);
            }
            tokenizeAll(pending);
        }

        /** Appends P, or with de-duplication replaces an earlier pending example with the same prompt in place. */
        void add(List<Pending> pending, Map<String, Integer> byPrompt, Pending p) {
            if (p.mergesByPrompt() && opts.dedupPrompts()) {
                Integer at = byPrompt.putIfAbsent(p.prompt(), pending.size());
                if (at != null) {
                    pending.set(at, p);
                    duplicates++;
                    return;
                }
            }
            pending.add(p);
        }

        /** Tokenizes PENDING (in parallel; results stay in order) and collects examples and counts. */
        void tokenizeAll(List<Pending> pending) {
            Object[] done = new Object[pending.size()];
            IntStream.range(0, done.length).parallel().forEach(i -> done[i] = tokenize(pending.get(i)));
            for (Object o : done) {
                if (o instanceof String message) { bad(message); continue; }
                ExampleTokenizer.Result res = (ExampleTokenizer.Result) o;
                if (res.promptTruncated()) promptCut++;
                if (res.responseTruncated()) responseCut++;
                examples.add(res.example());
            }
        }

        /** An ExampleTokenizer.Result, or a "FILE:LINE: problem" String. */
        private Object tokenize(Pending p) {
            if (p.tokens() != null) return new ExampleTokenizer.Result(p.tokens(), false, p.tokensCut());
            try {
                return tokenizer.tokenize(p.prompt(), p.response(), p.checkPromptEos());
            } catch (IllegalArgumentException e) {
                return p.where() + ": " + e.getMessage();
            }
        }

        private Pending convert(DatasetReader.SourceRecord r) {
            JsonNode node = r.node();
            RecordFormat format = opts.format() != null ? opts.format() : RecordFormat.detect(node);
            if (format == null) throw new BadRecordException(RecordFormat.undetectable(node));
            if (!node.isObject()) throw new BadRecordException(format.id() + " record: expected a JSON object");
            String template = opts.template() != null ? opts.template() : format.defaultTemplate();
            return switch (format) {
                case ALPACA, LORI_TASK -> text(r, prompt(template, string(node, "instruction", format),
                        optionalString(node, "input", format)), string(node, "output", format), true);
                case GSM8K -> text(r, prompt(template, string(node, "question", format), ""),
                        PromptTemplates.gsm8kTarget(string(node, "answer", format)), true);
                case CHAT -> chat(r, node);
                case TOKENS -> tokens(r, node);
            };
        }

        private Pending text(DatasetReader.SourceRecord r, String prompt, String response, boolean checkPromptEos) {
            return new Pending(r.where(), prompt, response, checkPromptEos, null, false);
        }

        private String prompt(String template, String instruction, String input) {
            try {
                return text.prompts().format(template, instruction, input);
            } catch (LoriException e) { // e.g. an input given to a template without an input slot
                throw new BadRecordException(e.getMessage());
            }
        }

        private Pending chat(DatasetReader.SourceRecord r, JsonNode node) {
            if (text.chat() == null) throw new LoriException(r.where() + ": chat record, but the model's tokenizer has no chat template");
            JsonNode msgs = node.get("messages");
            if (msgs == null || !msgs.isArray() || msgs.isEmpty())
                throw new BadRecordException("chat record: \"messages\" must be a non-empty array");
            List<ChatTemplate.Message> messages = new ArrayList<>();
            for (int i = 0; i < msgs.size(); i++) {
                JsonNode m = msgs.get(i);
                JsonNode role = m.get("role"), content = m.get("content");
                if (role == null || !role.isTextual() || content == null || !content.isTextual())
                    throw new BadRecordException("chat record: messages[" + i + "] needs string \"role\" and \"content\"");
                messages.add(new ChatTemplate.Message(role.asText(), content.asText()));
            }
            ChatTemplate.Message last = messages.getLast();
            if (!last.role().equals("assistant"))
                throw new BadRecordException("chat record: the last message must be the assistant's (the trained response), found role \""
                        + last.role() + "\"");
            String prompt;
            try {
                prompt = text.chat().render(messages.subList(0, messages.size() - 1), true);
            } catch (LoriException e) {
                throw new BadRecordException("chat template: " + e.getMessage());
            }
            // a rendered conversation legitimately contains end-of-turn tokens, which may be the EOS
            return text(r, prompt, last.content(), false);
        }

        private Pending tokens(DatasetReader.SourceRecord r, JsonNode node) {
            int[] ids = intArray(node, "input_ids", true);
            if (ids.length == 0) throw new BadRecordException("tokens record: \"input_ids\" is empty");
            int[] labels = node.hasNonNull("labels") ? intArray(node, "labels", false) : ids.clone();
            if (labels.length != ids.length)
                throw new BadRecordException("tokens record: \"labels\" has " + labels.length + " entries, \"input_ids\" " + ids.length);
            for (int i = 0; i < labels.length; i++) {
                int v = labels[i];
                if (v != Example.IGNORE && (v < 0 || (text.vocabSize() > 0 && v >= text.vocabSize())))
                    throw new BadRecordException("tokens record: labels[" + i + "] = " + v + " is neither -100 nor a token id");
            }
            int from = 0, to = ids.length;
            if (node.hasNonNull("attention_mask")) {
                int[] mask = intArray(node, "attention_mask", false);
                if (mask.length != ids.length)
                    throw new BadRecordException("tokens record: \"attention_mask\" has " + mask.length + " entries, \"input_ids\" " + ids.length);
                while (from < to && mask[from] == 0) from++;
                while (to > from && mask[to - 1] == 0) to--;
                if (from == to) throw new BadRecordException("tokens record: \"attention_mask\" masks every token");
                for (int i = from; i < to; i++) {
                    if (mask[i] != 1)
                        throw new BadRecordException("tokens record: attention_mask[" + i + "] = " + mask[i]
                                + "; only 1 for tokens and 0 for leading/trailing padding are supported");
                }
            }
            boolean cut = to - from > opts.maxLength();
            if (cut) to = from + opts.maxLength(); // keep the start, like the response limit of text records
            Example e = new Example(java.util.Arrays.copyOfRange(ids, from, to), java.util.Arrays.copyOfRange(labels, from, to));
            return new Pending(r.where(), null, null, false, e, cut);
        }

        private int[] intArray(JsonNode node, String field, boolean tokenIds) {
            JsonNode a = node.get(field);
            if (a == null || !a.isArray()) throw new BadRecordException("tokens record: \"" + field + "\" must be an array of integers");
            int[] out = new int[a.size()];
            for (int i = 0; i < out.length; i++) {
                JsonNode v = a.get(i);
                if (!v.canConvertToInt() || !v.isIntegralNumber())
                    throw new BadRecordException("tokens record: " + field + "[" + i + "] is not an integer: " + v);
                out[i] = v.intValue();
                if (tokenIds && (out[i] < 0 || (text.vocabSize() > 0 && out[i] >= text.vocabSize())))
                    throw new BadRecordException("tokens record: " + field + "[" + i + "] = " + out[i]
                            + " is not a token id" + (text.vocabSize() > 0 ? " (vocabulary size " + text.vocabSize() + ")" : ""));
            }
            return out;
        }

        private static String string(JsonNode node, String field, RecordFormat format) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) throw new BadRecordException(format.id() + " record: missing field \"" + field + "\"");
            if (!v.isTextual()) throw new BadRecordException(format.id() + " record: field \"" + field + "\" must be a string");
            return v.asText();
        }

        private static String optionalString(JsonNode node, String field, RecordFormat format) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) return "";
            if (!v.isTextual()) throw new BadRecordException(format.id() + " record: field \"" + field + "\" must be a string");
            return v.asText();
        }

        TrainingData finish(String source) { return finish(source, 0); }

        TrainingData finish(String where, int files) {
            if (examples.isEmpty()) {
                throw new LoriException(where + ": no training examples (" + records + " records read, "
                        + skipped + " skipped as bad)");
            }
            return new TrainingData(examples, Stats.of(examples, files, records, skipped, List.copyOf(skippedMessages),
                    duplicates, promptCut, responseCut));
        }
    }
}
