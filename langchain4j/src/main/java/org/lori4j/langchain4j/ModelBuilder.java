package org.lori4j.langchain4j;

import org.lori4j.generate.ModelHost;

import java.util.List;

/** The options of both models' builders, as LangChain4j's OpenAI models name them; each may be overridden per request. */
public abstract class ModelBuilder<B extends ModelBuilder<B>> {
    ModelHost host;
    String modelName;
    Double temperature, topP;
    Integer topK, maxTokens;
    List<String> stop;
    Long seed;

    ModelBuilder() {}

    @SuppressWarnings("unchecked")
    private B self() { return (B) this; }

    /** The loaded model (required). */
    public B host(ModelHost host) { this.host = host; return self(); }
    /** The base model's id or an adapter's name (default: the base model). */
    public B modelName(String name) { this.modelName = name; return self(); }
    /** 0 is greedy (default: 1, as OpenAI's). */
    public B temperature(Double t) { this.temperature = t; return self(); }
    public B topP(Double p) { this.topP = p; return self(); }
    public B topK(Integer k) { this.topK = k; return self(); }
    /** New tokens at most (default: up to the context). */
    public B maxTokens(Integer n) { this.maxTokens = n; return self(); }
    /** The answer is cut before the first of these, and generation stops there. */
    public B stop(List<String> stop) { this.stop = stop; return self(); }
    /** Seeds sampling (default: a random seed per request). */
    public B seed(Long seed) { this.seed = seed; return self(); }

    LoriChat chat() { return new LoriChat(host, modelName, temperature, topP, topK, maxTokens, stop, seed); }
}
