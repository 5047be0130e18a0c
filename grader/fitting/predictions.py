"""How the student predicts: the code that turns x into the model's output, read without running it.

"What a student predicts with is the model": the callable applied to x where the code plots,
prints or evaluates its result (`plt.plot(x_test, net(x_test))`, `y_pred = forward(x, params)`),
or the straight-line statements that compute a prediction from x, de-normalisation included
(`z = x_test @ W1 + b1; ...; y_hat = z2 * y_std + y_mean`). Each is sent to the child as a
*prediction template*: statements to run with the student's x variable bound to the grader's
points, and the name that holds the prediction afterwards. Activations, losses and training
drivers are never a prediction.
"""

from __future__ import annotations

import ast
import builtins
import re

from grader.probes.fitting import data_role

MAX_TEMPLATES = 6
MAX_SLICE = 10  # statements of one prediction slice
OUTPUT = "__dlgrade_prediction__"
_PREDICTION_NAME = re.compile(r"(^|_)(pred\w*|predict\w*|prediction\w*|y_?hat\w*|yhat|output\w*|outs?|fitted|approx\w*|"
                              r"y_?nn|y_?model|y_?net|y_?fit|y_?est\w*|logits?)$", re.I)
_PLOTS = {"plot", "scatter", "semilogy", "step", "fill_between"}
_CONVERSIONS = {"detach", "numpy", "cpu", "flatten", "squeeze", "ravel", "reshape", "tolist", "astype", "view"}
_TRAINING_CALLS = re.compile(r"\.(fit|backward|step|train|zero_grad|apply_gradients|compile)\(|\btrain\w*\(", re.I)
_NOT_MODELS = {"target", "activation", "backward", "other"}


def _x_names(node: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and _is_x(n.id)]


def _assigned(statement: ast.stmt) -> set[str]:
    targets = statement.targets if isinstance(statement, ast.Assign) else \
        [statement.target] if isinstance(statement, (ast.AugAssign, ast.AnnAssign)) else []
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _read(statement: ast.stmt) -> set[str]:
    value = getattr(statement, "value", None)
    names = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)} if value is not None else set()
    if isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
        names.add(statement.target.id)
    return names


