"""Find the function-fitting code of a hand-in and what its text says, without running it.

There is no starter code and no fixed file name, so a file is fitting code by its name OR its
content: x sampled (linspace/uniform/arange/rand) plus a regression loss or a ReLU network, and
no MNIST. A notebook that also holds Parts 1-3 contributes only its fitting cells (after the
definitions and imports of the cells before them). Static facts the rubric needs (comments,
imports, a hand-written backward pass, a test set, ReLU) and the hints the child needs to find
things after the run (which functions are targets or models, inline targets such as
`y = np.sin(x)`, calls such as `forward(x, W1, b1)`, the sampling interval) come from the AST.
"""

from __future__ import annotations

import ast
import io
import math
import re
import tokenize
from dataclasses import dataclass, field

from grader.extract import SourceFile
from grader.i18n import tr
from grader.fitting.predictions import OUTPUT, find_predictions
from grader.fitting.relu import LEAKY, relu_uses
from grader.probes.fitting import data_role
from grader.targets import TARGETS

MAX_UNITS = 3
FRAMEWORKS = {"torch": "PyTorch", "tensorflow": "TensorFlow", "keras": "Keras", "sklearn": "scikit-learn",
              "jax": "JAX", "flax": "JAX", "mxnet": "MXNet", "paddle": "PaddlePaddle", "autograd": "autograd"}
_SAMPLING = re.compile(r"linspace|arange\(|random\.(uniform|rand|randn|normal|random|sample)\b|"
                       r"torch\.(rand|randn|linspace|arange)\b|tf\.(linspace|range|random\.uniform)|uniform\(")
_LOSS = re.compile(r"MSELoss|mse|mean_squared_error|\*\*\s*2|square\(|\.pow\(\s*2|squared|L1Loss|huber", re.I)
_RELU = re.compile(r"relu|np\.maximum\(\s*0|maximum\(\s*0|\.clamp\(\s*min\s*=\s*0|\.clamp_min\(\s*0", re.I)
_NETWORK = re.compile(r"nn\.Linear|Dense\(|nn\.Module|Sequential|@\s*self\.W|np\.dot\(|\bW1\b|weights?", re.I)
_MNIST = re.compile(r"mnist|softmax_ce|sigmoid_ce|784|28\s*\*\s*28|\(28,\s*28\)|one_hot|"
                    r"softmax_cross_entropy|sparse_categorical|prepare_mnist", re.I)
# Parts 1-3 code and its tests (the homework's own functions, called bare: `torch.sigmoid(` is no match;
# Matmul and Relu stay allowed, a NumPy fit may reuse them). The MNIST notebooks' own names (myModel,
# train_one_step) are common in fits too: they mark Parts 1-3 only in a file that mentions MNIST.
_OTHER_PARTS = re.compile(r"(?<![.\w])(softmax|sigmoid|softmax_ce|sigmoid_ce)\s*\(|"
                          r"\bclass (Softmax|Log)\b|(?<![.\w])(Softmax|Log)\(\)")
_MNIST_NAMES = re.compile(r"\bmyModel\b|\btrain_one_step\b")
_FIT_NAMES = {"myModel", "Relu", "Matmul"}
# y computed from x by a formula: what tells a fit from the homework's own gradient checks
_TARGET_MATH = re.compile(r"\b(sin|cos|exp|tan|sqrt|log)\s*\(|\b[a-wyz_]*x\w*\s*\*\*\s*[2-9]|\.pow\(|\bx\s*\*\s*x\b")
_NAME_HINT = re.compile(r"fit|拟合|逼近|func|relu|approx|regress|curve|universal|chap(ter)?_?4|part_?4|"
                        r"ex(ercise)?_?2|作业二|函数", re.I)
_TARGET_NAME = re.compile(r"^(f|g|h|fun|func|function|target|true_?f(unc(tion)?)?|ground_?truth|real_?f(unc)?|"
                          r"y_?func(tion)?|f_?\d+|fun_?\d+|func_?\d+|target_?func(tion)?|original_?func(tion)?|"
                          r"my_?func(tion)?|objective|f_?true|func_?to_?fit|fx)$", re.I)
