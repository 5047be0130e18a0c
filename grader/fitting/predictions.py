"""How the student predicts: the code that turns x into the model's output, read without running it.

"What a student predicts with is the model": the callable applied to x where the code plots,
prints or evaluates its result (`plt.plot(x_test, net(x_test))`, `y_pred = forward(x, params)`),
or the straight-line statements that compute a prediction from x, de-normalisation included
(`z = x_test @ W1 + b1; ...; y_hat = z2 * y_std + y_mean`). Each is sent to the child as a
*prediction template*: statements to run with the student's x variable bound to the grader's
points, and the name that holds the prediction afterwards. Activations, losses and training
drivers are never a prediction.

The slice follows the student's whole path from raw x: the inputs the student rescales or
reshapes on the way (`x_test_n = (x_test - x_min) / (x_max - x_min)`, `scaler.transform(x_test)`,
`X = np.hstack([x, np.ones_like(x)])`) are recomputed from the grader's points, while what the
run measured of its data (`x_train.mean()`, `len(x)`, a fitted scaler) is read from the scope.
"""

from __future__ import annotations

import ast
import builtins
import re

from grader.probes.fitting import data_role
from grader.sandbox.loader import is_main_guard

MAX_TEMPLATES = 8
MAX_SLICE = 10  # statements of one prediction slice
OUTPUT = "__dlgrade_prediction__"
_PREDICTION_NAME = re.compile(r"(^|_)(pred\w*|predict\w*|prediction\w*|y_?hat\w*|yhat|output\w*|outs?|fitted|approx\w*|"
                              r"y_?nn|y_?model|y_?net|y_?fit|y_?est\w*|logits?)$", re.I)
_PLOTS = {"plot", "scatter", "semilogy", "step", "fill_between"}
_CONVERSIONS = {"detach", "numpy", "cpu", "flatten", "squeeze", "ravel", "reshape", "tolist", "astype", "view"}
# training calls: methods, and any function whose name says it trains or fits (`build_and_train(...)`,
# `fit_network(...)`), which a prediction path must never replay (it would retrain on the grader's points)
_TRAINING_CALLS = re.compile(r"\.(fit|backward|step|train|zero_grad|apply_gradients|compile)\(|\b\w*train\w*\(|"
                             r"\b(fit|fit_(?!transform\b)\w+|\w+_fit)\(", re.I)
_NOT_MODELS = {"target", "activation", "backward", "other"}
# what the run measured of its data: `x_train.mean()`, `np.max(x)`, `len(x)`, `x.shape[0]` read x as a whole
_REDUCTIONS = {"min", "max", "mean", "std", "var", "sum", "ptp", "median", "amin", "amax", "nanmin", "nanmax",
               "nanmean", "nanstd", "norm", "quantile", "percentile", "len", "numel"}
_SHAPE_ATTRIBUTES = {"shape", "size", "ndim", "dtype", "device"}
_SPLITS = re.compile(r"train_test_split|random_split|permutation|shuffle|choice|split\(")


def _x_names(node: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and _is_x(n.id)]


def _whole(call: ast.Call) -> bool:
    """A reduction over all the data (`x.max()`, `np.mean(x, axis=0)`, `len(x)`), not one per point
    (`np.sum(h * W2, axis=1)`)."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name not in _REDUCTIONS or name == "sum" and isinstance(func, ast.Name):
        return False
    axis = [k.value for k in call.keywords if k.arg in ("axis", "dim")]
    positional = call.args[1:] if isinstance(func, ast.Name) or _module_call(func) else call.args
    axis += positional[:1] if name not in ("len", "quantile", "percentile", "norm") else []
    return all(isinstance(a, ast.Constant) and a.value in (0, None) for a in axis)


def _module_call(func: ast.AST) -> bool:
    """`np.max(x)` (data is the first argument) rather than `x.max()`."""
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and \
        func.value.id in ("np", "numpy", "torch", "tf", "math", "jnp")


def pointwise_names(node: ast.AST | None) -> set[str]:
    """Names `node` reads point by point: not those it only reduces (`x.mean()`) or measures (`x.shape`)."""
    if node is None:
        return set()
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.Call) and _whole(node):
        return set()
    if isinstance(node, ast.Attribute) and node.attr in _SHAPE_ATTRIBUTES:
        return set()
    found: set[str] = set()
    for child in ast.iter_child_nodes(node):
        found |= pointwise_names(child)
    return found


def _assigned(statement: ast.stmt) -> set[str]:
    targets = statement.targets if isinstance(statement, ast.Assign) else \
        [statement.target] if isinstance(statement, (ast.AugAssign, ast.AnnAssign)) else []
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _read(statement: ast.stmt) -> set[str]:
    """The names a statement's value reads point by point (see pointwise_names)."""
    names = pointwise_names(getattr(statement, "value", None))
    if isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
        names.add(statement.target.id)
    return names


