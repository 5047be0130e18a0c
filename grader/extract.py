"""Extract: turn each notebook or `.py` file into cells of definitions, never top-level runs.

Only imports, `def`, `class`, lambdas and assignments of simple constant expressions are kept;
training loops, downloads, plots, prints and test cells are dropped. `%magics` and `!shell`
lines are neutralised, a cell that does not parse loses only its own definitions, and a later
top-level rebinding of a name defined by `def`/`class` (`softmax = Softmax()`) is dropped so the
definition stays the target. The parent runs this to index definitions; the child re-parses the
same cleaned text to execute exactly the kept statements.
"""

from __future__ import annotations

import ast
import json
import re
import io
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from grader.discover import DEFAULT_MAX_FILE_BYTES, read_source
from grader.i18n import _, tr

_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "memit", "debug"}
_MAGIC_LINE = re.compile(r"^(\s*)(?:[%!?]|[\w\s,.\[\]()]+?=\s*[%!]|\S.*\?\??\s*$)")
FIGURE = "[figure]"  # a stored image output, in a cell's outputs in short
_PY_CELL_MARKER = re.compile(r"^#\s*(?:%%|In\s*\[[\s\d]*\]\s*:)")


@dataclass
class Definition:
    """A top-level name bound to a function, lambda or class in one file."""

    name: str
    kind: str  # "function", "lambda" or "class"
    cell: "Cell"
    node: ast.AST
    lineno: int
    position: tuple[int, int] = (0, 0)  # (cell index, statement index): where it stands in load order

    def source(self, max_chars: int = 20_000) -> tuple[int, str]:
        """(first line, text) of the definition, decorators included, for reports; lines count as in
        the check messages (per cell in notebooks, per file in `.py` files)."""
        decorators = getattr(self.node, "decorator_list", [])
        first = min([self.lineno] + [d.lineno for d in decorators])
        last = getattr(self.node, "end_lineno", None) or self.lineno
        offset = self.cell.line_offset
        text = "\n".join(self.cell.source.splitlines()[first - 1 - offset:last - offset])
        return first, text if len(text) <= max_chars else text[:max_chars] + "\n# ... (cut for the report)"


@dataclass
class Cell:
    """One code cell (or `.py` chunk) after magics were neutralised."""

    where: str  # human location, e.g. "hw/tf2.ipynb, cell 3"
    label: str  # filename given to compile() and linecache
    source: str
    line_offset: int = 0
    kept: list[int] = field(default_factory=list)
    error: str | None = None
    tree: ast.Module | None = None
    position: int = 0  # among a notebook's cells (markdown included), from 1


@dataclass
class SourceFile:
    """A hand-in file: its cells, what they define, and why anything was lost."""

    path: Path
    display: str
    cells: list[Cell] = field(default_factory=list)
    error: str | None = None
    definitions: dict[str, Definition] = field(default_factory=dict)  # the binding that wins, as Python runs it
    history: dict[str, list[Definition]] = field(default_factory=dict)  # every binding, in load order
    linecache: dict[str, str] = field(default_factory=dict)
    markdown: list[tuple[int, str]] = field(default_factory=list)  # a notebook's markdown cells: (position, text)
    outputs: dict[int, list[str]] = field(default_factory=dict)  # a code cell's stored outputs, in short (Part 4's report)

    @property
    def problems(self) -> list[str]:
        """Human-readable reasons why parts of this file could not be loaded."""
        found = [f"{self.display}: {self.error}"] if self.error else []
        found += [f"{cell.where}: {cell.error}" for cell in self.cells if cell.error]
        return found

    def load_plan(self, stop_before: tuple[int, int] | None = None) -> dict:
        """The plain-data description a sandboxed child needs to execute the kept statements.

        `stop_before` (cell index, statement index) leaves out everything from that statement on:
        a merged notebook that redefines `myModel` for Part 3 is loaded only up to there for Part 2.
        """
        cells = []
        for index, cell in enumerate(self.cells):
            kept = [i for i in cell.kept if stop_before is None or (index, i) < stop_before]
            if kept:
                cells.append({"label": cell.label, "where": cell.where, "source": cell.source,
                              "line_offset": cell.line_offset, "kept": kept})
        return {"display": self.display, "linecache": self.linecache, "cells": cells}


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def neutralise_magics(source: str) -> tuple[str, str | None]:
    """Return cell text that Python can parse, or a reason to skip the whole cell.

    Cell magics with a Python body (`%%time`) keep the body; other cell magics (`%%bash`)
    skip the cell. Line magics, `!shell` and `obj?` lines become `pass` (same indentation,
    so line numbers stay true) only when the text does not parse as it is.
    """
    lines = source.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        magic = lines[first].lstrip()[2:].split(maxsplit=1)[0] if lines[first].strip() != "%%" else ""
        if magic not in _PYTHON_CELL_MAGICS:
            return "\n" * (len(lines) - 1), tr("%%{magic} cell skipped", magic=magic)
        lines[first] = ""
        source = "\n".join(lines)
    try:
        ast.parse(source)
        return source, None
    except SyntaxError:
        pass
    cleaned = []
    for line in lines:
        match = _MAGIC_LINE.match(line)
        cleaned.append(f"{match.group(1)}pass" if match and line.strip() else line)
    return "\n".join(cleaned), None


