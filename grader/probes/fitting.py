"""Probe for Part 4 (function fitting): run the fitting code top to bottom, then measure its result.

This is the one probe that executes a hand-in's top-level statements (training loops, plots),
still inside the confined child. The run is capped in CPU time (early_stop.Ticker): at the cap the code is
interrupted and what it trained so far is measured as it stands. Figures are captured at
`plt.show()`, at the end of each notebook cell and at the end, as capped PNG bytes. The locals of
the student's own driver functions (`main()`, `train()`) are kept as they return, so models and
data that never reach the module namespace are still found. Everything sent back is plain data:
arrays, strings and numbers; the parent judges.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import re
import sys
import time
import types
from typing import Any, Callable

import numpy as np

from grader.probes.convert import describe_exception, to_array, type_name
from grader.probes.early_stop import BACKSTOP, PERIOD, Monitor, Settled, Ticker, TimeUp
from grader.probes import keras2
from grader.fitting.measures import best_pairing
from grader.probes.keras2 import keras3_problem
from grader.probes.parameters import parameters, sensitivity
from grader.sandbox.loader import SUBMISSION_MODULE, load, statements
from grader.i18n import _, tr

GRID_POINTS = 1000
MAX_DATA_ELEMENTS = 100_000
MAX_FIGURE_BYTES = 400_000
MAX_FIGURE_PIXELS = 1200
EVALUATION_SECONDS = 5.0
MAX_CANDIDATES = 8
MAX_SNAPSHOTS = 6
RERUN_SEEDS = (1, 2)  # a borderline fit runs again under seed + 1 and seed + 2 (time permitting)
MIN_RERUN_SECONDS = 5.0
OUTPUT_TAIL_CHARS = 3000
_STUDENT_FILE = "<dlgrade "

# Names of the student's data, as hand-ins spell them (lower case, underscores removed).
_X = re.compile(r"^(x|xs|xx|inputs?|xdata|xvals?|xvalues|xpoints|samples?)(train(ing)?|tr|set|data|all|tensor|torch|np|_?\d)?$")
_Y = re.compile(r"^(y|ys|yy|targets?|labels?|ydata|yvals?|yvalues|ytrue|ypoints)(train(ing)?|tr|set|data|all|tensor|torch|np|_?\d)?$")
# "tr" and "te" are abbreviations only at the end or before a digit (x_tr, x_te1), not in x_true or x_tensor
_X_TRAIN = re.compile(r"^(x|xs|inputs?|xdata)(train(ing)?|tr(?=$|\d))|^train(ing)?(x|xs|inputs?|data|set)$")
_Y_TRAIN = re.compile(r"^(y|ys|targets?|labels?|ydata)(train(ing)?|tr(?=$|\d))|^train(ing)?(y|ys|targets?|labels?)$")
_X_TEST = re.compile(r"^(x|xs|inputs?|xdata)(test(ing)?|te(?=$|\d)|val(id(ation)?)?|eval)|"
                     r"^(test(ing)?|val(id)?)(x|xs|inputs?|data|set)$")
_Y_TEST = re.compile(r"^(y|ys|targets?|labels?|ydata)(test(ing)?|te(?=$|\d)|val(id(ation)?)?|eval)(true)?$|"
                     r"^(test(ing)?|val(id)?)(y|ys|targets?|labels?)$")
_ROLES = (("x_train", _X_TRAIN), ("y_train", _Y_TRAIN), ("x_test", _X_TEST), ("y_test", _Y_TEST),
          ("x", _X), ("y", _Y))


def data_role(name: str) -> str | None:
    """x_train / y_train / x_test / y_test / x / y for a variable name, or None."""
    key = name.lower().replace("_", "")
    for role, pattern in _ROLES:
        if pattern.match(key):
            return role
    return None


def _alarm(seconds: float) -> Ticker:
    """TimeUp after `seconds` of CPU (re-fired every second), for one evaluation or document."""
    return Ticker(seconds, 1.0)


class _Figures:
    """Captures matplotlib figures as PNG bytes (at most `limit`), and closes them."""

    def __init__(self, limit: int):
        self.limit = limit
        self.images: list[np.ndarray] = []
        self.dropped = 0
        self.pyplot = None

    def install(self) -> None:
        try:
            import matplotlib

            matplotlib.use("Agg", force=True)
            import matplotlib.pyplot as pyplot
        except Exception:  # no matplotlib: the loader's placeholder reports it where it is used
            return
        self.pyplot = pyplot
        pyplot.show = lambda *args, **kwargs: self.capture()
        pyplot.pause = lambda *args, **kwargs: None  # animations: no sleeping, no window

    def capture(self) -> None:
        if self.pyplot is None:
            return
        for number in list(self.pyplot.get_fignums()):
            figure = self.pyplot.figure(number)
            if len(self.images) < self.limit:
                self._save(figure)
            else:
                self.dropped += 1
            self.pyplot.close(figure)

    def _save(self, figure: Any) -> None:
        try:
            width, height = figure.get_size_inches()
            dpi = min(80.0, MAX_FIGURE_PIXELS / max(width, height, 1e-3))
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=dpi)
        except BaseException:  # a broken figure costs only itself
            self.dropped += 1
            return
        data = buffer.getvalue()
        if len(data) > MAX_FIGURE_BYTES:
            self.dropped += 1
            return
        self.images.append(np.frombuffer(data, dtype=np.uint8).copy())


class _Frames:
    """Keeps the locals of the student's driver functions (`main`, `train`...) as they return."""

    def __init__(self, watched: set[str]):
        self.watched = watched
        self.kept: dict[str, dict] = {}

    def _local(self, frame: types.FrameType, event: str, arg: Any) -> Any:
        if event == "return":
            self.kept[frame.f_code.co_name] = dict(frame.f_locals)
        return self._local

    def _global(self, frame: types.FrameType, event: str, arg: Any) -> Any:
        code = frame.f_code
        if event == "call" and code.co_name in self.watched and code.co_filename.startswith(_STUDENT_FILE):
            frame.f_trace_lines = False
            return self._local
        return None

    def __enter__(self) -> "_Frames":
        if self.watched:
            sys.settrace(self._global)
        return self

    def __exit__(self, *exc_info: object) -> None:
        sys.settrace(None)


