"""Feedback in Chinese: the catalog is complete and current, the language is chosen as documented,
and a buggy hand-in graded in Chinese gets Chinese messages and hints for every failed check, worded
in the parent and in the sandboxed child alike, while ids and check names stay English."""

from __future__ import annotations

import ast
import gettext
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader import i18n
from grader.batch import BatchSettings
from grader.config import ConfigError, load_config
from grader.sandbox.jobs import reports_timeout
from grader.report.html import submission_page
from grader.report.write import write_reports
from tests.conftest import FAST, REPO
from tests.test_browser import CHROMIUM, chromium
from tests.fitting_variants import _numpy, _uncommented
from tests.helpers import write_handin
from tests.mnist_variants import NUMPY_BUGGY, TF_BUGGY

babel = pytest.importorskip("babel", reason="Babel extracts the messages: pip install '.[test]'")
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir  # noqa: E402
from babel.messages.frontend import parse_mapping_cfg  # noqa: E402
from babel.messages.pofile import read_po  # noqa: E402

KEYWORDS = dict(DEFAULT_KEYWORDS, tr=None, ntr=(1, 2))  # as reference/update_catalog.sh passes them (-k tr -k ntr:1,2)
PO = REPO / "grader" / "locale" / "zh" / "LC_MESSAGES" / "dlgrade.po"
MO = PO.with_suffix(".mo")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\(\w+\)[sd]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CODE = re.compile(r"`[^`]*`")
_PYTHON_ERROR = re.compile(r"\b[A-Z]\w*(Error|Exception|Exit)\b[^（）；\n]*")  # a quoted Python exception text
_ENGLISH_RUN = re.compile(r"\b[A-Za-z]{2,}\b(?:[ ,;:]+\b[A-Za-z]{2,}\b){2,}")


def message_ids(root: Path) -> set[str | tuple[str, str]]:
    """Every message `pybabel extract` finds under `root` with the project's mapping (babel.cfg)."""
    with open(REPO / "babel.cfg", encoding="utf-8") as mapping:
        method_map, options_map = parse_mapping_cfg(mapping)
    return {message for _file, _line, message, _comments, _context
            in extract_from_dir(str(root), method_map, options_map, keywords=KEYWORDS)}


def untranslated(ids: set, po: Path) -> list[str]:
    """What a catalog lacks for `ids`: missing, empty or fuzzy translations, or ones whose
    placeholders differ from the English (a KeyError when the message is worded)."""
    catalog = read_po(po.open("rb"))
    problems = []
    for message_id in sorted(ids, key=str):
        entry = catalog.get(message_id)
        english = message_id[0] if isinstance(message_id, tuple) else message_id
        strings = [s for s in (entry.string if entry and isinstance(entry.string, tuple) else [entry and entry.string])]
        if entry is None or not all(strings) or entry.fuzzy:
            problems.append(f"no translation: {english!r}")
        elif any(sorted(set(_PLACEHOLDER.findall(s))) != sorted(set(_PLACEHOLDER.findall(english))) for s in strings):
            problems.append(f"placeholders differ: {english!r}")
    return problems


def english_left(text: str) -> list[str]:
    """English sentences in a Chinese message: runs of three or more English words, once code in
    backticks and quoted Python exception texts (which stay as Python printed them) are removed."""
    return _ENGLISH_RUN.findall(_PYTHON_ERROR.sub("", _CODE.sub("", text)))


@pytest.fixture
def chinese():
    i18n.use("zh")
    yield
    i18n.use("en")


# -- the catalog --------------------------------------------------------------------------------

def test_every_message_of_the_code_and_templates_has_a_chinese_translation():
    ids = message_ids(REPO)
    assert len(ids) > 300, "the extraction found too few messages: is babel.cfg's mapping right?"
    assert untranslated(ids, PO) == []


def test_the_completeness_check_catches_a_new_english_message(tmp_path):
    (tmp_path / "grader" / "report" / "templates").mkdir(parents=True)
    (tmp_path / "grader" / "new_check.py").write_text(
        'from grader.i18n import _, tr\nHINT = _("a brand-new hint nobody translated")\n'
        'MESSAGE = tr("the sum is {total}", total=3)\n', encoding="utf-8")
    (tmp_path / "grader" / "report" / "templates" / "page.html.j2").write_text(
        '<p>{{ _("a brand-new heading") }}</p>', encoding="utf-8")
    problems = untranslated(message_ids(tmp_path), PO)
    assert problems == ["no translation: 'a brand-new heading'", "no translation: 'a brand-new hint nobody translated'",
                        "no translation: 'the sum is {total}'"]


