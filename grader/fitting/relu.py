"""ReLU in the fitting code, recognised by what the code computes, never by names or comments.

Counted: a library ReLU (`torch.relu`, `F.relu`, `nn.ReLU()`, `tf.nn.relu`, `layers.ReLU()`,
Keras `activation="relu"`), and the usual hand-written forms: `np.maximum(0, h)` either way round,
`h * (h > 0)`, `np.where(h > 0, h, 0)`, `np.clip(h, 0, None)`, `h.clamp(min=0)`, `h[h < 0] = 0`.
A leaky ReLU (`nn.LeakyReLU`, `np.maximum(0.01 * h, h)`, `np.where(h > 0, h, a * h)`) is reported
as such. A class or function merely *named* relu, a comment or a docstring never counts.
"""

from __future__ import annotations

import ast
import re

RELU = "ReLU"
LEAKY = "Leaky ReLU"
_LIBRARY = re.compile(r"^(relu|relu6|ReLU|ReLU6|leaky_relu|LeakyReLU|PReLU|prelu|RReLU)$")
_LEAKY = re.compile(r"leaky|prelu|rrelu", re.I)
_MODULE_ROOTS = {"torch", "tensorflow", "keras", "jax", "flax"}


def _number(node: ast.AST) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Call) and _name(node.func) in ("zeros_like", "zeros", "zero_"):
        return 0.0
    return None


def _name(node: ast.AST) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_zero(node: ast.AST) -> bool:
    return _number(node) == 0.0


def _scaled(node: ast.AST, other: ast.AST) -> bool:
    """`0.01 * h` (or `h * 0.01`, `alpha * h`) where `h` is the other operand: a leaky slope."""
    if not isinstance(node, ast.BinOp) or not isinstance(node.op, ast.Mult):
        return False
    text = ast.unparse(other)
    return ast.unparse(node.left) == text or ast.unparse(node.right) == text


def _comparison_with_zero(node: ast.AST) -> str | None:
    """The compared expression of `h > 0` / `0 < h` / `h >= 0`, or None."""
    if not isinstance(node, ast.Compare) or len(node.ops) != 1:
        return None
    left, right, op = node.left, node.comparators[0], node.ops[0]
    if isinstance(op, (ast.Gt, ast.GtE)) and _is_zero(right):
        return ast.unparse(left)
    if isinstance(op, (ast.Lt, ast.LtE)) and _is_zero(left):
        return ast.unparse(right)
    return None


def _call_kind(call: ast.Call, modules: dict[str, str]) -> str | None:
    name = _name(call.func)
    root = _root(call.func)
    if _LIBRARY.match(name) and (root is None or modules.get(root, root) in _MODULE_ROOTS or root in ("F", "nn", "layers")):
        return LEAKY if _LEAKY.search(name) else RELU
    for keyword in call.keywords:
        if keyword.arg == "activation":
            value = keyword.value
            text = value.value if isinstance(value, ast.Constant) and isinstance(value.value, str) else _name(value)
            if isinstance(text, str) and re.fullmatch(r"(leaky_?)?relu6?", text, re.I):
                return LEAKY if _LEAKY.search(text) else RELU
    args = call.args
    if name == "relu" and isinstance(call.func, ast.Attribute) and not args and not call.keywords:
        return RELU  # a tensor's own method: h.relu()
    if name in ("maximum", "fmax", "max") and len(args) == 2 and (root in modules or root == "max"):
        if _is_zero(args[0]) or _is_zero(args[1]):
            return RELU
        if _scaled(args[0], args[1]) or _scaled(args[1], args[0]):
            return LEAKY
    if name == "where" and len(args) == 3 and _comparison_with_zero(args[0]) == ast.unparse(args[1]):
        return RELU if _is_zero(args[2]) else LEAKY if _scaled(args[2], args[1]) else None
    if name in ("clip", "clamp", "clip_by_value") and args:
        low = args[1] if len(args) > 1 else next((k.value for k in call.keywords if k.arg in ("min", "a_min")), None)
        high = args[2] if len(args) > 2 else next((k.value for k in call.keywords if k.arg in ("max", "a_max")), None)
        if low is not None and _is_zero(low) and (high is None or isinstance(high, ast.Constant) and high.value is None):
            return RELU
    if name in ("clamp", "clamp_min", "clip") and isinstance(call.func, ast.Attribute) and not args[1:] and \
            (args and _is_zero(args[0]) and name == "clamp_min" or
             any(k.arg == "min" and _is_zero(k.value) for k in call.keywords)):
        return RELU
    return None


def _product_kind(node: ast.BinOp) -> str | None:
    """`h * (h > 0)` or `(h > 0) * h`, with the mask as a comparison or cast (`(h > 0).astype(float)`)."""
    if not isinstance(node.op, ast.Mult):
        return None
    for mask, value in ((node.right, node.left), (node.left, node.right)):
        inner = mask.func.value if isinstance(mask, ast.Call) and isinstance(mask.func, ast.Attribute) else mask
        if _comparison_with_zero(inner) == ast.unparse(value):
            return RELU
    return None


def _masked_assignment(node: ast.Assign) -> str | None:
    """`h[h < 0] = 0`."""
    if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Subscript) or not _is_zero(node.value):
        return None
    target = node.targets[0]
    index = target.slice
    if isinstance(index, ast.Compare) and len(index.ops) == 1 and isinstance(index.ops[0], (ast.Lt, ast.LtE)) \
            and _is_zero(index.comparators[0]) and ast.unparse(index.left) == ast.unparse(target.value):
        return RELU
    return None


def relu_uses(trees: list[ast.AST], modules: dict[str, str]) -> list[tuple[str, str]]:
    """(ReLU or Leaky ReLU, the line's text) of every place the code computes a ReLU."""
    found = []
    for tree in trees:
        for node in ast.walk(tree):
            kind = _call_kind(node, modules) if isinstance(node, ast.Call) else \
                _product_kind(node) if isinstance(node, ast.BinOp) else \
                _masked_assignment(node) if isinstance(node, ast.Assign) else None
            if kind:
                line = ast.unparse(node)[:120]
                if (kind, line) not in found:
                    found.append((kind, line))
    return found