_MODEL_NAME = re.compile(r"^(forward|predict|model|net|network|mlp|inference|nn|two_?layer_?net|"
                         r"forward_?pass|predict_?fn|model_?forward|fc_?net|relu_?net(work)?)$", re.I)
_ACTIVATION_NAME = re.compile(r"^(d_?)?(relu|leaky_?relu|sigmoid|tanh|softplus|activation|act|elu|gelu)(_\w*|\d*)$", re.I)
_DRIVER_NAME = re.compile(r"train|fit|loss|cost|error|mse|criterion|step|update|optimi[sz]|evaluat|test|plot|show|"
                          r"draw|visuali[sz]|main|run|sgd|adam|init|generate|sample|make_?data|load|save|metric|r2|score",
                          re.I)
_BACKWARD_NAME = re.compile(r"backward|backprop|back_?propagat|gradient|grads?$|^grad_|derivative|^d_?loss", re.I)
_GRADIENT_NAME = re.compile(r"^(d_?(w|b|z|a|h|l|y|out|hidden)\w*|grad_?\w+|\w+_grad|g_?w\d*|delta\w*)$", re.I)
# a held-out split by name: `train, val = split(...)`, `test_loader = DataLoader(test_set)`
_TRAIN_PART = re.compile(r"^_?(train|tr)(ing)?(_?(set|data(set)?|loader|ds|x|split))?$", re.I)
_HELD_OUT = re.compile(r"^_?(test|val|valid|validation|var|holdout|eval)(_?(set|data(set)?|loader|ds|x|split))?$", re.I)
_HELD_OUT_SET = re.compile(r"^(test|val|valid|validation|holdout|eval)_?(set|data(set)?|loader|ds|split)$", re.I)
_ACTIVATIONS = re.compile(r"tanh|sigmoid|softplus|\belu\b|gelu|leaky", re.I)
_NUMERIC_MODULES = {"np", "numpy", "torch", "math", "tf", "jnp"}


@dataclass
class StaticFacts:
    """What the fitting code says about itself, read without running it."""

    imports: list[str] = field(default_factory=list)  # top-level modules the fitting code uses
    frameworks: list[str] = field(default_factory=list)  # deep-learning frameworks among them
    plots: bool = False
    relu: list[str] = field(default_factory=list)  # where the code computes a ReLU (grader/fitting/relu.py)
    leaky: bool = False  # a leaky ReLU among them
    other_activations: list[str] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)  # function name -> target / model / backward / other
    expressions: list[dict] = field(default_factory=list)  # inline targets: {"y", "x", "text"}
    templates: list[dict] = field(default_factory=list)  # model calls with more arguments than x
    predictions: list[dict] = field(default_factory=list)  # how the code predicts (grader/fitting/predictions.py)
    interval: list[float] | None = None  # of the first sampling call with constant bounds
    test_names: list[str] = field(default_factory=list)  # assignments of test inputs, "name (line)"
    hand_backward: list[str] = field(default_factory=list)  # evidence of a hand-written backward pass
    autograd: list[str] = field(default_factory=list)  # evidence of automatic differentiation
    comment_lines: int = 0
    code_lines: int = 0

    @property
    def comment_share(self) -> float:
        return self.comment_lines / self.code_lines if self.code_lines else 0.0