def _write_files(files: dict[str, np.ndarray], folder: str) -> None:
    """The hand-in's own files (scripts a fitting script imports, its data), below `folder`."""
    for relative, content in files.items():
        path = os.path.normpath(os.path.join(folder, relative))
        if not path.startswith(folder + os.sep):
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(np.asarray(content, dtype=np.uint8).tobytes())


def _seed_frameworks(seed: int, imports: list[str]) -> None:
    """Every unit starts from the same seeds, whatever ran before it in this process."""
    from grader.sandbox.child import seed_everything

    seed_everything(seed)
    if "torch" in imports:
        try:
            import torch

            torch.manual_seed(seed)
        except Exception:  # not installed: the loader's placeholder says so where it is used
            pass


class _Keras3Only(BaseException):
    """A statement failed in a way only Keras 3 fails: the run stops to start again under Keras 2."""


def run_fitting(namespace: dict, job: dict, call: dict) -> dict:
    """Run one fitting unit (call["plan"]) and measure what it trained; see the module docstring.
    Code written for Keras 2 runs again under Keras 2 (grader/probes/keras2.py); a borderline fit
    runs again under other seeds (RERUN_SEEDS), so that the parent sees whether it holds."""
    seed, cap = int(job.get("seed", 0)), float(call["time_limit"])
    data = _run_once(job, call, seed)
    spent = data["seconds"]
    if data.get("keras2_needed") and keras2.available():  # written for Keras 2: run it again under Keras 2
        keras2.use_keras2()
        problem = data["keras2_needed"]
        data = _run_once(job, dict(call, time_limit=max(cap - spent, cap / 2)), seed)
        data["keras2"] = problem
        spent += data["seconds"]
    else:
        data["keras2_missing"] = data.pop("keras2_needed", None)
    pairing = best_pairing(data)
    bar = call.get("settle") or {}
    left = cap - spent  # the reruns share what the cap leaves, so the call stays within its timeout
    if pairing is not None and bar and bar.get("partial_r2", 1.0) <= pairing.r2 < bar["r2_threshold"] \
            and left / len(RERUN_SEEDS) >= MIN_RERUN_SECONDS:
        data["reruns"] = [_run_once(job, dict(call, time_limit=left / len(RERUN_SEEDS)), seed + offset)
                          for offset in RERUN_SEEDS]
    return data


