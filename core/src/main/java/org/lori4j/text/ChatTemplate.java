package org.lori4j.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A Hugging Face chat template (the Jinja2 {@code chat_template} of tokenizer_config.json) rendered with Jinjava,
 * set up to match transformers' {@code apply_chat_template(tokenize=False)}: trim_blocks and lstrip_blocks, the
 * variables messages, add_generation_prompt and the special tokens (bos_token, eos_token, unk_token, ...), the
 * functions raise_exception and strftime_now, Python-style tojson and trim filters, and Python's str methods
 * ({@link PyStrMethods}). Jinja2 source rules Jinjava lacks are applied to the template text first (newlines
 * normalised, one trailing newline dropped, \\u escapes in string literals decoded). Known differences: Python's %
 * formatting and True/False/None when printed are not reproduced.
 */
public final class ChatTemplate {

    /** One chat turn; role is "system", "user", "assistant" or whatever the template understands. */
    public record Message(String role, String content) {
        public Message {
            if (role == null || content == null) throw new LoriException("chat message needs a role and a content");
        }
    }

    private final String source;     // the template as written in tokenizer_config.json
    private final String prepared;   // after the Jinja2 source rules
    private final Map<String, Object> specials;   // bos_token, eos_token, unk_token, ...: transformers' special_tokens_map
    private final String origin;
    private final Jinjava jinjava;

    /** A template with the given BOS/EOS strings (either may be null, rendering as empty like an undefined). */
    public ChatTemplate(String source, String bosToken, String eosToken) {
        this(source, specials(bosToken, eosToken));
    }

