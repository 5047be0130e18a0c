"""Child side of loading: execute exactly the statements `extract` kept, one at a time.

Runs only inside the sandboxed child. Each statement is compiled under its cell's label, and
the cell text is registered in `linecache`, so tracebacks point at the student's cell and
`@tf.function` (AutoGraph needs the source) works. A failing statement costs only itself;
a missing package becomes a placeholder that fails only when the student's code uses it.
"""

from __future__ import annotations

import ast
import builtins
import linecache
import sys
import types
from typing import Callable

from grader.i18n import tr

SUBMISSION_MODULE = "dlgrade_submission"


class MissingModule(types.ModuleType):
    """Stands in for a package the grading machine does not have (matplotlib, torch...)."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise ModuleNotFoundError(tr("package `{package}` is not installed where dlgrade runs (used: {used})",
                                     package=self.__name__, used=self.__name__ + "." + name))

    def __call__(self, *args: object, **kwargs: object):  # `from tqdm import tqdm; tqdm(...)`
        raise ModuleNotFoundError(tr("package `{package}` is not installed where dlgrade runs (called: {called})",
                                     package=self.__name__, called=self.__name__ + "(...)"))


def _bind_missing(stmt: ast.stmt, namespace: dict) -> None:
    if isinstance(stmt, ast.Import):
        for alias in stmt.names:
            bound = alias.asname or alias.name.split(".")[0]
            namespace.setdefault(bound, MissingModule(alias.name if alias.asname else bound))
    elif isinstance(stmt, ast.ImportFrom):
        for alias in stmt.names:
            if alias.name != "*":
                namespace.setdefault(alias.asname or alias.name, MissingModule(f"{stmt.module}.{alias.name}"))


def _location(cell: dict, stmt: ast.stmt) -> str:
    return tr("{where}, line {line}", where=cell["where"], line=stmt.lineno)


def statements(plan: dict) -> list[tuple[dict, ast.stmt]]:
    """The kept statements of a load plan in execution order, with their cells. Run as a script
    (`plan["main"]`), the body of `if __name__ == "__main__":` is statements of its own: what fails or
    is stopped in it (Part 4's training, once the fit settled) costs only itself."""
    found = []
    for cell in plan["cells"]:
        tree = ast.parse(cell["source"])
        if cell["line_offset"]:
            ast.increment_lineno(tree, cell["line_offset"])
        for i in cell["kept"]:
            stmt = tree.body[i]
            found += [(cell, s) for s in stmt.body] if plan.get("main") and is_main_guard(stmt) else [(cell, stmt)]
    return found


def is_main_guard(stmt: ast.stmt) -> bool:
    """`if __name__ == "__main__":` with no else (true whenever the code runs as a script)."""
    test = stmt.test if isinstance(stmt, ast.If) and not stmt.orelse else None
    return isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq) and \
        {ast.unparse(test.left), ast.unparse(test.comparators[0])} in ({"__name__", "'__main__'"},)


def load(plan: dict, before_statement: Callable[[int], None],
         interrupt: type[BaseException] | tuple = (), notes: list[str] | None = None,
         stopped: type[BaseException] | tuple = (), on_stop: Callable[[], None] | None = None) -> tuple[dict, list[str]]:
    """Execute the plan into a fresh module namespace; returns it and notes on what failed.

    `before_statement(k)` is called before the k-th statement so the parent can tell which
    statement hung or crashed; statements listed in `plan["skip"]` are not executed. Exceptions
    of type `interrupt` (a time cap) stop the load instead of costing one statement; those of type
    `stopped` (Part 4's training stopped once the fit settled) end their statement by the grader's
    choice, call `on_stop` and the load goes on; `notes` collects as it goes, so they survive a stop. With `plan["main"]` the code runs as a
    script does (`__name__ == "__main__"`), for Part 4.
    """
    module = types.ModuleType("__main__" if plan.get("main") else SUBMISSION_MODULE)
    module.__dict__["__builtins__"] = builtins
    sys.modules[SUBMISSION_MODULE] = module
    if plan.get("main"):  # pickling and `import __main__` find the student's classes
        sys.modules["__main__"] = module
    namespace = module.__dict__
    for label, text in plan["linecache"].items():
        lines = [line + "\n" for line in text.split("\n")]
        linecache.cache[label] = (len(text), None, lines, label)
    notes = [] if notes is None else notes
    skip = set(plan.get("skip", []))
    for index, (cell, stmt) in enumerate(statements(plan)):
        if index in skip:
            continue
        before_statement(index)
        code = compile(ast.Module(body=[stmt], type_ignores=[]), cell["label"], "exec")
        try:
            exec(code, namespace)
        except interrupt:
            raise
        except stopped:
            if on_stop is not None:
                on_stop()
        except ImportError as error:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                _bind_missing(stmt, namespace)
                notes.append(tr("{where}: import failed ({error})", where=_location(cell, stmt), error=error))
            else:
                notes.append(f"{_location(cell, stmt)}: {type(error).__name__}: {error}")
        except BaseException as error:  # student code may raise anything, SystemExit included
            notes.append(f"{_location(cell, stmt)}: {type(error).__name__}: {str(error)[:300]}")
    return namespace, notes