@dataclass
class FittingUnit:
    """One piece of fitting code: a file, or the fitting cells of a notebook that holds more."""

    file: SourceFile
    cells: list[int]  # indices into file.cells that run top to bottom
    whole_file: bool
    facts: StaticFacts = field(default_factory=StaticFacts)

    @property
    def display(self) -> str:
        if self.whole_file:
            return self.file.display
        first, last = self.file.cells[self.cells[0]].where, self.file.cells[self.cells[-1]].where
        return first if first == last else tr("{first} to {last}", first=first, last=last.rsplit(", ", 1)[-1])

    @property
    def notebook(self) -> bool:
        return self.file.display.lower().endswith(".ipynb")

    def code(self) -> str:
        return "\n\n".join(self.file.cells[i].source for i in self.cells)

    def plan(self) -> dict:
        """Every statement of the unit's cells, after the definitions and imports of earlier cells."""
        cells = []
        for index, cell in enumerate(self.file.cells):
            if cell.tree is None or index > self.cells[-1]:
                continue
            kept = list(range(len(cell.tree.body))) if index in self.cells else list(cell.kept)
            if kept:
                cells.append({"label": cell.label, "where": cell.where, "source": cell.source,
                              "line_offset": cell.line_offset, "kept": kept})
        return {"display": self.file.display, "linecache": self.file.linecache, "cells": cells}

    def where(self) -> dict[str, str]:
        return {cell.label: cell.where for cell in self.file.cells}


def _graded_names() -> set[str]:
    return {t.defined_name for t in TARGETS.values()}


def is_other_part(source: str, mnist_file: bool = True) -> bool:
    """A cell of Parts 1-3: MNIST, the homework's own functions defined or tested, or (in a file
    that mentions MNIST) the MNIST notebooks' model and training step."""
    return bool(_MNIST.search(source) or _OTHER_PARTS.search(source) or mnist_file and _MNIST_NAMES.search(source))


def _is_fitting_cell(source: str, mnist_file: bool = True) -> bool:
    return not is_other_part(source, mnist_file) and bool(_SAMPLING.search(source) or
                                                            (_LOSS.search(source) and _RELU.search(source)))


def find_units(files: list[SourceFile]) -> list[FittingUnit]:
    """The hand-in's fitting code, strongest evidence first (at most MAX_UNITS)."""
    scored = []
    for file in files:
        if not file.cells:
            continue
        mnist = any(_MNIST.search(cell.source) for cell in file.cells)
        fitting = [i for i, cell in enumerate(file.cells)
                   if cell.tree is not None and _is_fitting_cell(cell.source, mnist)]
        if not fitting:
            continue
        other = [i for i, cell in enumerate(file.cells) if is_other_part(cell.source, mnist)]
        after = [i for i in fitting if not other or i > other[-1]]
        # a fit appended after Parts 1-3 starts right after their last cell (its imports and classes too)
        start = (other[-1] + 1 if other else after[0]) if after else fitting[0]
        text = "\n".join(file.cells[i].source for i in range(start, len(file.cells))
                         if not is_other_part(file.cells[i].source, mnist))
        evidence = [bool(_SAMPLING.search(text)), bool(_LOSS.search(text)), bool(_RELU.search(text)),
                    bool(_NETWORK.search(text))]
        named = bool(_NAME_HINT.search(file.display.rsplit("/", 1)[-1]))
        if not (named and sum(evidence) >= 2 or evidence[0] and evidence[1] and (evidence[2] or evidence[3])):
            continue
        # a fit may name its own classes Relu, Matmul or myModel: only beside MNIST do they mark Parts 2-3
        mixed = bool(other) or bool(set(file.definitions) & _graded_names() - (set() if mnist else _FIT_NAMES))
        if mixed and not (evidence[0] and _TARGET_MATH.search(text)):
            continue  # beside Parts 1-3, a fit must also compute y from x by a formula
        cells = [i for i in range(start, len(file.cells))
                 if file.cells[i].tree is not None and not is_other_part(file.cells[i].source, mnist)] if mixed \
            else [i for i, c in enumerate(file.cells) if c.tree is not None]
        unit = FittingUnit(file, cells, whole_file=not mixed)
        unit.facts = analyse(unit)
        scored.append(((named, sum(evidence), not mixed), unit))
    scored.sort(key=lambda pair: pair[0], reverse=True)
    units, seen = [], set()
    for _, unit in scored:
        code = re.sub(r"\s+|#.*", "", unit.code())
        if code not in seen:  # a notebook and its .py export run once
            seen.add(code)
            units.append(unit)
    return units[:MAX_UNITS]


# ---- static facts ------------------------------------------------------------------------