def test_the_shipped_mo_file_is_compiled_from_the_current_po():
    compiled = gettext.GNUTranslations(MO.open("rb"))
    catalog = read_po(PO.open("rb"))
    stale = [entry.id for entry in catalog if entry.id and not isinstance(entry.id, tuple)
             and compiled.gettext(entry.id) != entry.string]
    assert stale == [], "run reference/update_catalog.sh to compile the catalog again"


def test_no_function_hides_the_translation_function_behind_a_throwaway_variable():
    """`for _ in ...` or `a, _ = ...` in a function that also calls `_()` breaks it at run time."""
    shadowing = []
    for path in sorted((REPO / "grader").rglob("*.py")):
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            nodes = list(ast.walk(function))
            binds = any(isinstance(n, ast.Name) and n.id == "_" and isinstance(n.ctx, ast.Store) for n in nodes)
            calls = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "_" for n in nodes)
            if binds and calls:
                shadowing.append(f"{path.relative_to(REPO)}: {function.name}")
    assert shadowing == []


def test_the_english_detector_tells_a_chinese_message_from_an_english_one():
    assert english_left("在 10x5 float64 ndarray 输入上：应为 2.24，实际得到 1.69（绝对误差 0.55）") == []
    assert english_left("运行 `softmax` 时出错：ValueError at cell 3, line 2: operands could not be broadcast") == []
    assert english_left("在 10x5 输入上：expected a scalar, got shape (3,)") != []


# -- choosing the language ----------------------------------------------------------------------