def _run_once(job: dict, call: dict, seed: int) -> dict:
    """One run of the unit under `seed`, measured (its seconds are CPU seconds, as its cap counts)."""
    started = time.process_time()
    home = os.getcwd()
    output = os.path.join(home, "output.txt")
    offset = os.path.getsize(output) if os.path.exists(output) else 0
    folder = os.path.join(home, "handin")
    _write_files(call.get("files", {}), folder)
    workdir = os.path.normpath(os.path.join(folder, call.get("folder", ".")))
    os.makedirs(workdir, exist_ok=True)
    os.chdir(workdir)
    if workdir not in sys.path:
        sys.path.insert(0, workdir)
    sys.argv = [call.get("script", "fitting.py")]
    _seed_frameworks(seed, call.get("imports", []))
    figures = _Figures(int(call.get("max_figures", 8)))
    if call.get("plots"):
        figures.install()
    plan = dict(call["plan"], main=True)  # as a script: `if __name__ == "__main__":` runs statement by statement
    planned = statements(plan)
    cells = [cell["label"] for cell, _ in planned]
    current = {"cell": None}
    snapshots: list[dict] = []
    monitor = Monitor(call, lambda: sys.modules[SUBMISSION_MODULE].__dict__, _measure, snapshots)
    ticker = Ticker(float(call["time_limit"]), PERIOD, monitor.tick, float(job.get("wall_backstop", BACKSTOP)))
    points = _prediction_points(call, planned)
    notes: list[str] = []
    watch_keras = not keras2.active() and keras2.available()

    def snapshot(done: int) -> None:
        """Measure the student's prediction right after the statement that makes it (`done`), before
        later cells rebind its names."""
        if done not in points or len(snapshots) >= MAX_SNAPSHOTS:
            return
        with ticker.paused():
            taken = monitor.measure_now(dict(call, predictions=points.pop(done), templates=[], only_predictions=True),
                                        perturb=True)
        if taken is not None and any("grid" in model for model in taken.get("models", [])):
            snapshots.append(dict(taken, at=_where(plan, done)))

    def before(index: int) -> None:
        if watch_keras and keras3_problem(notes[-1:], call.get("imports", [])):
            raise _Keras3Only()
        snapshot(index - 1)
        if cells[index] != current["cell"]:
            if current["cell"] is not None and call.get("notebook"):
                figures.capture()  # a notebook shows the figures of a cell when the cell ends
            current["cell"] = cells[index]
        current["statement"] = index

    status, stopped_at = "completed", None
    scope: dict = {}
    stops: list[str] = []
    with _Frames(set(call.get("watch", []))) as frames:
        try:
            with ticker:
                scope, _ = load(plan, before, interrupt=(TimeUp, _Keras3Only), notes=notes,
                                stopped=Settled, on_stop=lambda: stops.append(_where(plan, current["statement"])))
                snapshot(len(planned) - 1)
        except TimeUp:
            status = "time_cap"
            stopped_at = _where(plan, current.get("statement"))
            scope = sys.modules[SUBMISSION_MODULE].__dict__
        except _Keras3Only:
            os.chdir(home)
            return {"keras2_needed": keras3_problem(notes, call.get("imports", [])),
                    "seconds": round(time.process_time() - started, 2)}
    run_seconds = time.process_time() - started
    with _alarm(EVALUATION_SECONDS):
        try:
            figures.capture()
        except TimeUp:
            pass
    measured = _measure(scope, frames.kept, call)
    os.chdir(home)
    return {
        "seed": seed, "keras2_needed": None if keras2.active() else keras3_problem(notes, call.get("imports", [])),
        "status": status, "stopped_at": stopped_at, "time_limit": float(call["time_limit"]), "notes": notes[:20],
        "seconds": round(run_seconds, 2), "settled": [dict(stop, where=where) for stop, where in zip(monitor.settled, stops)],
        "snapshots": snapshots,
        "output_tail": _tail(output, offset), "figures": figures.images, "figures_dropped": figures.dropped,
        "torch_used": "torch" in sys.modules, **measured,
    }


def _prediction_points(call: dict, planned: list) -> dict[int, list[dict]]:
    """Statement index -> the prediction templates the student makes right after it."""
    positions = {(cell["label"], statement.lineno): index for index, (cell, statement) in enumerate(planned)}
    points: dict[int, list[dict]] = {}
    for template in call.get("predictions", []):
        at = template.get("at")
        if at and (at["cell"], at["line"]) in positions:
            points.setdefault(positions[(at["cell"], at["line"])], []).append(template)
    return points