def _module_aliases(file: SourceFile) -> dict[str, str]:
    """Local name -> top-level module, for every import of the file."""
    aliases = {}
    for cell in file.cells:
        if cell.tree is None:
            continue
        for node in ast.walk(cell.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    aliases[alias.asname or alias.name.split(".")[0]] = alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    aliases[alias.asname or alias.name] = node.module.split(".")[0]
    return aliases


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _constant(node: ast.AST) -> float | None:
    """The value of a constant bound such as -10, 2 * np.pi or math.pi / 2."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.Attribute) and node.attr in ("pi", "e") and isinstance(node.value, ast.Name):
        return math.pi if node.attr == "pi" else math.e
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _constant(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div, ast.Add, ast.Sub)):
        left, right = _constant(node.left), _constant(node.right)
        if left is None or right is None or (isinstance(node.op, ast.Div) and right == 0):
            return None
        return {ast.Mult: left * right, ast.Div: left / (right or 1), ast.Add: left + right,
                ast.Sub: left - right}[type(node.op)]
    return None


def _sampling_interval(call: ast.Call) -> list[float] | None:
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    if name not in ("linspace", "uniform", "arange") or len(call.args) < 2:
        return None
    low, high = _constant(call.args[0]), _constant(call.args[1])
    return [low, high] if low is not None and high is not None and high > low else None


def _is_random_term(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr in ("random", "randn", "rand", "normal", "normal_", "randn_like")
               or isinstance(n, ast.Name) and n.id in ("noise", "eps", "epsilon")
               for n in ast.walk(node))


def _without_noise(node: ast.AST) -> ast.AST | None:
    """The expression with additive noise terms (`+ np.random.normal(...)`) removed, or None if
    the noise cannot be separated."""
    if not _is_random_term(node):
        return node
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        left, right = _is_random_term(node.left), _is_random_term(node.right)
        if right and not left:
            return _without_noise(node.left)
        if left and not right and isinstance(node.op, ast.Add):
            return _without_noise(node.right)
    return None


def _pure_math(node: ast.AST, aliases: dict[str, str], student_functions: set[str], x_name: str) -> bool:
    """Only arithmetic, numeric-library calls, methods of x itself (`x.pow(2)`) and names: no
    student function, no model call."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            root = _root_name(sub.func)
            if isinstance(sub.func, ast.Name) and sub.func.id not in ("abs", "pow", "float"):
                return False
            if root is not None and root != x_name and \
                    aliases.get(root, root) not in _NUMERIC_MODULES | {"numpy", "torch", "tensorflow", "math"}:
                return False
        if isinstance(sub, ast.Name) and sub.id in student_functions:
            return False
    return True


def _role(function: ast.FunctionDef | ast.Lambda, name: str, aliases: dict[str, str]) -> str:
    """target / model / activation / backward / method / other for a student function, by its name
    and body. Activations (`relu(x)`), losses and training drivers are never the model."""
    if _BACKWARD_NAME.search(name):
        return "backward"
    arguments = function.args
    required = len(arguments.posonlyargs) + len(arguments.args) - len(arguments.defaults)
    if arguments.args and arguments.args[0].arg in ("self", "cls"):
        return "method"
    if _ACTIVATION_NAME.search(name):
        return "activation"
    if _DRIVER_NAME.search(name) and not (_TARGET_NAME.match(name) or _MODEL_NAME.match(name)):
        return "other"
    body = ast.unparse(function.body) if isinstance(function, ast.Lambda) else \
        "\n".join(ast.unparse(statement) for statement in function.body)  # decorators (`@tf.function`) aside
    networkish = bool(_RELU.search(body) or re.search(r"@|\bdot\(|matmul|Linear|Dense", body))
    loops = any(isinstance(n, (ast.For, ast.While)) for n in ast.walk(function))
    if _MODEL_NAME.match(name) or (networkish and required >= 1 and not loops and not _TARGET_NAME.match(name)
                                   and not _elementwise(function)):
        return "model"
    if required == 1 and not loops and not networkish and (
            _TARGET_NAME.match(name) or isinstance(function, ast.Lambda) or len(function.body) <= 4):
        return "target"
    return "other"


def _elementwise(function: ast.FunctionDef | ast.Lambda) -> bool:
    """One argument and no weights: `np.maximum(0, z)` under any name is an activation, not a network."""
    arguments = function.args
    if len(arguments.args) != 1 or arguments.vararg:
        return False
    return not re.search(r"@|\bdot\(|matmul|Linear|Dense|\bW\w*|weight|param|self\.", ast.unparse(function))


def _code_only(code: str) -> str:
    """The code without its comments and docstrings (a docstring saying "ReLU" is no ReLU; the
    string in `activation="relu"` stays)."""
    lines = code.split("\n")
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return code
    statement_start = {tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT}
    removed = [token for position, token in enumerate(tokens) if token.type == tokenize.COMMENT or (
        token.type == tokenize.STRING and (position == 0 or tokens[position - 1].type in statement_start))]
    for token in reversed(removed):
        (first, start), (last, end) = token.start, token.end
        if first == last:
            lines[first - 1] = lines[first - 1][:start] + lines[first - 1][end:]
            continue
        lines[first - 1] = lines[first - 1][:start]
        for number in range(first + 1, last):
            lines[number - 1] = ""
        lines[last - 1] = lines[last - 1][end:]
    return "\n".join(lines)


def _comment_counts(code: str) -> tuple[int, int]:
    """(lines with a comment or docstring, lines of code) of a piece of Python."""
    commented, docstrings, code_lines = set(), set(), set()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        tokens = []
    previous = tokenize.NEWLINE
    for token in tokens:
        if token.type == tokenize.COMMENT:
            commented.add(token.start[0])
        elif token.type == tokenize.STRING and previous in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT):
            docstrings.update(range(token.start[0], token.end[0] + 1))
        if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                              tokenize.ENDMARKER):
            code_lines.add(token.start[0])
            previous = token.type
        elif token.type in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT):
            previous = token.type
    code_lines -= docstrings
    return len(commented | docstrings), len(code_lines)


