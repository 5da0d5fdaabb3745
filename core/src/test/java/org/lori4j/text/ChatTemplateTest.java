package org.lori4j.text;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lori4j.TestPaths;
import org.lori4j.io.Json;
import org.lori4j.io.LoriException;
import org.lori4j.text.ChatTemplate.Message;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Jinjava rendering against Python jinja2 with transformers' settings (fixture: src/test/python/chat_template_fixtures.py). */
class ChatTemplateTest {

    static List<Message> messages(JsonNode arr) {
        List<Message> out = new ArrayList<>();
        for (JsonNode m : arr) out.add(new Message(m.get("role").asText(), m.get("content").asText()));
        return out;
    }

    @Test
    void rendersByteIdenticalToPythonJinja2() {
        JsonNode fx = Json.read(TestPaths.fixture("text/chat_templates.json"));
        int rendered = 0, raised = 0;
        for (JsonNode c : fx.get("cases")) {
            String name = c.get("template").asText() + "/" + c.get("conversation").asText() + "/agp="
                    + c.get("add_generation_prompt").asBoolean();
            ChatTemplate t = new ChatTemplate(fx.get("templates").get(c.get("template").asText()).asText(),
                    c.get("bos_token").asText(), c.get("eos_token").asText());
            List<Message> msgs = messages(fx.get("conversations").get(c.get("conversation").asText()));
            boolean agp = c.get("add_generation_prompt").asBoolean();
            if (c.has("error")) {
                LoriException e = assertThrows(LoriException.class, () -> t.render(msgs, agp), name);
                assertEquals("chat template: " + c.get("error").asText(), e.getMessage(), name);
                raised++;
            } else {
                assertEquals(c.get("expected").asText(), t.render(msgs, agp), name);
                rendered++;
            }
        }
        assertEquals(56, rendered);
        assertEquals(4, raised);
    }

    @Test
    void loadsLlama3TemplateAndItsSpecialTokens() {
        ChatTemplate t = ChatTemplate.load(TestPaths.realdata("llama3-tokenizer")).orElseThrow();
        assertEquals("<|begin_of_text|>", t.bosToken());
        assertEquals("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n",
                t.render(List.of(new Message("user", " Hi\n")), true));
    }

    @Test
    void absentTemplateIsEmpty(@TempDir Path tmp) {
        assertTrue(ChatTemplate.load(TestPaths.realdata("mistral-tokenizer")).isEmpty());
        assertTrue(ChatTemplate.load(tmp).isEmpty());
    }

    @Test
    void chatTemplateJinjaFileWinsOverTokenizerConfig(@TempDir Path tmp) throws IOException {
        // transformers >= 4.47 saves the template as chat_template.jinja and prefers it to the inline one
        Files.writeString(tmp.resolve("tokenizer_config.json"), """
                {"bos_token": "<s>", "eos_token": {"content": "</s>"}, "chat_template": "INLINE"}""");
        Files.writeString(tmp.resolve("chat_template.jinja"), "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{{ eos_token }}{% endfor %}\n");
        ChatTemplate t = ChatTemplate.load(tmp).orElseThrow();
        // as Jinja2 (keep_trailing_newline=False), the file's final newline is not rendered
        assertEquals("<s><user>hi</s>", t.render(List.of(new Message("user", "hi")), false));
        // the file alone (no tokenizer_config.json): no BOS/EOS to fill in
        Files.delete(tmp.resolve("tokenizer_config.json"));
        assertEquals("<user>hi", ChatTemplate.load(tmp).orElseThrow().render(List.of(new Message("user", "hi")), false));
    }

