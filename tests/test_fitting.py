"""Part 4, function fitting: finding the code and the report, running it, judging the fit and the rubric."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from grader.checks.fitting import FunctionFitting
from grader.fitting.measures import line_r_squared, r_squared
from grader.checks.model import CheckResult
from grader.config import load_config
from grader.extract import extract_file
from grader.fitting import writeup
from grader.fitting.units import _without_noise, analyse, find_units
from grader.pipeline import Grader
from grader.sandbox.jobs import CallOutcome, JobOutcome, Limits
from tests.fitting_variants import HANDOUT, REPORT_EN, REPORT_ZH, VARIANTS, _numpy, notebook

HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.fixture(scope="module")
def grader():
    with Grader(workers=2) as shared:
        yield shared


def _units(tmp_path: Path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return find_units([extract_file(path, name)])


# ---- every variant, end to end -------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_loses_exactly_the_points_of_its_fault(grader, tmp_path, name):
    variant = VARIANTS[name]
    if variant.needs_torch and not HAS_TORCH:
        pytest.skip("PyTorch is not installed (pip install 'dlgrade[torch]'); CI installs it")
    checks, _ = variant.grade(grader, tmp_path / name)
    for check in checks.values():
        assert check.message and (check.passed or check.hint or check.id.endswith("numpy_bonus") or name == "nothing")


@pytest.mark.slow
def test_good_numpy_fit_earns_the_bonus_above_the_maximum_and_shows_its_figure(grader, tmp_path):
    result = grader.grade(VARIANTS["numpy_script_report_md"].write(tmp_path / "h"), {"function_fitting"})
    checks = {c.id.split(".", 1)[1]: c for c in result.checks}
    assert checks["numpy_bonus"].max_score == 0 and checks["numpy_bonus"].score == 5
    assert result.score == result.max_score + 5 == 15
    figures = checks["runs"].details["figures"]
    assert len(figures) == 1 and figures[0].startswith("iVBORw0KGgo")  # a PNG, drawn at plt.show()
    assert "test mse" in checks["runs"].details["output_tail"]
    plot = checks["fit"].details["plot"]
    assert len(plot["x"]) == len(plot["model"]) == len(plot["target"]) == 200
    # the README with the course's rules is not the report; report.md is
    assert "README.md" in checks["report"].details["set_aside"]
    assert "report.md" in checks["report"].details["used"]


@pytest.mark.slow
def test_a_run_past_the_time_cap_is_stopped_and_measured_as_it_stands(tmp_path):
    endless = _numpy().replace("for epoch in range(4000):", "import itertools\nfor epoch in itertools.count():")
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "fit.py").write_text(endless)
    config = load_config()
    settings = dict(config.fitting, time_limit=4.0)
    with Grader(workers=1, config=config) as grader:
        grader.families = [FunctionFitting(Limits(), settings)]
        result = grader.grade(tmp_path / "h", {"function_fitting"})
    checks = {c.id.split(".", 1)[1]: c for c in result.checks}
    assert "stopped at its cap of 4 s of CPU" in checks["runs"].message and checks["runs"].passed
    assert checks["fit"].passed, checks["fit"].message  # it had fitted long before the cap


@pytest.mark.slow
def test_the_pdf_and_word_reports_are_read_in_the_sandbox(grader, tmp_path):
    folder = VARIANTS["numpy_handout_only"].write(tmp_path / "h")
    word = io.BytesIO()
    paragraphs = "".join(f"<w:p><w:r><w:t>{line}</w:t></w:r></w:p>" for line in REPORT_ZH.splitlines())
    with zipfile.ZipFile(word, "w") as archive:
        archive.writestr("word/document.xml", f"<w:document><w:body>{paragraphs}</w:body></w:document>")
    (folder / "报告.docx").write_bytes(word.getvalue())
    (folder / "scan.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    result = grader.grade(folder, {"function_fitting"})
    report = next(c for c in result.checks if c.id == "function_fitting.report")
    assert report.passed and "报告.docx" in report.details["used"], report.message
    assert "could not read: scan.pdf" in report.message


# ---- finding the code -------------------------------------------------------------------

def test_fitting_cells_of_a_merged_notebook_are_found_and_mnist_cells_left_out(tmp_path):
    merged = notebook([("code", "import numpy as np\nimport tensorflow as tf\n(x, y), _ = tf.keras.datasets.mnist.load_data()"),
                       ("code", "def softmax(x):\n    return np.exp(x) / np.exp(x).sum(-1, keepdims=True)"),
                       ("markdown", "## 函数拟合"),
                       ("code", _numpy())])
    units = _units(tmp_path, "tf2.0-exercise.ipynb", merged)
    assert len(units) == 1 and not units[0].whole_file
    plan = units[0].plan()
    kept = {cell["where"]: cell["kept"] for cell in plan["cells"]}
    assert kept["tf2.0-exercise.ipynb, cell 1"] == [0, 1]  # imports only: no MNIST download
    assert len(kept["tf2.0-exercise.ipynb, cell 4"]) > 10  # the fitting cell runs whole


def test_a_part1_notebook_is_not_fitting_code(tmp_path):
    assert _units(tmp_path, "tf2.0-exercise.ipynb", (Path("submissions/correct/tf2.0-exercise.ipynb")).read_text()) == []


def test_content_finds_fitting_code_under_any_name_and_name_alone_is_not_enough(tmp_path):
    assert _units(tmp_path, "homework_final.py", _numpy())  # no hint in the name: content
    assert not _units(tmp_path, "fit_utils.py", "def fit(a):\n    return a\n")


def test_static_roles_expressions_and_rubric_facts(tmp_path):
    code = '''import numpy as np
import torch

def target(x):
    return np.sin(x) + x

def predict(x, W1, b1):
    return np.maximum(0, x @ W1 + b1).sum(1)

def main():
    x_train = np.linspace(-2, 2, 100)
    y_train = np.sin(x_train) + 0.1 * np.random.randn(100)
    y_pred = predict(x_train, W1, b1)
    for step in range(10):
        loss = ((y_pred - y_train) ** 2).mean()
        loss.backward()
'''
    unit = _units(tmp_path, "fit.py", code)[0]
    facts = unit.facts
    assert facts.roles["target"] == "target" and facts.roles["predict"] == "model" and facts.roles["main"] == "other"
    assert facts.expressions == [{"y": "y_train", "x": "x_train", "text": "np.sin(x_train)", "noisy": True}]  # noise dropped
    assert facts.templates[0]["text"] == "predict(x_train, W1, b1)"
    assert facts.interval == [-2.0, 2.0]
    assert facts.frameworks == ["PyTorch"] and facts.autograd
    assert analyse(unit).comment_lines == 0


def test_noise_is_separated_only_when_it_is_additive():
    import ast

    assert ast.unparse(_without_noise(ast.parse("np.sin(x) + np.random.normal(0, 1, x.shape)", mode="eval").body)) == "np.sin(x)"
    assert _without_noise(ast.parse("np.sin(x) * np.random.rand()", mode="eval").body) is None


def test_a_docstring_saying_relu_is_no_relu(tmp_path):
    code = _numpy().replace("np.maximum(0, ", "np.tanh(").replace("(pre > 0)", "(1 - np.tanh(pre) ** 2)")
    facts = _units(tmp_path, "fit.py", code)[0].facts
    assert facts.relu == [] and facts.other_activations == ["tanh"]


# ---- the report ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", [REPORT_ZH, REPORT_EN])
def test_a_report_in_chinese_or_english_covers_all_four_sections(text):
    verdict = writeup.judge([writeup.ReportText("report.md", text)])
    assert verdict.missing == []


def test_the_course_handout_is_never_the_report():
    verdict = writeup.judge([writeup.ReportText("README.md", HANDOUT)])
    assert verdict.sections == {} and verdict.set_aside == ["README.md"]


def test_a_report_missing_a_section_says_which():
    text = REPORT_ZH.split("## 数据采集")[0] + REPORT_ZH.split("## 模型描述")[1]
    text = text.replace("测试集", "")
    verdict = writeup.judge([writeup.ReportText("report.md", "## 模型描述" + text)])
    assert verdict.missing == ["data collection"]


def test_starter_notebook_markdown_counts_only_where_it_speaks_of_fitting():
    starter = "# MNIST\nWe train a softmax model on mnist.\n" + "data set of images, model with layers, result " * 10
    verdict = writeup.judge([writeup.ReportText("tutorial.ipynb (markdown cells)", starter, anywhere=False)])
    assert verdict.used == []


# ---- judging, with the child's answers given ----------------------------------------------

def _family() -> FunctionFitting:
    return FunctionFitting(Limits(), load_config().fitting)


def _judge_run(tmp_path, data: dict) -> dict[str, CheckResult]:
    (tmp_path / "fit.py").write_text(_numpy())
    family = _family()
    located = family.locate(None, [extract_file(tmp_path / "fit.py", "fit.py")], tmp_path)
    outcome = JobOutcome(calls=[CallOutcome(data=data)])
    return {c.id.split(".", 1)[1]: c for c in family.judge(located, outcome)}


def test_pytorch_missing_is_flagged_for_a_human_with_the_install_command(tmp_path):
    checks = _judge_run(tmp_path, {"status": "completed", "notes": [
        "fit.py, line 2: import failed (No module named 'torch')"], "models": [], "targets": [], "data": {}})
    assert checks["runs"].needs_human and "dlgrade[torch]" in checks["runs"].hint
    assert checks["fit"].needs_human and not checks["fit"].passed
    assert checks["runs"].to_dict()["needs_human"] is True


def test_a_model_only_on_its_training_points_is_measured_between_them(tmp_path):
    grid = np.linspace(-1, 1, 1000)
    memoriser = np.where(np.isin(np.round(grid, 3), np.round(np.linspace(-1, 1, 11), 3)), np.sin(3 * grid), 0.0)
    data = {"status": "completed", "notes": [], "grid": grid, "interval": [-1.0, 1.0],
            "models": [{"name": "lookup", "grid": memoriser, "layers": [], "relu": None, "linear_layers": 0}],
            "targets": [{"name": "f", "grid": np.sin(3 * grid)}], "data": {}}
    checks = _judge_run(tmp_path, data)
    assert not checks["fit"].passed and "R² " in checks["fit"].message


def test_a_straight_line_fit_to_a_curve_fails_even_with_a_high_r_squared(tmp_path):
    grid = np.linspace(-10, 10, 1000)
    target = grid + np.sin(grid)
    slope, intercept = np.polyfit(grid, target, 1)
    data = {"status": "completed", "notes": [], "grid": grid, "interval": [-10.0, 10.0],
            "models": [{"name": "linear", "grid": slope * grid + intercept, "layers": [], "relu": None, "linear_layers": 2}],
            "targets": [{"name": "f", "grid": target}], "data": {}}
    fit = _judge_run(tmp_path, data)["fit"]
    assert r_squared(slope * grid + intercept, target) > 0.95 and not fit.passed
    assert "straight line" in fit.hint


def test_r_squared_and_the_line_baseline():
    x = np.linspace(0, 1, 50)
    assert r_squared(x, x) == 1.0 and r_squared(np.full(50, np.nan), x) == -np.inf
    assert line_r_squared(x, 3 * x + 1) == pytest.approx(1.0)


def test_partial_report_credit_and_the_bonus_reach_the_json():
    check = CheckResult("function_fitting.report", "function_fitting", 5.0, False, "m", credit=0.75)
    bonus = CheckResult("function_fitting.numpy_bonus", "function_fitting", 0.0, True, "m", bonus=5.0)
    assert check.to_dict()["score"] == 3.75 and bonus.to_dict()["score"] == 5.0 and "needs_human" not in bonus.to_dict()


# ---- isolation: Part 4 runs top-level code, still confined ---------------------------------

@pytest.mark.slow
def test_fitting_code_gets_its_own_files_but_never_a_classmates(grader, tmp_path):
    classmate = tmp_path / "class" / "bob"
    classmate.mkdir(parents=True)
    (classmate / "data.csv").write_text("BOB-SECRET-MARKER")
    thief = VARIANTS["numpy_script_report_md"].write(tmp_path / "class" / "eve")
    (thief / "mine.csv").write_text("EVE-OWN-DATA")
    os.symlink(classmate / "data.csv", thief / "stolen.csv")
    os.symlink(classmate, thief / "bob")
    snoop = '''
import glob, os
for path in glob.glob("**/*", recursive=True) + glob.glob("/tmp/**/*.csv", recursive=True):
    try:
        text = open(path, errors="replace").read(200)
    except OSError:
        continue
    if "MARKER" in text or "OWN-DATA" in text:  # only what matters: the output keeps its last 3,000 characters
        print(path, text[:40])
'''
    (thief / "fit_relu.py").write_text(snoop + (thief / "fit_relu.py").read_text())
    # unconfined, the attack works: the links lead to the classmate's data
    assert (thief / "stolen.csv").read_text() == "BOB-SECRET-MARKER"
    result = grader.grade(thief, {"function_fitting"})
    runs = next(c for c in result.checks if c.id == "function_fitting.runs")
    output = runs.details["output_tail"]
    assert "EVE-OWN-DATA" in output  # its own data file is there, beside its script
    assert "BOB-SECRET-MARKER" not in output
    assert json.dumps(result.to_dict()).count("BOB-SECRET-MARKER") == 0


# ---- PyTorch (or any package) where the homework allows it ----------------------------------

@pytest.mark.slow
def test_a_missing_package_flags_the_target_for_a_human_instead_of_failing_it(grader, tmp_path):
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "part1.py").write_text(
        "import numpy as np\nimport dlgrade_absent_package as tp\n\n"
        "def softmax(x):\n    e = tp.exp(x - x.max(-1, keepdims=True))\n    return e / e.sum(-1, keepdims=True)\n")
    result = grader.grade(tmp_path / "h", {"softmax"})
    flagged = [c for c in result.checks if c.needs_human]
    assert flagged and all("dlgrade_absent_package" in c.hint for c in flagged)
    assert all(c.to_dict()["needs_human"] for c in flagged)
    assert any("package `dlgrade_absent_package`" in c.message for c in flagged)


@pytest.mark.slow
@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed (pip install 'dlgrade[torch]'); CI installs it")
def test_a_part1_function_written_with_pytorch_is_graded_like_the_rest(grader, tmp_path):
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "part1.py").write_text(
        "import numpy as np\nimport torch\n\n"
        "def softmax(x):\n    t = torch.as_tensor(np.asarray(x))\n"
        "    e = torch.exp(t - t.max(-1, keepdim=True).values)\n    return e / e.sum(-1, keepdim=True)\n")
    result = grader.grade(tmp_path / "h", {"softmax"})
    assert {c.id: c.passed for c in result.checks} == {"softmax.matches_tf": True, "softmax.last_axis": True,
                                                       "softmax.large_logits": True, "softmax.input_kinds": True,
                                                       "softmax.no_builtin": True}


def test_one_word_headings_name_sections():
    report = ("# My fit\n## Function\nI fit g of x, a cosine times x, between -2 and 2 because it wiggles.\n"
              "## Data\nTwo hundred evenly spaced inputs for training, fifty random ones for checking afterwards.\n"
              "## Model\nOne hidden layer of 80 units, trained by Adam for 2000 steps at 0.005.\n"
              "## Results\nThe final mean squared error is 0.0008 and both curves overlap.\n")
    assert writeup.judge([writeup.ReportText("README.md", report)]).missing == []


def test_a_report_appended_to_the_course_handout_gets_only_its_own_sections():
    own = "\n\n# 我的报告\n## 模型\n两层网络，隐藏层 50 个神经元，学习率 0.01，训练 3000 轮，最终 loss 0.0012。\n" + "补充说明 " * 30
    verdict = writeup.judge([writeup.ReportText("README.md", HANDOUT + own)])
    assert verdict.set_aside == [] and sorted(verdict.sections) == ["fitting result", "model description"]


def _notebook_cells(path: Path) -> list[tuple[str, str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [(c["cell_type"], "".join(c["source"])) for c in data["cells"] if c["cell_type"] in ("code", "markdown")]


def test_part2_gradient_checks_are_no_fit_but_a_fit_reusing_its_layers_is(tmp_path):
    part2 = _notebook_cells(Path("reference/tutorial_minst_fnn-numpy-exercise.ipynb"))
    checks = part2 + [("code", "x = np.random.normal(size=[5, 6])\nerror = np.sum((np.maximum(x, 0) - Relu().forward(x)) ** 2)")]
    assert _units(tmp_path, "part2.ipynb", notebook(checks)) == []
    fit = ("x_train = np.linspace(-2, 2, 100).reshape(-1, 1)\ny_train = np.sin(2 * x_train)\n"
           "W1 = np.random.normal(size=[1, 30])\nlayer, act = Matmul(), Relu()\n"
           "for step in range(10):\n    h = act.forward(layer.forward(x_train, W1))\n    loss = np.mean((h.sum(1, keepdims=True) - y_train) ** 2)\n")
    units = _units(tmp_path, "part2_and_fit.ipynb", notebook(checks + [("markdown", "## 函数拟合"), ("code", fit)]))
    assert len(units) == 1 and not units[0].whole_file
    sources = [units[0].file.cells[i].source for i in units[0].cells]
    assert sources[-1] == fit and len(sources) <= 2  # from after Part 2's own cells (its last check may come along)


@pytest.mark.slow
def test_a_grader_bug_while_finding_part4_costs_only_part4(grader, tmp_path, monkeypatch):
    def broken_locate(self, target, files, handin):
        raise RuntimeError("simulated grader bug")

    monkeypatch.setattr(FunctionFitting, "locate", broken_locate)
    folder = VARIANTS["numpy_script_report_md"].write(tmp_path / "h")
    (folder / "part1.py").write_text("import numpy as np\n\ndef sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n")
    result = grader.grade(folder, {"sigmoid", "function_fitting"})
    assert result.internal_errors == ["grader error while grading `function_fitting`: RuntimeError: simulated grader bug"]
    assert result.per_target()["sigmoid"][0] > 0 and result.per_target()["function_fitting"] == (0.0, 10.0)
