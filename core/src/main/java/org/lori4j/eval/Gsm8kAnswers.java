package org.lori4j.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The GSM8K answer rule of the LoRI reference ({@code extract_answer_gsm8k} in {@code src/eval_model.py}):
 * commas are removed; the prediction is the first number in the text between the first and the second
 * occurrence of "The final answer is: ", else the last number of the whole text, else infinity.
 * Predictions and gold answers are compared as doubles with {@code ==} (so inf equals inf, as in Python).
 */
public final class Gsm8kAnswers {
    private Gsm8kAnswers() {}

    /** What LoRI's training targets put before the final number (replacing GSM8K's "####"). */
    public static final String ANSWER_PROMPT = "The final answer is: ";

    /** The reference's {@code -?\d+\.?\d*}; Python's {@code \d} on str matches every Unicode decimal digit. */
    private static final Pattern NUMBER = Pattern.compile("-?\\d+\\.?\\d*", Pattern.UNICODE_CHARACTER_CLASS);

    /** The prediction of a text; {@link Double#POSITIVE_INFINITY} when it holds no number. */
    public static double extract(String text) {
        String s = text.replace(",", "");
        List<String> all = numbers(s);
        if (all.isEmpty()) return Double.POSITIVE_INFINITY;
        int at = s.indexOf(ANSWER_PROMPT);
        String chosen = all.getLast();
        if (at >= 0) {
            // Python's s.split(P)[1]: the text after the first P, up to the next P if there is one.
            int from = at + ANSWER_PROMPT.length();
            int next = s.indexOf(ANSWER_PROMPT, from);
            List<String> after = numbers(next >= 0 ? s.substring(from, next) : s.substring(from));
            if (!after.isEmpty()) chosen = after.getFirst();
        }
        return parse(chosen);
    }

    /** The gold number of a GSM8K solution: "####" becomes "The final answer is: " as in LoRI's data loader. */
    public static double gold(String solution) {
        return extract(solution.replace("####", ANSWER_PROMPT));
    }

    /** How the reference compares: float equality. */
    public static boolean matches(double predicted, double gold) { return predicted == gold; }

    /** A prediction printed like Python's str(float) for the common cases ("18.0", "inf", "-0.5"). */
    public static String format(double v) {
        if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        if (v == Math.rint(v) && Math.abs(v) < 1e16) return String.format(java.util.Locale.ROOT, "%.1f", v);
        return Double.toString(v);
    }

    private static List<String> numbers(String s) {
        List<String> out = new ArrayList<>();
        Matcher m = NUMBER.matcher(s);
        while (m.find()) out.add(m.group());
        return out;
    }

    // Python's float() accepts any Unicode decimal digits; map them to ASCII before parsing.
    private static double parse(String number) {
        StringBuilder b = new StringBuilder(number.length());
        number.codePoints().forEach(cp -> {
            if (cp == '-' || cp == '.') b.append((char) cp);
            else b.append((char) ('0' + Character.digit(cp, 10)));
        });
        return Double.parseDouble(b.toString());
    }
}
