"""Static half of the forbidden-built-in check: what a function body names, aliases resolved.

Works on the AST, so comments, strings and docstrings never count, and neither does top-level
code (the notebook's own test cells compare against tf.nn.softmax legitimately). Helpers the
function calls that are defined in the same file are followed; the student's *other* graded
functions are not (softmax_ce may use the student's own softmax).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from grader.extract import Definition, SourceFile
from grader.i18n import tr

_ACTIVATION_MODULES = {
    "tensorflow", "tensorflow.nn", "tensorflow.math", "tensorflow.raw_ops", "keras.activations",
    "keras.layers", "keras.ops", "keras.ops.nn", "keras.backend", "keras.src.ops.nn",
}
_ACTIVATION_NAMES = {"softmax", "log_softmax", "sigmoid", "log_sigmoid", "Softmax", "LogSoftmax", "Sigmoid"}


def normalise(dotted: str) -> str:
    """Map equivalent spellings onto one: tf.compat.v1/v2 dropped, tf.keras and tf_keras to keras."""
    parts = dotted.split(".")
    if parts[:3] in (["tensorflow", "compat", "v1"], ["tensorflow", "compat", "v2"]):
        parts = ["tensorflow"] + parts[3:]
    if parts[:2] == ["tensorflow", "keras"] or parts[:2] == ["tensorflow", "losses"]:
        parts = ["keras"] + parts[2:] if parts[1] == "keras" else ["keras", "losses"] + parts[2:]
    if parts[0] == "tf_keras":
        parts[0] = "keras"
    return ".".join(parts)


def is_forbidden(dotted: str) -> bool:
    """Whether a fully qualified name is a TF/Keras route to softmax, sigmoid or a cross-entropy."""
    name = normalise(dotted)
    if not name.startswith(("tensorflow", "keras")):
        return False
    module, _, attribute = name.rpartition(".")
    if attribute in _ACTIVATION_NAMES and module in _ACTIVATION_MODULES:
        return True
    lowered = attribute.lower()
    return "crossentropy" in lowered or "cross_entropy" in lowered


def _add_import(stmt: ast.stmt, aliases: dict[str, str]) -> None:
    if isinstance(stmt, ast.Import):
        for alias in stmt.names:
            if alias.asname:
                aliases[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                aliases[top] = top
    elif isinstance(stmt, ast.ImportFrom) and stmt.module and not stmt.level:
        for alias in stmt.names:
            if alias.name != "*":
                aliases[alias.asname or alias.name] = f"{stmt.module}.{alias.name}"


class _Resolver:
    def __init__(self, aliases: dict[str, str]):
        self.aliases = aliases

    def dotted(self, node: ast.AST) -> str | None:
        """The qualified name an expression refers to, when it is a chain over known names."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            base = self.dotted(node.args[0])
            return f"{base}.{node.args[1].value}" if base else None
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "__dict__"
                and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)):
            base = self.dotted(node.value.value)
            return f"{base}.{node.slice.value}" if base else None
        return None


def _module_level(stmts: list[ast.stmt]):
    """Statements that run at module level: into try/if blocks, never into def or class bodies."""
    for stmt in stmts:
        yield stmt
        if isinstance(stmt, (ast.Try, ast.If)):
            blocks = [stmt.body, stmt.orelse] + ([stmt.finalbody] + [h.body for h in stmt.handlers] if isinstance(stmt, ast.Try) else [])
            for block in blocks:
                yield from _module_level(block)


def module_aliases(file: SourceFile) -> dict[str, str]:
    """Names bound at top level to modules or their members: imports and `nn = tf.nn` aliases."""
    aliases: dict[str, str] = {}
    resolver = _Resolver(aliases)
    for cell in file.cells:
        if cell.tree is None:
            continue
        for stmt in _module_level([cell.tree.body[i] for i in cell.kept]):
            _add_import(stmt, aliases)
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                target = resolver.dotted(stmt.value)
                if target:
                    aliases[stmt.targets[0].id] = target
    return aliases


@dataclass
class Violation:
    """One forbidden name used by a graded function (or a helper it calls)."""

    name: str
    where: str
    lineno: int  # in the coordinates of the cell that holds it
    via: str | None = None  # helper through which it was reached

    def describe(self) -> str:
        via = tr(" via helper `{via}`", via=self.via) if self.via else ""
        return tr("uses {name} ({where}){via}", name=self.name, where=self.where, via=via)


def find_violations(file: SourceFile, definition: Definition, exempt: set[str]) -> list[Violation]:
    """Forbidden names in `definition`'s body and in same-file helpers it calls, in source order."""
    aliases = module_aliases(file)
    violations: list[Violation] = []
    seen_helpers = {definition.name} | exempt
    queue: list[tuple[Definition, str | None]] = [(definition, None)]
    while queue:
        current, via = queue.pop(0)
        local = dict(aliases)
        for node in ast.walk(current.node):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                _add_import(node, local)
        resolver = _Resolver(local)
        reported = set()
        for node in ast.walk(current.node):
            dotted = resolver.dotted(node)
            if dotted and is_forbidden(dotted) and (dotted, node.lineno) not in reported:
                reported.add((dotted, node.lineno))
                pretty = dotted.replace("tensorflow", "tf", 1) if dotted.startswith("tensorflow") else dotted
                violations.append(Violation(pretty, tr("{where}, line {line}", where=current.cell.where,
                                                       line=node.lineno), node.lineno, via))
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in seen_helpers:
                helper = file.definitions.get(node.id)
                if helper is not None:
                    seen_helpers.add(node.id)
                    queue.append((helper, via or helper.name))
    return violations