def _straight(statement: ast.stmt) -> bool:
    """An assignment with no training in it: what a prediction slice may hold."""
    return isinstance(statement, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and getattr(statement, "value", None) \
        is not None and not _TRAINING_CALLS.search(ast.unparse(statement))


def _calls_a_model(node: ast.AST, roles: dict[str, str], modules: set[str],
                   derived: frozenset[str] = frozenset()) -> bool:
    """Whether `node` calls something of the student's that may be a model (not a library, target,
    activation, loss or driver) on x, or on what the slice computed from x (`derived`)."""
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
        if _x_names(call) or {n.id for n in ast.walk(call) if isinstance(n, ast.Name)} & derived:
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
    needed, chosen = {output}, []
    for statement, from_x in reversed(list(zip(block[:end + 1], depends))):
        assigned = _assigned(statement)
        if not assigned & needed:
            continue
        needed -= assigned
        transform = _transform(statement)
        if not from_x or all(_is_x(name) for name in assigned) and not transform:
            continue  # context (weights, sizes) or an input: taken from the scope / the grader's points
        if len(chosen) >= MAX_SLICE:
            return None
        chosen.insert(0, transform or statement)
        needed |= _read(statement)  # x variables too: the student may have rescaled them on the way
    xs = _inputs_of(chosen)
    return (chosen, xs) if chosen and xs else None


def _transform(statement: ast.stmt) -> ast.stmt | None:
    """`x_test_n = (x_test - x_min) / (x_max - x_min)`, `X = np.hstack([x, np.ones_like(x)])`,
    `x_s = scaler.fit_transform(x)`: one x variable computed point by point from another (not itself,
    not a split or a subset), as it goes into the model; a fitted scaler is only applied, never refitted."""
    if not isinstance(statement, ast.Assign) or len(statement.targets) != 1 or \
            not isinstance(statement.targets[0], ast.Name) or not _is_x(statement.targets[0].id):
        return None
    sources = {n for n in _read(statement) if _is_x(n)}
    subsets = any(isinstance(n, ast.Subscript) and pointwise_names(n.value) & sources
                  for n in ast.walk(statement.value))
    if len(sources) != 1 or statement.targets[0].id in sources or subsets or \
            _SPLITS.search(ast.unparse(statement.value)):
        return None
    value = _Refit().visit(ast.parse(ast.unparse(statement.value), mode="eval").body)
    return ast.fix_missing_locations(ast.Assign(targets=statement.targets, value=value, lineno=statement.lineno))


class _Refit(ast.NodeTransformer):
    """`scaler.fit_transform(x)` -> `scaler.transform(x)`: the scaler the run fitted, applied to other points."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if node.attr == "fit_transform":
            node.attr = "transform"
        return node


def _inputs_of(statements: list[ast.stmt]) -> list[str]:
    """The student's x variables the statements read point by point before assigning them: what the
    grader's points are bound to."""
    assigned: set[str] = set()
    inputs: list[str] = []
    for statement in statements:
        inputs += [n for n in _x_names_in(statement.value) if n not in assigned and n not in inputs]
        assigned |= _assigned(statement)
    return inputs


def _x_names_in(node: ast.AST) -> list[str]:
    """The x variables `node` reads point by point, in the order they appear."""
    pointwise = pointwise_names(node)
    return list(dict.fromkeys(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and _is_x(n.id)
                              and n.id in pointwise))


def free_names(code: str, bound: set[str]) -> list[str]:
    """Names the statements read before assigning them (what the scope must provide), minus `bound`."""
    assigned, free = set(), []
    for statement in ast.parse(code).body:
        for node in ast.walk(getattr(statement, "value", statement)):
            if isinstance(node, ast.Name) and node.id not in assigned | bound and node.id not in free:
                free.append(node.id)
        assigned |= _assigned(statement)
    return free


def _flat(statements: list[ast.stmt]) -> list[tuple[ast.stmt, ast.stmt]]:
    """(statement, the top-level statement it runs in) with the bodies of `with` blocks (`with
    torch.no_grad():`, run as one statement) and of `if __name__ == "__main__":` (whose statements the
    probe runs one by one: grader/sandbox/loader.py) laid out in line: straight-line code of one scope."""
    found = []
    for statement in statements:
        if is_main_guard(statement):
            found += _flat(statement.body)
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            found += [(nested, statement) for nested, _ in _flat(statement.body)]
        else:
            found.append((statement, statement))
    return found


def _blocks(cells: list[tuple[str, ast.Module]]) -> list[tuple[str, list[ast.stmt], list[dict | None]]]:
    """(scope, statements, where each runs: cell label and top-level line) of the module (all cells
    in order) and of each top-level function (no place: its statements run when it is called)."""
    module = [(label, statement, top) for label, tree in cells for statement, top in _flat(tree.body)]
    blocks = [("module", [s for _, s, _ in module], [{"cell": label, "line": top.lineno} for label, _, top in module])]
    functions = [s for _, s, _ in module if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
    blocks += [(f"{f.name}()", [s for s, _ in _flat(f.body)], [None] * len(_flat(f.body))) for f in functions]
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

    compared = _compared_with_y(cells)
    for scope, block, places in _blocks(cells):
        for index, statement in enumerate(block):
            at = places[index]
            name = _prediction_target(statement, compared)
            if name:
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
                elif not isinstance(shown, ast.Name) and not _TRAINING_CALLS.search(ast.unparse(shown)) and (
                        _calls_a_model(shown, roles, modules) or not any(isinstance(n, ast.Subscript)
                                                                          for n in ast.walk(shown))):
                    # the model called in the plot, or a prediction de-normalised there (`y_n * y_std + y_mean`);
                    # not a selection or reordering of one (`y_pred[order]`): the grader's points keep their order
                    assignment = ast.Assign(targets=[ast.Name(OUTPUT, ast.Store())], value=shown, lineno=0)
                    sliced = _slice(block[:index] + [assignment], index, OUTPUT)
                    if sliced and _calls_or_computes(sliced[0], roles, modules):
                        add(scope, sliced[0], OUTPUT, sliced[1], at)
    return found


def _prediction_target(statement: ast.stmt, compared: frozenset[str] | set[str] = frozenset()) -> str | None:
    """The name a statement assigns a prediction to: `y_pred = ...` or a name the student compares with y,
    or the first of a tuple that the model returns with its cache (`y_pred, cache = forward(X, W1, W2)`)."""
    if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
        return None
    target = statement.targets[0]
    if isinstance(target, ast.Tuple) and target.elts and isinstance(statement.value, ast.Call):
        target = target.elts[0]
    return target.id if isinstance(target, ast.Name) and (_PREDICTION_NAME.search(target.id) or target.id in compared) \
        else None


def _compared_with_y(cells: list[tuple[str, ast.Module]]) -> set[str]:
    """Names the student subtracts from (or from which they subtract) their y, as an error is computed:
    `np.mean((y_np - y_test) ** 2)` shows `y_np` is a prediction whatever its name (a NumPy piece beside a
    PyTorch one, names in another language)."""
    found = set()
    for _, tree in cells:
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub):
                sides = [node.left, node.right]
                names = [side.id if isinstance(side, ast.Name) else None for side in sides]
                roles = {data_role(name) for name in names if name}
                if roles & {"y_test", "y_train"}:  # the other side: any name, or a y by name (`y_np`, `y_torch`)
                    found |= {name for name in names if name and data_role(name) in (None, "y")}
                elif "y" in roles:
                    found |= {name for name in names if name and data_role(name) is None}
    return found


def _calls_or_computes(statements: list[ast.stmt], roles: dict[str, str], modules: set[str]) -> bool:
    """A slice predicts when it calls a model of the student's, or multiplies by weights itself
    (`x @ W1 + b1`); a slice that only evaluates the target (`y = f(x)`) does not."""
    derived: set[str] = set()
    for statement in statements:
        if _calls_a_model(statement, roles, modules, frozenset(derived)):
            return True
        if any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult) for n in ast.walk(statement)) or \
                re.search(r"\b(np|numpy|torch|tf)\.(dot|matmul|mm)\(", ast.unparse(statement)):
            return True
        derived |= _assigned(statement)
    return False
