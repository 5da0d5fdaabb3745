package org.lori4j.text;

import org.junit.jupiter.api.Test;
import org.lori4j.io.LoriException;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Templates are code from a file: each hostile one is a one-line error within a bounded time and memory. */
class ChatTemplateHostileTest {
    private static final List<ChatTemplate.Message> HI = List.of(new ChatTemplate.Message("user", "hi"));

    private static String refused(String template) {
        long t0 = System.nanoTime();
        LoriException e = assertThrows(LoriException.class, () -> new ChatTemplate(template, "<s>", "</s>").render(HI, true));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().length() < 800, e.getMessage());
        assertTrue(System.nanoTime() - t0 < 20e9, "took " + (System.nanoTime() - t0) / 1e9 + " s");
        return e.getMessage();
    }

    @Test
    void javaMethodsAreOutOfReach() {
        assertTrue(refused("{{ 'a'.repeat(2000000000) }}").contains("'str' object has no attribute 'repeat'"));
        assertTrue(refused("{{ 'abc'.getBytes() }}").contains("no attribute 'getBytes'"));
        assertTrue(refused("{{ messages.getClass() }}").contains("no attribute 'getClass'"));
        assertTrue(refused("{{ messages.clear() }}").contains("no attribute 'clear'"));
        // what templates use still works
        assertEquals("ABC hi role", new ChatTemplate("{{ 'abc'.upper() }} {{ messages[0]['content'] }}"
                + "{% for k, v in messages[0].items() %} {{ k }}{% break %}{% endfor %}", null, null).render(HI, false));
    }

    @Test
    void deepNestingIsOneLine() {
        assertTrue(refused("{{ " + "(".repeat(10_000) + "1" + ")".repeat(10_000) + " }}").contains("nests"));
        assertTrue(refused("{% if true %}".repeat(10_000) + "x" + "{% endif %}".repeat(10_000)).contains("nests"));
        assertTrue(refused("{{ " + "[".repeat(5000) + "]".repeat(5000) + " }}").contains("nests"));
    }

    @Test
    void raisedMessagesAreOneLine() {
        assertEquals("chat template: a b c", refused("{{ raise_exception('a\\nb\\nc') }}"));
    }

    @Test
    void outputStringsRangesAndTimeAreBounded() {
        assertTrue(refused("{% set ns = namespace(x='a') %}{% for i in range(40) %}{% set ns.x = ns.x ~ ns.x %}{% endfor %}{{ ns.x }}")
                .contains("over limit"));
        assertTrue(refused("{% for i in range(1000000000) %}x{% endfor %}").contains("range"));
        long saved = ChatTemplate.renderTimeoutNanos;
        ChatTemplate.renderTimeoutNanos = 300_000_000L;
        try {
            assertTrue(refused("{% for i in range(100000) %}{% for j in range(100000) %}{% for k in range(100000) %}"
                    + "{% endfor %}{% endfor %}{% endfor %}").contains("rendering took longer than 0.3 s"));
        } finally {
            ChatTemplate.renderTimeoutNanos = saved;
        }
    }
}