def analyse(unit: FittingUnit) -> StaticFacts:
    """The static facts of a fitting unit (see StaticFacts)."""
    facts = StaticFacts()
    aliases = _module_aliases(unit.file)
    trees = [unit.file.cells[i].tree for i in unit.cells]
    used_roots = {_root_name(n) for tree in trees for n in ast.walk(tree) if isinstance(n, (ast.Attribute, ast.Call))}
    imported_here = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported_here |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported_here.add(node.module.split(".")[0])
    modules = {aliases[root] for root in used_roots if root in aliases} | imported_here
    facts.imports = sorted(modules)
    facts.frameworks = sorted({FRAMEWORKS[m] for m in modules if m in FRAMEWORKS})
    facts.plots = "matplotlib" in modules or "plt" in used_roots
    functions: list[tuple[str, ast.AST]] = []
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.append((node.name, node))
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
                functions += [(t.id, node.value) for t in node.targets if isinstance(t, ast.Name)]
    for name, node in functions:
        facts.roles.setdefault(name, _role(node, name, aliases))
    student_functions = set(facts.roles)
    for tree in trees:
        _scan_statements(tree, facts, aliases, student_functions)
    facts.predictions = find_predictions([(unit.file.cells[i].label, unit.file.cells[i].tree) for i in unit.cells],
                                         facts.roles, set(aliases))
    code = "\n".join(_code_only(unit.file.cells[i].source) for i in unit.cells)
    uses = relu_uses(trees, aliases)
    facts.relu = [line for _, line in uses][:5]
    facts.leaky = any(kind == LEAKY for kind, _ in uses)
    facts.other_activations = sorted({m.group(0).lower() for m in _ACTIVATIONS.finditer(code)})
    facts.comment_lines, facts.code_lines = 0, 0
    for index in unit.cells:
        commented, lines = _comment_counts(unit.file.cells[index].source)
        facts.comment_lines += commented
        facts.code_lines += lines
    return facts


