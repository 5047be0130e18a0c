"""Targets: the graded names of the homework, and which hand-in file each is taken from."""

from __future__ import annotations

from dataclasses import dataclass

from grader.extract import Definition, SourceFile


@dataclass(frozen=True)
class Target:
    """A graded name: `kind` is what the homework asks the student to define."""

    name: str
    part: int
    kind: str  # "function" or "class"


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
    ]
}


@dataclass
class Located:
    """Where a target was found: its file and definition (None when missing)."""

    target: Target
    file: SourceFile | None
    definition: Definition | None
    searched: list[str]

    @property
    def missing_message(self) -> str:
        searched = ", ".join(self.searched) if self.searched else "no .ipynb or .py file was found"
        return f"`{self.target.name}` is not defined as a {self.target.kind} in the hand-in (searched: {searched})"


def _defines(file: SourceFile, target: Target) -> bool:
    definition = file.definitions.get(target.name)
    if definition is None:
        return False
    return (definition.kind == "class") == (target.kind == "class")


def locate(target: Target, files: list[SourceFile]) -> Located:
    """Pick the file a target is graded from.

    Among the files that define it with the right kind, prefer the one defining most targets of
    the same part (the Part-1 notebook, even when another file has a stray helper of the same
    name), then the first in path order.
    """
    searched = [f.display for f in files]
    candidates = [f for f in files if _defines(f, target)]
    if not candidates:
        return Located(target, None, None, searched)
    siblings = [t for t in TARGETS.values() if t.part == target.part]
    best = max(candidates, key=lambda f: (sum(_defines(f, t) for t in siblings), -files.index(f)))
    return Located(target, best, best.definitions[target.name], searched)
