"""Targets: the graded names of the homework, and which hand-in file each is taken from."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from grader.extract import Definition, SourceFile
from grader.i18n import N_, _, tr

_KINDS = {"function": N_("function"), "class": N_("class")}  # Target.kind, as messages word it


@dataclass(frozen=True)
class Target:
    """A graded target: the `symbol` (default: its name) the student defines, and of which kind."""

    name: str
    part: int
    kind: str  # "function" or "class"
    symbol: str = ""

    @property
    def defined_name(self) -> str:
        return self.symbol or self.name


TARGETS = {
    t.name: t
    for t in [
        Target("softmax", 1, "function"),
        Target("sigmoid", 1, "function"),
        Target("softmax_ce", 1, "function"),
        Target("sigmoid_ce", 1, "function"),
        Target("Matmul", 2, "class"),
        Target("Relu", 2, "class"),
        Target("Softmax", 2, "class"),  # given code: reported, no points by default
        Target("Log", 2, "class"),  # given code: reported, no points by default
        Target("mnist_numpy", 2, "class", symbol="myModel"),
        Target("mnist_tf", 3, "class", symbol="myModel"),
        Target("function_fitting", 4, "fitting"),  # no fixed name: grader/fitting/units.py finds it
    ]
}

# Targets that train something (seconds to minutes): `--fast` leaves them out.
TRAINING_TARGETS = frozenset({"mnist_numpy", "mnist_tf", "function_fitting"})


@dataclass
class Located:
    """Where a target was found: its file and definition (None when missing)."""

    target: Target
    file: SourceFile | None
    definition: Definition | None
    searched: list[str]
    unread: list[str] = field(default_factory=list)  # hand-in files that could not be read at all

    def load_plan(self) -> dict:
        """The file's load plan, cut before a later redefinition of the chosen definition's name."""
        later = [d.position for d in self.file.history[self.definition.name] if d.position > self.definition.position]
        return self.file.load_plan(stop_before=min(later) if later else None)

    @property
    def missing_message(self) -> str:
        searched = ", ".join(self.searched) if self.searched else _("no .ipynb or .py file was found")
        unread = tr("; not read: {unread} (see the notes)", unread=', '.join(self.unread)) if self.unread else ""
        return tr("`{name}` is not defined as a {kind} in the hand-in (searched: {searched}{unread})",
                  name=self.target.defined_name, kind=_(_KINDS[self.target.kind]), searched=searched, unread=unread)


def source_of(located: Located) -> dict:
    """The graded definition's text and location, as the results contract's `sources` holds it."""
    first_line, code = located.definition.source()
    return {"where": located.definition.cell.where, "first_line": first_line, "code": code}


def _kind_fits(definition: Definition, target: Target) -> bool:
    return (definition.kind == "class") == (target.kind == "class")


def _candidates(target: Target, files: list[SourceFile]) -> list[tuple[SourceFile, Definition]]:
    """(file, definition) pairs that could be the target: for the two `myModel`s every binding
    (a merged notebook defines the numpy model, then the TF one), otherwise the binding that wins."""
    found = []
    for file in files:
        if target.symbol:
            found += [(file, d) for d in file.history.get(target.defined_name, []) if _kind_fits(d, target)]
        elif target.defined_name in file.definitions and _kind_fits(file.definitions[target.defined_name], target):
            found.append((file, file.definitions[target.defined_name]))
    return found


def model_style(definition: Definition) -> str:
    """"tf" for a class holding tf.Variables, "numpy" for one with a backward method, else "other"."""
    names = {n.attr if isinstance(n, ast.Attribute) else n.id
             for n in ast.walk(definition.node) if isinstance(n, (ast.Attribute, ast.Name))}
    if "Variable" in names:
        return "tf"
    methods = {n.name for n in getattr(definition.node, "body", []) if isinstance(n, ast.FunctionDef)}
    return "numpy" if "backward" in methods else "other"


def _preference(target: Target, file: SourceFile, definition: Definition, files: list[SourceFile]) -> tuple:
    """Which of several `myModel` definitions is the model of the target's part."""
    name = file.display.lower()
    if target.name == "mnist_numpy":
        return (model_style(definition) == "numpy", "Matmul" in file.definitions, "numpy" in name)
    if target.name == "mnist_tf":
        numpy_choice = locate(TARGETS["mnist_numpy"], files).definition
        return (model_style(definition) == "tf", definition is not numpy_choice, "tf" in name and "numpy" not in name)
    return ()


def locate(target: Target, files: list[SourceFile]) -> Located:
    """Pick the file and definition a target is graded from.

    Prefer the definition whose model fits the part (for the two `myModel`s), then the file
    defining most targets of the same part (the Part-1 notebook, even when another file has a
    stray helper of the same name), then the first in path order.
    """
    unread = [f.display for f in files if f.error and not f.cells]
    searched = [f.display for f in files if f.display not in unread]
    candidates = _candidates(target, files)
    if not candidates:
        return Located(target, None, None, searched, unread)
    siblings = [t for t in TARGETS.values() if t.part == target.part]

    def rank(candidate: tuple[SourceFile, Definition]) -> tuple:
        file, definition = candidate
        defined = sum(bool(_candidates(t, [file])) for t in siblings)
        return _preference(target, file, definition, files), defined, -files.index(file), definition.position

    file, definition = max(candidates, key=rank)
    return Located(target, file, definition, searched, unread)
