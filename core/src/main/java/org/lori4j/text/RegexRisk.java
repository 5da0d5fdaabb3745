package org.lori4j.text;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Refuses tokenizer.json regular expressions that can make the Rust tokenizers library's backtracking engine
 * (Oniguruma) exceed its per-match retry limit: the library then panics across its native boundary and the JVM
 * aborts. A pattern passes when, by its structure, one match attempt backtracks at most in proportion to the text
 * (the patterns of real tokenizers do: GPT-2, Llama 3, Qwen2, Mistral's Tekken, GPT-4o, DeepSeek):
 * <ul>
 *   <li>no back-reference or subexpression call;</li>
 *   <li>no repetition (*, +, {n,m} with m &gt; 1) over something that itself repeats or has alternatives, as in
 *       {@code (a+)+} or {@code (a|a)*} (exponential);</li>
 *   <li>no two repetitions in one sequence that can take the same characters when something after the second can
 *       still fail, as {@code \s*\s*x} or {@code .*a.*b} (polynomial); a trailing pair such as Llama 3's
 *       {@code \s*[\r\n]+} is linear and passes.</li>
 * </ul>
 * This is a conservative structural check, not a proof: see docs/security.md.
 */
final class RegexRisk {
    private RegexRisk() {}

    /** Deeper nesting of groups or classes is refused: Oniguruma's recursive parser overflows the stack on ~2000. */
    static final int MAX_NESTING = 100;
    /** Longer patterns are refused (real ones are under 1,000 characters). */
    static final int MAX_LENGTH = 50_000;

    /** Why the pattern is refused, or null when it passes. */
    static String check(String regex) {
        if (regex.length() > MAX_LENGTH) return "longer than " + MAX_LENGTH + " characters";
        int depth = 0;
        for (int i = 0; i < regex.length(); i++) {
            char c = regex.charAt(i);
            if (c == '\\') i++;
            else if (c == '(' || c == '[') { if (++depth > MAX_NESTING) return "nested more than " + MAX_NESTING + " deep"; }
            else if (c == ')' || c == ']') depth = Math.max(0, depth - 1);
        }
        try {
            Node n = new Parser(regex).parse();
            return n.risk(false);
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    // ------------------------------------------------------------------ syntax tree

    private abstract static sealed class Node permits Atom, Seq, Alt, Group, Repeat {
        /** Why this node is risky; FOLLOWED: something after it (outside) can still fail. */
        abstract String risk(boolean followed);
        /** Whether it can match the empty string. */
        abstract boolean nullable();
        /** Whether it contains a repetition of more than one, or an alternation. */
        abstract boolean ambiguous();
        /** The source text of the characters it can start with, for the overlap test (null: any). */
        abstract List<String> atoms();
        /** Whether it can fail at a position (not nullable, or a look-around). */
        boolean canFail() { return !nullable(); }
    }

    private static final class Atom extends Node {
        final String text;
        final boolean zeroWidth;
        Atom(String text, boolean zeroWidth) { this.text = text; this.zeroWidth = zeroWidth; }
        String risk(boolean followed) { return null; }
        boolean nullable() { return zeroWidth; }
        boolean ambiguous() { return false; }
        List<String> atoms() { return zeroWidth ? List.of() : List.of(text); }
        @Override boolean canFail() { return true; }
    }

    private static final class Seq extends Node {
        final List<Node> items;
        Seq(List<Node> items) { this.items = items; }

        String risk(boolean followed) {
            for (int i = 0; i < items.size(); i++) {
                boolean after = followed;
                for (int j = i + 1; j < items.size() && !after; j++) after = items.get(j).canFail();
                String r = items.get(i).risk(after);
                if (r != null) return r;
            }
            // two repetitions that can take the same characters, with a possible failure after the second
            for (int i = 0; i < items.size(); i++) {
                if (!(items.get(i) instanceof Repeat a) || !a.repeats()) continue;
                for (int j = i + 1; j < items.size(); j++) {
                    if (!(items.get(j) instanceof Repeat b) || !b.repeats()) continue;
                    boolean after = followed;
                    for (int k = j + 1; k < items.size() && !after; k++) after = items.get(k).canFail();
                    if (after && overlap(a.child.atoms(), b.child.atoms()))
                        return "two repetitions that can match the same characters (" + a + " ... " + b + ") followed by more"
                                + " pattern: backtracking grows with a power of the text's length";
                }
            }
            return null;
        }

        boolean nullable() { return items.stream().allMatch(Node::nullable); }
        boolean ambiguous() { return items.stream().anyMatch(Node::ambiguous); }
        boolean canFail() { return items.stream().anyMatch(Node::canFail); }

        List<String> atoms() {
            List<String> out = new ArrayList<>();
            for (Node n : items) {
                List<String> a = n.atoms();
                if (a == null) return null;
                out.addAll(a);
            }
            return out;
        }
    }

    private static final class Alt extends Node {
        final List<Node> branches;
        Alt(List<Node> branches) { this.branches = branches; }
        String risk(boolean followed) {
            for (Node b : branches) { String r = b.risk(followed); if (r != null) return r; }
            return null;
        }
        boolean nullable() { return branches.stream().anyMatch(Node::nullable); }
        boolean ambiguous() { return branches.size() > 1 || branches.stream().anyMatch(Node::ambiguous); }
        boolean canFail() { return branches.stream().allMatch(Node::canFail); }
        List<String> atoms() {
            List<String> out = new ArrayList<>();
            for (Node n : branches) {
                List<String> a = n.atoms();
                if (a == null) return null;
                out.addAll(a);
            }
            return out;
        }
    }

    private static final class Group extends Node {
        final Node child;
        final boolean lookaround;
        Group(Node child, boolean lookaround) { this.child = child; this.lookaround = lookaround; }
        String risk(boolean followed) { return child.risk(followed || lookaround); }
        boolean nullable() { return lookaround || child.nullable(); }
        boolean ambiguous() { return child.ambiguous(); }
        List<String> atoms() { return lookaround ? List.of() : child.atoms(); }
        @Override boolean canFail() { return lookaround || child.canFail(); }
    }

    private static final class Repeat extends Node {
        final Node child;
        final int min, max;   // max -1: unbounded
        final String text;
        Repeat(Node child, int min, int max, String text) { this.child = child; this.min = min; this.max = max; this.text = text; }
        boolean repeats() { return max < 0 || max > 1; }
        String risk(boolean followed) {
            if (repeats() && child.ambiguous())
                return "a repetition over a pattern that repeats or has alternatives (" + text + "): backtracking can grow"
                        + " exponentially with the text";
            return child.risk(true);
        }
        boolean nullable() { return min == 0 || child.nullable(); }
        boolean ambiguous() { return repeats() || child.ambiguous(); }
        List<String> atoms() { return child.atoms(); }
        @Override public String toString() { return text; }
    }

    // ------------------------------------------------------------------ overlap of character sets

    /** Whether two lists of atoms can match a common character (null: unknown, assumed to). */
    private static boolean overlap(List<String> a, List<String> b) {
        if (a == null || b == null) return true;
        BitSet sa = chars(a), sb = chars(b);
        return sa == null || sb == null || sa.intersects(sb);
    }

    /** The BMP characters some atom matches (null: unknown). */
    private static BitSet chars(List<String> atoms) {
        BitSet out = new BitSet(1 << 16);
        for (String atom : atoms) {
            if (atom.equals(".")) { out.set(0, 1 << 16); continue; }
            Pattern p;
            try {
                p = Pattern.compile(atom);
            } catch (PatternSyntaxException e) {
                return null;
            }
            var m = p.matcher("");
            char[] one = new char[1];
            java.nio.CharBuffer cb = java.nio.CharBuffer.wrap(one);
            for (int c = 0; c < 1 << 16; c++) {
                one[0] = (char) c;
                if (m.reset(cb).matches()) out.set(c);
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ parser (Oniguruma/Ruby syntax subset)

    private static final class Parser {
        private final String s;
        private int i;
        Parser(String s) { this.s = s; }

        Node parse() {
            Node n = alt();
            if (i < s.length()) throw new IllegalArgumentException("unbalanced ')' at " + i);
            return n;
        }

        private Node alt() {
            List<Node> branches = new ArrayList<>();
            branches.add(seq());
            while (i < s.length() && s.charAt(i) == '|') { i++; branches.add(seq()); }
            return branches.size() == 1 ? branches.getFirst() : new Alt(branches);
        }

        private Node seq() {
            List<Node> items = new ArrayList<>();
            while (i < s.length() && s.charAt(i) != '|' && s.charAt(i) != ')') {
                int start = i;
                Node atom = atom();
                if (atom == null) continue;
                items.add(quantified(atom, start));
            }
            return items.size() == 1 ? items.getFirst() : new Seq(items);
        }

        private Node quantified(Node atom, int start) {
            while (i < s.length()) {
                char c = s.charAt(i);
                int min, max;
                if (c == '*') { min = 0; max = -1; i++; }
                else if (c == '+') { min = 1; max = -1; i++; }
                else if (c == '?') { min = 0; max = 1; i++; }
                else if (c == '{' && s.indexOf('}', i) > i && s.substring(i + 1, s.indexOf('}', i)).matches("\\d*(,\\d*)?")
                        && !s.substring(i + 1, s.indexOf('}', i)).isEmpty()) {
                    String body = s.substring(i + 1, s.indexOf('}', i));
                    i = s.indexOf('}', i) + 1;
                    String[] parts = body.split(",", -1);
                    min = parts[0].isEmpty() ? 0 : bounded(parts[0]);
                    max = parts.length == 1 ? min : parts[1].isEmpty() ? -1 : bounded(parts[1]);
                } else break;
                if (i < s.length() && (s.charAt(i) == '?' || s.charAt(i) == '+')) i++;   // lazy / possessive
                atom = new Repeat(atom, min, max, s.substring(start, i));
            }
            return atom;
        }

        private static int bounded(String digits) {
            return digits.length() > 6 ? 1_000_000 : Integer.parseInt(digits);
        }

        private Node atom() {
            char c = s.charAt(i);
            switch (c) {
                case '(' -> { return group(); }
                case '[' -> { int start = i; skipClass(); return new Atom(s.substring(start, i), false); }
                case '\\' -> { return escape(); }
                case '^', '$' -> { i++; return new Atom(String.valueOf(c), true); }
                default -> { i += Character.charCount(s.codePointAt(i)); return new Atom(s.substring(i - Character.charCount(s.codePointBefore(i)), i), false); }
            }
        }

        private Node group() {
            i++;   // (
            boolean look = false;
            if (s.startsWith("?#", i)) {
                int end = s.indexOf(')', i);
                if (end < 0) throw new IllegalArgumentException("unterminated comment");
                i = end + 1;
                return null;
            }
            if (s.startsWith("?(", i)) throw new IllegalArgumentException("a conditional group");
            if (s.startsWith("?=", i) || s.startsWith("?!", i)) { look = true; i += 2; }
            else if (s.startsWith("?<=", i) || s.startsWith("?<!", i)) { look = true; i += 3; }
            else if (s.startsWith("?P<", i) || (s.startsWith("?<", i))) { i = s.indexOf('>', i) + 1; if (i == 0) throw new IllegalArgumentException("bad group name"); }
            else if (s.startsWith("?", i)) {
                // (?:...), (?>...), (?i:...), (?i) and other option groups
                int j = i + 1;
                while (j < s.length() && (Character.isLetter(s.charAt(j)) || s.charAt(j) == '-')) j++;
                if (j < s.length() && s.charAt(j) == ')') { i = j + 1; return null; }   // (?i): options for the rest
                if (j >= s.length() || (s.charAt(j) != ':' && s.charAt(j) != '>')) throw new IllegalArgumentException("unsupported group at " + i);
                i = j + 1;
            }
            Node inner = alt();
            if (i >= s.length() || s.charAt(i) != ')') throw new IllegalArgumentException("unbalanced '('");
            i++;
            return new Group(inner, look);
        }

        private Node escape() {
            if (i + 1 >= s.length()) throw new IllegalArgumentException("trailing backslash");
            char e = s.charAt(i + 1);
            int start = i;
            i += 2;
            if (e >= '1' && e <= '9' || e == 'k' || e == 'g') throw new IllegalArgumentException("a back-reference or subexpression call");
            if ("bBAzZG".indexOf(e) >= 0) return new Atom(s.substring(start, i), true);
            if ((e == 'p' || e == 'P' || e == 'x' || e == 'u' && i < s.length() && s.charAt(i) == '{') && i < s.length() && s.charAt(i) == '{') {
                int end = s.indexOf('}', i);
                if (end < 0) throw new IllegalArgumentException("unterminated \\" + e + "{");
                i = end + 1;
            } else if (e == 'x') {
                i = Math.min(s.length(), i + 2);
            } else if (e == 'u') {
                i = Math.min(s.length(), i + 4);
            }
            String text = s.substring(start, i);
            return new Atom(e == 'h' ? "[0-9a-fA-F]" : text, false);   // Oniguruma's \h is a hex digit
        }

        private void skipClass() {
            int depth = 0;
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c == '\\') { i += 2; continue; }
                if (c == '[') {
                    if (s.startsWith("[:", i) && s.indexOf(":]", i) > 0) { i = s.indexOf(":]", i) + 2; continue; }
                    depth++;
                    i++;
                    if (i < s.length() && s.charAt(i) == '^') i++;
                    if (i < s.length() && s.charAt(i) == ']') i++;   // a literal ] first in the class
                    continue;
                }
                i++;
                if (c == ']' && --depth == 0) return;
            }
            throw new IllegalArgumentException("unterminated character class");
        }
    }
}