    @Test
    void listOfNamedTemplatesPicksDefault(@TempDir Path tmp) throws IOException {
        Files.writeString(tmp.resolve("tokenizer_config.json"), """
                {"bos_token": {"content": "<s>"}, "chat_template": [
                  {"name": "tool_use", "template": "TOOLS"},
                  {"name": "default", "template": "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}"}]}""");
        ChatTemplate t = ChatTemplate.load(tmp).orElseThrow();
        assertEquals("<s>[user]x[assistant]y", t.render(List.of(new Message("user", "x"), new Message("assistant", "y")), false));

        Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"chat_template\": [{\"name\": \"rag\", \"template\": \"x\"}]}");
        LoriException e = assertThrows(LoriException.class, () -> ChatTemplate.load(tmp));
        assertTrue(e.getMessage().contains("no template named \"default\" (has rag)"), e.getMessage());
    }

    @Test
    void pythonEscapesInLiteralsAndTrailingNewline() {
        assertEquals("é'\\|\n", new ChatTemplate("{{ '\\u00e9\\x27\\\\|\\n' }}\n", null, null).render(List.of(), false));
        assertEquals("a\nb", new ChatTemplate("a\r\nb\r\n", null, null).render(List.of(), false));
    }

    @Test
    void syntaxErrorIsOneLineLoriException() {
        LoriException e = assertThrows(LoriException.class,
                () -> new ChatTemplate("{% for m in messages %}{{ m.content }}", null, null)
                        .render(List.of(new Message("user", "x")), false));
        assertTrue(e.getMessage().startsWith("chat template error at line 1: "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void strftimeFollowsPythonCodes() {
        ZonedDateTime t = ZonedDateTime.of(2024, 7, 5, 14, 3, 9, 0, ZoneOffset.UTC);
        assertEquals("05 Jul 2024", ChatTemplate.strftime("%d %b %Y", t));
        assertEquals("Friday, July 05 2024 02:03:09 PM 187 100%", ChatTemplate.strftime("%A, %B %d %Y %I:%M:%S %p %j 100%%", t));
        String today = new ChatTemplate("{{ strftime_now('%Y') }}", null, null).render(List.of(), false);
        assertEquals(String.valueOf(ZonedDateTime.now().getYear()), today);
    }

    @Test
    void trimAndTojsonBehaveAsJinja2AndTransformers() {
        // Jinja2's trim is Python's str.strip: NBSP and U+3000 are whitespace, U+200B is not; trim('x') strips x
        ChatTemplate trim = new ChatTemplate("[{{ messages[0].content | trim }}][{{ 'xxaxx' | trim('x') }}]", null, null);
        assertEquals("[Hi][a]", trim.render(List.of(new Message("user", "\u00a0Hi\u3000")), false));
        assertEquals("[\u200bHi\u200b][a]", trim.render(List.of(new Message("user", "\u200bHi\u200b")), false));   // ZWSP: no space
        // tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False), positional in that order
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("b", "Grüße");
        m.put("a", 1e20);
        m.put("c", 1e-7);
        ChatTemplate j = new ChatTemplate("{{ m|tojson }}|{{ m|tojson(true) }}|{{ m|tojson(sort_keys=true, separators=[',', ':']) }}",
                null, null);
        assertEquals("{\"b\": \"Grüße\", \"a\": 1e+20, \"c\": 1e-07}|{\"b\": \"Gr\\u00fc\\u00dfe\", \"a\": 1e+20, \"c\": 1e-07}"
                + "|{\"a\":1e+20,\"b\":\"Grüße\",\"c\":1e-07}", j.render(List.of(), false, Map.of("m", m)));
        assertEquals(List.of("0.0001", "1e-05", "1.5", "1e+16", "1234567890123456.0", "-2.5e-10"),
                java.util.stream.DoubleStream.of(1e-4, 1e-5, 1.5, 1e16, 1234567890123456.0, -2.5e-10).mapToObj(PyJson::pyFloat).toList());
    }

    @Test
    void specialTokensAreTemplateVariablesAsTransformersSpecialTokensMap(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        String tpl = "[{{ bos_token }}|{{ eos_token }}|{{ unk_token }}|{{ pad_token }}]";
        // tokenizer_config.json first, then special_tokens_map.json
        java.nio.file.Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"chat_template\": \"" + tpl + "\", \"bos_token\": \"<B>\", \"tokenizer_class\": \"PreTrainedTokenizerFast\"}");
        java.nio.file.Files.writeString(dir.resolve("special_tokens_map.json"),
                "{\"bos_token\": \"<no>\", \"eos_token\": {\"content\": \"<E>\"}, \"pad_token\": \"<P>\"}");
        assertEquals("[<B>|<E>||<P>]", ChatTemplate.load(dir).orElseThrow().render(List.of(), false));
        // a Llama tokenizer class falls back to its defaults <s> </s> <unk>; keyword arguments override the tokens
        java.nio.file.Files.delete(dir.resolve("special_tokens_map.json"));
        java.nio.file.Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"chat_template\": \"" + tpl + "\", \"tokenizer_class\": \"LlamaTokenizer\"}");
        ChatTemplate t = ChatTemplate.load(dir).orElseThrow();
        assertEquals("[<s>|</s>|<unk>|]", t.render(List.of(), false));
        assertEquals("[X|</s>|<unk>|]", t.render(List.of(), false, Map.of("bos_token", "X")));
    }

    @Test
    void generationBlocksRenderTheirBodyAsTransformers() {
        // transformers' AssistantTracker tag, used by templates that support return_assistant_tokens_mask
        ChatTemplate t = new ChatTemplate("{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}[{{ m.content }}]"
                + "{% endgeneration %}{% else %}{{ m.content }}{% endif %}{% endfor %}", null, null);
        assertEquals("hi[yo]", t.render(List.of(new Message("user", "hi"), new Message("assistant", "yo")), false));
    }

    @Test
    void pythonStrMethodsHavePythonsMeaning() {
        // each expected value is what jinja2 3.1 on a Python str gives (Java's String methods of the same names differ)
        ChatTemplate t = new ChatTemplate("[{{ 'a,b,,'.split(',')|length }}][{{ 'x.y'.split('.')[1] }}][{{ 'hello'.startswith(('x','he')) }}]"
                + "[{{ '{}-{}'.format('a','b') }}][{{ '\\n hi'.lstrip('\\n') }}][{{ ' a  b '.split()|length }}][{{ 'abb'.rstrip('b') }}]"
                + "[{{ ', '.join(['x','y']) }}][{{ 'hello world'.title() }}][{{ messages[0].content.strip() }}][{{ 'a-b-c'.replace('-', '+', 1) }}]"
                + "[{{ 'banana'.count('an') }}][{{ 'x'.upper() }}]", null, null);
        assertEquals("[4][y][true][a-b][ hi][2][a][x, y][Hello World][yo][a+b-c][2][X]",
                t.render(List.of(new Message("user", "\u00a0 yo \u3000")), false));
    }
}