def _is_static(node: ast.AST) -> bool:
    """An expression that only names, indexes and combines values: no calls, no loops."""
    if isinstance(node, (ast.Constant, ast.Name, ast.Lambda)):
        return True
    if isinstance(node, ast.Attribute):
        return _is_static(node.value)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_is_static(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is None or _is_static(k) for k in node.keys) and all(map(_is_static, node.values))
    if isinstance(node, ast.UnaryOp):
        return _is_static(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_static(node.left) and _is_static(node.right)
    if isinstance(node, ast.BoolOp):
        return all(map(_is_static, node.values))
    if isinstance(node, ast.Compare):
        return _is_static(node.left) and all(map(_is_static, node.comparators))
    if isinstance(node, ast.IfExp):
        return all(map(_is_static, (node.test, node.body, node.orelse)))
    if isinstance(node, ast.Subscript):
        return _is_static(node.value) and _is_static(node.slice)
    if isinstance(node, ast.Slice):
        return all(part is None or _is_static(part) for part in (node.lower, node.upper, node.step))
    if isinstance(node, ast.JoinedStr):
        return all(_is_static(v.value) if isinstance(v, ast.FormattedValue) else True for v in node.values)
    return False


def _bound_names(target: ast.AST) -> list[str] | None:
    """Names an assignment target binds, or None when it mutates something (x[0] = ..., o.a = ...)."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        names = []
        for element in target.elts:
            inner = _bound_names(element.value if isinstance(element, ast.Starred) else element)
            if inner is None:
                return None
            names += inner
        return names
    return None


def _is_kept(stmt: ast.stmt, protected: set[str]) -> bool:
    """Whether a top-level statement is a definition to execute (see the module docstring)."""
    if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Pass)):
        return True
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        names = [_bound_names(t) for t in targets]
        if any(n is None for n in names) or any(set(n) & protected for n in names):
            return False
        return stmt.value is None or _is_static(stmt.value)
    if isinstance(stmt, ast.Try):
        blocks = [stmt.body, stmt.orelse, stmt.finalbody] + [h.body for h in stmt.handlers]
        return all(_is_kept(s, protected) for block in blocks for s in block)
    if isinstance(stmt, ast.If):
        return _is_static(stmt.test) and all(_is_kept(s, protected) for s in stmt.body + stmt.orelse)
    return False


def _split_py_cells(text: str) -> list[tuple[int, str]]:
    """Split a `.py` file at Jupyter/VS Code cell markers; returns (first line index, text)."""
    lines = text.split("\n")
    starts = [0] + [i for i, line in enumerate(lines) if _PY_CELL_MARKER.match(line) and i > 0]
    bounds = starts + [len(lines)]
    return [(bounds[k], "\n".join(lines[bounds[k]:bounds[k + 1]])) for k in range(len(starts))]


def _split_blocks(text: str) -> list[tuple[int, str]]:
    """Split unparsable marker-less Python at top-level statement starts, so one typo costs one block."""
    lines = text.split("\n")
    starts = [0]
    for i, line in enumerate(lines[1:], start=1):
        if not line or line[0].isspace() or line.startswith(("#", ")", "]", "}")):
            continue
        if re.match(r"(else|elif|except|finally)\b", line):
            continue
        previous = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        if previous.startswith("@") or previous.rstrip().endswith(("\\", ",", "(", "[", "{")):
            continue
        starts.append(i)
    bounds = starts + [len(lines)]
    return [(bounds[k], "\n".join(lines[bounds[k]:bounds[k + 1]])) for k in range(len(starts))]


def _decode_python(raw: bytes) -> tuple[str, str | None]:
    """Decode a `.py` file: UTF-8 (with BOM), its PEP 263 cookie, else Latin-1 with a note."""
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    try:
        encoding = tokenize.detect_encoding(io.BytesIO(raw).readline)[0]
        return raw.decode(encoding), None
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return raw.decode("latin-1"), _("file is not valid UTF-8; read as Latin-1")


def _notebook_cells(raw: bytes) -> tuple[list[tuple[int, str]], list[tuple[int, str]], dict[int, list[str]]]:
    """(position among all cells, source) of each code cell and of each markdown cell (Part 4's
    report), and the code cells' stored outputs in short (see `_outputs`), read from the notebook's JSON: cells of nbformat 4 (`source`), or worksheets
    of nbformat 3 (`input`). No schema validation: a notebook nbformat would reject is still read
    if its cells are there, and a large one is read fast. A truncated file raises ValueError and is
    reported as unreadable."""
    data = json.loads(raw.decode("utf-8-sig", errors="replace"))
    if not isinstance(data, dict) or not ("cells" in data or "worksheets" in data):
        raise ValueError(_("not a Jupyter notebook (no cells)"))
    cells = data.get("cells") or [c for ws in data.get("worksheets") or [] for c in ws.get("cells", [])]
    sources, markdown, outputs = [], [], {}
    for position, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown"):
            continue
        source = cell.get("source", cell.get("input")) or ""
        text = "".join(map(str, source)) if isinstance(source, list) else str(source)
        if cell["cell_type"] == "code":
            sources.append((position, text))
            shown = _outputs(cell.get("outputs"))
            if shown:
                outputs[position] = shown
        else:
            markdown.append((position, text))
    return sources, markdown, outputs


def _outputs(outputs: object) -> list[str]:
    """A code cell's stored outputs in short: FIGURE for each image, and its last printed lines
    that hold a number (what a reader of the notebook sees as a result)."""
    shown, printed = [], []
    for output in outputs if isinstance(outputs, list) else []:
        if not isinstance(output, dict):
            continue
        data = output.get("data") if isinstance(output.get("data"), dict) else {}
        if any(str(kind).startswith("image/") for kind in data):
            shown.append(FIGURE)
            continue
        text = output.get("text", data.get("text/plain", ""))
        text = "".join(map(str, text)) if isinstance(text, list) else str(text)
        printed += [line.strip()[:120] for line in text.splitlines()[-40:] if re.search(r"\d", line)]
    return shown + printed[-3:]


def _index_definitions(file: SourceFile) -> None:
    def bind(name: str, kind: str, cell: Cell, node: ast.AST, lineno: int, position: tuple[int, int]) -> None:
        definition = Definition(name, kind, cell, node, lineno, position)
        file.definitions[name] = definition
        file.history.setdefault(name, []).append(definition)

    for index, cell in enumerate(file.cells):
        if cell.tree is None:
            continue
        for i in cell.kept:
            stmt = cell.tree.body[i]
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                bind(stmt.name, "function", cell, stmt, stmt.lineno, (index, i))
            elif isinstance(stmt, ast.ClassDef):
                bind(stmt.name, "class", cell, stmt, stmt.lineno, (index, i))
            elif isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Lambda):
                for target in stmt.targets:
                    if isinstance(target, ast.Name):
                        bind(target.id, "lambda", cell, stmt.value, stmt.lineno, (index, i))
            elif isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Name):
                aliased = file.definitions.get(stmt.value.id)
                for target in stmt.targets:
                    if aliased and isinstance(target, ast.Name):
                        bind(target.id, aliased.kind, aliased.cell, aliased.node, aliased.lineno, (index, i))


def extract_file(path: Path, display: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> SourceFile:
    """Read (see discover.read_source), clean, parse and filter one source file; never raises for bad input."""
    file = SourceFile(path=path, display=display)
    is_notebook = path.suffix.lower() == ".ipynb"
    try:
        raw = read_source(path, max_bytes)
        if is_notebook:
            code, file.markdown, file.outputs = _notebook_cells(raw)
            chunks = [(position, normalise_newlines(s)) for position, s in code]
        else:
            text, note = _decode_python(raw)
            text = normalise_newlines(text)
            file.error = note
            chunks = _split_py_cells(text)
            if len(chunks) == 1:
                cleaned, _ = neutralise_magics(text)
                try:
                    ast.parse(cleaned)
                except SyntaxError:
                    chunks = _split_blocks(text)
    except (OSError, ValueError) as error:
        file.error = tr("cannot be read: {error}", error=error)
        return file

    for position, chunk in chunks:
        if is_notebook:
            where = tr("{file}, cell {position}", file=display, position=position)
            label, offset = f"<dlgrade {display} cell {position}>", 0
        else:
            where, label, offset = display, f"<dlgrade {display}>", position  # line numbers stay absolute
        source, skip = neutralise_magics(chunk)
        cell = Cell(where=where, label=label, source=source, line_offset=offset, position=position if is_notebook else 0)
        file.cells.append(cell)
        if skip:
            continue
        try:
            cell.tree = ast.parse(source)
        except SyntaxError as error:
            cell.error = tr("syntax error at line {line}: {error}; its definitions were not loaded",
                             line=(error.lineno or 0) + offset, error=error.msg)
            continue
        if offset:
            ast.increment_lineno(cell.tree, offset)
        if is_notebook:
            file.linecache[label] = source
    if not is_notebook:  # chunks are consecutive line slices, so this rebuilds the cleaned file
        file.linecache[f"<dlgrade {display}>"] = "\n".join(cell.source for cell in file.cells)

    protected = {
        stmt.name for cell in file.cells if cell.tree
        for stmt in cell.tree.body if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    for cell in file.cells:
        if cell.tree:
            cell.kept = [i for i, stmt in enumerate(cell.tree.body) if _is_kept(stmt, protected)]
    _index_definitions(file)
    return file