@pytest.mark.parametrize("flag, configured, environ, expected", [
    (None, None, {}, "en"),
    (None, None, {"LANG": "zh_CN.UTF-8"}, "zh"),
    (None, None, {"LANG": "zh_TW.UTF-8"}, "zh"),
    (None, None, {"LANG": "en_US.UTF-8"}, "en"),
    (None, None, {"LC_ALL": "C.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),  # LC_ALL wins over LANG, as in gettext
    (None, None, {"LANGUAGE": "zh_CN:en", "LANG": "en_US.UTF-8"}, "zh"),
    (None, "zh", {"LANG": "en_US.UTF-8"}, "zh"),
    ("en", "zh", {"LANG": "zh_CN.UTF-8"}, "en"),
    ("zh", None, {}, "zh"),
])
def test_the_flag_beats_the_course_file_which_beats_the_locale(flag, configured, environ, expected):
    assert i18n.resolve(flag, configured, environ) == expected


def test_the_course_file_sets_the_language_and_rejects_an_unknown_one(tmp_path):
    course = tmp_path / "dlgrade.toml"
    course.write_text('language = "zh"\n[points]\n"softmax.matches_tf" = 4\n', encoding="utf-8")
    assert load_config(course).language == "zh"
    course.write_text('language = "fr"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="language = 'fr'"):
        load_config(course)
    assert load_config().language is None


def test_the_language_is_not_part_of_the_grade_but_is_part_of_the_stored_messages_key(tmp_path):
    config = load_config()
    english, chinese = BatchSettings(targets=("softmax",), config=config), BatchSettings(targets=("softmax",),
                                                                                          config=config, language="zh")
    assert english.key() != chinese.key()
    plain, worded = tmp_path / "plain.toml", tmp_path / "worded.toml"
    plain.write_text('[points]\n"softmax.matches_tf" = 6\n', encoding="utf-8")
    worded.write_text('language = "zh"\n[points]\n"softmax.matches_tf" = 6\n', encoding="utf-8")
    assert load_config(worded).fingerprint() == load_config(plain).fingerprint() != config.fingerprint()


def test_a_timeout_is_recognised_in_either_language(chinese):
    for cap in (i18n.tr("timed out after {seconds:g} s of CPU ({wall:.0f} s wall)", seconds=3, wall=7),
                i18n.tr("timed out at the wall-time backstop of {seconds:g} s, having used {cpu:.1f} s of CPU: it was "
                        "sleeping or waiting", seconds=12, cpu=0.1)):
        assert "timed out" not in cap  # worded in Chinese
        assert reports_timeout(i18n.tr("while running `{target}` the process {what}", target="softmax", what=cap))
    assert reports_timeout(i18n._("the hand-in's wall-time limit ran out before this finished (see --handin-timeout)"))
    assert not reports_timeout(i18n._("returned None"))


# -- grading in Chinese -------------------------------------------------------------------------

BUGGY_PART1 = {
    "softmax": "def softmax(x):\n    e = tf.exp(x)\n    return e / tf.reduce_sum(e, axis=-1, keepdims=True)",
    "sigmoid": "def sigmoid(x):\n    return 1 / (1 + tf.exp(x))",
    "softmax_ce": "def softmax_ce(x, label):\n    p = tf.nn.softmax(x)\n"
                  "    return -tf.reduce_mean(tf.reduce_sum(label * tf.math.log(p), axis=-1))",
    "sigmoid_ce": "def sigmoid_ce(x, label):\n    return -tf.reduce_mean(label * tf.math.log(x))",
}
BUGGY_MATMUL = '''class Matmul:
    def __init__(self):
        self.mem = {}

    def forward(self, x, W):
        self.mem = {"x": x, "W": W}
        return np.matmul(x, W)

    def backward(self, grad_y):
        x, W = self.mem["x"], self.mem["W"]
        return np.matmul(grad_y, W.T) / len(x), np.matmul(x.T, grad_y) / len(x)
'''
BUGGY_RELU = '''class Relu:
    def __init__(self):
        self.mem = {}

    def forward(self, x):
        self.mem["x"] = x
        return np.maximum(x, 0)

    def backward(self, grad_y):
        return grad_y * (self.mem["x"] < 0)
'''
CRASHING_SIGMOID = "import not_a_real_package_xyz\ndef sigmoid(x):\n    return not_a_real_package_xyz.sigmoid(x)"


def buggy_class_handin(folder: Path) -> Path:
    """A hand-in with a bug in every part: Part 1's four functions, both layers, both MNIST models,
    and a Part-4 fit that never trains, has no comment and no report."""
    numpy_edits, _, _ = NUMPY_BUGGY["sign_error_in_backward_chain"]
    tf_edits, _, _ = TF_BUGGY["returns_probabilities"]
    write_handin(folder, numpy_edits + tf_edits, Matmul=BUGGY_MATMUL, Relu=BUGGY_RELU, **BUGGY_PART1)
    (folder / "fit_relu.py").write_text(_uncommented(_numpy(epochs=0)), encoding="utf-8")
    return folder


def assert_chinese(checks: list[dict]) -> None:
    failed = [c for c in checks if not c["passed"]]
    assert failed
    for check in failed:
        for text in (check["message"], check["hint"]):
            if text:
                assert _CJK.search(text), f"{check['id']}: no Chinese in {text!r}"
                assert english_left(text) == [], f"{check['id']}: English left in {text!r}"


@pytest.mark.slow
def test_a_buggy_handin_gets_chinese_messages_and_hints_for_every_failed_check(grader, tmp_path, chinese):
    result = grader.grade(buggy_class_handin(tmp_path / "buggy")).to_dict()
    failed = {c["id"] for c in result["checks"] if not c["passed"]}
    assert {"softmax.large_logits", "sigmoid.matches_tf", "softmax_ce.matches_tf", "sigmoid_ce.matches_tf",
            "Matmul.backward_tf", "Relu.backward_fd", "mnist_numpy.trains", "mnist_tf.logits",
            "function_fitting.fit", "function_fitting.comments", "function_fitting.report"} <= failed
    assert_chinese(result["checks"])
    hints = {c["id"]: c["hint"] for c in result["checks"]}
    messages = {c["id"]: c["message"] for c in result["checks"]}
    assert "但还没有拟合好（加一半分）" in messages["function_fitting.numpy_bonus"]
    assert "softmax 被做了两次" in hints["softmax_ce.matches_tf"]
    assert "不应该取平均" in hints["Matmul.backward_tf"]


def test_messages_worded_in_the_sandboxed_child_are_chinese_too(grader, tmp_path, chinese):
    """The missing package and the None return are worded in the child, which gets the language
    with its job; the missing package is still recognised, and flagged for a human."""
    returns_none = "def softmax(x):\n    y = tf.exp(x)"
    result = grader.grade(write_handin(tmp_path / "child", sigmoid=CRASHING_SIGMOID, softmax=returns_none), FAST)
    checks = {c.id: c for c in result.checks}
    assert "返回了 None" in checks["softmax.matches_tf"].message
    assert "没有安装包 `not_a_real_package_xyz`" in checks["sigmoid.matches_tf"].message
    assert checks["sigmoid.matches_tf"].needs_human and "dlgrade 的运行环境" in checks["sigmoid.matches_tf"].hint
    assert any("导入失败" in note for note in result.notes)
    assert_chinese([c.to_dict() for c in result.checks if c.target in ("softmax", "sigmoid")])


def test_ids_check_names_and_scores_are_the_same_in_both_languages(grader, chinese):
    handin = REPO / "submissions" / "buggy_part1"
    chinese_result = grader.grade(handin, {"softmax", "sigmoid"}).to_dict()
    i18n.use("en")
    english_result = grader.grade(handin, {"softmax", "sigmoid"}).to_dict()
    def shape(result):
        return [(c["id"], c["target"], c["score"], c["passed"]) for c in result["checks"]]
    assert shape(chinese_result) == shape(english_result)
    assert [c["message"] for c in chinese_result["checks"]] != [c["message"] for c in english_result["checks"]]
    assert english_left(" ".join(c["message"] for c in english_result["checks"]))  # the detector sees English


def _dlgrade(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")}
    return subprocess.run([sys.executable, "-m", "grader", *arguments], capture_output=True, text=True, cwd=REPO,
                          env=environment | (env or {}), timeout=300)


@pytest.mark.slow
def test_dlgrade_check_lang_zh_prints_chinese_messages_hints_and_headers():
    table = _dlgrade("check", "submissions/buggy_part1", "--fast", "--part", "1", "--lang", "zh", env={"COLUMNS": "220"})
    assert table.returncode == 1, table.stderr
    for words in ("目标", "检查项", "说明 / 提示", "未通过", "提示：", "总分：", "指数的符号错了"):
        assert words in table.stdout
    document = json.loads(_dlgrade("check", "submissions/buggy_part1", "--fast", "--part", "1", "--lang", "zh",
                                   "--format", "json").stdout)
    assert_chinese(document["checks"])
    assert {c["id"] for c in document["checks"]} >= {"softmax.matches_tf", "sigmoid.no_builtin"}


@pytest.mark.slow
def test_a_chinese_locale_or_course_file_makes_chinese_the_default(tmp_path):
    markdown = _dlgrade("check", "submissions/buggy_part1", "--fast", "--part", "1", "--format", "markdown",
                        env={"LANG": "zh_CN.UTF-8"})
    assert "| 未通过的检查 | 说明 | 提示 |" in markdown.stdout
    course = tmp_path / "dlgrade.toml"
    course.write_text('language = "zh"\n', encoding="utf-8")
    configured = _dlgrade("check", "submissions/buggy_part1", "--fast", "--part", "1", "--format", "markdown",
                          "--config", str(course))
    assert "| 未通过的检查 | 说明 | 提示 |" in configured.stdout
    english = _dlgrade("check", "submissions/buggy_part1", "--fast", "--part", "1", "--format", "markdown",
                       "--config", str(course), "--lang", "en")
    assert "| failed check | message | hint |" in english.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not found: install it with `apt-get install chromium`")
def test_the_chinese_html_report_renders_in_chromium_with_the_right_lang(grader, tmp_path, chinese):
    results = [grader.grade(REPO / "submissions" / name, FAST).to_dict() for name in ("buggy_part1", "broken")]
    write_reports(results, tmp_path / "reports")
    for page, words in ((tmp_path / "reports" / "buggy_part1" / "report.html", ("评分目标", "未通过", "运行环境")),
                        (tmp_path / "reports" / "index.html", ("全班汇总", "学生", "最常见的提示"))):
        dom = chromium("--virtual-time-budget=3000", "--dump-dom", page.as_uri(), cwd=page.parent)
        assert '<html lang="zh-CN">' in dom
        for word in words:
            assert word in dom, f"{word} missing from {page.name}"
    report = (tmp_path / "reports" / "buggy_part1" / "report.html").read_text(encoding="utf-8")
    assert 'id="target-softmax"' in report and "matches_tf" in report  # ids and check names stay English
    assert '<html lang="en">' in _english_page(results[0])


def _english_page(result: dict) -> str:
    i18n.use("en")
    return submission_page(result)


def test_a_broken_course_file_is_reported_in_the_language_asked_for(tmp_path):
    course = tmp_path / "dlgrade.toml"
    course.write_text("[pionts]\n", encoding="utf-8")
    run = _dlgrade("check", "submissions/buggy_part1", "--config", str(course), "--lang", "zh")
    assert run.returncode == 2 and "未知的节 [pionts]" in run.stderr and "允许的有：" in run.stderr


def test_the_command_line_help_is_worded_in_the_language_asked_for():
    assert "只评作业的这一部分" in _dlgrade("check", "--lang", "zh", "--help").stdout
    assert "重新评所有作业" in _dlgrade("batch", "--help", env={"LANG": "zh_CN.UTF-8"}).stdout  # the locale's language
    assert "grade only this part of the homework" in _dlgrade("check", "--lang=en", "--help").stdout
