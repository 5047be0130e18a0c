"""Write grader/data/starter_code.json: the code every student is handed, per graded target.

The similarity report subtracts it, so that shared starter code never makes two hand-ins look
alike. It is rebuilt from the instructor notebooks by blanking what students write: in each
function, the statements after a `####` marker block (the docstring between two `####...` comment
lines) up to the end of that body, except a closing `return`. What remains is exactly the
handed-out skeleton (signatures, given methods, given classes); no solution line ships.

    python reference/make_starter_code.py
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from grader.pipeline import load_sources
from grader.targets import TARGETS, locate

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "grader" / "data" / "starter_code.json"


def _marker_docstring(statement: ast.stmt, lines: list[str]) -> bool:
    """A docstring statement directly preceded by a `####` comment line (the blank's marker)."""
    is_string = isinstance(statement, ast.Expr) and isinstance(getattr(statement, "value", None), ast.Constant) \
        and isinstance(statement.value.value, str)
    return is_string and statement.lineno >= 2 and lines[statement.lineno - 2].strip().startswith("####")


def _blank_solutions(source: str) -> str:
    """`source` with every line a student writes removed (see the module docstring)."""
    lines = source.split("\n")
    tree = ast.parse(source)
    removed: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = node.body
        marks = [i for i, statement in enumerate(body) if _marker_docstring(statement, lines)]
        if not marks:
            continue
        for statement in body[marks[0] + 1:]:
            if isinstance(statement, ast.Return) and statement is body[-1]:
                continue
            removed.update(range(statement.lineno, statement.end_lineno + 1))
    return "\n".join(line for number, line in enumerate(lines, start=1) if number not in removed)


def main() -> None:
    files = load_sources(HERE)
    starter = {}
    for name, target in TARGETS.items():
        definition = locate(target, files).definition
        if definition is not None:
            starter[name] = _blank_solutions(definition.source()[1])
    OUT.write_text(json.dumps({"source": "reference/*.ipynb, with every line students write removed",
                               "targets": starter}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
    for name, code in starter.items():
        print(f"--- {name}\n{code}")


if __name__ == "__main__":
    main()
