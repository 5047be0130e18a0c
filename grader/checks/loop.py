"""How the student's own training loop calls `train_one_step`, read from its syntax tree.

The notebook's loop calls `train_one_step(model, x, y)` (numpy) or
`train_one_step(model, optimizer, x, y)` (TF) on the full training set, with `optimizer =
optimizers.Adam()`. Students change it: minibatches with a rate of their own
(`train_one_step(model, x_batch, y_batch, lr=0.2)` inside `for i in range(0, n, batch_size)`),
or an optimizer of their own (`optimizers.Adam(learning_rate=0.01)`). The loop cell never runs
(only definitions are loaded), so this module reads it, in the trusted parent, and the
`train_one_step` check runs the student's step the way that loop does. Only literal numbers are
taken over; anything else keeps the notebook's way.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from grader.extract import SourceFile

OPTIMIZERS = ("Adam", "SGD", "RMSprop", "Adagrad", "Adamax", "Nadam")  # tf.keras.optimizers built from literals
_ARITY = {"numpy": 3, "tf": 4}  # positional arguments of the given train_one_step
_LOOPS = (ast.For, ast.While, ast.AsyncFor)


@dataclass(frozen=True)
class StudentLoop:
    """What the student's loop passes to train_one_step, where it differs from the notebook's."""

    batch: int | None = None  # images per call; None: the full training set, as the notebook
    extra_args: tuple[float, ...] = ()  # literal numbers passed after the given arguments
    keywords: dict[str, float] = field(default_factory=dict)  # literal numeric keywords, e.g. lr=0.2
    optimizer: dict | None = None  # {"name": "Adam", "args": [...], "kwargs": {...}}; None: optimizers.Adam()
    where: str | None = None  # the cell of the call

    @property
    def own(self) -> bool:
        """Whether the loop differs from the notebook's in anything the check takes over."""
        return bool(self.batch or self.extra_args or self.keywords or self.optimizer)

    def call_text(self, given: str) -> str:
        """`model, x, y, lr=0.2`: the arguments as the student's loop passes them."""
        extra = [repr(v) for v in self.extra_args] + [f"{k}={v!r}" for k, v in self.keywords.items()]
        return ", ".join([given] + extra)

    def optimizer_text(self) -> str | None:
        if self.optimizer is None:
            return None
        arguments = [repr(v) for v in self.optimizer["args"]]
        arguments += [f"{k}={v!r}" for k, v in self.optimizer["kwargs"].items()]
        return f"optimizers.{self.optimizer['name']}({', '.join(arguments)})"


def _number(node: ast.AST) -> float | int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _number(node.operand)
        return -value if value is not None else None
    return None


def _calls_in_loops(tree: ast.Module) -> list[tuple[ast.Call, bool]]:
    """Top-level calls of train_one_step (outside any def or class), each with whether a loop encloses it."""
    found: list[tuple[ast.Call, bool]] = []

    def visit(node: ast.AST, in_loop: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "train_one_step":
            found.append((node, in_loop))
        for child in ast.iter_child_nodes(node):
            visit(child, in_loop or isinstance(node, _LOOPS))

    visit(tree, False)
    return found


def _batch_size(tree: ast.Module) -> int | None:
    """A literal batch size in the cell: `batch_size = 128`, `.batch(128)` or `batch_size=128`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and "batch" in node.targets[0].id.lower():
            value = _number(node.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "batch" \
                and node.args:
            value = _number(node.args[0])
        elif isinstance(node, ast.keyword) and node.arg == "batch_size":
            value = _number(node.value)
        else:
            continue
        if isinstance(value, int) and value > 0:
            return value
    return None


def _optimizer(file: SourceFile, name: str) -> dict | None:
    """The last top-level `name = optimizers.X(literals)` of the file, unless it is the notebook's Adam()."""
    found = None
    for cell in file.cells:
        for stmt in (cell.tree.body if cell.tree else []):
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                    and stmt.targets[0].id == name and isinstance(stmt.value, ast.Call)):
                continue
            call = stmt.value
            kind = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", None)
            args = [_number(a) for a in call.args]
            kwargs = {("learning_rate" if k.arg == "lr" else k.arg): _number(k.value) for k in call.keywords}
            if kind in OPTIMIZERS and None not in args and None not in kwargs.values() and None not in kwargs:
                found = {"name": kind, "args": args, "kwargs": kwargs}
            else:
                found = None  # built some other way: the notebook's Adam() stands in
    if found == {"name": "Adam", "args": [], "kwargs": {}}:
        return None
    return found


def student_loop(file: SourceFile | None, kind: str) -> StudentLoop:
    """How the first top-level call of train_one_step with `kind`'s arguments runs it (see the docstring)."""
    if file is None:
        return StudentLoop()
    arity = _ARITY[kind]
    for cell in file.cells:
        if cell.tree is None:
            continue
        for call, in_loop in _calls_in_loops(cell.tree):
            extra = [_number(argument) for argument in call.args[arity:]]
            if len(call.args) < arity or None in extra:  # another part's call (or not a call this check can copy)
                continue
            keywords = {k.arg: _number(k.value) for k in call.keywords if k.arg}
            batch = _batch_size(cell.tree) if in_loop else None
            optimizer = None
            if kind == "tf" and isinstance(call.args[1], ast.Name):
                optimizer = _optimizer(file, call.args[1].id)
            return StudentLoop(batch=batch, extra_args=tuple(extra),
                               keywords={k: v for k, v in keywords.items() if v is not None},
                               optimizer=optimizer, where=cell.where)
    return StudentLoop()
