package org.lori4j.model;

import org.lori4j.io.LlamaConfig;

/**
 * The activation buffers of one forward step, kept with a {@link KvCache} and reused from step to
 * step so that decoding allocates nothing per token; grown when a step has more rows.
 * Legend as in {@link LlamaModel}: N rows, C hidden, H/KV heads, D head_dim, F MLP width.
 */
final class Workspace {
    int rows;
    int[] pos;             // [N] position of each row
    float[] cos, sin;      // [N, D/2]
    float[] x;             // [N, C] residual stream
    float[] h;             // [N, C] normed input of a block
    float[] q, att;        // [N, H*D] queries, attention output
    float[] k, v;          // [N, KV*D]
    float[] proj;          // [N, C] output of o_proj / down_proj
    float[] gate, up;      // [N, F]

    /** Makes every buffer hold at least n rows for the configuration c. */
    void ensure(int n, LlamaConfig c) {
        if (n <= rows) return;
        int C = c.hiddenSize(), qDim = c.qDim(), kvDim = c.kvDim(), F = c.intermediateSize(), half = c.headDim() / 2;
        pos = new int[n];
        cos = new float[n * half];
        sin = new float[n * half];
        x = new float[n * C];
        h = new float[n * C];
        q = new float[n * qDim];
        att = new float[n * qDim];
        k = new float[n * kvDim];
        v = new float[n * kvDim];
        proj = new float[n * C];
        gate = new float[n * F];
        up = new float[n * F];
        rows = n;
    }
}
