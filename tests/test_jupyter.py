"""`grader.check()` inside a real IPython kernel (nbclient executing a student's notebook): the
verdicts and hints show in its output, it grades the saved files and never runs the notebook's cells."""

from __future__ import annotations

import nbformat
import pytest

from grader.jupyter import SAVED_FILES_NOTE, check
from tests.helpers import CORRECT_PART1, IMPORTS, write_handin, write_notebook

nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytestmark = pytest.mark.slow

SEED_SOFTMAX = ("def softmax(x):\n    rmax = tf.reduce_max(x, axis=1, keepdims=True)\n    e = tf.exp(x - rmax)\n"
                "    return e / tf.reduce_sum(e, axis=-1, keepdims=True)")


def _execute(folder, cells: list[str]) -> str:
    """Run a notebook of `cells` in a fresh kernel, in `folder`; returns everything it displayed."""
    path = write_notebook(folder / "self_check.ipynb", cells)
    notebook = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute()
    shown = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            shown += [str(v) for v in output.get("data", {}).values()] + [output.get("text", "")]
    return "\n".join(shown)


def test_check_in_a_kernel_shows_verdicts_and_hints_and_runs_no_cell(tmp_path):
    folder = write_handin(tmp_path / "hw", softmax=SEED_SOFTMAX)
    marker = tmp_path / "the-notebook-ran.txt"
    write_notebook(folder / "scratch.ipynb", [IMPORTS, f"open({str(marker)!r}, 'w').write('ran')"])
    shown = _execute(folder, ["import grader\nreport = grader.check('softmax', 'sigmoid')\nreport",
                              "print(report.score, report.max_score)"])
    assert "<pre" in shown and "last_axis" in shown and "FAIL" in shown
    assert "hint" in shown and "axis=-1" in shown  # the hint that points at the bug
    assert "saved on disk" in shown
    assert "17.0 20.0" in shown  # softmax loses last_axis (3 points); sigmoid full
    assert not marker.exists(), "the grader ran a notebook cell"


def test_magic_narrows_to_one_target(tmp_path):
    folder = write_handin(tmp_path / "hw")
    shown = _execute(folder, ["%load_ext grader", "%dlgrade sigmoid --fast"])
    assert "sigmoid" in shown and "softmax_ce" not in shown and "all checks passed" in shown


def test_unknown_target_is_refused_with_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match="known: softmax"):
        check("softmaxx", path=tmp_path)
    assert "save the notebook first" in SAVED_FILES_NOTE
    write_notebook(tmp_path / "hw.ipynb", [IMPORTS, CORRECT_PART1["sigmoid"]])
    report = check("sigmoid", path=tmp_path)
    assert report.passed and "sigmoid" in repr(report) and "<pre" in report._repr_html_()


def test_magic_speaks_chinese_when_asked(tmp_path):
    folder = write_handin(tmp_path / "hw", softmax=SEED_SOFTMAX)
    shown = _execute(folder, ["%load_ext grader", "%dlgrade softmax --lang zh"])
    assert "未通过" in shown and "提示：" in shown and "axis=-1" in shown  # the verdict and the hint, in Chinese
    assert "保存在磁盘上的文件" in shown and "last_axis" in shown  # the saved-file note; check names stay English
