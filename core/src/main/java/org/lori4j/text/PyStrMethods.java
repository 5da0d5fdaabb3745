package org.lori4j.text;

import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * Python's str methods on strings in chat templates (Jinja2 calls them on Python str objects; Jinjava would reach
 * java.lang.String's methods of the same name, with Java's meaning: split by regex dropping trailing empties, strip
 * by Java's whitespace, no lstrip/rstrip). First in the resolver chain; other calls pass through.
 */
final class PyStrMethods extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        ChatTemplate.Budget.check();
        if (method == null) return null;
        String name = method.toString();
        if (!(base instanceof String s)) {
            // Java's own methods of other objects stay out of reach too, but for the read-only dict methods
            // templates use (Jinja2's immutable sandbox allows no more)
            if ((base instanceof java.util.Map<?, ?> || base instanceof Collection<?> || base instanceof Number
                    || base instanceof Boolean || base instanceof Class<?>) && !DICT_METHODS.contains(name))
                throw new ChatTemplate.TemplateRefused("'" + typeName(base) + "' object has no attribute '" + name + "'");
            return null;
        }
        Object[] a = params == null ? new Object[0] : params;
        Object r = call(s, name, a);
        // never java.lang.String's methods: 'a'.repeat(2000000000) would allocate gigabytes
        if (r == NOT_MINE) throw new ChatTemplate.TemplateRefused("'str' object has no attribute '" + name + "'");
        if (r instanceof String out) ChatTemplate.Budget.checkLength(out.length());
        context.setPropertyResolved(true);
        return r;
    }

    private static final java.util.Set<String> DICT_METHODS = java.util.Set.of("items", "keys", "values", "get");

    private static String typeName(Object o) {
        return o instanceof java.util.Map<?, ?> ? "dict" : o instanceof java.util.List<?> ? "list"
                : o instanceof Number ? "number" : o instanceof Boolean ? "bool" : o.getClass().getSimpleName();
    }

    private static final Object NOT_MINE = new Object();

    static Object call(String s, String m, Object[] a) {
        return switch (m) {
            case "strip" -> ChatTemplate.PyTrim.strip(s, str(a, 0), true, true);
            case "lstrip" -> ChatTemplate.PyTrim.strip(s, str(a, 0), true, false);
            case "rstrip" -> ChatTemplate.PyTrim.strip(s, str(a, 0), false, true);
            case "split" -> split(s, str(a, 0), a.length > 1 ? ((Number) a[1]).intValue() : -1);
            case "startswith" -> anyOf(a, 0, p -> s.startsWith(p));
            case "endswith" -> anyOf(a, 0, p -> s.endsWith(p));
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
            case "replace" -> replace(s, String.valueOf(a[0]), String.valueOf(a[1]), a.length > 2 ? ((Number) a[2]).intValue() : -1);
            case "count" -> count(s, String.valueOf(a[0]));
            case "find" -> s.indexOf(String.valueOf(a[0]));
            case "join" -> join(s, a[0]);
            case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
            case "isspace" -> !s.isEmpty() && ChatTemplate.PyTrim.strip(s, null, true, true).isEmpty();
            case "format" -> format(s, a);
            default -> NOT_MINE;
        };
    }

    private static String str(Object[] a, int i) { return a.length > i && a[i] != null ? a[i].toString() : null; }

    private static boolean anyOf(Object[] a, int i, java.util.function.Predicate<String> p) {
        Object x = a.length > i ? a[i] : null;
        if (x instanceof Collection<?> c) return c.stream().anyMatch(o -> p.test(String.valueOf(o)));
        return p.test(String.valueOf(x));
    }

    /** str.split(sep, maxsplit): a literal separator keeps empty parts; no separator splits on whitespace runs. */
    static List<String> split(String s, String sep, int max) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0, n = s.length();
            while (true) {
                while (i < n && ChatTemplate.PyTrim.isSpace(s.charAt(i))) i++;
                if (i >= n) break;
                if (max >= 0 && out.size() == max) { out.add(ChatTemplate.PyTrim.strip(s.substring(i), null, false, true)); break; }
                int j = i;
                while (j < n && !ChatTemplate.PyTrim.isSpace(s.charAt(j))) j++;
                out.add(s.substring(i, j));
                i = j;
            }
            return out;
        }
        if (sep.isEmpty()) throw new IllegalArgumentException("empty separator");
        int from = 0;
        while (max < 0 || out.size() < max) {
            int k = s.indexOf(sep, from);
            if (k < 0) break;
            out.add(s.substring(from, k));
            from = k + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    private static String title(String s) {
        StringBuilder b = new StringBuilder(s.length());
        boolean prevCased = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(prevCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
            prevCased = Character.isLetter(c);
        }
        return b.toString();
    }

    private static String replace(String s, String old, String neu, int count) {
        if (count < 0) return s.replace(old, neu);
        StringBuilder b = new StringBuilder();
        int from = 0;
        for (int done = 0; done < count; done++) {
            int k = s.indexOf(old, from);
            if (k < 0) break;
            b.append(s, from, k).append(neu);
            from = k + old.length();
            if (old.isEmpty()) { if (from < s.length()) b.append(s.charAt(from)); from++; }
        }
        return b.append(s.substring(Math.min(from, s.length()))).toString();
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) return s.length() + 1;
        int n = 0;
        for (int k = s.indexOf(sub); k >= 0; k = s.indexOf(sub, k + sub.length())) n++;
        return n;
    }

    private static String join(String sep, Object items) {
        List<String> parts = new ArrayList<>();
        if (items instanceof Iterable<?> it) for (Object o : it) parts.add(String.valueOf(o));
        else if (items != null) parts.add(items.toString());
        return String.join(sep, parts);
    }

    /** str.format with positional fields: "{}" in order, "{0}" by index, "{{" and "}}" literal braces. */
    private static String format(String s, Object[] a) {
        StringBuilder b = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '{' && i + 1 < s.length() && s.charAt(i + 1) == '{') { b.append('{'); i++; continue; }
            if (c == '}' && i + 1 < s.length() && s.charAt(i + 1) == '}') { b.append('}'); i++; continue; }
            if (c == '{') {
                int end = s.indexOf('}', i);
                if (end < 0) throw new IllegalArgumentException("single '{' in format string");
                String f = s.substring(i + 1, end);
                int idx = f.isEmpty() ? auto++ : Integer.parseInt(f);
                b.append(idx < a.length ? String.valueOf(a[idx]) : "");
                i = end;
                continue;
            }
            b.append(c);
        }
        return b.toString();
    }

    @Override public Class<?> getCommonPropertyType(ELContext context, Object base) { return null; }
    @Override public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) { return null; }
    @Override public Class<?> getType(ELContext context, Object base, Object property) { return null; }
    @Override public Object getValue(ELContext context, Object base, Object property) {
        ChatTemplate.Budget.check();
        return null;
    }
    @Override public boolean isReadOnly(ELContext context, Object base, Object property) { return true; }
    @Override public void setValue(ELContext context, Object base, Object property, Object value) { }
}
