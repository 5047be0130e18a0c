"""Part 4's report, section by section, as a TA counts it: hand-ins of my own for each family of
issue 28 (a version that must be credited and a near miss that must not), in several styles, and
the evidence the check shows for each section.

Most read the report statically (the report check is judged in the grader, not in the sandbox):
`_check` locates the hand-in as a batch would and judges only the report check.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from grader.checks.fitting import FunctionFitting
from grader.config import load_config
from grader.fitting import formulas, writeup
from grader.fitting.formulas import CodeTarget
from grader.pipeline import load_sources
from grader.results import SubmissionResult
from grader.sandbox.jobs import Limits
from grader.targets import TARGETS
from tests.fitting_variants import HANDOUT

FUNCTION, DATA, MODEL, RESULT = writeup.SECTIONS

FIT = '''import numpy as np

def f(x):
    return {target}

x_train = np.linspace(-2, 2, 200).reshape(-1, 1)
y_train = f(x_train)
W1, b1 = np.random.randn(1, 32), np.zeros(32)
W2, b2 = np.random.randn(32, 1) * 0.1, np.zeros(1)
for step in range(10):
    hidden = np.maximum(0, x_train @ W1 + b1)
    loss = np.mean((hidden @ W2 + b2 - y_train) ** 2)
'''


def _notebook(path: Path, cells: list[tuple]) -> Path:
    """A notebook of (kind, source[, outputs]) cells; an output is "figure" or printed text."""
    def outputs(items):
        return [{"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": ["<Figure>"]},
                 "metadata": {}} if item == "figure" else {"output_type": "stream", "name": "stdout", "text": [item]}
                for item in items]
    body = [{"cell_type": "markdown", "metadata": {}, "source": cell[1]} if cell[0] == "markdown" else
            {"cell_type": "code", "metadata": {}, "execution_count": None, "source": cell[1],
             "outputs": outputs(cell[2] if len(cell) > 2 else [])} for cell in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": body, "metadata": {}, "nbformat": 4, "nbformat_minor": 4}), encoding="utf-8")
    return path


def _check(handin: Path):
    """The report check of a hand-in, judged without running anything (no PDF or Word in these)."""
    config = load_config()
    family = FunctionFitting(Limits(), config.fitting)
    located = family.locate(TARGETS["function_fitting"], load_sources(handin), handin)
    return family._report(located.report, None)


def _judge(text: str, name: str = "report.md", targets: list[CodeTarget] | None = None) -> writeup.ReportVerdict:
    return writeup.judge([writeup.ReportText(name, text)], targets)


def _evidence(verdict: writeup.ReportVerdict, section: str) -> writeup.Evidence:
    return next(item for item in verdict.evidence if item.section == section)


# ---- under-credited: a result given as a verdict in words ---------------------------------------

@pytest.mark.parametrize("text", [
    "## Result\nThe error on the test points printed below is small, and the two curves coincide in the figure.",
    "Result: the error on the test points printed below is small, and the two curves coincide in the figure.",
    "拟合效果：测试误差很小，见下图",
    "## 拟合效果\n- 网络较好地拟合了目标函数，预测曲线与真实曲线基本重合。",
    "4. 拟合效果：两层网络比一层网络拟合得更好。",
])
def test_a_result_given_as_a_verdict_in_words_counts(text):
    assert RESULT in _judge(text).sections


@pytest.mark.parametrize("text", [
    "## Result\nWe print the error on the test points below and draw both curves.",
    "拟合效果：下面输出测试误差并画出两条曲线。",
    "## 拟合效果\n用测试集验证拟合效果。",
])
def test_a_result_announced_but_not_shown_does_not_count(text):
    verdict = _judge(text)
    assert RESULT not in verdict.sections
    assert _evidence(verdict, RESULT).why  # the nearest candidate says why it did not count


# ---- under-credited: a definition in a numbered or bulleted list ---------------------------------

@pytest.mark.parametrize("text", [
    "1. 函数定义：y = x^3 + x，x ∈ [-1, 1]\n2. 数据采集：在区间上均匀取 200 个点",
    "1) Function: f(x) = x³ + x on [-1, 1]\n2) Data: 200 evenly spaced points",
    "- **目标函数**：$f(x)=x^{3}+x$",
    "（一）函数定义：y = x**3 + x",
])
def test_a_definition_in_a_list_counts(text):
    verdict = _judge(text, targets=[CodeTarget("x ** 3 + x", (-1.0, 1.0))])
    assert FUNCTION in verdict.sections, verdict.evidence


@pytest.mark.parametrize("text", ["1. 函数定义：自行定义一个函数，用 ReLU 网络拟合它", "1. Function definition: the function we fit"])
def test_a_list_item_that_only_names_the_function_does_not_count(text):
    verdict = _judge(text)
    assert FUNCTION not in verdict.sections and _evidence(verdict, FUNCTION).why


# ---- under-credited: numbered comments under one heading, a printed result ----------------------

NUMBERED = ("# 1) 目标函数：f(x) = cos(x) + 0.5x\ndef f(x):\n    return np.cos(x) + 0.5 * x\n\n"
            "# 2) 在 [-2, 2] 上采样训练集和测试集\nx_train = np.random.uniform(-2, 2, (200, 1))\n"
            "x_test = np.random.uniform(-2, 2, (50, 1))\ny_train = f(x_train)\n")
TRAINING = ("# 3) 训练\nW1, b1 = np.random.randn(1, 32), np.zeros(32)\nW2, b2 = np.random.randn(32, 1), np.zeros(1)\n"
            "for step in range(10):\n    hidden = np.maximum(0, x_train @ W1 + b1)\n"
            "    loss = np.mean((hidden @ W2 + b2 - y_train) ** 2)\n")
TESTED = ("# 5) 测试集上的误差\npred = np.maximum(0, x_test @ W1 + b1) @ W2 + b2\n"
          "print('test MSE', np.mean((pred - f(x_test)) ** 2))")


def test_numbered_comments_under_one_heading_give_three_sections(tmp_path):
    handin = tmp_path / "h"
    _notebook(handin / "relu_fit.ipynb", [("markdown", "# 实验"), ("code", "import numpy as np"), ("code", NUMBERED),
                                          ("code", TRAINING), ("code", TESTED, ["test MSE 0.0031\n"])])
    check = _check(handin)
    assert sorted(check.details["sections"]) == sorted([FUNCTION, DATA, RESULT]), check.details["evidence"]
    result = next(item for item in check.details["evidence"] if item["section"] == RESULT)
    assert "0.0031" in result["text"] and "cell 5" in result["where"]


def test_numbered_comments_are_headings_themselves_and_plain_comments_no_report(tmp_path):
    handin = tmp_path / "h"  # no markdown at all: each numbered comment heads its own section, as in a script
    _notebook(handin / "relu_fit.ipynb", [("code", "import numpy as np"), ("code", NUMBERED), ("code", TRAINING),
                                          ("code", TESTED)])
    assert sorted(_check(handin).details["sections"]) == sorted([FUNCTION, DATA])  # "5) 测试集上的误差": nothing printed
    plain = [re.sub(r"# \d\) ", "# ", code) for code in (NUMBERED, TRAINING, TESTED)]  # as ordinary code comments
    _notebook(handin / "relu_fit.ipynb", [("code", "import numpy as np"), ("code", plain[0]), ("code", plain[1]),
                                          ("code", plain[2], ["test MSE 0.0031\n"])])
    assert _check(handin).details["sections"] == {}
    _notebook(handin / "relu_fit.ipynb", [("markdown", "# 实验"), ("code", "import numpy as np"), ("code", TRAINING),
                                          ("code", TESTED)])  # under a heading, but nothing printed
    assert _check(handin).details["sections"] == {}


def test_a_figure_under_a_result_heading_counts_and_a_training_log_elsewhere_does_not(tmp_path):
    handin = tmp_path / "h"
    _notebook(handin / "fit.ipynb", [("markdown", "## 模型训练"),
                                     ("code", FIT.format(target="np.sin(x)"), ["step 9 loss 0.52\n"]),
                                     ("markdown", "## 拟合效果"), ("code", "plt.plot(x_train, y_train)", ["figure"])])
    check = _check(handin)
    assert list(check.details["sections"]) == [RESULT] and "figure" in check.details["sections"][RESULT]


# ---- under-credited: a title that gives the expression; a README the student edited -------------

@pytest.mark.parametrize("title, counted", [("# 用两层ReLU网络拟合 y=cos(x)", True),
                                            ("# Fitting y = cos x with a ReLU network", True),
                                            ("# 用两层ReLU网络拟合函数", False), ("# Fitting a function with ReLU", False)])
def test_a_notebook_title_that_gives_the_expression_defines_the_function(tmp_path, title, counted):
    handin = tmp_path / "h"
    _notebook(handin / "fit.ipynb", [("markdown", title), ("code", FIT.format(target="np.cos(x)"))])
    assert (FUNCTION in _check(handin).details["sections"]) is counted


def test_a_readme_the_student_edited_counts_for_the_students_line_only(tmp_path):
    handin = tmp_path / "h"
    handin.mkdir()
    (handin / "fit.py").write_text(FIT.format(target="np.sin(x) + x ** 2"), encoding="utf-8")
    (handin / "README.md").write_text(HANDOUT + "\n本次拟合的函数是 y = sin(x) + x^2。\n", encoding="utf-8")
    check = _check(handin)
    assert list(check.details["sections"]) == [FUNCTION] and check.details["set_aside"] == []
    assert "sin(x) + x^2" in check.details["sections"][FUNCTION]
    (handin / "README.md").write_text(HANDOUT + "\n我的作业，见代码。\n", encoding="utf-8")
    check = _check(handin)
    assert check.details["sections"] == {} and check.details["set_aside"] == ["README.md"]
    assert any("handout" in item["why"] or "rules" in item["why"] for item in check.details["evidence"])


# ---- over-credited: headings over code that only labels ------------------------------------------

LABELLED = [("markdown", "## Target Function"),
            ("code", 'def f(x):\n    """This is the function to fit."""\n    return np.sin(x)'),
            ("markdown", "## Dataset"),
            ("code", "x_train = np.linspace(-3, 3, 100).reshape(-1, 1)\ny_train = f(x_train)"),
            ("markdown", "## Model"), ("code", 'def forward(x):\n    """Two-layer network with ReLU."""\n'
                                               '    return np.maximum(0, x @ W1 + b1) @ W2 + b2')]
GIVEN = [("markdown", "## Target Function"),
         ("code", 'def f(x):\n    """f(x) = sin(x), fitted on [-3, 3]."""\n    return np.sin(x)'),
         ("markdown", "## Dataset"),
         ("code", "# 100 evenly spaced training points on [-3, 3]\nx_train = np.linspace(-3, 3, 100)"),
         ("markdown", "## Model"),
         ("code", 'def forward(x):\n    """Linear(1, 64) -> ReLU -> Linear(64, 1), trained with Adam."""\n'
                                            '    return np.maximum(0, x @ W1 + b1) @ W2 + b2')]
TRAIN = ("code", "import numpy as np\nW1, b1 = np.random.randn(1, 64), np.zeros(64)\n"
                 "W2, b2 = np.random.randn(64, 1), np.zeros(1)\n"
                 "for step in range(5):\n    loss = np.mean((forward(x_train) - y_train) ** 2)")


def test_headings_over_code_whose_docstrings_only_label_give_nothing(tmp_path):
    handin = tmp_path / "h"
    _notebook(handin / "fit.ipynb", [("code", "import numpy as np")] + LABELLED + [TRAIN])
    check = _check(handin)
    assert check.details["sections"] == {}
    why = {item["section"]: item["why"] for item in check.details["evidence"]}
    assert why[MODEL] == "restates the task" and why[DATA] == "heading without content"
    assert "without giving it" in why[FUNCTION]


def test_headings_over_docstrings_that_give_the_content_count(tmp_path):
    handin = tmp_path / "h"
    _notebook(handin / "fit.ipynb", [("code", "import numpy as np")] + GIVEN + [TRAIN])
    assert sorted(_check(handin).details["sections"]) == sorted([FUNCTION, DATA, MODEL])


@pytest.mark.parametrize("text, counted", [
    ("## 模型描述\n两层 ReLU 神经网络。", False),
    ("## 模型描述\n基于 ReLU 的两层神经网络，用来拟合函数。", False),
    ("## 模型描述\n两层 ReLU 网络，隐藏层 64 个神经元，Adam 优化，学习率 0.01。", True),
    ("## 数据采集\n我们从函数上取一些点，分成训练集和测试集。", False),
    ("## 数据采集\n在 [-3, 3] 上均匀采样 500 个点作训练集，另取 100 个点作测试集。", True),
])
def test_the_task_said_again_is_no_content(text, counted):
    section = MODEL if "模型" in text else DATA
    verdict = _judge(text)
    assert (section in verdict.sections) is counted
    if not counted:
        assert _evidence(verdict, section).why == "restates the task"


# ---- over-credited: a formula of another function than the code fits -----------------------------

@pytest.mark.parametrize("formula, fitted, counted", [
    ("目标函数：$f(x) = \\sin(x)$", "np.cos(x)", False),
    ("目标函数：$f(x) = \\cos x$", "np.cos(x)", True),
    ("Target: y = 0.5x^2 + \\frac{\\sin x}{2}", "0.5 * x ** 2 + np.sin(x) / 2", True),
    ("Target: y = x^3", "x ** 2", False),
    ("目标函数 y = x·sin(x) + cos(2x)", "x * np.sin(x) + np.cos(2 * x)", True),
    ("目标函数 y = 3x^2 + 2", "x ** 2", True),  # the same function up to scale and offset: not another one
    ("目标函数 y = 2 sin(x)", "np.sin(x) * scale", True),  # the code's target cannot be evaluated: unsure, not held against
])
def test_a_formula_is_compared_with_the_fitted_function(formula, fitted, counted):
    verdict = _judge(formula, targets=[CodeTarget(fitted, (-2.0, 2.0))])
    assert (FUNCTION in verdict.sections) is counted
    if not counted:
        assert _evidence(verdict, FUNCTION).why.startswith("formula differs from the fitted function y = ")


def test_a_markdown_formula_of_another_function_end_to_end(tmp_path):
    handin = tmp_path / "h"
    _notebook(handin / "fit.ipynb", [("markdown", "## 函数定义\n我们拟合 $f(x) = e^{-x^2}$。"),
                                     ("code", FIT.format(target="np.sin(3 * x)"))])
    evidence = _check(handin).details["evidence"]
    assert not evidence[0]["counted"] and "sin(3 * x)" in evidence[0]["why"]
    assert evidence[0]["where"] == "fit.ipynb, cell 1"


def test_formulas_are_read_in_every_notation_and_never_run():
    assert formulas.written("f(x) = (3cos x+4sin x)/(5e^x+1)") == ["(3*cos(x)+4*sin(x))/(5*exp(x)+1)"]
    assert formulas.written("$y = \\frac{\\sin(2\\pi x)}{2} + x^{2}$") == ["((sin(2*pi*x))/(2)) + x**(2)"]
    model = "y = W2 relu(W1 x + b1) + b2"
    assert formulas.written(model) == [] and formulas.names_weights(model)
    assert formulas.written("y = __import__('os').system('echo hi')") == []
    assert formulas.same("9 ** 9 ** 9 * x", CodeTarget("x")) is None  # a power beyond the small language


# ---- reports in other places: files, documents, scripts ------------------------------------------

def test_a_pdf_whose_equation_or_figure_was_lost_counts_with_a_caveat():
    text = "2. 函数定义\n我们定义的目标函数如下：\n3. 数据采集\n在 [-1, 1] 上随机生成 1000 个训练样本。\n5. 拟合效果\n图 1 拟合结果对比"
    verdict = _judge(text, "report.pdf")
    assert sorted(verdict.sections) == sorted([FUNCTION, DATA, RESULT])
    lost = _evidence(verdict, FUNCTION)
    assert lost.short and "extracted text" in lost.why and lost.where == "report.pdf, line 2"
    assert FUNCTION not in _judge(text, "report.md").sections  # in markdown nothing was lost: nothing is there


def test_a_plain_text_report_and_a_script_docstring_count_alike(tmp_path):
    report = ("Function definition\nf(x) = |x| - 0.5x on [-2, 2]\nData collection\n300 uniform random points\n"
              "Model description\nhidden layer of 40 ReLU units, SGD with lr 0.05\n"
              "Fitting result\nMSE on the test set is 0.004\n")
    assert _judge(report, "report.txt").missing == []
    handin = tmp_path / "h"
    handin.mkdir()
    script = '"""' + report + '"""\n' + FIT.format(target="np.abs(x) - 0.5 * x")
    (handin / "fit.py").write_text(script, encoding="utf-8")
    check = _check(handin)
    assert check.details["missing"] == [] and check.credit == 1.0
    assert check.details["evidence"][0]["where"].startswith("fit.py, line ")


# ---- the evidence -----------------------------------------------------------------------------

def test_the_evidence_quotes_each_line_and_says_why_the_missing_did_not_count(tmp_path):
    handin = tmp_path / "h"
    handin.mkdir()
    (handin / "fit.py").write_text(FIT.format(target="np.sin(x)"), encoding="utf-8")
    (handin / "report.md").write_text("# 报告\n\n## 函数定义\n$y = \\sin(x)$\n\n## 数据采集\n\n## 模型描述\n两层ReLU网络\n\n"
                                      "## 拟合效果\n测试集上 MSE 为 0.002，预测曲线与真实曲线基本重合，见下图。\n", encoding="utf-8")
    check = _check(handin)
    evidence = {item["section"]: item for item in check.details["evidence"]}
    assert evidence[FUNCTION] == {"section": FUNCTION, "counted": True, "where": "report.md, line 4",
                                  "text": "$y = \\sin(x)$", "why": "", "short": True, "file": "report.md", "line": 4,
                                  "cell": 0}
    assert evidence[DATA]["why"] == "heading without content" and evidence[DATA]["where"] == "report.md, line 6"
    assert evidence[MODEL]["why"] == "restates the task" and evidence[MODEL]["text"] == "两层ReLU网络"
    assert evidence[RESULT]["counted"] and not evidence[RESULT]["short"]
    assert 'function definition rests on one line only, a short one (report.md, line 4: "$y = \\sin(x)$")' in check.message
    json.dumps(check.to_dict())  # plain JSON


def test_the_report_page_and_the_review_page_show_the_evidence_escaped(tmp_path):
    from grader.report.html import submission_page

    handin = tmp_path / "h"
    handin.mkdir()
    (handin / "fit.py").write_text(FIT.format(target="np.sin(x)"), encoding="utf-8")
    (handin / "report.md").write_text("## 函数定义\ny = sin(x) <script>alert(1)</script>\n", encoding="utf-8")
    page = submission_page(SubmissionResult("h", [_check(handin)]).to_dict())
    assert 'id="report-evidence"' in page and "report.md, line 2" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


@pytest.mark.parametrize("text, section, counted", [
    ("## 数据\n训练集用 `np.linspace(-3, 3, 200)` 生成。", DATA, True),  # inline code in a sentence is its words
    ("## Results\nThe loss function is MSE and the optimizer Adam with learning rate 0.001.", RESULT, False),
    ("## Results\nThe MSE on the test set is 0.004.", RESULT, True),
    ("## 拟合效果\n每 100 轮打印一次 loss。", RESULT, False),
    ("## 拟合效果\n训练 100 轮后 loss 降到 0.02。", RESULT, True),
    ("**Model.** Two-layer network with ReLU.", MODEL, False),
    ("**Model.** One hidden layer of 64 ReLU units.", MODEL, True),
])
def test_what_shows_a_section_and_what_only_names_it(text, section, counted):
    assert (section in _judge(text).sections) is counted


@pytest.mark.slow
def test_numbered_comments_and_a_printed_result_end_to_end(grader, tmp_path):
    handin = tmp_path / "h"
    _notebook(handin / "relu_fit.ipynb", [("markdown", "# 用两层ReLU网络拟合 y = cos(x) + 0.5x"),
                                          ("code", "import numpy as np"), ("code", NUMBERED), ("code", TRAINING),
                                          ("code", TESTED, ["test MSE 0.0031\n"])])
    report = next(c for c in grader.grade(handin, {"function_fitting"}).checks if c.id == "function_fitting.report")
    assert sorted(report.details["sections"]) == sorted([FUNCTION, DATA, RESULT]) and report.credit == 0.75
    evidence = {item["section"]: item for item in report.details["evidence"]}
    assert evidence[FUNCTION]["where"] == "relu_fit.ipynb, cell 1" and "0.0031" in evidence[RESULT]["text"]
    assert not evidence[MODEL]["counted"] and evidence[MODEL]["why"]


@pytest.mark.parametrize("text", ["拟合效果：用测试集检验拟合效果的好坏。", "## 拟合效果\n最后看看网络是否拟合得很好。",
                                  "## Result\nWe check how well the curves match."])
def test_a_question_about_the_fit_is_no_verdict(text):
    assert RESULT not in _judge(text).sections


def test_the_text_of_parts_1_to_3_before_a_fit_in_the_same_notebook_is_no_report_of_it(tmp_path):
    handin = tmp_path / "h"
    mnist = ("import numpy as np\n(x, y), _ = tf.keras.datasets.mnist.load_data()\n"
             "def softmax(z):\n    return np.exp(z) / np.exp(z).sum(-1, keepdims=True)")
    _notebook(handin / "exercise.ipynb", [("markdown", "## 建立模型\n两层网络，隐藏层 100 个神经元，Adam 优化，学习率 0.001。"),
                                          ("code", mnist), ("markdown", "## 函数拟合\n目标函数为 y = sin(x)。"),
                                          ("code", FIT.format(target="np.sin(x)"))])
    check = _check(handin)
    assert list(check.details["sections"]) == [FUNCTION], check.details["evidence"]
    assert check.details["sections"][FUNCTION].startswith("exercise.ipynb, cell 3")


# ---- reports in other styles: no headings, tables, run-in labels, full width, scripts ---------------

SIN = [CodeTarget("np.sin(x)", (-4.0, 4.0))]


@pytest.mark.parametrize("text, fitted", [
    ("I fit f(x) = sin(2x) on [-π, π] with 200 uniform samples; the network has one hidden layer of 64 ReLU units "
     "trained with Adam for 2000 epochs; test MSE was 3e-4.", "np.sin(2 * x)"),
    ("For this exercise I chose the Gaussian bump exp(-x^2).\n\nI drew a thousand inputs uniformly from -3 to 3 and "
     "kept a fifth of them aside.\n\nThe net is Linear(1,100)-ReLU-Linear(100,1), optimised with Adam.\n\n"
     "On the held-out inputs the mean squared error came out at 0.0007.", "np.exp(-x ** 2)"),
    ("- target function f(x) = exp(-x^2) on [-2, 2]\n- 1000 training samples drawn uniformly and 200 test samples\n"
     "- one hidden layer with 50 ReLU neurons trained by SGD\n- the predicted curve coincides with the true one",
     "np.exp(-x ** 2)"),
    ("| Setting | Value |\n|---|---|\n| Target | y = x^2 sin(x) |\n| Training points | 400, uniformly random |\n"
     "| Hidden units | 128 (ReLU) |\n| Test MSE | 0.0021 |", "x ** 2 * np.sin(x)"),
    ("函数：y=|x|\n数据：[-1,1] 区间内 300 个点\n网络：隐层 16 个神经元\n效果：两条曲线基本重合，拟合得不错", "np.abs(x)"),
    ("**Function** y = sin x + 0.1x^2\n\n**Data** 600 points, uniformly random on [-6, 6]\n\n"
     "**Model** 256 hidden units, RMSprop\n\n**Result** The network reproduces the target closely on the test points.",
     "np.sin(x) + 0.1 * x ** 2"),
    ("## Function\n$$y = x^3 - 2x$$\n## Data\n$$x_i \\sim U(-2, 2),\\quad i = 1, \\dots, 800$$\n"
     "## Model\n$$W_1 \\in \\mathbb{R}^{32\\times 1}$$ trained with Adam.\n"
     "## Result\n$$\\mathrm{MSE}_{test} = 2.1\\times 10^{-4}$$",
     "x ** 3 - 2 * x"),
    ("一、函数定义：本实验拟合的函数为 ｙ＝ｘ³－２ｘ，定义域［－２，２］。\n二、数据采集：在［－２，２］上均匀随机采样１０００个点。\n"
     "三、模型描述：隐藏层６４个神经元，优化器Ａｄａｍ。\n四、拟合效果：测试集均方误差为０．０００８。", "x ** 3 - 2 * x"),
    ("1. f(x) = x*cos(x)\n2. 400 points from np.random.rand scaled to [-3, 3]\n3. two hidden layers (64, 64), Adam\n"
     "4. The network learned the function almost perfectly.", "x * np.cos(x)"),
    ("## Setup\nThe target is the cubic y = 0.5x^3 - x. Inputs are 512 points on a regular grid over [-2, 2].\n"
     "## Network\nA 1-128-1 perceptron, full-batch gradient descent.\n## Outcome\nTest RMSE: 0.013.", "0.5 * x ** 3 - x"),
    ("目标函数选的是 cos(2x)。\n训练数据是 [-3, 3] 上等间距的 600 个点。\n我用 PyTorch 搭了一个 1→64→1 的网络，优化器 SGD。\n"
     "测试集 R² = 0.998。", "np.cos(2 * x)"),
])
def test_clear_reports_in_other_styles_give_all_four(text, fitted):
    verdict = _judge(text, targets=[CodeTarget(fitted, (-2.0, 2.0))])
    assert verdict.missing == [], [(e.section, e.text, e.why) for e in verdict.evidence]


@pytest.mark.parametrize("text, section", [
    ("## Report\nWe use a two-layer ReLU network to fit a function, sample a training set and a test set, "
     "and check the fit on the test set.", None),
    ("## Function definition\nTODO\n## Data collection\nTODO\n## Model description\nTODO\n"
     "## Fitting result\nTODO", None),
    ("## Result\nThe model's test MSE is 0.002.", MODEL),  # a metric's value is the result, not the model's loss
    ("## Result\nThe loss decreased during training.", RESULT),  # training ran: how well it fits is not said
    ("## 拟合效果\n训练过程中 loss 逐渐收敛。", RESULT),
    ("## Result\nThe figure below compares the prediction with the target.", RESULT),
    ("## Result\nIdeally the prediction should match the target closely.", RESULT),  # a hope, not a verdict
    ("## Result\nThe network learned the function.", RESULT),  # that it ran, not how well
    ("## 拟合效果\n希望预测曲线与真实曲线重合。", RESULT),
    ("一、函数定义：ｙ＝ｘ²＋１", FUNCTION),  # full width read as ASCII: then compared, and it is another function
])
def test_reports_that_only_seem_to_give_a_section(text, section):
    verdict = _judge(text, targets=SIN)
    assert verdict.sections == {} if section is None else section not in verdict.sections


@pytest.mark.parametrize("heading, counted", [("## Visualisation", True), ("## 可视化对比", True), ("## Training", False)])
def test_a_figure_under_a_plot_heading_is_the_result(tmp_path, heading, counted):
    handin = tmp_path / "h"
    _notebook(handin / "fit.ipynb", [("markdown", "## Function\ny = x^2"), ("code", FIT.format(target="x ** 2")),
                                     ("markdown", heading), ("code", "plt.plot(x_train, y_train)", ["figure"])])
    assert (RESULT in _check(handin).details["sections"]) is counted


@pytest.mark.parametrize("text, fitted, counted", [
    ("A sine wave, sin(x), was approximated.", "np.sin(x)", True),  # a sentence stating what was fitted names it
    ("## 函数定义\n我们拟合一个正弦函数。", "np.sin(2 * x)", True),
    ("## 函数定义\n我们拟合一个正弦函数。", "x ** 2", False),  # the kind named is not the one the code fits
    ("## Function\nAn exponential function.", "np.exp(-x) + 1", True),
    ("## Function\nAn exponential function.", "np.abs(x)", False),
    ("## 函数定义\n一个三次多项式。", "np.sin(x)", True),  # polynomial kinds are not compared: unsure, not held against
])
def test_a_kind_of_function_in_words_is_compared_with_the_fitted_one(text, fitted, counted):
    verdict = _judge(text, targets=[CodeTarget(fitted, (-2.0, 2.0))])
    assert (FUNCTION in verdict.sections) is counted
    if not counted:
        assert _evidence(verdict, FUNCTION).why.startswith("the kind of function named differs from the fitted function")


def test_data_with_points_and_a_title_naming_the_homework_are_no_rules():
    text = ("Homework 4: fitting g(x) = 1/(1+x^2) with ReLU nets.\n"
            "We sample 256 points evenly on [-5, 5] for training and 64 random points for testing.")
    assert sorted(_judge(text).sections) == sorted([FUNCTION, DATA])
    rules = _judge("Homework 4: function fitting.\nThe report (5 points) must contain the data collection.")
    assert rules.sections == {} and {e.why for e in rules.evidence if e.text} == {"the course's rules"}
    assert DATA in _judge("## 数据采集\n按 8:2 分为训练集和测试集。").sections  # "2 分为" is no grade


SCRIPT = ("import numpy as np\n\n# 1) 目标函数: f(x) = cos(x) + 0.5x\ndef f(x):\n    return np.cos(x) + 0.5 * x\n\n"
          "# 2) 数据: 在 [-2, 2] 上均匀采样 400 个训练点, 另取 100 个测试点\nx_train = np.random.uniform(-2, 2, (400, 1))\n"
          "y_train = f(x_train)\n\n# 3) 模型: 1-64-1 的 ReLU 网络, 学习率 0.01, 训练 3000 轮\n"
          "W1, b1 = np.random.randn(1, 64), np.zeros(64)\nW2, b2 = np.random.randn(64, 1), np.zeros(1)\n"
          "for step in range(10):\n    loss = np.mean((np.maximum(0, x_train @ W1 + b1) @ W2 + b2 - y_train) ** 2)\n\n"
          "# 4) 结果: 打印测试集 MSE 并画图\nprint('test mse', loss)\n")


@pytest.mark.parametrize("script, sections", [
    # numbered comments head their sections, as markdown headings do; the result is only announced
    (SCRIPT, [FUNCTION, DATA, MODEL]),
    (SCRIPT.replace("# 1) ", "# ").replace("# 2) 数据: ", "# ").replace("# 3) 模型: ", "# ").replace("# 4) ", "# "), []),
    ("import numpy as np\n# ===== Data =====\n# 300 evenly spaced points on [-2, 2]\nx = np.linspace(-2, 2, 300)\n"
     + FIT.format(target="np.sin(x)"), [DATA]),
    ("import numpy as np\n# 1. 定义目标函数\ndef f(x):\n    return np.sin(x)\n# 2. 生成训练数据和测试数据\n"
     "x = np.linspace(-3, 3, 100)\n# 3. 构建两层 ReLU 网络\nW1 = np.random.randn(1, 32)\n", []),  # labels only
    # a docstring is prose the student wrote: it counts without a heading, when it gives the content
    ('import numpy as np\n\ndef target(x):\n    """Target: f(x) = sin(x) + 0.3x, fitted on [-4, 4]."""\n'
     '    return np.sin(x) + 0.3 * x\n\ndef make_data():\n    """800 training points, 200 test points, uniform."""\n'
     "    return np.random.uniform(-4, 4, (1000, 1))\n" + FIT.format(target="np.sin(x) + 0.3 * x"), [FUNCTION, DATA]),
    ('import numpy as np\n\ndef target(x):\n    """The function to fit."""\n    return np.sin(x)\n\n'
     'def make_data():\n    """Make the training and test sets."""\n    return np.random.uniform(-4, 4, (1000, 1))\n'
     + FIT.format(target="np.sin(x)"), []),
])
def test_a_scripts_comments_count_under_a_numbered_or_banner_heading(tmp_path, script, sections):
    handin = tmp_path / "h"
    handin.mkdir()
    (handin / "fit.py").write_text(script, encoding="utf-8")
    check = _check(handin)
    assert sorted(check.details["sections"]) == sorted(sections), check.details["evidence"]
    if FUNCTION in sections and MODEL in sections:
        assert check.details["sections"][FUNCTION].startswith("fit.py, line 3:")
        assert check.details["used"] == ["fit.py (comments)"]
        result = next(item for item in check.details["evidence"] if item["section"] == RESULT)
        assert result["where"] == "fit.py, line 17" and result["why"].startswith("announces the result without")


def test_the_evidence_quotes_a_full_width_line_as_written():
    verdict = _judge("一、函数定义：ｙ＝ｘ³－２ｘ，定义域［－２，２］。", targets=[CodeTarget("x ** 3 - 2 * x", (-2.0, 2.0))])
    assert _evidence(verdict, FUNCTION).text == "一、函数定义：ｙ＝ｘ³－２ｘ，定义域［－２，２］。"


# ---- a function's domain is not the data; sizes written with arrows are the model -------------------

@pytest.mark.parametrize("text", [
    "## 函数定义\n目标函数是 $f(x) = \\sin(x)$，定义在区间 $[-\\pi, \\pi]$ 上。\n",
    "## Function\nThe target is f(x) = x^2 on the interval [-3, 3].\n",
])
def test_the_domain_of_the_function_alone_is_no_data_collection(text):
    assert list(_judge(text).sections) == [writeup.FUNCTION]


@pytest.mark.parametrize("text", [
    "## Data\n300 points drawn uniformly on the interval [-3, 3].\n",
    "## 数据采集\n在区间 [-3, 3] 上均匀采样 300 个点。\n",
])
def test_data_drawn_on_an_interval_is_data_collection(text):
    assert list(_judge(text).sections) == [writeup.DATA]


@pytest.mark.parametrize("line", ["NumPy: 1 -> 50 (ReLU) -> 1, x and y standardised.", "网络结构 1→30（ReLU）→1。",
                                  "A 1-64-1 network."])
def test_layer_sizes_with_arrows_and_the_activation_between_them_describe_the_model(line):
    assert list(_judge(f"## Model\n{line}\n").sections) == [writeup.MODEL]


def test_a_model_heading_over_the_network_restated_is_no_description():
    assert not _judge("## Model\nA two-layer network with ReLU.\n").sections
