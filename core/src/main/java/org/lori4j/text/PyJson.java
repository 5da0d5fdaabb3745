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
        return dumps(x, false, indent, null, null, false);
    }

    /**
     * json.dumps(x, ensure_ascii=ensureAscii, indent=indent, separators=(itemSep, keySep), sort_keys=sortKeys); null
     * separators take Python's defaults (", " and ": ", or "," and ": " with an indent).
     */
    static String dumps(Object x, boolean ensureAscii, Integer indent, String itemSep, String keySep, boolean sortKeys) {
        StringBuilder b = new StringBuilder();
        Style st = new Style(ensureAscii, indent, itemSep != null ? itemSep : indent == null ? ", " : ",",
                keySep != null ? keySep : ": ", sortKeys);
        write(b, x, st, 0);
        return b.toString();
    }

    private record Style(boolean ascii, Integer indent, String itemSep, String keySep, boolean sortKeys) {}

    private static void write(StringBuilder b, Object x, Style st, int depth) {
        switch (x) {
            case null -> b.append("null");
            case Boolean bool -> b.append(bool);
            case Integer _, Long _, Short _, Byte _, java.math.BigInteger _ -> b.append(x);
            case Number n -> b.append(pyFloat(n.doubleValue()));
            case CharSequence s -> string(b, s.toString(), st.ascii());
            case Map<?, ?> m -> {
                if (m.isEmpty()) { b.append("{}"); return; }
                b.append('{');
                java.util.List<Map.Entry<?, ?>> entries = new java.util.ArrayList<>(m.entrySet());
                if (st.sortKeys()) entries.sort(java.util.Comparator.comparing(e -> String.valueOf(e.getKey())));
                Iterator<Map.Entry<?, ?>> it = entries.iterator();
                while (it.hasNext()) {
                    Map.Entry<?, ?> e = it.next();
                    newline(b, st.indent(), depth + 1);
                    string(b, String.valueOf(e.getKey()), st.ascii());
                    b.append(st.keySep());
                    write(b, e.getValue(), st, depth + 1);
                    if (it.hasNext()) b.append(st.itemSep());
                }
                newline(b, st.indent(), depth);
                b.append('}');
            }
            case Collection<?> c -> {
                if (c.isEmpty()) { b.append("[]"); return; }
                b.append('[');
                Iterator<?> it = c.iterator();
                while (it.hasNext()) {
                    newline(b, st.indent(), depth + 1);
                    write(b, it.next(), st, depth + 1);
                    if (it.hasNext()) b.append(st.itemSep());
                }
                newline(b, st.indent(), depth);
                b.append(']');
            }
            case Object[] arr -> write(b, java.util.Arrays.asList(arr), st, depth);
            default -> string(b, x.toString(), st.ascii());
        }
    }

    private static void newline(StringBuilder b, Integer indent, int depth) {
        if (indent == null) return;
        b.append('\n').append(" ".repeat(indent * depth));
    }

    /**
     * Python's float repr: the shortest digits that read back the same (as Java's), written fixed when the decimal
     * exponent is in [-4, 16) and as d.ddde+XX otherwise (1e+20, 1e-07, 1.5e-05, 0.0001, 1e+16).
     */
    static String pyFloat(double d) {
        if (Double.isNaN(d)) return "NaN";
        if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
        if (d == 0) return (1 / d < 0) ? "-0.0" : "0.0";
        java.math.BigDecimal v = new java.math.BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = v.unscaledValue().toString();
        int exp = digits.length() - 1 - v.scale();   // value = 0.d1d2... * 10^(exp + 1)
        String sign = d < 0 ? "-" : "";
        if (exp >= -4 && exp < 16) {
            String fixed = v.toPlainString();
            return sign + (fixed.contains(".") ? fixed : fixed + ".0");
        }
        String mant = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mant + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }

    private static void string(StringBuilder b, String s, boolean ascii) {
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
                    if (c < 0x20 || ascii && c > 0x7e) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        b.append('"');
    }
}
