"""Formulas of x in a report and in the fitting code, compared by value: is the function the report
defines the one the code fits?

The report writes `y = x^2 + 0.5x`, `$f(x)=\\frac{\\sin x}{2}$` or `y = x · sin(x)`; the code
`np.sin(x) / 2`. Both are read into a small expression tree (numbers, x, pi, e, + - * / **, and
a few math functions; nothing else) and evaluated on points of the training interval. Nothing is
ever run with `eval`: a name or a call outside that list makes the formula unknown, and an unknown
formula is never held against the student.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass

import numpy as np

from grader.fitting.units import FittingUnit

POINTS = 64
SAME_R2 = 0.999  # one formula is the other up to scale and offset (a typo in a constant is not another function)
_FUNCTIONS = {"sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log, "ln": np.log,
              "sqrt": np.sqrt, "abs": np.abs, "tanh": np.tanh, "sinh": np.sinh, "cosh": np.cosh,
              "arctan": np.arctan, "atan": np.arctan, "log10": np.log10, "log2": np.log2, "fabs": np.abs}
_CONSTANTS = {"pi": math.pi, "e": math.e}
_MODULES = {"np", "numpy", "torch", "math", "tf", "jnp", "F"}
# `y = ...`, `f(x) = ...`, `g(x)=...` up to the end of the formula (punctuation, a range, words)
_LEFT = re.compile(r"(?<![\w\\])(?:[fgyh](?:_?\d)?\s*\(\s*x\s*\)|y)\s*[=＝]\s*", re.I)
_STOP = re.compile(r"[，。；;,:：]|\s(?:on|for|in|over|where|with|and|x\s*∈|x\s*\\in)\b|\$|定义|区间|其中|在|x\s*∈|\\in\b|∈|"
                   r"\\quad|\\qquad|\\text|（|\s{2,}")


@dataclass(frozen=True)
class CodeTarget:
    """A target function of the fitting code, as an expression of `x` (Python)."""

    text: str
    interval: tuple[float, float] | None = None


def _latex_to_python(text: str) -> str:
    """A formula as a student writes it (plain, LaTeX or Unicode) in Python syntax."""
    text = text.replace("−", "-").replace("·", "*").replace("×", "*").replace("π", "pi").replace("²", "^2") \
        .replace("³", "^3").replace("＋", "+").replace("－", "-").replace("（", "(").replace("）", ")")
    text = re.sub(r"\\(left|right|displaystyle|mathrm|operatorname)\b|\\[,;!: ]", "", text)
    text = re.sub(r"\\(cdot|times)", "*", text)
    text = re.sub(r"\\(sin|cos|tan|exp|log|ln|tanh|sinh|cosh|arctan|pi)\b", r"\1", text)
    for _ in range(4):  # nested powers, fractions and roots, inside out
        text = re.sub(r"(?<![a-zA-Z])e\s*\^\s*\{([^{}]*)\}", r"exp(\1)", text)
        text = re.sub(r"\^\s*\{([^{}]*)\}", r"**(\1)", text)
        text = re.sub(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"((\1)/(\2))", text)
        text = re.sub(r"\\sqrt\s*\{([^{}]*)\}", r"sqrt(\1)", text)
    text = re.sub(r"(?<![a-zA-Z])e\s*\^\s*(-?[\w.]+)", r"exp(\1)", text)
    text = text.replace("{", "(").replace("}", ")").replace("^", "**").replace("[", "(").replace("]", ")")
    text = re.sub(r"\|([^|]+)\|", r"abs(\1)", text)
    text = re.sub(r"\b(np|numpy|torch|math|tf|jnp)\.(math\.)?", "", text)
    # `sin x`, `sin 2x`: a function applied without brackets
    text = re.sub(r"(?<![a-zA-Z])(sin|cos|tan|exp|log|ln|tanh|sqrt)\s+(\d*\.?\d*\s*\*?\s*x)\b", r"\1(\2)", text)
    text = re.sub(r"(?<![a-zA-Z])(sin|cos|tan|exp|log|ln|tanh)(\d+(?:\.\d+)?)\s*x\b", r"\1(\2*x)", text)
    # implicit products: 0.5x, 2(x+1), (x+1)(x-1), x sin(x), 3 sin(x)
    text = re.sub(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?=[a-zA-Z(])", r"\1*", text)
    text = re.sub(r"\)\s*(?=[\w(])", ")*", text)
    text = re.sub(r"\b(x|pi)\s*(?=[a-zA-Z(])", r"\1*", text)
    return text.strip().rstrip(".")


def _evaluate(node: ast.AST, x: np.ndarray) -> np.ndarray:
    """The value of an expression tree at `x`; ValueError for anything outside the small language."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, x)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return np.full_like(x, float(node.value))
    if isinstance(node, ast.Name):
        if node.id == "x":
            return x
        if node.id in _CONSTANTS:
            return np.full_like(x, _CONSTANTS[node.id])
        raise ValueError(node.id)
    if isinstance(node, ast.Attribute) and node.attr in _CONSTANTS and isinstance(node.value, ast.Name) \
            and node.value.id in _MODULES:
        return np.full_like(x, _CONSTANTS[node.attr])
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _evaluate(node.operand, x)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
        left, right = _evaluate(node.left, x), _evaluate(node.right, x)
        if isinstance(node.op, ast.Pow) and np.nanmax(np.abs(right)) > 12:
            raise ValueError("power")
        return {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
                ast.Pow: np.power}[type(node.op)](left, right)
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) and _module(func.value) else getattr(func, "id", None)
        if name in _FUNCTIONS:
            return _FUNCTIONS[name](_evaluate(node.args[0], x))
    raise ValueError(ast.dump(node)[:40])