def _straight(statement: ast.stmt) -> bool:
    """An assignment with no training in it: what a prediction slice may hold."""
    return isinstance(statement, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and getattr(statement, "value", None) \
        is not None and not _TRAINING_CALLS.search(ast.unparse(statement))


def _calls_a_model(node: ast.AST, roles: dict[str, str], modules: set[str]) -> bool:
    """Whether `node` calls something of the student's that may be a model (not a library, target,
    activation, loss or driver)."""
    for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
        func = call.func
        root = func
        while isinstance(root, (ast.Attribute, ast.Call, ast.Subscript)):
            root = root.func if isinstance(root, ast.Call) else root.value
        if not isinstance(root, ast.Name) or root.id in modules or hasattr(builtins, root.id):
            continue
        if isinstance(func, ast.Name) and roles.get(func.id) in _NOT_MODELS:
            continue
        if isinstance(func, ast.Attribute) and func.attr not in ("predict", "forward", "__call__", "call", "model"):
            continue
        if _x_names(call):
            return True
    return False


def _is_x(name: str) -> bool:
    return data_role(name) in ("x", "x_train", "x_test")


def _slice(block: list[ast.stmt], end: int, output: str) -> tuple[list[ast.stmt], list[str]] | None:
    """The straight-line statements of `block` up to `end` that compute `output` from the student's
    x variables (the inputs, bound to the grader's points); what does not depend on x (weights,
    sizes) is read from the scope as the run left it. None when `output` does not depend on x."""
    derived: set[str] = set()  # names computed from x so far
    depends = []
    for statement in block[:end + 1]:
        reads = _read(statement)
        from_x = _straight(statement) and bool({n for n in reads if _is_x(n)} | reads & derived)
        assigned = _assigned(statement)
        derived = (derived | assigned) if from_x else derived - assigned
        depends.append(from_x)
    needed, chosen, xs = {output}, [], []
    for statement, from_x in reversed(list(zip(block[:end + 1], depends))):
        assigned = _assigned(statement)
        if not assigned & needed:
            continue
        needed -= assigned
        if not from_x or all(_is_x(name) for name in assigned):
            continue  # context (weights, sizes) or an input: taken from the scope / the grader's points
        if len(chosen) >= MAX_SLICE:
            return None
        chosen.insert(0, statement)
        xs += [name for name in _x_names(statement) if name not in xs]
        needed |= {n for n in _read(statement) if not _is_x(n)}
    return (chosen, xs) if chosen and xs else None


def free_names(code: str, bound: set[str]) -> list[str]:
    """Names the statements read before assigning them (what the scope must provide), minus `bound`."""
    assigned, free = set(), []
    for statement in ast.parse(code).body:
        for node in ast.walk(getattr(statement, "value", statement)):
            if isinstance(node, ast.Name) and node.id not in assigned | bound and node.id not in free:
                free.append(node.id)
        assigned |= _assigned(statement)
    return free


def _blocks(cells: list[tuple[str, ast.Module]]) -> list[tuple[str, list[ast.stmt], list[str | None]]]:
    """(scope, statements, the cell label of each) of the module (all cells in order) and of each
    top-level function (no label: its statements run when it is called)."""
    module = [(label, statement) for label, tree in cells for statement in tree.body]
    blocks = [("module", [s for _, s in module], [label for label, _ in module])]
    functions = [s for _, s in module if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
    functions += [m for _, s in module if isinstance(s, ast.If) for m in s.body
                  if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
    blocks += [(f"{f.name}()", f.body, [None] * len(f.body)) for f in functions]
    return blocks


def _shown_name(node: ast.AST) -> ast.AST:
    """What a plot shows, without conversions: `pred.detach().numpy()`, `np.squeeze(pred)` -> `pred`."""
    while True:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _CONVERSIONS:
            node = node.func.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args \
                and node.func.attr in ("squeeze", "array", "asarray", "ravel", "flatten"):
            node = node.args[0]
        elif isinstance(node, ast.Attribute) and node.attr in ("data", "T"):
            node = node.value
        else:
            return node


def find_predictions(cells: list[tuple[str, ast.Module]], roles: dict[str, str], modules: set[str]) -> list[dict]:
    """Prediction templates of the fitting code, the most explicit first (see the module docstring).
    A template of the module also says after which top-level statement (`at`: cell label and line)
    the student predicts, so that the model can be measured there, before later cells rebind it."""
    found: list[dict] = []

    def add(scope: str, statements: list[ast.stmt], output: str, xs: list[str], at: dict | None) -> None:
        code = "\n".join(ast.unparse(s) for s in statements)
        if len(found) < MAX_TEMPLATES and all(t["code"] != code or t["at"] != at for t in found):
            found.append({"scope": scope, "code": code, "output": output, "x": xs[0], "at": at,
                          "names": free_names(code, {xs[0]}),
                          "text": ast.unparse(statements[-1].value if output == OUTPUT else statements[-1])[:120]})

    for scope, block, labels in _blocks(cells):
        for index, statement in enumerate(block):
            at = {"cell": labels[index], "line": statement.lineno} if labels[index] else None
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
                    isinstance(statement.targets[0], ast.Name) and _PREDICTION_NAME.search(statement.targets[0].id):
                name = statement.targets[0].id
                sliced = _slice(block, index, name)
                if sliced and _calls_or_computes(sliced[0], roles, modules):
                    add(scope, sliced[0], name, sliced[1], at)
            for call in (n for n in ast.walk(statement) if isinstance(n, ast.Call)):
                plotted = isinstance(call.func, ast.Attribute) and call.func.attr in _PLOTS and len(call.args) >= 2
                if not plotted or not _x_names(call.args[0]):
                    continue
                shown = _shown_name(call.args[1])
                if isinstance(shown, ast.Name) and data_role(shown.id) is None:  # not the student's data
                    sliced = _slice(block, index - 1, shown.id)
                    if sliced and _calls_or_computes(sliced[0], roles, modules):
                        add(scope, sliced[0], shown.id, sliced[1], at)
                elif _calls_a_model(shown, roles, modules) and not _TRAINING_CALLS.search(ast.unparse(shown)):
                    assignment = ast.Assign(targets=[ast.Name(OUTPUT, ast.Store())], value=shown, lineno=0)
                    add(scope, [assignment], OUTPUT, _x_names(shown), at)
    return found


def _calls_or_computes(statements: list[ast.stmt], roles: dict[str, str], modules: set[str]) -> bool:
    """A slice predicts when it calls a model of the student's, or multiplies by weights itself
    (`x @ W1 + b1`); a slice that only evaluates the target (`y = f(x)`) does not."""
    for statement in statements:
        if _calls_a_model(statement, roles, modules):
            return True
        if any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult) for n in ast.walk(statement)) or \
                re.search(r"\b(np|numpy|torch|tf)\.(dot|matmul|mm)\(", ast.unparse(statement)):
            return True
    return False