def _scan_statements(tree: ast.AST, facts: StaticFacts, aliases: dict[str, str], student_functions: set[str]) -> None:
    """Inline targets, model call templates, the sampling interval, test sets, gradients."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            interval = _sampling_interval(node)
            if interval and facts.interval is None:
                facts.interval = interval
            func = node.func
            callee = func.id if isinstance(func, ast.Name) else None
            if isinstance(func, ast.Attribute) and func.attr == "backward" and not node.args:
                facts.autograd.append(tr("line {line}: {code}", line=node.lineno, code=ast.unparse(node)[:80]))
            if isinstance(func, ast.Attribute) and func.attr in ("GradientTape", "grad", "value_and_grad") \
                    and aliases.get(_root_name(func) or "", "") in ("tensorflow", "jax", "torch", "autograd"):
                facts.autograd.append(tr("line {line}: {code}", line=node.lineno, code=ast.unparse(node)[:80]))
            if callee and facts.roles.get(callee) == "model" and len(node.args) > 1:
                x_args = [a.id for a in node.args if isinstance(a, ast.Name) and data_role(a.id) in ("x", "x_train", "x_test")]
                text = ast.unparse(node)
                if x_args and len(facts.templates) < 4 and all(t["text"] != text for t in facts.templates):
                    facts.templates.append({"scope": None, "code": f"{OUTPUT} = {text}", "output": OUTPUT,
                                            "x": x_args[0], "text": text,
                                            "names": sorted(_names(node) - {x_args[0]})})
            split = callee or (func.attr if isinstance(func, ast.Attribute) else "")
            if split in ("train_test_split", "random_split", "KFold") or \
                    any(k.arg in ("validation_split", "validation_data") for k in node.keywords):
                facts.test_names.append(tr("{name} (line {line})", name=ast.unparse(node)[:60], line=node.lineno))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            if len(names) >= 2 and any(_TRAIN_PART.match(n) for n in names) and any(_HELD_OUT.match(n) for n in names):
                facts.test_names.append(tr("{name} (line {line})", name=", ".join(names), line=node.lineno))
            for name in names:
                role = data_role(name)
                if role == "x_test" or _HELD_OUT_SET.match(name):
                    facts.test_names.append(tr("{name} (line {line})", name=name, line=node.lineno))
                if _GRADIENT_NAME.match(name) and node.value is not None and _uses_transpose_or_product(node.value):
                    facts.hand_backward.append(tr("line {line}: {code}", line=node.lineno,
                                                    code=name + " = " + ast.unparse(node.value)[:60]))
            single = targets[0] if len(targets) == 1 and isinstance(targets[0], ast.Name) else None
            if single is not None and node.value is not None and data_role(single.id) in ("y", "y_train") \
                    and len(facts.expressions) < 4:
                xs = [n for n in _names(node.value) if data_role(n) in ("x", "x_train")]
                cleaned = _without_noise(node.value)
                if xs and cleaned is not None and _pure_math(cleaned, aliases, student_functions, xs[0]):
                    facts.expressions.append({"y": single.id, "x": xs[0], "text": ast.unparse(cleaned),
                                              "noisy": cleaned is not node.value})
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Sub) and \
                _uses_transpose_or_product(node.value) and ".grad" not in ast.unparse(node.value) and \
                re.search(r"\.T\b|transpose|@|dot\(", ast.unparse(node.value)):  # `W2 -= lr * h.T @ g`
            facts.hand_backward.append(tr("line {line}: {code}", line=node.lineno, code=ast.unparse(node)[:60]))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _BACKWARD_NAME.search(node.name):
            body = ast.unparse(node)
            if re.search(r"\.T\b|transpose|@|dot\(|\*", body):
                facts.hand_backward.append(tr("{name} (line {line})", name="def " + node.name, line=node.lineno))


def _uses_transpose_or_product(node: ast.AST) -> bool:
    text = ast.unparse(node)
    return bool(re.search(r"\.T\b|transpose|@|dot\(|\*|sum\(|mean\(", text))
