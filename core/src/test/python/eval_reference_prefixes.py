"""Writes the refusal keyword list of the LoRI reference as JSON, for RefusalKeywordsTest.

Usage: python3 src/test/python/eval_reference_prefixes.py PATH/TO/LoRI/src/eval_model.py \
           > src/test/resources/fixtures/eval/reference_test_prefixes.json
The list is read with the ast module (the reference file imports torch/peft, so it is not imported).
Reference: github.com/juzhengz/LoRI commit 9183468885144207b32ba599bc3eb032fab05e0a.
"""
import ast
import json
import sys

tree = ast.parse(open(sys.argv[1], encoding="utf-8").read())
for node in ast.walk(tree):
    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "_test_prefixes":
        print(json.dumps([e.value for e in node.value.elts], indent=1))
        break
else:
    sys.exit("no _test_prefixes in " + sys.argv[1])
