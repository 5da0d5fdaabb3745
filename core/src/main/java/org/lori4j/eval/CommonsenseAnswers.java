package org.lori4j.eval;

import org.lori4j.io.LoriException;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The commonsense answer rule of the LoRI reference ({@code extract_answer_commonsense}): commas removed,
 * the text after the last "### Response:" (all of it when absent), the first match of the task's
 * answer words (case-sensitive, leftmost; "" when none). The gold answer goes through the same rule.
 */
public final class CommonsenseAnswers {
    private CommonsenseAnswers() {}

    public static final String RESPONSE_MARK = "### Response:";

    /** The eight tasks and their answer alternatives, in the reference's order. */
    public static final Map<String, Pattern> PATTERNS;
    static {
        Map<String, Pattern> m = new LinkedHashMap<>();
        m.put("boolq", Pattern.compile("true|false"));
        m.put("piqa", Pattern.compile("solution1|solution2"));
        Pattern fiveAnswers = Pattern.compile("answer1|answer2|answer3|answer4|answer5");
        m.put("social_i_qa", fiveAnswers);
        m.put("arc-challenge", fiveAnswers);
        m.put("arc-easy", fiveAnswers);
        m.put("openbookqa", fiveAnswers);
        m.put("hellaswag", Pattern.compile("ending1|ending2|ending3|ending4"));
        m.put("winogrande", Pattern.compile("option1|option2"));
        PATTERNS = java.util.Collections.unmodifiableMap(m);
    }

    public static Set<String> tasks() { return PATTERNS.keySet(); }

    public static boolean isTask(String name) { return PATTERNS.containsKey(name); }

    /** The answer word found in a text for a task, or "" when there is none. */
    public static String extract(String task, String text) {
        Pattern p = PATTERNS.get(task);
        if (p == null) throw new LoriException("unknown commonsense task '" + task + "' (known: " + String.join(", ", tasks()) + ")");
        String s = text.replace(",", "");
        int at = s.lastIndexOf(RESPONSE_MARK);
        if (at >= 0) s = s.substring(at + RESPONSE_MARK.length());
        // The reference strips the text first; that cannot change the first match, so it is skipped.
        Matcher m = p.matcher(s);
        return m.find() ? m.group() : "";
    }
}
