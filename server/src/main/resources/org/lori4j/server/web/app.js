// The lori4j playground: talks to the server's own OpenAI API with fetch and reads the streamed answer as
// server-sent events. No libraries, no build step.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const models = new Map();        // id -> model entry of /v1/models
  let history = [];                // chat messages so far
  let controller = null;           // aborts the running request

  $("api-key").value = localStorage.getItem("lori4j.apiKey") || "";
  $("api-key").addEventListener("change", () => { localStorage.setItem("lori4j.apiKey", $("api-key").value); loadModels(); });
  $("temperature").addEventListener("input", () => { $("temperature-value").textContent = $("temperature").value; });
  $("model").addEventListener("change", showMode);
  $("clear").addEventListener("click", () => { history = []; $("transcript").replaceChildren(); $("stats").textContent = ""; });
  $("stop").addEventListener("click", () => { if (controller) controller.abort(); });
  $("prompt").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("form").requestSubmit(); }
  });
  $("form").addEventListener("submit", (e) => { e.preventDefault(); send(); });

  function headers() {
    const h = { "Content-Type": "application/json" };
    const key = $("api-key").value.trim();
    if (key) h["Authorization"] = "Bearer " + key;
    return h;
  }

  async function loadModels() {
    try {
      const r = await fetch("v1/models", { headers: headers() });
      const body = await r.json();
      if (!r.ok) throw new Error(body.error ? body.error.message : r.statusText);
      const keep = $("model").value;
      models.clear();
      $("model").replaceChildren();
      for (const m of body.data) {
        models.set(m.id, m);
        const o = document.createElement("option");
        o.value = m.id;
        o.textContent = m.parent ? m.id + "  (adapter on " + m.parent + ")" : m.id + "  (base model)";
        $("model").append(o);
      }
      if (models.has(keep)) $("model").value = keep;
      $("status").textContent = body.data.length + " model" + (body.data.length === 1 ? "" : "s") + " served";
      showMode();
    } catch (err) {
      $("status").textContent = "cannot list models: " + err.message;
    }
  }

  function chatMode() {
    const m = models.get($("model").value);
    return !m || m.chat_template !== false;
  }

  function showMode() {
    $("mode").textContent = chatMode() ? "chat (the model's chat template)" : "completion: the model has no chat template, so your text is continued";
  }

  function bubble(kind, label, text) {
    const d = document.createElement("div");
    d.className = "msg " + kind;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = label;
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    d.append(who, body);
    $("transcript").append(d);
    $("transcript").scrollTop = $("transcript").scrollHeight;
    return body;
  }

  async function send() {
    const text = $("prompt").value;
    if (!text.trim() || controller) return;
    const model = $("model").value;
    const chat = chatMode();
    bubble("user", "you", text);
    $("prompt").value = "";
    const out = bubble("assistant", model, "");
    const reply = out.parentElement;
    reply.dataset.done = "false";
    reply.dataset.chunks = "0";
    const req = { model: model, stream: true, stream_options: { include_usage: true },
                  temperature: Number($("temperature").value), max_tokens: Number($("max-tokens").value) };
    let url;
    if (chat) {
      history.push({ role: "user", content: text });
      req.messages = history;
      url = "v1/chat/completions";
    } else {
      req.prompt = text;
      url = "v1/completions";
    }
    controller = new AbortController();
    $("send").disabled = true;
    $("stop").disabled = false;
    $("stats").textContent = "waiting…";
    const t0 = performance.now();
    let first = 0, tokens = 0, chunks = 0, answer = "";
    try {
      const r = await fetch(url, { method: "POST", headers: headers(), body: JSON.stringify(req), signal: controller.signal });
      if (!r.ok) {
        const body = await r.json().catch(() => ({}));
        throw new Error(body.error ? body.error.message : r.status + " " + r.statusText);
      }
      const reader = r.body.getReader();
      const decoder = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const event = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          if (!event.startsWith("data: ")) continue;
          const data = event.slice(6);
          if (data === "[DONE]") continue;
          const c = JSON.parse(data);
          if (c.error) throw new Error(c.error.message);
          if (c.usage) tokens = c.usage.completion_tokens;
          for (const ch of c.choices || []) {
            const piece = chat ? (ch.delta && ch.delta.content) || "" : ch.text || "";
            if (piece) {
              if (!first) first = performance.now();
              answer += piece;
              out.textContent = answer;
              reply.dataset.chunks = String(++chunks);
              $("transcript").scrollTop = $("transcript").scrollHeight;
            }
          }
        }
      }
      const secs = (performance.now() - (first || t0)) / 1000;
      const ttft = ((first || performance.now()) - t0) / 1000;
      $("stats").textContent = tokens + " tokens, " + (tokens > 1 && secs > 0 ? ((tokens - 1) / secs).toFixed(1) : "–")
        + " tokens/s, first token after " + ttft.toFixed(2) + " s";
      if (chat) history.push({ role: "assistant", content: answer });
    } catch (err) {
      if (err.name === "AbortError") {
        $("stats").textContent = "stopped";
        if (chat) history.push({ role: "assistant", content: answer });
      } else {
        if (chat) history.pop();
        reply.className = "msg error";
        out.textContent = err.message;
        $("stats").textContent = "";
      }
    } finally {
      reply.dataset.done = "true";
      controller = null;
      $("send").disabled = false;
      $("stop").disabled = true;
      $("prompt").focus();
    }
  }

  loadModels();
})();