def _where(plan: dict, index: int | None) -> str | None:
    if index is None:
        return None
    cell, stmt = statements(plan)[index]
    return tr("{where}, line {line}", where=cell["where"], line=stmt.lineno)


def _tail(path: str, offset: int) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(offset, os.path.getsize(path) - OUTPUT_TAIL_CHARS * 4))
            return handle.read().decode("utf-8", "replace")[-OUTPUT_TAIL_CHARS:]
    except OSError:
        return ""


# ---- finding what was trained -------------------------------------------------------------

def _scopes(namespace: dict, frames: dict[str, dict]) -> list[tuple[str, dict]]:
    """The module namespace, then each kept driver frame, each as (scope name, variables)."""
    found = [("module", {k: v for k, v in namespace.items() if not k.startswith("__")})]
    found += [(f"{name}()", variables) for name, variables in frames.items()]
    return found


def _members(scope: dict) -> list[tuple[str, Any]]:
    """(name, value) of a scope's variables, and one level into lists, tuples and dicts of them."""
    found = []
    for name, value in list(scope.items()):
        found.append((name, value))
        if isinstance(value, (list, tuple)) and len(value) <= 50:
            found += [(f"{name}[{i}]", item) for i, item in enumerate(value)]
        elif isinstance(value, dict) and len(value) <= 50 and not isinstance(value, types.ModuleType):
            found += [(f"{name}[{repr(key)[:40]}]", item) for key, item in list(value.items()) if isinstance(key, (str, int))]
    return found


def _is_student_function(value: Any) -> bool:
    return isinstance(value, types.FunctionType) and value.__code__.co_filename.startswith(_STUDENT_FILE)


def _is_student_instance(value: Any) -> bool:
    kind = type(value)
    methods = [getattr(kind, name, None) for name in ("forward", "predict", "__call__")]
    return any(_is_student_function(m) for m in methods)


def _torch_module(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.nn.Module) and any(True for _ in value.parameters())


def _keras_model(value: Any) -> bool:
    for module in ("keras", "tensorflow"):
        loaded = sys.modules.get(module)
        keras = getattr(loaded, "keras", loaded) if module == "tensorflow" else loaded
        model = getattr(keras, "Model", None) if keras is not None else None
        if isinstance(model, type) and isinstance(value, model):
            return True
    return False


def _model_kind(value: Any, role: str | None) -> str | None:
    if _torch_module(value):
        return "torch"
    if _keras_model(value):
        return "keras"
    if _is_student_instance(value) and not isinstance(value, type):
        return "numpy object"
    if _is_student_function(value) and role == "model":
        return "function"
    return None


def _as_data(value: Any) -> np.ndarray | None:
    """A numeric 1-D view of a data array (ndarray, tensor), or None."""
    if isinstance(value, (list, tuple)) and 3 <= len(value) <= 10 * MAX_DATA_ELEMENTS \
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return np.asarray(value, dtype=np.float64)
    if isinstance(value, (bool, int, float, str, bytes, type, types.ModuleType)) or not hasattr(value, "shape"):
        return None
    array, problem = to_array(value)
    if problem or array is None or array.dtype.kind not in "iuf" or array.size < 3:
        return None
    squeezed = array.reshape(-1) if sum(d > 1 for d in array.shape) == 1 else None
    return squeezed.astype(np.float64) if squeezed is not None else None


def _find_data(scopes: list[tuple[str, dict]]) -> dict[str, dict]:
    """Per role (x_train, y_train, x_test, y_test, x, y): the first array of that role, module first."""
    found: dict[str, dict] = {}
    for scope_name, scope in scopes:
        for name, value in scope.items():
            role = data_role(name)
            if role is None or role in found:
                continue
            try:
                array = _as_data(value)
            except Exception:  # a hostile `shape` or `__array__`: not data
                continue
            if array is not None and array.size <= 10 * MAX_DATA_ELEMENTS:
                found[role] = {"name": name, "scope": scope_name, "values": array[:MAX_DATA_ELEMENTS],
                               "shape": list(np.shape(array if isinstance(value, (list, tuple)) else value)),
                               "value": array if isinstance(value, (list, tuple)) else value}
    return found


