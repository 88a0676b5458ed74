"""``chaos/`` knows nothing of EV charging: no role, state, id or title of the EV network in its code.

Roles, state names, colours and titles come from a system's spec. Docstrings may use the EV network
as an example (it is the first system the harness was built for); strings the code uses may not.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EV_WORDS = re.compile(
    r"\b(evcharge|charging|charge|CP_\d+|cp|driver|drivers|central|monitor|reserved|available|kwh|EV)\b", re.I
)
ALLOWED = {
    "evcharge-chaos[docker]": "the distribution's name in an install hint",
    " from Maven Central": "the registry Kafka's jars come from",
    "-cp": "java's class path flag",
}


def docstring_ids(tree: ast.AST) -> set[int]:
    """Module, class and function docstrings, and the bare strings that document attributes."""
    return {
        id(node.value) for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    }


def domain_strings(source: str) -> list[tuple[int, str]]:
    tree = ast.parse(source)
    docs = docstring_ids(tree)
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
            and EV_WORDS.search(node.value) and not any(allowed in node.value for allowed in ALLOWED)
        ):
            found.append((node.lineno, node.value))
    return found


def test_this_test_finds_a_planted_ev_word() -> None:
    source = '"""A docstring about charging points is fine."""\nROLES = ("driver", "central")\n'
    assert domain_strings(source) == [(2, "driver"), (2, "central")]


def test_the_harness_has_no_ev_words_in_its_code() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {text[:80]!r}"
        for path in sorted((ROOT / "chaos").rglob("*.py"))
        for line, text in domain_strings(path.read_text())
    ]
    assert not offenders, "move these to the system's spec (roles, states, colours, titles):\n" + "\n".join(offenders)
