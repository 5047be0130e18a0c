"""The reports in a real browser: headless Chromium opens them offline, shows the scores, and runs
no script of a student's (the DOM after load is checked, and a screenshot is taken)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from grader.report.write import write_reports
from tests.conftest import FAST, REPO
from tests.test_report import hostile_handin

CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)),
                None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not found: "
                                "install it with `apt-get install chromium` (.ci/run does)")


def chromium(*arguments: str, cwd: Path) -> str:
    """Run headless Chromium with no network and return its stdout."""
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
               "--proxy-server=127.0.0.1:9", "--user-data-dir=" + str(cwd / "profile"), *arguments]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def reports(grader, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    results = [grader.grade(REPO / "submissions" / "correct").to_dict(),
               grader.grade(REPO / "submissions" / "seed_student", FAST).to_dict(),
               grader.grade(REPO / "submissions" / "broken", FAST).to_dict(),
               grader.grade(hostile_handin(tmp_path_factory.mktemp("hostile")), FAST).to_dict()]
    write_reports(results, out)
    return out


def rendered_dom(page: Path) -> str:
    return chromium("--virtual-time-budget=3000", "--dump-dom", page.as_uri(), cwd=page.parent)


@pytest.mark.parametrize("folder, total", [("correct", "83 / 78"), ("seed_student", "53 / 56"),
                                           ("broken", "10 / 56"),
                                           ("img_src_x_onerror_document.body.dataset.pwned_1", None)])
def test_report_opens_shows_scores_and_runs_no_student_script(reports, folder, total):
    page = reports / folder / "report.html"
    dom = rendered_dom(page)
    assert "data-pwned" not in dom, "a student's script or event handler ran"
    if total:
        assert re.search(rf'id="total">{total}</p>', dom)
    for target in ("softmax", "sigmoid", "softmax_ce", "sigmoid_ce", "Matmul", "Relu"):
        assert f'id="target-{target}"' in dom
    shot = page.parent / "screenshot.png"
    chromium("--window-size=1200,1600", f"--screenshot={shot}", page.as_uri(), cwd=page.parent)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_class_index_runs_its_sorter_and_no_student_script(reports):
    dom = rendered_dom(reports / "index.html")
    assert 'data-sortable="ready"' in dom, "the page's own sorting script was blocked or failed"
    assert "data-pwned" not in dom
    assert dom.count('/report.html"') == 4
    assert "83 / 78" in dom  # the NumPy bonus of Part 4 is extra credit