    private static Map<String, Object> specials(String bos, String eos) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (bos != null) m.put("bos_token", bos);
        if (eos != null) m.put("eos_token", eos);
        return m;
    }

    /**
     * A template with the tokenizer's special tokens as template variables (bos_token, eos_token, unk_token,
     * sep_token, pad_token, cls_token, mask_token, additional_special_tokens), as transformers passes its
     * special_tokens_map; absent ones render as undefined.
     */
    public ChatTemplate(String source, Map<String, Object> specialTokens) {
        this(source, specialTokens, null);
    }

    /** ORIGIN names where the template came from in error messages (null: not named). */
    private ChatTemplate(String source, Map<String, Object> specialTokens, String origin) {
        this.origin = origin;
        this.source = source;
        checkNesting(source, origin);
        this.prepared = prepareSource(source);
        this.specials = Map.copyOf(specialTokens);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(false) // done in rewrite(): Jinjava's also strips mid-line
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseNaturalOperatorPrecedence(true)     // 'a' + b | trim  is  'a' + (b | trim)
                        .withParseWhitespaceControlStrictly(true)
                        .withUseTrimmingForNotesAndExpressions(true) // {{- x -}} trims like Jinja2
                        .withEvaluateMapKeys(true)
                        .withIterateOverMapKeys(true)
                        .withKeepNullableLoopValues(true)
                        .withUsePyishObjectMapper(true)
                        .build())
                .withElResolver(RESOLVER)
                // bounds (a template is code from a file): output, strings, lists, maps, ranges, nesting
                .withMaxOutputSize(MAX_OUTPUT_CHARS)
                .withMaxStringLength(MAX_OUTPUT_CHARS)
                .withMaxListSize(100_000)
                .withMaxMapSize(100_000)
                .withRangeLimit(100_000)
                .withMaxRenderDepth(50)
                .withMaxMacroRecursionDepth(50)
                .withNodePreProcessor((node, interpreter) -> Budget.check())   // the time budget, at every node rendered
                .build();
        this.jinjava = new Jinjava(config);
        jinjava.registerFunction(new ELFunctionDefinition("", "raise_exception", Functions.class,
                "raiseException", String.class));
        jinjava.registerFunction(new ELFunctionDefinition("", "strftime_now", Functions.class,
                "strftimeNow", String.class));
        // Python's range, checking the render's time budget (loops over ranges evaluate no other expression)
        jinjava.registerFunction(new ELFunctionDefinition("", "range", Functions.class, "range", Object.class, Object[].class));
        jinjava.registerFilter(new ToJson());
        jinjava.registerFilter(new PyTrim());
        jinjava.registerTag(new Generation());
    }

    /** Python's str methods first, then Jinjava's own resolution (read-only, as its default). */
    private static final jinjava.javax.el.ELResolver RESOLVER = resolver();

    private static jinjava.javax.el.ELResolver resolver() {
        jinjava.javax.el.CompositeELResolver r = new jinjava.javax.el.CompositeELResolver();
        r.add(new PyStrMethods());
        r.add(com.hubspot.jinjava.el.JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        return r;
    }

    /** Where a folder's chat template is looked for, in transformers' order (the file wins, since transformers 4.47). */
    public static final String WHERE = "chat_template.jinja or tokenizer_config.json's chat_template";

    /**
     * The chat template of DIR: DIR/chat_template.jinja (what transformers 4.47+ saves, and prefers) or else the
     * chat_template of DIR/tokenizer_config.json; empty when neither exists. A list of named templates
     * ({@code [{"name": ..., "template": ...}]}) yields the one named "default". BOS/EOS come from
     * tokenizer_config.json either way.
     */
    public static Optional<ChatTemplate> load(Path dir) {
        Path file = dir.resolve("tokenizer_config.json");
        Path jinja = dir.resolve("chat_template.jinja");
        JsonNode tc = Files.isRegularFile(file) ? Json.read(file) : Json.MAPPER.createObjectNode();
        Map<String, Object> specials = specialTokens(dir, tc);
        if (Files.isRegularFile(jinja)) {
            return Optional.of(new ChatTemplate(org.lori4j.io.TextFiles.readString(jinja, MAX_OUTPUT_CHARS), specials, jinja.toString()));
        }
        JsonNode t = tc.get("chat_template");
        if (t == null || t.isNull()) return Optional.empty();
        String source;
        if (t.isTextual()) {
            source = t.asText();
        } else if (t.isArray()) {
            source = null;
            List<String> names = new ArrayList<>();
            for (JsonNode e : t) {
                names.add(e.path("name").asText("?"));
                if ("default".equals(e.path("name").asText()) && e.path("template").isTextual()) {
                    source = e.get("template").asText();
                }
            }
            if (source == null) throw new LoriException(file + ": chat_template has no template named \"default\" (has "
                    + String.join(", ", names) + ")");
        } else {
            throw new LoriException(file + ": chat_template must be a string or a list of {name, template}");
        }
        return Optional.of(new ChatTemplate(source, specials, file + "'s chat_template"));
    }

    private static final List<String> SPECIAL_KEYS =
            List.of("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token");

    /**
     * transformers' special_tokens_map: each special token from tokenizer_config.json, else special_tokens_map.json,
     * else the tokenizer class's default (the Llama classes: &lt;s&gt;, &lt;/s&gt;, &lt;unk&gt;).
     */
    static Map<String, Object> specialTokens(Path dir, JsonNode tc) {
        Path mapFile = dir.resolve("special_tokens_map.json");
        JsonNode sm = Files.isRegularFile(mapFile) ? Json.read(mapFile) : Json.MAPPER.createObjectNode();
        boolean llama = tc.path("tokenizer_class").asText("").contains("Llama");
        Map<String, Object> m = new LinkedHashMap<>();
        for (String k : SPECIAL_KEYS) {
            String v = Tokenizer.tokenContent(tc.get(k));
            if (v == null) v = Tokenizer.tokenContent(sm.get(k));
            if (v == null && llama) v = switch (k) { case "bos_token" -> "<s>"; case "eos_token" -> "</s>"; case "unk_token" -> "<unk>"; default -> null; };
            if (v != null) m.put(k, v);
        }
        JsonNode extra = tc.has("additional_special_tokens") ? tc.get("additional_special_tokens") : sm.get("additional_special_tokens");
        if (extra != null && extra.isArray()) {
            List<String> list = new ArrayList<>();
            for (JsonNode e : extra) { String v = Tokenizer.tokenContent(e); if (v != null) list.add(v); }
            m.put("additional_special_tokens", list);
        }
        return m;
    }

    /** The prompt text for MESSAGES; with addGenerationPrompt the template appends the assistant header (if it does so). */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /**
     * Like {@link #render(List, boolean)} with extra template variables (e.g. "date_string", "tools"), as the
     * keyword arguments of apply_chat_template; they cannot replace messages or add_generation_prompt.
     */
    public String render(List<Message> messages, boolean addGenerationPrompt, Map<String, Object> extra) {
        List<Map<String, Object>> msgs = new ArrayList<>();
        for (Message m : messages) {
            Map<String, Object> map = new LinkedHashMap<>(); // keeps role before content, as a Python dict
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(map);
        }
        // as apply_chat_template: the special tokens, then the caller's keyword arguments (which may override them)
        Map<String, Object> vars = new HashMap<>(specials);
        vars.putAll(extra);
        vars.put("messages", msgs);
        vars.put("add_generation_prompt", addGenerationPrompt);
        RenderResult r;
        Budget.start(renderTimeoutNanos);
        try {
            r = jinjava.renderForResult(prepared, vars);
        } catch (Budget.Exceeded e) {
            throw new LoriException("chat template" + (origin == null ? "" : " of " + origin) + ": rendering took longer than "
                    + renderTimeoutNanos / 1e9 + " s; stopped");
        } catch (StackOverflowError e) {
            throw new LoriException("chat template" + (origin == null ? "" : " of " + origin) + ": nested too deeply to render");
        } finally {
            Budget.stop();
        }
        for (TemplateError e : r.getErrors()) {
            TemplateRaised raised = findRaised(e.getException());
            if (raised != null) throw new LoriException("chat template: " + oneLine(raised.getMessage()));
            for (Throwable t = e.getException(); t != null && t != t.getCause(); t = t.getCause())
                if (t instanceof Budget.Exceeded)
                    throw new LoriException("chat template" + (origin == null ? "" : " of " + origin) + ": rendering took longer than "
                            + renderTimeoutNanos / 1e9 + " s; stopped");
        }
        for (TemplateError e : r.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new LoriException("chat template error" + (e.getLineno() > 0 ? " at line " + e.getLineno() : "")
                        + (origin == null ? "" : (e.getLineno() > 0 ? " of " : " in ") + origin) + ": " + oneLine(e.getMessage()));
            }
        }
        return r.getOutput();
    }

    /** The longest rendered prompt (characters), and the longest string a template may build. */
    static final long MAX_OUTPUT_CHARS = org.lori4j.text.Tokenizer.MAX_TEXT_CHARS;
    /** The render's time budget (a test may shorten it). */
    static volatile long renderTimeoutNanos = 5_000_000_000L;
    /** The deepest nesting of brackets or block tags a template may have (real ones stay below 10). */
    static final int MAX_NESTING = 100;

    /**
     * Refuses templates nested deeper than {@link #MAX_NESTING} brackets inside tags or block tags (10,000 nested
     * parentheses or {% if %} overflow the stacks of Jinjava's recursive parsers), with one line.
     */
    static void checkNesting(String s, String origin) {
        if (s.length() > MAX_OUTPUT_CHARS)
            throw new LoriException("chat template" + (origin == null ? "" : " of " + origin) + " is longer than " + MAX_OUTPUT_CHARS + " characters");
        int brackets = 0, blocks = 0, max = 0;
        boolean inTag = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!inTag) {
                if (c == '{' && i + 1 < s.length() && (s.charAt(i + 1) == '{' || s.charAt(i + 1) == '%')) {
                    inTag = true;
                    if (s.charAt(i + 1) == '%') {
                        int j = i + 2;
                        while (j < s.length() && (s.charAt(j) == ' ' || s.charAt(j) == '-' || s.charAt(j) == '+')) j++;
                        int k = j;
                        while (k < s.length() && Character.isLetter(s.charAt(k))) k++;
                        String word = s.substring(j, k);
                        if (word.startsWith("end")) blocks = Math.max(0, blocks - 1);
                        else if (BLOCK_TAGS.contains(word)) blocks++;
                    }
                    i++;
                }
            } else if (c == '(' || c == '[' || c == '{') {
                brackets++;
            } else if (c == ')' || c == ']' || (c == '}' && !(i + 1 < s.length() && s.charAt(i + 1) == '}' && brackets == 0))) {
                brackets = Math.max(0, brackets - 1);
            } else if ((c == '}' || c == '%') && i + 1 < s.length() && s.charAt(i + 1) == '}') {
                inTag = false;
                brackets = 0;
                i++;
            }
            max = Math.max(max, Math.max(brackets, blocks));
            if (max > MAX_NESTING)
                throw new LoriException("chat template" + (origin == null ? "" : " of " + origin) + " nests brackets or block tags"
                        + " more than " + MAX_NESTING + " deep (at character " + i + "); refusing to render it");
        }
    }

    private static final java.util.Set<String> BLOCK_TAGS = java.util.Set.of("if", "for", "macro", "call", "filter",
            "block", "raw", "with", "generation", "autoescape");

    /**
     * The time budget of the render on this thread: checked at each expression (the resolver sees every one), so a
     * template whose loops never end stops at the deadline. Exceeded is an Error, so that Jinjava, which records
     * exceptions and renders on, lets it through.
     */
    static final class Budget {
        private static final ThreadLocal<long[]> DEADLINE = new ThreadLocal<>();

        static final class Exceeded extends Error {
            Exceeded() { super("chat template render time exceeded", null, false, false); }
        }

        static void start(long nanos) { DEADLINE.set(new long[]{System.nanoTime() + nanos}); }
        static void stop() { DEADLINE.remove(); }

        static void check() {
            long[] d = DEADLINE.get();
            if (d != null && System.nanoTime() - d[0] > 0) throw new Exceeded();
        }

        static void checkLength(long chars) {
            if (chars > MAX_OUTPUT_CHARS) throw new TemplateRefused("a string of " + chars + " characters is too long");
        }
    }

    /** A call a chat template may not make (Java methods, over-long strings); recorded as a template error. */
    static final class TemplateRefused extends RuntimeException {
        TemplateRefused(String message) { super(message, null, false, false); }
    }

    /** Python's {@code str.strip()}: removes Python's whitespace (U+00A0 and the other Zs too, unlike Java's strip). */
    public static String pythonStrip(String s) { return PyTrim.strip(s, null, true, true); }

    /** The template text as stored in tokenizer_config.json. */
    public String source() { return source; }

    public String bosToken() { return (String) specials.get("bos_token"); }

    public String eosToken() { return (String) specials.get("eos_token"); }

    // ---- Jinja2 source rules ----

    /**
     * Jinja2's lexer turns \r\n and \r into \n and drops one trailing newline (keep_trailing_newline=False);
     * then {@link #rewrite} applies lstrip_blocks and the literal/method fixes.
     */
    static String prepareSource(String s) {
        s = s.replace("\r\n", "\n").replace('\r', '\n');
        if (s.endsWith("\n")) s = s.substring(0, s.length() - 1);
        return rewrite(s);
    }

    /**
     * One pass over the source: lstrip_blocks (Jinjava's own strips before any block tag, even mid-line; Jinja2
     * only strips spaces and tabs between a line start and "{%" or "{#"), and inside {{ }} / {% %} tags the
     * \\u / \\x escapes of string literals. Text outside tags is kept as is.
     */
    private static String rewrite(String s) {
        StringBuilder out = new StringBuilder(s.length());
        int i = 0, n = s.length();
        while (i < n) {
            int open = nextTag(s, i);
            if (open < 0) { out.append(s, i, n); break; }
            out.append(s, i, open);
            char kind = s.charAt(open + 1);
            if (kind != '{' && !(open + 2 < n && s.charAt(open + 2) == '+')) lstrip(out);
            if (kind == '#') {
                int end = s.indexOf("#}", open + 2);
                int stop = end < 0 ? n : end + 2;
                out.append(s, open, stop);
                i = stop;
                continue;
            }
            String close = kind == '{' ? "}}" : "%}";
            out.append(s, open, open + 2);
            i = open + 2;
            while (i < n && !s.startsWith(close, i)) {
                char c = s.charAt(i);
                if (c == '\'' || c == '"') {
                    i = copyLiteral(s, i, out);
                } else {
                    out.append(c);
                    i++;
                }
            }
            if (i < n) { out.append(close); i += 2; }
        }
        return out.toString();
    }

    /** Drops trailing spaces/tabs of OUT when only they stand between the last line start and the end. */
    private static void lstrip(StringBuilder out) {
        int k = out.length();
        while (k > 0 && (out.charAt(k - 1) == ' ' || out.charAt(k - 1) == '\t')) k--;
        if (k == 0 || out.charAt(k - 1) == '\n') out.setLength(k);
    }

    /** Position of the next "{{", "{%" or "{#" at or after FROM, or -1. */
    private static int nextTag(String s, int from) {
        int best = -1;
        for (String t : new String[]{"{{", "{%", "{#"}) {
            int k = s.indexOf(t, from);
            if (k >= 0 && (best < 0 || k < best)) best = k;
        }
        return best;
    }

    /** Copies the literal starting at quote position Q with escapes decoded; returns the index after it. */
    private static int copyLiteral(String s, int q, StringBuilder out) {
        char quote = s.charAt(q);
        out.append(quote);
        int i = q + 1;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == quote) { out.append(c); return i + 1; }
            if (c != '\\' || i + 1 >= s.length()) { out.append(c); i++; continue; }
            char e = s.charAt(i + 1);
            if ((e == 'u' || e == 'x') && i + 2 + (e == 'u' ? 4 : 2) <= s.length()) {
                int len = e == 'u' ? 4 : 2;
                int cp;
                try {
                    cp = Integer.parseInt(s.substring(i + 2, i + 2 + len), 16);
                } catch (NumberFormatException ex) {
                    out.append(c).append(e);
                    i += 2;
                    continue;
                }
                if (cp == '\\' || cp == '\'' || cp == '"') out.append('\\');
                out.appendCodePoint(cp);
                i += 2 + len;
            } else {
                out.append(c).append(e); // \n \t \\ \' \" Jinjava decodes itself
                i += 2;
            }
        }
        return i;
    }

    // ---- template functions ----

    /**
     * transformers' tojson filter, {@code tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)}
     * = json.dumps with those arguments (positional in that order), unlike Jinjava's compact Jackson output.
     */
    static final class ToJson implements Filter {
        @Override
        public String getName() { return "tojson"; }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, (Object[]) args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object ascii = arg(args, kwargs, 0, "ensure_ascii"), indent = arg(args, kwargs, 1, "indent");
            Object seps = arg(args, kwargs, 2, "separators"), sort = arg(args, kwargs, 3, "sort_keys");
            String itemSep = null, keySep = null;
            if (seps instanceof List<?> l && l.size() == 2) { itemSep = String.valueOf(l.get(0)); keySep = String.valueOf(l.get(1)); }
            return PyJson.dumps(var, truthy(ascii), indent == null ? null : Integer.valueOf(indent.toString()), itemSep, keySep,
                    truthy(sort));
        }

        private static Object arg(Object[] args, Map<String, Object> kwargs, int i, String name) {
            return kwargs.containsKey(name) ? kwargs.get(name) : args != null && args.length > i ? args[i] : null;
        }

        private static boolean truthy(Object o) {
            return o instanceof Boolean b ? b : o != null && !o.toString().isEmpty() && !o.toString().equals("false")
                    && !o.toString().equals("0");
        }
    }

    /** Jinja2's trim: Python's str.strip(chars), whitespace as Python's str.isspace (NBSP and U+3000 too, NUL not). */
    static final class PyTrim implements Filter {
        @Override
        public String getName() { return "trim"; }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return strip(var == null ? "None" : var.toString(), args.length > 0 ? args[0] : null, true, true);
        }

        /** str.strip / lstrip (left) / rstrip (right) with CHARS, or Python's whitespace when CHARS is null. */
        static String strip(String s, String chars, boolean left, boolean right) {
            int a = 0, b = s.length();
            while (left && a < b && drop(s.charAt(a), chars)) a++;
            while (right && b > a && drop(s.charAt(b - 1), chars)) b--;
            return s.substring(a, b);
        }

        private static boolean drop(char c, String chars) {
            return chars != null ? chars.indexOf(c) >= 0 : isSpace(c);
        }

        /** Python's str.isspace for one character: category Zs or bidirectional class WS, B or S. */
        static boolean isSpace(char c) {
            byte dir = Character.getDirectionality(c);
            return Character.getType(c) == Character.SPACE_SEPARATOR || dir == Character.DIRECTIONALITY_WHITESPACE
                    || dir == Character.DIRECTIONALITY_PARAGRAPH_SEPARATOR || dir == Character.DIRECTIONALITY_SEGMENT_SEPARATOR;
        }
    }

    /**
     * transformers' {% generation %}...{% endgeneration %} (its AssistantTracker extension, which marks the assistant's
     * text for return_assistant_tokens_mask): renders its body unchanged.
     */
    static final class Generation implements com.hubspot.jinjava.lib.tag.Tag {
        @Override
        public String getName() { return "generation"; }

        @Override
        public String getEndTagName() { return "endgeneration"; }

        @Override
        public String interpret(com.hubspot.jinjava.tree.TagNode node, JinjavaInterpreter interpreter) {
            StringBuilder b = new StringBuilder();
            for (com.hubspot.jinjava.tree.Node child : node.getChildren()) b.append(child.render(interpreter).getValue());
            return b.toString();
        }
    }

    /** Thrown by raise_exception; carries the template's own message. */
    static final class TemplateRaised extends RuntimeException {
        TemplateRaised(String message) { super(message); }
    }

    /** Static entry points Jinjava calls by reflection. */
    public static final class Functions {
        private Functions() {}

        public static Object raiseException(String message) { throw new TemplateRaised(message); }

        /** Python time.strftime on the local time for the common codes (%d %m %Y %y %b %B %a %A %H %M %S %j %p %%). */
        public static String strftimeNow(String format) { return strftime(format, ZonedDateTime.now()); }

        /** range(stop), range(start, stop[, step]) as Python's, at most 100,000 numbers (Jinja2's sandbox limit). */
        public static List<Long> range(Object first, Object... rest) {
            Budget.check();
            long start = 0, stop, step = 1;
            if (rest == null || rest.length == 0) stop = num(first);
            else {
                start = num(first);
                stop = num(rest[0]);
                if (rest.length > 1) step = num(rest[1]);
            }
            if (step == 0) throw new TemplateRefused("range() arg 3 must not be zero");
            long n = step > 0 ? (stop - start + step - 1) / step : (start - stop - step - 1) / -step;
            if (n > 100_000) throw new TemplateRefused("range of " + n + " numbers is longer than 100000");
            int size = (int) Math.max(0, n);
            long from = start, by = step;
            return new java.util.AbstractList<>() {   // computed, not stored: nested loops over ranges allocate little
                @Override public Long get(int i) { return from + i * by; }
                @Override public int size() { return size; }
            };
        }

        private static long num(Object o) {
            if (o instanceof Number x) return x.longValue();
            try {
                return Long.parseLong(String.valueOf(o).strip());
            } catch (NumberFormatException e) {
                throw new TemplateRefused("range() needs integers, got " + o);
            }
        }
    }

    static String strftime(String format, ZonedDateTime t) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 >= format.length()) { b.append(c); continue; }
            char f = format.charAt(++i);
            switch (f) {
                case 'd' -> b.append(String.format("%02d", t.getDayOfMonth()));
                case 'm' -> b.append(String.format("%02d", t.getMonthValue()));
                case 'Y' -> b.append(t.getYear());
                case 'y' -> b.append(String.format("%02d", t.getYear() % 100));
                case 'b' -> b.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> b.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> b.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> b.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'H' -> b.append(String.format("%02d", t.getHour()));
                case 'I' -> b.append(String.format("%02d", (t.getHour() + 11) % 12 + 1));
                case 'M' -> b.append(String.format("%02d", t.getMinute()));
                case 'S' -> b.append(String.format("%02d", t.getSecond()));
                case 'j' -> b.append(String.format("%03d", t.getDayOfYear()));
                case 'p' -> b.append(t.getHour() < 12 ? "AM" : "PM");
                case 'Z' -> b.append(t.format(DateTimeFormatter.ofPattern("z", Locale.ENGLISH)));
                case '%' -> b.append('%');
                default -> b.append('%').append(f);
            }
        }
        return b.toString();
    }

    private static TemplateRaised findRaised(Throwable t) {
        for (int depth = 0; t != null && depth < 20; t = t.getCause(), depth++) {
            if (t instanceof TemplateRaised r) return r;
        }
        return null;
    }

    private static String oneLine(String s) {
        if (s == null) return "";
        s = s.replaceAll("\\s*\\R\\s*", " ").strip();
        return s.length() > 500 ? s.substring(0, 500) + "..." : s;
    }
}
