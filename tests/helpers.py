"""Build hand-ins for tests: notebooks of any nbformat 4.x minor, `.py` files, Part-1 sources."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CORRECT_PART1 = {
    "softmax": '''def softmax(x):
    e = tf.exp(x - tf.reduce_max(x, axis=-1, keepdims=True))
    return e / tf.reduce_sum(e, axis=-1, keepdims=True)''',
    "sigmoid": '''def sigmoid(x):
    return 1 / (1 + tf.exp(-x))''',
    "softmax_ce": '''def softmax_ce(x, label):
    return tf.reduce_mean(-tf.reduce_sum(label * tf.math.log(x), axis=-1))''',
    "sigmoid_ce": '''def sigmoid_ce(x, label):
    return -tf.reduce_mean(label * tf.math.log(x) + (1 - label) * tf.math.log(1 - x))''',
}
IMPORTS = "import numpy as np\nimport tensorflow as tf"


def assert_only_target_lost(result, target: str) -> None:
    """`target` lost points and every other graded target kept full marks."""
    for name, (score, maximum) in result.per_target().items():
        if name == target:
            assert score < maximum, f"{target} kept full marks"
        else:
            assert score == maximum, f"{name} lost points because of a bug in {target}"


def part1_full_marks(result) -> bool:
    """Whether every Part-1 target got full marks (for hand-ins that only hold Part 1)."""
    totals = result.per_target()
    return all(totals[name][0] == totals[name][1] for name in CORRECT_PART1)


def write_notebook(path: Path, cells: list[str], minor: int = 4) -> Path:
    """Write a notebook; a cell starting with 'md:' is markdown."""
    notebook = new_notebook()
    notebook.nbformat_minor = minor
    for source in cells:
        if source.startswith("md:"):
            notebook.cells.append(new_markdown_cell(source[3:]))
        else:
            notebook.cells.append(new_code_cell(source))
    if minor < 5:
        for cell in notebook.cells:
            cell.pop("id", None)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(notebook, version=4), encoding="utf-8")
    return path


def write_v3_notebook(path: Path, cells: list[str]) -> Path:
    """An nbformat 3 notebook (worksheets, `input` fields), as old course material still has."""
    data = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""},
            "worksheets": [{"cells": [{"cell_type": "code", "input": c, "language": "python",
                                       "outputs": [], "metadata": {}} for c in cells], "metadata": {}}]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def part1_cells(**replacements: str) -> list[str]:
    """The correct Part-1 notebook cells with some functions replaced by other sources."""
    sources = dict(CORRECT_PART1, **replacements)
    return [IMPORTS] + [sources[name] for name in CORRECT_PART1]


def reference_cells(name: str) -> list[str]:
    """Code cells of an instructor notebook in reference/ (the given code and the solutions)."""
    path = Path(__file__).resolve().parent.parent / "reference" / name
    notebook = nbformat.read(path, as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


NOTEBOOKS = {"numpy": "tutorial_minst_fnn-numpy-exercise.ipynb", "tf": "tutorial_minst_fnn-tf2.0-exercise.ipynb"}


def write_handin(folder: Path, edits: tuple[tuple[str, str, str], ...] = (), **replacements: str) -> Path:
    """A complete, correct hand-in (the three notebooks) with named pieces replaced or edited.

    Part-1 functions (softmax=...) replace their cell in the Part-1 notebook; Part-2 classes
    (Matmul=..., Relu=...) replace the cell defining that class in the instructor's notebook;
    `edits` are (notebook, old, new) text substitutions in the "numpy" or "tf" notebook, and
    each `old` must occur (so a typo cannot silently test the correct code).
    """
    part1 = {k: v for k, v in replacements.items() if k in CORRECT_PART1}
    write_notebook(folder / "tf2.0-exercise.ipynb", part1_cells(**part1))
    for key, name in NOTEBOOKS.items():
        cells = []
        for source in reference_cells(name):
            defined = source.split("(")[0].split(":")[0].removeprefix("class ").strip() if source.startswith("class ") else None
            cells.append(replacements.get(defined, source) if key == "numpy" else source)
        for notebook, old, new in edits:
            if notebook == key:
                assert any(old in cell for cell in cells), f"{old!r} not found in the {key} notebook"
                cells = [cell.replace(old, new) for cell in cells]
        write_notebook(folder / name, cells)
    return folder