def _outermost(models: list[tuple[str, str, Any, str]]) -> list[tuple[str, str, Any, str]]:
    """Drop models that are parts of other found models (layers of a network), and duplicates."""
    def parts(value: Any) -> list[Any]:
        if _torch_module(value):
            return list(value.modules())[1:]
        inner = list(vars(value).values()) if hasattr(value, "__dict__") else []
        return inner + [x for v in inner if isinstance(v, (list, tuple)) for x in v]

    contained = {id(p) for _, _, value, _ in models for p in parts(value)}
    seen, kept = set(), []
    for model in models:
        if id(model[2]) not in contained and id(model[2]) not in seen:
            seen.add(id(model[2]))
            kept.append(model)
    return kept


def _inputs(grid: np.ndarray, template: list[int] | None, kind: str) -> list[np.ndarray]:
    """Shapes to try for the model's input, the shape of the student's own x first."""
    shapes = []
    if template and len(template) == 2 and template[0] == 1 and template[1] > 1:
        shapes.append((1, grid.size))
    elif template and len(template) == 1:
        shapes.append((grid.size,))
    shapes += [(grid.size, 1), (grid.size,), (1, grid.size)]
    unique = list(dict.fromkeys(shapes))
    dtypes = [np.float32] if kind in ("torch", "keras") else [np.float64, np.float32]  # float32: TF variables inside
    return [grid.reshape(shape).astype(dtype) for dtype in dtypes for shape in unique]


def _convert_input(array: np.ndarray, kind: str, like: Any) -> Any:
    torch = sys.modules.get("torch")
    if kind == "torch" or (torch is not None and isinstance(like, torch.Tensor)):
        dtype = getattr(like, "dtype", None) if torch is not None and isinstance(like, torch.Tensor) else None
        tensor = torch.as_tensor(array)
        if dtype is not None and dtype.is_floating_point:
            tensor = tensor.to(dtype)
        elif kind == "torch":
            tensor = tensor.float()
        return tensor
    return array


def _call_model(model: Any, kind: str, x: Any) -> Any:
    if kind == "torch":
        import torch

        with torch.no_grad():
            return model(x)
    if kind == "keras":
        return model(x, training=False)
    if kind == "numpy object":
        for method in ("predict", "forward", "__call__"):
            function = getattr(model, method, None)
            if function is not None and _is_student_function(getattr(type(model), method, None)):
                return function(x)
    return model(x)


def _evaluate(function: Callable[[Any], Any], inputs: list[np.ndarray], kind: str, like: Any) -> tuple[np.ndarray | None, int | None, str | None]:
    """Call `function` on the first input shape that gives one finite-or-not number per point."""
    problem = None
    for position, array in enumerate(inputs):
        try:
            with _alarm(EVALUATION_SECONDS):
                value = function(_convert_input(array, kind, like))
        except TimeUp:
            return None, None, tr("did not answer within {seconds:g} s", seconds=EVALUATION_SECONDS)
        except BaseException as error:  # student code may raise anything
            problem = f"{type(error).__name__}: {str(error)[:200]}"
            continue
        output, conversion = to_array(value[0] if isinstance(value, tuple) and value else value)
        if output is None:
            problem = tr("returned {kind}: {problem}", kind=type_name(value), problem=conversion)
            continue
        points = max(array.shape)
        if output.size == points:
            return output.reshape(-1).astype(np.float64), position, None
        problem = tr("returned shape {shape} for {points} points", shape=tuple(output.shape), points=points)
    return None, None, problem


_FRAMEWORKS = {"torch": "PyTorch", "tensorflow": "TensorFlow", "keras": "TensorFlow", "tf_keras": "TensorFlow"}


def _framework(values: list[Any], depth: int = 2) -> str | None:
    """The framework a piece predicts with (PyTorch, TensorFlow), or None for NumPy: read from the objects
    its prediction uses, their classes, attributes and list items, and the globals of the student's functions
    they call. The NumPy bonus goes to a NumPy piece even when the notebook also holds a PyTorch one."""
    for value in values:
        kinds = [value] if isinstance(value, types.ModuleType) else list(type(value).__mro__)
        for item in kinds:
            root = getattr(item, "__name__" if isinstance(item, types.ModuleType) else "__module__", "") or ""
            if root.split(".")[0] in _FRAMEWORKS:
                return _FRAMEWORKS[root.split(".")[0]]
        if depth <= 0:
            continue
        inner: list[Any] = []
        if _is_student_function(value):
            inner = [value.__globals__[n] for n in _code_names(value.__code__) if n in value.__globals__]
            inner += [cell.cell_contents for cell in value.__closure__ or () if _filled(cell)]
        elif isinstance(value, (list, tuple)):
            inner = list(value)[:50]
        elif isinstance(value, dict):
            inner = list(value.values())[:50]
        elif _is_student_function(getattr(type(value), "forward", None)) or \
                _is_student_function(getattr(type(value), "predict", None)):
            inner = [v for v in list(getattr(value, "__dict__", {}).values())[:50]]
            inner += [getattr(type(value), m) for m in ("forward", "predict", "__call__")
                      if _is_student_function(getattr(type(value), m, None))]
        found = _framework(inner, depth - 1)
        if found:
            return found
    return None


