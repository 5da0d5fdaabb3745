package org.lori4j.generate;

import org.lori4j.adapter.ActiveAdapters;
import org.lori4j.adapter.AdapterDeltas;
import org.lori4j.adapter.LoraAdapter;
import org.lori4j.io.EmbeddedModel;
import org.lori4j.io.LoriException;
import org.lori4j.model.LlamaModel;
import org.lori4j.text.ChatTemplate;
import org.lori4j.text.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A model ready to answer requests from an application or a server: the weights, tokenizer, chat template, stop
 * ids, named adapters (added and removed at run time, each a {@link AdapterDeltas} that requests pick by name) and
 * one {@link Engine} that batches every request, whatever its adapter. Thread-safe.
 */
public final class ModelHost implements AutoCloseable {
    /** Adapters held at most (each keeps its A and B in memory). */
    public static final int MAX_ADAPTERS = 64;

    private final String id;
    private final Path dir;
    private final LlamaModel model;
    private final Tokenizer tokenizer;
    private final ChatTemplate template;    // null when the model has none
    private final List<Integer> stopIds;
    private final Engine engine;
    private final Map<String, AdapterDeltas> adapters = new LinkedHashMap<>();

    private ModelHost(String id, Path dir, LlamaModel model, Tokenizer tokenizer, ChatTemplate template, Engine.Options options) {
        this.id = id;
        this.dir = dir;
        this.model = model;
        this.tokenizer = tokenizer;
        this.template = template;
        this.stopIds = GenerationConfig.load(dir).stopIds(model.config(), tokenizer);
        this.engine = new Engine(model, tokenizer, options);
    }

    /**
     * Loads the model of DIR (null: the embedded stories260K) with its tokenizer and chat template (the folder's, or
     * the file {@code chatTemplate} when given); its id is the folder's name.
     */
    public static ModelHost open(Path dir, Path chatTemplate, Engine.Options options) {
        Path d = dir != null ? dir : EmbeddedModel.path();
        String id = dir != null ? d.toAbsolutePath().normalize().getFileName().toString() : EmbeddedModel.NAME;
        Tokenizer tok = Tokenizer.load(d);
        try {
            ChatTemplate t;
            if (chatTemplate != null) {
                if (!Files.isRegularFile(chatTemplate)) throw new LoriException(chatTemplate + ": chat template file not found");
                try {
                    t = new ChatTemplate(Files.readString(chatTemplate), tok.bosToken(), tok.eosToken());
                } catch (java.io.IOException e) {
                    throw new LoriException(chatTemplate + ": cannot read: " + LoriException.reason(e));
                }
            } else {
                t = ChatTemplate.load(d).orElse(null);
            }
            return new ModelHost(id, d, LlamaModel.load(d), tok, t, options);
        } catch (RuntimeException e) {
            tok.close();
            throw e;
        }
    }

    /** The base model's id (what a request names to get no adapter). */
    public String id() { return id; }

    public Path dir() { return dir; }

    public LlamaModel model() { return model; }

    public Tokenizer tokenizer() { return tokenizer; }

    public Engine engine() { return engine; }

    /** The ids generation stops at: generation_config.json's, else config.json's, else the tokenizer's EOS. */
    public List<Integer> stopIds() { return stopIds; }

    public boolean hasChatTemplate() { return template != null; }

    /**
     * Loads the adapter of folder ADAPTERDIR under NAME, applied with WEIGHT (LoRI-S adapters with their sparse B).
     * The name must be new and differ from the base model's id.
     */
    public AdapterDeltas addAdapter(String name, Path adapterDir, double weight) {
        if (name == null || name.isBlank() || name.length() > 200 || !name.strip().equals(name))
            throw new LoriException("adapter name '" + name + "' must be 1-200 characters without surrounding spaces");
        synchronized (adapters) {
            if (name.equals(id) || adapters.containsKey(name)) throw new LoriException("a model named '" + name + "' is already served");
            if (adapters.size() >= MAX_ADAPTERS) throw new LoriException("at most " + MAX_ADAPTERS + " adapters can be loaded; unload one first");
        }
        AdapterDeltas d = new AdapterDeltas(model, LoraAdapter.load(adapterDir), weight, ActiveAdapters.Mode.AUTO);
        synchronized (adapters) {
            if (name.equals(id) || adapters.containsKey(name)) throw new LoriException("a model named '" + name + "' is already served");
            adapters.put(name, d);
        }
        return d;
    }

    /** Adds an adapter made in memory under NAME (e.g. a benchmark's random one). */
    public AdapterDeltas addAdapter(String name, LoraAdapter adapter, double weight) {
        AdapterDeltas d = new AdapterDeltas(model, adapter, weight, ActiveAdapters.Mode.AUTO);
        synchronized (adapters) {
            if (name.equals(id) || adapters.containsKey(name)) throw new LoriException("a model named '" + name + "' is already served");
            adapters.put(name, d);
        }
        return d;
    }

    /** Removes adapter NAME; requests already using it finish with it. Returns whether it was there. */
    public boolean removeAdapter(String name) {
        synchronized (adapters) {
            return adapters.remove(name) != null;
        }
    }

    /** The adapter named NAME, if any. */
    public Optional<AdapterDeltas> adapter(String name) {
        synchronized (adapters) {
            return Optional.ofNullable(adapters.get(name));
        }
    }

    /** The adapters' names in the order they were added. */
    public List<String> adapterNames() {
        synchronized (adapters) {
            return new ArrayList<>(adapters.keySet());
        }
    }

    /** True when NAME is the base model's id or an adapter's name. */
    public boolean serves(String name) {
        return id.equals(name) || adapter(name).isPresent();
    }

    /** A plain prompt's token ids, with BOS when the tokenizer adds one. */
    public int[] encodePrompt(String text) {
        return tokenizer.encode(text, true);
    }

    /** The text the chat template makes of MESSAGES, ending with the assistant's header. */
    public String renderChat(List<ChatTemplate.Message> messages) {
        if (template == null)
            throw new LoriException("model '" + id + "' has no chat template (" + ChatTemplate.WHERE + "); use completions with a plain prompt");
        synchronized (template) {
            return template.render(messages, true);
        }
    }

    /** The token ids of a chat's prompt (the template writes the special tokens itself). */
    public int[] encodeChat(List<ChatTemplate.Message> messages) {
        return tokenizer.encode(renderChat(messages), false);
    }

    /** Stops the engine (unfinished requests are cancelled after {@code graceMillis}) and releases the tokenizer. */
    public boolean shutdown(long graceMillis) {
        boolean drained = engine.shutdown(graceMillis);
        tokenizer.close();
        model.close();
        return drained;
    }

    @Override
    public void close() { shutdown(0); }
}
