package org.lori4j.text;

import java.util.Collection;
import java.util.Iterator;
import java.util.Map;

/**
 * Python's {@code json.dumps(x, ensure_ascii=False, indent=...)} text, for the tojson filter of chat templates:
 * separators ", " and ": " without indent, "," and ": " with it, non-ASCII kept, True/False/None as JSON.
 */
final class PyJson {
    private PyJson() {}

    static String dumps(Object x, Integer indent) {
        StringBuilder b = new StringBuilder();
        write(b, x, indent, 0);
        return b.toString();
    }

    private static void write(StringBuilder b, Object x, Integer indent, int depth) {
        switch (x) {
            case null -> b.append("null");
            case Boolean bool -> b.append(bool);
            case Integer _, Long _, Short _, Byte _, java.math.BigInteger _ -> b.append(x);
            case Number n -> b.append(pyFloat(n.doubleValue()));
            case CharSequence s -> string(b, s.toString());
            case Map<?, ?> m -> {
                if (m.isEmpty()) { b.append("{}"); return; }
                b.append('{');
                Iterator<? extends Map.Entry<?, ?>> it = m.entrySet().iterator();
                while (it.hasNext()) {
                    Map.Entry<?, ?> e = it.next();
                    newline(b, indent, depth + 1);
                    string(b, String.valueOf(e.getKey()));
                    b.append(": ");
                    write(b, e.getValue(), indent, depth + 1);
                    if (it.hasNext()) b.append(indent == null ? ", " : ",");
                }
                newline(b, indent, depth);
                b.append('}');
            }
            case Collection<?> c -> {
                if (c.isEmpty()) { b.append("[]"); return; }
                b.append('[');
                Iterator<?> it = c.iterator();
                while (it.hasNext()) {
                    newline(b, indent, depth + 1);
                    write(b, it.next(), indent, depth + 1);
                    if (it.hasNext()) b.append(indent == null ? ", " : ",");
                }
                newline(b, indent, depth);
                b.append(']');
            }
            case Object[] arr -> write(b, java.util.Arrays.asList(arr), indent, depth);
            default -> string(b, x.toString());
        }
    }

    private static void newline(StringBuilder b, Integer indent, int depth) {
        if (indent == null) return;
        b.append('\n').append(" ".repeat(indent * depth));
    }

    /** Python float repr for the common cases: integral values keep ".0". */
    private static String pyFloat(double d) {
        if (Double.isNaN(d)) return "NaN";
        if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
        if (d == Math.rint(d) && Math.abs(d) < 1e16) return (long) d + ".0";
        return Double.toString(d);
    }

    private static void string(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        b.append('"');
    }
}
