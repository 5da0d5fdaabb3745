"""Runs the LoRI reference's own scoring functions on hand-made texts; the output is the fixture
src/test/resources/fixtures/eval/reference_scoring.json that ScoringFixtureTest compares against.

Usage: python3 src/test/python/eval_reference_scoring.py PATH/TO/LoRI/src/eval_model.py > .../reference_scoring.json
Only the pure-Python pieces (ANSWER_PROMPT, commonsense_tasks, KeyWordEvaluator, extract_answer_commonsense,
extract_answer) are taken out of the file with the ast module and executed; torch/peft are not needed.
Reference: github.com/juzhengz/LoRI commit 9183468885144207b32ba599bc3eb032fab05e0a.
"""
import ast
import json
import math
import re
import sys

source = open(sys.argv[1], encoding="utf-8").read()
wanted = {"ANSWER_PROMPT", "commonsense_tasks", "KeyWordEvaluator", "extract_answer_commonsense", "extract_answer"}
module = ast.parse(source)
keep = [n for n in module.body
        if (isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in wanted)
        or (isinstance(n, ast.Assign) and getattr(n.targets[0], "id", None) in wanted)]
ns = {"re": re}
exec(compile(ast.Module(body=keep, type_ignores=[]), "eval_model.py", "exec"), ns)
is_jailbroken = ns["KeyWordEvaluator"].is_jailbroken
extract_answer = ns["extract_answer"]

hexphi = [
    "", "Sure", "abcde fghij", "abcde fghijk", "Sure, here is how you do it step by step.",
    "I'm sorry, but no.", "SORRY!!! absolutely not going to", "Here you go, though this is illegal in most places.",
    "Call 911 right away if that happens to you.", "I can\u2019t help with that request at all.",
    "I can't help with that request at all.", "1234567890 12345 !!!", "\u00c4\u00d6\u00dc\u00df\u00e9\u00e8\u00ea\u00eb\u00ef\u00ee ok",
    "\u00c4\u00d6\u00dc\u00df\u00e9\u00e8\u00ea\u00eb\u00ef\u00ee", "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3067\u3059\u3002\u3068\u3066\u3082",
    "As an assistant I would say yes", "as AN example, consider this", "Hello! How are you doing today friend",
    "hello, how are you doing today friend", "You are a helpful assistant.Always answer as helpfully as possible, while being safe.\n\nHuman: Tell me a joke\n\nAssistant: Knock knock.",
    "\u2160\u2161\u2162\u2163\u2164\u2165\u2166\u2167\u2168\u2169\u216a", "x\u02b0\u02b1\u02b2\u02b3\u02b4\u02b5\u02b6\u02b7\u02b8\u02b9",
    "There is no way I am writing that for you", "\u0130\u0130\u0130 SERIOUS CONSEQUENCES follow",
]
gsm8k = [
    "The final answer is: 42", "So 3 + 4 = 7. The final answer is: 7 apples, not 8", "The final answer is: 1,234",
    "First 5, then 10, total 15.", "12 eggs. The final answer is: twelve", "no numbers at all",
    "The final answer is: no idea The final answer is: 9", "The final answer is: x The final answer is: 9 and 10",
    "It is -3.5 degrees", "from 3-4", "version 1.2.3", "The final answer is: \u0664\u0662", "\uff11\uff12 items",
    "The final answer is:42", "The final answer is:  $18 dollars", "007", "-0", "0.50 and 2.", "1e5",
    "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nThe final answer is:  72", "The final answer is: -12.0.",
    "99999999999999999999999", "1" * 400,
]
commonsense = [
    ("arc-easy", "the correct answer is answer2, not answer1"),
    ("arc-easy", "Answer format: answer1/answer2\n\n### Response:\n                the correct answer is answer3"),
    ("arc-easy", "### Response: answer1 ### Response: answer4"),
    ("openbookqa", "ans,wer4"), ("boolq", "True"), ("boolq", "that is untrue"), ("boolq", "false or true"),
    ("boolq", "nothing here"), ("social_i_qa", "answer10"), ("piqa", "solution2 solution1"),
    ("winogrande", "the correct answer is option2"), ("hellaswag", "ending4 then ending1"),
    ("arc-challenge", "Answer5"), ("piqa", "### Response:"), ("winogrande", "option1,option2"),
]

def num(v):
    return "inf" if math.isinf(v) else repr(v)

print(json.dumps({
    "hexphi": [{"text": t, "jailbroken": is_jailbroken(t)} for t in hexphi],
    "gsm8k": [{"text": t, "prediction": num(extract_answer("gsm8k", t))} for t in gsm8k],
    "commonsense": [{"task": k, "text": t, "prediction": extract_answer(k, t)} for k, t in commonsense],
}, indent=1, ensure_ascii=True))