def _code_names(code: types.CodeType) -> set[str]:
    """The global names a function's code (and the functions defined inside it) read."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _code_names(constant)
    return names


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents
    except ValueError:  # an empty closure cell
        return False
    return True


def _describe(value: Any, kind: str) -> dict:
    """Layers, activations and size of a found model, as far as they can be read."""
    if kind == "torch":
        layers = [type(m).__name__ for m in value.modules() if not list(m.children())][:50]
        return {"layers": layers, "parameters": int(sum(p.numel() for p in value.parameters())),
                "relu": any(name in ("ReLU", "LeakyReLU", "ReLU6") for name in layers) or None,
                "linear_layers": sum(name == "Linear" for name in layers)}
    if kind == "keras":
        layers, relu = [], False
        for layer in list(getattr(value, "layers", []))[:50]:
            activation = getattr(getattr(layer, "activation", None), "__name__", "")
            layers.append(type(layer).__name__ + (f"({activation})" if activation else ""))
            relu = relu or "relu" in activation.lower() or type(layer).__name__ == "ReLU"
        return {"layers": layers, "parameters": int(value.count_params()) if hasattr(value, "count_params") else 0,
                "relu": relu or None, "linear_layers": sum(name.startswith("Dense") for name in layers)}
    if kind == "numpy object":
        weights = [v for v in vars(value).values() if isinstance(v, np.ndarray) and v.ndim == 2]
        return {"layers": [type(value).__name__], "parameters": int(sum(w.size for w in weights)), "relu": None,
                "linear_layers": len(weights)}
    return {"layers": [getattr(value, "__name__", "function")], "parameters": 0, "relu": None, "linear_layers": 0}


def _measure(namespace: dict, frames: dict[str, dict], call: dict, perturb: bool = True) -> dict:
    """Find data, models and targets after the run, and evaluate them on a dense grid (and, with
    `perturb`, whether their output moves with their parameters: grader/probes/parameters.py)."""
    scopes = _scopes(namespace, frames)
    roles = call.get("roles", {})
    data = _find_data(scopes)
    x_train = data.get("x_train") or data.get("x")
    interval, interval_from = None, None
    if x_train is not None and np.isfinite(x_train["values"]).all():
        interval, interval_from = [float(x_train["values"].min()), float(x_train["values"].max())], x_train["name"]
    elif call.get("interval"):
        interval, interval_from = call["interval"], "the sampling call in the code"
    result: dict[str, Any] = {"data": {role: {k: v for k, v in d.items() if k != "value"} for role, d in data.items()},
                              "models": [], "targets": [], "interval": interval, "interval_from": interval_from}
    if interval is None or not interval[1] > interval[0]:
        return result
    x_test = data.get("x_test")
    spanned = list(interval)
    if x_test is not None and np.isfinite(x_test["values"]).all():  # the student claims the fit there too
        spanned = [min(spanned[0], float(x_test["values"].min())), max(spanned[1], float(x_test["values"].max()))]
    result["grid_interval"] = spanned
    grid = np.linspace(spanned[0], spanned[1], GRID_POINTS)
    result["grid"] = grid
    template = x_train["shape"] if x_train else None
    like = x_train["value"] if x_train else None
    for candidate in _candidates(scopes, roles, call)[:MAX_CANDIDATES]:
        name, scope_name, value, kind = candidate["name"], candidate["scope"], candidate["value"], candidate["kind"]
        function = (lambda x, v=value, k=kind: _call_model(v, k, x))
        own = candidate.get("like")
        inputs = _inputs(grid, _shape(own) if own is not None else template, kind)
        predictions, position, problem = _evaluate(function, inputs, kind, own if own is not None else like)
        entry = {"name": name, "scope": scope_name, "kind": kind, **_describe(value, kind), "problem": problem,
                 "predicts": bool(candidate.get("predicts")), "code": candidate.get("code"),
                 "framework": _framework(candidate.get("roots", []) + [value])}
        if predictions is not None:
            entry["grid"] = predictions
            entry.update(_on_student_x(function, inputs[position], kind, data, with_like=True))
            if perturb:
                entry["perturbed"] = _perturbation(candidate, function, inputs[position], own if own is not None
                                                   else like, data, predictions, int(call.get("seed", 0)))
        result["models"].append(entry)
    result["targets"] = _targets(scopes, roles, call.get("expressions", []), grid, template, like, data)
    return result


def _perturbation(candidate: dict, function: Callable[[Any], Any], layout: np.ndarray, like: Any, data: dict,
                  before: np.ndarray, seed: int) -> dict:
    """How many parameter arrays the model holds, and how far its grid predictions move when they
    are perturbed (relative to their range; None: not measurable)."""
    arrays = [d["values"] for d in data.values()]
    found = parameters(candidate.get("roots", [candidate["value"]]), arrays)

    def predict() -> np.ndarray | None:
        values, _, _ = _evaluate(function, [layout], candidate["kind"], like)
        return values

    change = sensitivity(predict, found, before, seed)
    return {"arrays": len(found), "change": None if change is None else float(min(change, 1e6))}


def _shape(value: Any) -> list[int] | None:
    try:
        return [int(d) for d in np.shape(value)]
    except Exception:  # a hostile or shapeless object: no layout to copy
        return None


def _candidates(scopes: list[tuple[str, dict]], roles: dict, call: dict) -> list[dict]:
    """The models to measure: first what the student predicts with (prediction templates), then
    objects found by type and functions with the model role."""
    found = []
    for template in call.get("predictions", []) + call.get("templates", []):
        bound = _bind_template(template, scopes)
        if bound is not None:
            found.append({"name": template["text"], "scope": bound[0], "value": bound[1], "kind": "call",
                          "code": template["code"], "like": bound[2],
                          "predicts": template in call.get("predictions", []),
                          "roots": [bound[3][name] for name in template["names"] if name in bound[3]]})
    if call.get("only_predictions"):
        return found
    objects = []
    for scope_name, scope in scopes:
        for name, value in _members(scope):
            try:
                kind = _model_kind(value, roles.get(name.split("[")[0]))
            except Exception:  # an object whose type checks raise is no model we can use
                kind = None
            if kind:
                objects.append((name[:80], scope_name, value, kind))
    found += [{"name": name, "scope": scope_name, "value": value, "kind": kind}
              for name, scope_name, value, kind in _outermost(objects)]
    return found


def _reshaped(values: np.ndarray, shape: tuple) -> np.ndarray:
    """`values` in the layout the grid worked in (column, row or flat)."""
    if len(shape) == 1:
        return values
    return values.reshape(-1, 1) if shape[1] == 1 else values.reshape(1, -1)


def _on_student_x(function: Callable[[Any], Any], layout: np.ndarray, kind: str, data: dict, with_like: bool) -> dict:
    """`on_x_train`, `on_x_test`, `on_x`: `function` on the student's own inputs, in the layout and
    dtype that worked on the grid (models get the student's tensor type back; targets plain arrays)."""
    found = {}
    for role in ("x_train", "x_test", "x"):
        if role in data:
            shaped = _reshaped(data[role]["values"], layout.shape).astype(layout.dtype)
            values, _, _ = _evaluate(function, [shaped], kind, data[role]["value"] if with_like else None)
            if values is not None:
                found[f"on_{role}"] = values
    return found


def _bind_template(template: dict, scopes: list[tuple[str, dict]]) -> tuple[str, Callable, Any, dict] | None:
    """A prediction template (statements that compute `output` from the student's x variable) as a
    function of x, in the scope that holds its names: (scope name, function, the student's x, the
    names it reads)."""
    try:
        code = compile(template["code"], "<dlgrade prediction>", "exec")
    except SyntaxError:
        return None
    for scope_name, scope in scopes:
        if template.get("scope") not in (None, scope_name):
            continue
        context = dict(scopes[0][1], **scope)
        if template["x"] not in context or any(n not in context and not hasattr(builtins, n) for n in template["names"]):
            continue

        def predict(x: Any, code: types.CodeType = code, context: dict = context) -> Any:
            names = dict(context, **{template["x"]: x})
            with _no_grad():  # the student predicted under `with torch.no_grad():` (`.numpy()` needs it)
                exec(code, names)  # noqa: S102 (the student's own statements, in the child)
            return names[template["output"]]

        return scope_name, predict, context[template["x"]], context
    return None


def _no_grad() -> Any:
    """torch.no_grad() where torch is loaded, else nothing."""
    torch = sys.modules.get("torch")
    return torch.no_grad() if torch is not None else contextlib.nullcontext()


def _targets(scopes: list[tuple[str, dict]], roles: dict, expressions: list[dict], grid: np.ndarray,
             template: list[int] | None, like: Any, data: dict) -> list[dict]:
    """The student's target function(s) on the grid (and on their own x), by function or expression."""
    found, seen, noisy = [], set(), set()
    for scope_name, scope in scopes:
        for name, value in _members(scope):
            base = name.split("[")[0]
            role = roles.get(getattr(value, "__name__", "")) or roles.get(base)
            if _is_student_function(value) and role == "target" and id(value) not in seen:
                seen.add(id(value))
                found.append((getattr(value, "__name__", name), scope_name, value))
    for expression in expressions:
        for scope_name, scope in scopes:
            if expression["x"] in scope or scope_name == "module":
                context = dict(scopes[0][1], **scope)
                code = compile(expression["text"], "<dlgrade target expression>", "eval")
                if expression.get("noisy"):
                    noisy.add(f"{expression['y']} = {expression['text']}")
                found.append((f"{expression['y']} = {expression['text']}", scope_name,
                              lambda x, c=code, ctx=context, e=expression: eval(c, dict(ctx, **{e["x"]: x}))))  # noqa: S307
                break
    targets = []
    for name, scope_name, function in found[:MAX_CANDIDATES]:
        layouts = _inputs(grid, template, "numpy")
        inputs = layouts + layouts[:1] + [grid]
        kinds = ["numpy"] * (len(inputs) - 2) + ["torch", "scalar"]
        values, problem = None, None
        for array, kind in zip(inputs, kinds):
            if kind == "scalar":  # a target written with math.sin: one point at a time
                function = np.vectorize(function, otypes=[np.float64])
            if kind == "torch" and "torch" not in sys.modules:
                continue
            values, _, problem = _evaluate(function, [array], kind, None)
            if values is not None:
                layout = array
                break
        entry = {"name": name, "scope": scope_name, "problem": problem, "noisy": name in noisy}
        if values is not None:
            entry["grid"] = values
            entry.update(_on_student_x(function, layout, kind, data, with_like=False))
        targets.append(entry)
    return targets


def extract_documents(namespace: dict, job: dict, call: dict) -> dict:
    """Text of the hand-in's PDF and Word reports (parsed here, in the sandbox, never in the grader)."""
    texts, problems = {}, {}
    for name, content in call["documents"].items():
        data = np.asarray(content, dtype=np.uint8).tobytes()
        try:
            with _alarm(20.0):
                texts[name] = (_pdf_text(data) if name.lower().endswith(".pdf") else _docx_text(data))[:100_000]
        except TimeUp:
            problems[name] = _("reading it took longer than 20 s")
        except BaseException as error:  # a broken document costs only itself
            problems[name] = tr("cannot be read ({error})", error=type(error).__name__ + ": " + str(error)[:200])
    return {"texts": texts, "problems": problems}


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages[:40])


def _docx_text(data: bytes) -> str:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("word/document.xml")
        if info.file_size > 20 * 2**20:
            raise ValueError("word/document.xml is over 20 MB")
        xml = archive.read(info).decode("utf-8", "replace")
    xml = re.sub(r"</w:p>", "\n", xml)
    return re.sub(r"<[^>]+>", "", xml)


def fitting_call(namespace: dict, job: dict, call: dict) -> dict:
    """Dispatch a Part 4 call: `documents` (report text) or `run` (run and measure a fitting unit)."""
    try:
        if call["kind"] == "documents":
            return extract_documents(namespace, job, call)
        return run_fitting(namespace, job, call)
    except BaseException as error:  # the probe's own failure still answers with plain data
        return {"error": describe_exception(error, job.get("where", {}))}
