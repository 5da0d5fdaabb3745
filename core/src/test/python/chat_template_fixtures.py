#!/usr/bin/python3
"""Renders chat templates with Python jinja2 configured as transformers does
(ImmutableSandboxedEnvironment, trim_blocks=True, lstrip_blocks=True, loopcontrols, raise_exception and
strftime_now globals, a tojson filter with ensure_ascii=False) and writes the expected outputs to
src/test/resources/fixtures/text/chat_templates.json for ChatTemplateTest.

Run from the repository root: /usr/bin/python3 src/test/python/chat_template_fixtures.py
"""
import json
import pathlib

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = pathlib.Path(__file__).resolve().parents[3]
SHARED = ROOT.parent / "shared"
OUT = ROOT / "src/test/resources/fixtures/text/chat_templates.json"


class TemplateError(Exception):
    pass


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    raise TemplateError("strftime_now is not deterministic; fixtures must not call it")


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = strftime_now

llama3 = json.loads((SHARED / "realdata/llama3-tokenizer/tokenizer_config.json").read_text())["chat_template"]

TEMPLATES = {
    # Meta-Llama-3-8B's own template, as shipped
    "llama3": llama3,
    # the same with the add_generation_prompt guard of later Llama-3 releases
    "llama3-guarded": llama3.replace("{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}",
                                     "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"),
    # [INST] style with role alternation checks
    "inst": ("{{ bos_token }}{% for message in messages %}"
             "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
             "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
             "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
             "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}"
             "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"),
    # block tags on their own indented lines: trim_blocks + lstrip_blocks decide the output, and the
    # single trailing newline of the template is dropped (keep_trailing_newline=False)
    "blocks": ("{% for message in messages %}\n"
               "    {% if message.role == 'system' %}\n"
               "<|system|>\n"
               "{{ message.content }}{{ eos_token }}\n"
               "    {% else %}\n"
               "<|{{ message.role }}|>\n"
               "{{ message.content }}{{ eos_token }}\n"
               "    {% endif %}\n"
               "{% endfor %}\n"
               "{% if add_generation_prompt %}\n"
               "<|assistant|>\n"
               "{% endif %}\n"),
    # whitespace control, slicing, namespace, loop.last, filters, string escapes
    "controls": ("{{- bos_token }}\n"
                 "{%- if messages[0]['role'] == 'system' %}\n"
                 "    {%- set system_message = messages[0]['content']|trim %}\n"
                 "    {%- set messages = messages[1:] %}\n"
                 "{%- else %}\n"
                 "    {%- set system_message = \"You are helpful.\" %}\n"
                 "{%- endif %}\n"
                 "{%- set ns = namespace(turns=0) %}\n"
                 "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' + system_message + '<|eot_id|>' }}\n"
                 "{%- for message in messages %}\n"
                 "    {%- set ns.turns = ns.turns + 1 %}\n"
                 "    {{- '<|start_header_id|>' ~ message['role'] ~ '<|end_header_id|>\\n\\n' }}\n"
                 "    {{- message['content'] | trim }}\n"
                 "    {%- if not loop.last %}{{ '<|eot_id|>' }}{% endif %}\n"
                 "{%- endfor %}\n"
                 "{{- '<|eot_id|>' }}\n"
                 "{%- if add_generation_prompt %}\n"
                 "    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n"
                 "{%- endif %}\n"
                 "{{- '[' ~ ns.turns ~ ' turns, ' ~ (messages|length) ~ ' messages, ' ~ messages[-1]['role']|upper ~ ']' }}"),
    # what chat templates of other model families use: tests, tojson, selectattr, str methods, map/join
    "features": ("{%- if date_string is not defined %}{% set date_string = '26 Jul 2024' %}{% endif %}"
                 "{{- date_string }}|{{ messages | length }}|{{ messages[0] | tojson }}\n"
                 "{{ messages[-1] | tojson(indent=2) }}\n"
                 "{{ messages | selectattr('role', 'equalto', 'user') | list | length }}|"
                 "{{ messages | map(attribute='role') | join(', ') }}|"
                 "{% for m in messages %}{% if m.content is string and m.content.startswith('W') %}{{ loop.index }}"
                 "{% elif m.role.endswith('ant') %}{{ m.role.upper() }}{% else %}{{ m.role.lower() }}{% endif %}"
                 "{% if not loop.last %}, {% endif %}{% endfor %}|"
                 "{{ (messages | last).content | trim | length }}|{{ '\u00e9t\u00e9' }}"
                 "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"),
}

CONVERSATIONS = {
    "user": [{"role": "user", "content": "Hello!"}],
    "system-user": [{"role": "system", "content": "You are a pirate."},
                    {"role": "user", "content": "Where is the treasure?"}],
    "multi-turn": [{"role": "system", "content": "  Be brief.\n"},
                   {"role": "user", "content": "What is 2+3?"},
                   {"role": "assistant", "content": "5"},
                   {"role": "user", "content": "And times 4?\n\n"}],
    "unicode": [{"role": "user", "content": "  Grüße 🦙 你好 — «quotes» \"double\" 'single'\n\ttab  "},
                {"role": "assistant", "content": "Ça va ? ½ ✅"}],
    "alternating": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                    {"role": "user", "content": "bye"}],
}

SPECIAL = {"llama3": ("<|begin_of_text|>", "<|end_of_text|>")}


def main():
    cases = []
    for tname, template in TEMPLATES.items():
        compiled = env.from_string(template)
        bos, eos = SPECIAL.get(tname.split("-")[0], ("<s>", "</s>"))
        for cname, messages in CONVERSATIONS.items():
            for agp in (False, True):
                case = {"template": tname, "conversation": cname, "add_generation_prompt": agp,
                        "bos_token": bos, "eos_token": eos}
                try:
                    case["expected"] = compiled.render(messages=messages, add_generation_prompt=agp,
                                                       bos_token=bos, eos_token=eos)
                except TemplateError as e:
                    case["error"] = str(e)
                cases.append(case)
    data = {"generator": "src/test/python/chat_template_fixtures.py, jinja2 " + jinja2.__version__,
            "templates": TEMPLATES, "conversations": CONVERSATIONS, "cases": cases}
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(cases)} cases, {sum('error' in c for c in cases)} errors -> {OUT}")


if __name__ == "__main__":
    main()