def _module(node: ast.AST) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and node.id in _MODULES


def _values(python: str, x: np.ndarray) -> np.ndarray | None:
    """The formula's values at `x`, or None when it is not a formula of x alone."""
    try:
        tree = ast.parse(python, mode="eval")
        with np.errstate(all="ignore"):
            values = _evaluate(tree, x.astype(float))
    except (SyntaxError, ValueError, TypeError, OverflowError, RecursionError, MemoryError):
        return None
    return values if values.shape == x.shape else None


def written(line: str) -> list[str]:
    """The formulas `y = ...` / `f(x) = ...` a line of prose writes, in Python syntax, that are
    functions of x alone (a model's `y = W2 relu(W1 x + b1)` is not)."""
    found = []
    for match in _LEFT.finditer(line):
        rest = line[match.end():]
        stop = _STOP.search(rest)
        python = _latex_to_python(rest[:stop.start()] if stop else rest)
        if python and "x" in python and _values(python, np.linspace(-1.0, 1.0, 5)) is not None:
            found.append(python)
    return found


def from_code(line: str) -> str | None:
    """The formula of x a line of code computes (`return x ** 3 - 2 * x`, `y = np.sin(x)`), or None."""
    match = re.match(r"^\s*(return\s+|[A-Za-z_]\w*\s*=\s*)(.+?)\s*(#.*)?$", line)
    if not match or "x" not in match.group(2):
        return None
    python = re.sub(r"\b(np|numpy|torch|math|tf|jnp)\.(math\.)?", "", match.group(2))
    return python if _values(python, np.linspace(-1.0, 1.0, 5)) is not None else None


def names_weights(line: str) -> bool:
    """Whether a formula of the line has names besides x (weights, biases: a model, not a target)."""
    for match in _LEFT.finditer(line):
        rest = line[match.end():]
        stop = _STOP.search(rest)
        python = _latex_to_python(rest[:stop.start()] if stop else rest)
        names = set(re.findall(r"[A-Za-z_]\w*", python))
        if names - {"x", *_CONSTANTS, *_FUNCTIONS, *_MODULES}:
            return True
    return False


def same(formula: str, target: CodeTarget) -> bool | None:
    """Whether the report's formula is the code's target up to scale and offset on the target's
    interval; None when either cannot be evaluated (unknown: never held against the student)."""
    low, high = target.interval or (-3.0, 3.0)
    x = np.linspace(low, high, POINTS)
    mine, theirs = _values(formula, x), _values(target.text, x)
    if mine is None or theirs is None:
        return None
    finite = np.isfinite(mine) & np.isfinite(theirs)
    if finite.sum() < POINTS // 2:
        return None
    mine, theirs = mine[finite], theirs[finite]
    if np.allclose(mine, theirs, rtol=1e-3, atol=1e-6 * (1 + float(np.abs(theirs).max()))):
        return True
    if np.ptp(mine) == 0 or np.ptp(theirs) == 0:
        return False
    slope, offset = np.polyfit(mine, theirs, 1)
    residual = theirs - (slope * mine + offset)
    return bool(1 - residual.var() / theirs.var() >= SAME_R2)


def code_targets(units: list[FittingUnit]) -> list[CodeTarget]:
    """The target functions of the fitting code, as expressions of x: inline `y = <expression of x>`
    and one-argument target functions that return one expression."""
    found = []
    for unit in units:
        interval = tuple(unit.facts.interval) if unit.facts.interval else None
        for expression in unit.facts.expressions:
            found.append(CodeTarget(_renamed(expression["text"], expression["x"]), interval))
        for name, role in unit.facts.roles.items():
            definition = unit.file.definitions.get(name)
            if role != "target" or definition is None:
                continue
            node = definition.node
            arguments = [a.arg for a in node.args.args]
            body = node.body if isinstance(node, ast.Lambda) else \
                node.body[-1].value if node.body and isinstance(node.body[-1], ast.Return) and \
                len([s for s in node.body if not isinstance(s, ast.Expr)]) == 1 else None
            if body is not None and len(arguments) == 1:
                found.append(CodeTarget(_renamed(ast.unparse(body), arguments[0]), interval))
    return found


def _renamed(text: str, x: str) -> str:
    """The expression with the student's x variable called `x`."""
    return re.sub(rf"(?<![\w.]){re.escape(x)}(?!\w)", "x", text) if x != "x" else text


def display(target: CodeTarget) -> str:
    """The code's target as a reader writes it: `y = sin(x) + 0.5 * x`."""
    return "y = " + re.sub(r"\b(np|numpy|torch|math|tf|jnp)\.(math\.)?", "", target.text)
