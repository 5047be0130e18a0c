"""Reviewing by hand on a graded class: `dlgrade override`, the queue, re-grading, `dlgrade report`,
the CSV round trip, and the review app through Flask's test client (its security included)."""

from __future__ import annotations

import csv
import json
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from grader.cli import main
from grader.config import load_config
from grader.gradebook import Decision, Gradebook
from tests.helpers import part1_cells, write_notebook
from tests.test_batch import batch, make_class
from tests.test_report import HOSTILE_FOLDER, hostile_handin

flask = pytest.importorskip("flask", reason="the review app needs Flask: pip install '.[review]'")
from grader.review.app import create_app  # noqa: E402

TOKEN = "test-token"
MISSING_PACKAGE = "import nosuchpkg_dlgrade\n\ndef softmax(x):\n    return nosuchpkg_dlgrade.softmax(x)"


@pytest.fixture(scope="module")
def pristine(grader, tmp_path_factory) -> Path:
    """A graded class: ana (all right), ben (sigmoid wrong), cleo (nothing to load), dan (needs a package
    dlgrade lacks: needs_human) and a hand-in whose name and code carry script."""
    base = tmp_path_factory.mktemp("graded")
    root = make_class(base / "class")
    write_notebook(root / "dan" / "hw.ipynb", part1_cells(softmax=MISSING_PACKAGE))
    hostile_handin(root)
    *_, gradebook = batch(grader, root, base / "out")
    gradebook.close()
    return base


@pytest.fixture
def graded(pristine, tmp_path) -> tuple[Path, Path]:
    """(class folder, reports folder) of a fresh copy of the graded class."""
    shutil.copytree(pristine, tmp_path / "w")
    return tmp_path / "w" / "class", tmp_path / "w" / "out"


def grades(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv", encoding="utf-8") as stream:
        return {row["submission"]: row for row in csv.DictReader(stream)}


def totals(out: Path, name: str) -> tuple[float, float, float, float]:
    """The hand-in's total in grades.csv, its results.json, the class results.json and its Gradescope JSON."""
    everyone = json.loads((out / "results.json").read_text())
    return (float(grades(out)[name]["total"]), json.loads((out / name / "results.json").read_text())["score"],
            next(r["score"] for r in everyone if r["submission"] == name),
            json.loads((out / name / "gradescope_results.json").read_text())["score"])


def queue(capsys, out: Path, *options: str) -> list[dict]:
    capsys.readouterr()
    assert main(["review", str(out), "--list", "--format", "json", *options]) == 0
    return json.loads(capsys.readouterr().out)


def test_override_changes_every_total_by_its_delta_and_shows_the_comment(graded):
    _, out = graded
    before = totals(out, "ben")
    assert len(set(before)) == 1 and before[0] < 40
    assert main(["override", str(out), "ben", "sigmoid.matches_tf", "3", "--comment", "close: a sign slip",
                 "--by", "ta1"]) == 0
    assert totals(out, "ben") == tuple(t + 3 for t in before)
    report = (out / "ben" / "report.html").read_text()
    assert "reviewed by ta1: close: a sign slip" in report
    check = next(c for c in json.loads((out / "ben" / "results.json").read_text())["checks"]
                 if c["id"] == "sigmoid.matches_tf")
    assert check["auto_score"] == 0 and check["override"]["score"] == 3 and check["override"]["by"] == "ta1"
    assert main(["override", str(out), "ben", "sigmoid.matches_tf", "auto", "--by", "ta1"]) == 0  # undo
    assert totals(out, "ben") == before


def snapshot(out: Path) -> dict[str, bytes]:
    files = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*")
             if p.is_file() and "gradebook.sqlite" not in p.name}
    with Gradebook(out / "gradebook.sqlite") as book:
        files["decisions"] = repr(book.decisions()).encode()
    return files


@pytest.mark.parametrize("arguments", [("ben", "sigmoid.matches_tf", "5.5"), ("ben", "sigmoid.matches_tf", "-1"),
                                       ("ben", "sigmoid.matches_tf", "lots"), ("zoe", "sigmoid.matches_tf", "1"),
                                       ("ben", "sigmoid.no_such_check", "1"), ("ben", "handin", "-2")])  # no reason
def test_bad_input_exits_2_and_writes_nothing(graded, arguments, capsys):
    _, out = graded
    before = snapshot(out)
    assert main(["override", str(out), *arguments]) == 2
    assert capsys.readouterr().err.startswith("dlgrade: ")
    assert snapshot(out) == before


def test_a_folder_without_a_gradebook_is_refused_and_left_alone(tmp_path, capsys):
    assert main(["override", str(tmp_path / "nowhere"), "ben", "sigmoid.matches_tf", "1"]) == 2
    assert main(["review", str(tmp_path), "--list"]) == 2
    assert "no gradebook" in capsys.readouterr().err and list(tmp_path.iterdir()) == []


def test_an_override_survives_regrading_until_the_code_under_it_changes(grader, graded, capsys):
    root, out = graded
    assert main(["override", str(out), "ben", "sigmoid.matches_tf", "4", "--comment", "fine", "--by", "ta1"]) == 0
    assert main(["override", str(out), "ben", "softmax.matches_tf", "2", "--by", "ta1"]) == 0  # softmax: unchanged
    overridden = totals(out, "ben")
    for force in (False, True):
        summary, *_, book = batch(grader, root, out, force=force)
        book.close()
        assert totals(out, "ben") == overridden and summary.overridden == 1
    write_notebook(root / "ben" / "hw.ipynb", part1_cells(sigmoid="def sigmoid(x):\n    return 1 / (1 - tf.exp(-x))"))
    summary, graded_now, *_, book = batch(grader, root, out)
    book.close()
    assert graded_now == ["ben"] and summary.stale == 1
    listed = {(i["submission"], i["check"]): i for i in queue(capsys, out) if i["kind"] == "override"}
    assert listed[("ben", "sigmoid.matches_tf")]["status"] == "stale"
    assert "ta1 decided 4" in listed[("ben", "sigmoid.matches_tf")]["reason"]
    assert listed[("ben", "softmax.matches_tf")]["status"] == "done"  # its target's code did not change
    check = {c["id"]: c for c in json.loads((out / "ben" / "results.json").read_text())["checks"]}
    assert "override" not in check["sigmoid.matches_tf"] and check["sigmoid.matches_tf"]["score"] == 0
    assert check["softmax.matches_tf"]["override"]["score"] == 2


def test_report_applies_the_gradebooks_decisions_when_it_renders_again(graded):
    _, out = graded
    with Gradebook(out / "gradebook.sqlite") as book:  # recorded without rendering: only `report` can show it
        fingerprint = book.inputs("ben")["sigmoid.matches_tf"]
        book.add_decisions([Decision(0, "check", "ben", "sigmoid.matches_tf", 4.0, False, "ok", "", "ta2", 1.7e9,
                                     fingerprint)])
    before = totals(out, "ben")
    assert main(["report", str(out / "results.json"), "--out", str(out)]) == 0
    assert totals(out, "ben") == tuple(t + 4 for t in before)
    tests = json.loads((out / "ben" / "gradescope_results.json").read_text())["tests"]
    assert "reviewed by ta2: ok" in next(t["output"] for t in tests if t["name"] == "sigmoid.matches_tf")


def test_the_queue_lists_what_needs_a_person(graded, tmp_path, capsys):
    _, out = graded
    course = tmp_path / "dlgrade.toml"
    course.write_text('[review]\nalways = ["softmax_ce.matches_tf"]\n')
    items = queue(capsys, out, "--config", str(course))
    kinds = {(i["kind"], i["submission"], i.get("check")) for i in items}
    assert ("failed_to_load", "cleo", None) in kinds
    assert ("needs_human", "dan", "softmax.matches_tf") in kinds
    assert ("always", "ana", "softmax_ce.matches_tf") in kinds
    assert all(i["status"] == "open" and set(i) >= {"kind", "submission", "status", "reason"} for i in items)
    assert main(["override", str(out), "dan", "softmax.matches_tf", "3", "--by", "ta"]) == 0
    done = [i for i in queue(capsys, out) if i["kind"] == "needs_human" and i["check"] == "softmax.matches_tf"]
    assert done[0]["status"] == "done" and done[0]["decision"]["score"] == 3


def test_export_then_import_into_another_grading_of_the_class(grader, graded, tmp_path, capsys):
    root, out = graded
    assert main(["override", str(out), "ben", "sigmoid.matches_tf", "2", "--comment", "half", "--by", "ta"]) == 0
    assert main(["override", str(out), "cleo", "handin", "5", "--comment", "sent by mail", "--by", "ta"]) == 0
    exported = tmp_path / "decisions.csv"
    assert main(["review", str(out), "--export-overrides", str(exported)]) == 0
    other = tmp_path / "other"
    *_, book = batch(grader, root, other)
    book.close()
    bad = tmp_path / "bad.csv"
    bad.write_text(exported.read_text() + "check,ben,sigmoid.matches_tf,,99,no,,,ta,,\n")
    assert main(["review", str(other), "--import-overrides", str(bad)]) == 2
    assert "row 4" in capsys.readouterr().err and snapshot(other)["decisions"] == b"[]"
    assert main(["review", str(other), "--import-overrides", str(exported)]) == 0
    assert totals(other, "ben") == totals(out, "ben") and totals(other, "cleo") == totals(out, "cleo") == (5,) * 4


# The app, through Flask's test client.

@pytest.fixture
def app(graded):
    application = create_app(graded[1], load_config(None), TOKEN, "ta")
    application.testing = True
    return application


def signed_in(app):
    client = app.test_client()
    assert client.get(f"/?token={TOKEN}").status_code == 200
    return client


def test_every_request_needs_the_token_and_the_first_sets_a_strict_cookie(app):
    client = app.test_client()
    for path in ("/", "/handin?name=ben", "/item?k=check&n=ben&s=sigmoid.matches_tf", "/static/review.js",
                 "/?token=wrong"):
        assert client.get(path).status_code == 403, path
    answer = client.get(f"/?token={TOKEN}")
    cookie = answer.headers["Set-Cookie"]
    assert answer.status_code == 200 and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/handin?name=ben").status_code == 200  # the cookie stands in for the token
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]


def form(**values: str) -> dict[str, str]:
    return {"token": TOKEN, "k": "check", "n": "ben", "s": "sigmoid.matches_tf", "score": "4", "comment": "ok",
            "then": "stay"} | values


def decisions(graded) -> list[Decision]:
    with Gradebook(graded[1] / "gradebook.sqlite") as book:
        return book.decisions()


def test_a_save_needs_a_post_with_the_token_from_the_apps_origin(app, graded):
    client = signed_in(app)
    origin = {"Origin": "http://localhost"}
    assert client.post("/decide", data=form()).status_code == 403  # no Origin
    assert client.post("/decide", data=form(), headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.post("/decide", data=form(token="wrong"), headers=origin).status_code == 403
    assert client.get("/decide").status_code == 405
    assert decisions(graded) == []
    answer = client.post("/decide", data=form(), headers=origin)
    assert answer.status_code == 303 and [d.score for d in decisions(graded)] == [4.0]
    assert "reviewed by ta: ok" in (graded[1] / "ben" / "report.html").read_text()
    assert client.post("/decide", data=form(score="40"), headers=origin).status_code == 400  # out of bounds
    assert len(decisions(graded)) == 1


def test_every_page_reached_from_the_queue_answers(app):
    client = signed_in(app)
    seen, todo = set(), ["/"]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        answer = client.get(path)
        assert answer.status_code == 200, path
        if "text/html" in answer.content_type:
            todo += [href.replace("&amp;", "&") for href in re.findall(r'href="(/[^"]*)"', answer.text)]
    assert any(p.startswith("/item?k=handin&n=cleo") for p in seen) and any(p.startswith("/handin") for p in seen)


def test_student_markup_is_escaped_on_every_page(app):
    client = signed_in(app)
    from urllib.parse import quote

    pages = [client.get("/").text, client.get("/handin?name=" + quote(HOSTILE_FOLDER)).text,
             client.get(f"/item?k=check&n={quote(HOSTILE_FOLDER)}&s=softmax.matches_tf").text]
    for text in pages:
        assert "<img src=x" not in text and "<script>document" not in text
    assert "&lt;script&gt;document.body.dataset.pwned" in pages[2]


@pytest.mark.parametrize("path", ["/static/../app.py", "/static/..%2fapp.py", "/static/%2e%2e/app.py",
                                  "/static/%2e%2e%2fapp.py", "/static//etc/passwd"])
def test_static_files_cannot_leave_their_folder(app, path):
    answer = signed_in(app).get(path, follow_redirects=True)
    assert answer.status_code == 404 and b"create_app" not in answer.data and b"root:" not in answer.data


def test_two_concurrent_saves_are_both_kept(app, graded):
    barrier = threading.Barrier(2)
    answers = []

    def save(by: str, score: str) -> None:
        client = signed_in(app)
        barrier.wait()
        answers.append(client.post("/decide", data=form(by=by, score=score), headers={"Origin": "http://localhost"}))

    threads = [threading.Thread(target=save, args=args) for args in (("ta1", "1"), ("ta2", "2"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [303, 303]
    kept = decisions(graded)
    assert sorted((d.by, d.score) for d in kept) == [("ta1", 1.0), ("ta2", 2.0)]  # both in the history
    check = next(c for c in json.loads((graded[1] / "ben" / "results.json").read_text())["checks"]
                 if c["id"] == "sigmoid.matches_tf")
    assert check["override"]["by"] == kept[-1].by  # the report shows the later one, rendered after both


def test_a_flagged_pair_is_queued_shown_side_by_side_and_decided(grader, tmp_path, capsys):
    import random

    from grader.batch import BatchSettings
    from grader.sandbox.jobs import Limits
    from grader.similarity import SimilaritySettings
    from tests.conftest import FAST
    from tests.similarity_variants import disguise, write_student
    from tests.test_similarity import TEXTBOOK

    root, out = tmp_path / "class", tmp_path / "out"
    disguise(write_student(root / "ana", {t: 2 for t in TEXTBOOK}), root / "mallory", random.Random(2))
    write_student(root / "bob", {t: 1 for t in TEXTBOOK})
    settings = BatchSettings(targets=tuple(sorted(FAST)), limits=Limits(call_timeout=5.0, load_timeout=6.0))
    *_, book = batch(grader, root, out, settings, similarity=SimilaritySettings())
    book.close()
    pairs = [i for i in queue(capsys, out) if i["kind"] == "pair"]
    assert [(p["pair"], p["status"]) for p in pairs] == [(["ana", "mallory"], "open")]
    client = signed_in(create_app(out, load_config(None), TOKEN, "ta"))
    page = client.get("/item?k=pair&n=ana&s=mallory")
    assert page.status_code == 200 and 'class="line shared"' in page.text
    before = totals(out, "mallory")
    answer = client.post("/decide", data={"token": TOKEN, "k": "pair", "n": "ana", "s": "mallory", "adjust": "mallory",
                                          "points": "-3", "comment": "copied Part 1", "then": "stay"},
                         headers={"Origin": "http://localhost"})
    assert answer.status_code == 303
    assert totals(out, "mallory") == tuple(t - 3 for t in before)
    assert [p["status"] for p in queue(capsys, out) if p["kind"] == "pair"] == ["done"]


def test_an_override_reaches_the_canvas_and_moodle_files(tmp_path):
    from tests.helpers import CORRECT_PART1, IMPORTS
    from tests.test_roster import ROSTER, _rows

    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    for user in ("ana", "bob"):
        write_notebook(tmp_path / "class" / f"hw1-{user}" / "hw.ipynb", [IMPORTS, CORRECT_PART1["sigmoid"]])
    out = tmp_path / "out"
    assert main(["batch", str(tmp_path / "class"), "--out", str(out), "--target", "sigmoid", "--roster",
                 str(tmp_path / "roster.csv"), "--roster-key", "github", "--folder-prefix", "hw1-", "--export",
                 "canvas", "--export", "moodle", "--no-similarity"]) == 0
    assert [r["dlgrade"] for r in _rows((out / "canvas.csv").read_text())][:2] == ["10", "10"]
    assert main(["override", str(out), "hw1-bob", "sigmoid.matches_tf", "1", "--comment", "hard-coded", "--by",
                 "ta"]) == 0
    assert [r["dlgrade"] for r in _rows((out / "canvas.csv").read_text())][:2] == ["10", "7"]  # matches_tf: 4 -> 1
    moodle = {r["Email address"]: r["dlgrade"] for r in _rows((out / "moodle.csv").read_text())}
    assert moodle["bob@x.edu"] == "7" and moodle["ana@x.edu"] == "10"
    (tmp_path / "roster.csv").rename(tmp_path / "moved.csv")  # the exports cannot be rendered: nothing is recorded
    before = snapshot(out)
    assert main(["override", str(out), "hw1-ana", "sigmoid.matches_tf", "1", "--by", "ta"]) == 2
    assert snapshot(out) == before


def test_the_grading_pipeline_does_not_import_the_review_package():
    import subprocess
    import sys

    code = ("import sys, grader.batch, grader.pipeline, grader.report.write, grader.report.reviewed\n"
            "print(sorted(m for m in sys.modules if m.startswith('grader.review') or m == 'flask'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_dlgrade_review_serves_on_127_0_0_1_behind_its_token(graded):
    import re
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    server = subprocess.Popen([sys.executable, "-m", "grader", "review", str(graded[1]), "--no-browser"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:(\d+))/\?token=(\S+)", line)
        assert url, line + server.stderr.read()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url.group(1) + "/", timeout=30)
        assert refused.value.code == 403
        with urllib.request.urlopen(url.group(0), timeout=30) as answer:
            assert answer.status == 200 and b'id="progress"' in answer.read()
    finally:
        server.terminate()
        server.wait(timeout=30)


REPORT = """# Function fitting report

## Function definition
We fit f(x) = sin(x) + 0.5 x on [-3, 3], a smooth non-linear function chosen to test the ReLU network.

## Data collection
We sampled 2000 points uniformly at random for training and 500 separate points for testing.

## Model description
A two-layer ReLU network with 64 hidden units, trained with Adam for 3000 epochs on the MSE loss.

## Fitting result
The test MSE is 0.0005 <script>document.body.dataset.pwned=1</script> and the model follows the target.
"""


def test_the_report_check_shows_the_report_and_goes_stale_when_only_the_report_changes(grader, tmp_path, capsys):
    from grader.batch import BatchSettings
    from grader.sandbox.jobs import Limits

    root, out = tmp_path / "class", tmp_path / "out"
    (root / "eve").mkdir(parents=True)
    (root / "eve" / "report.md").write_text(REPORT, encoding="utf-8")
    settings = BatchSettings(targets=("function_fitting",), limits=Limits(call_timeout=5.0, load_timeout=6.0))
    *_, book = batch(grader, root, out, settings)
    book.close()
    for check, score in (("function_fitting.report", "4"), ("function_fitting.runs", "1")):
        assert main(["override", str(out), "eve", check, score, "--by", "ta"]) == 0
    page = signed_in(create_app(out, load_config(None), TOKEN, "ta")).get(
        "/item?k=check&n=eve&s=function_fitting.report").text
    assert "We sampled 2000 points" in page and "&lt;script&gt;document.body" in page and "<script>document" not in page
    assert 'id="report-evidence"' in page and "report.md, line 13" in page  # the line that earned each section
    assert '<span class="line counted"><span class="no">13</span>The test MSE' in page  # marked in the report's text
    (root / "eve" / "report.md").write_text(REPORT.replace("2000", "3000"), encoding="utf-8")
    *_, book = batch(grader, root, out, settings)
    book.close()
    status = {i["check"]: i["status"] for i in queue(capsys, out) if i.get("check")}
    assert (status["function_fitting.report"], status["function_fitting.runs"]) == ("stale", "done")


def test_a_save_over_another_reviewers_says_so_and_keeps_both(app, graded):
    first, second = signed_in(app), signed_in(app)
    origin = {"Origin": "http://localhost"}
    seen = re.search(r'name="seen" value="(\d+)"', first.get("/item?k=check&n=ben&s=sigmoid.matches_tf").text)[1]
    assert second.post("/decide", data=form(by="tb", score="2", seen=seen), headers=origin).status_code == 303
    answer = first.post("/decide", data=form(by="ta", score="1", seen=seen), headers=origin, follow_redirects=True)
    assert 'id="conflict"' in answer.text and [(d.by, d.score) for d in decisions(graded)] == [("tb", 2), ("ta", 1)]
    alone = first.post("/decide", data=form(score="3", seen=str(decisions(graded)[-1].id)), headers=origin,
                       follow_redirects=True)
    assert 'id="saved"' in alone.text and 'id="conflict"' not in alone.text


def test_save_and_next_moves_along_the_filtered_queue(app):
    client = signed_in(app)
    queue_page = client.get("/?status=open&kind=needs_human").text
    first, second = [href.replace("&amp;", "&") for href in re.findall(r'class="open-item" href="([^"]+)"',
                                                                        queue_page)][:2]
    assert "status=open" in first and first != second
    item = {key: values[0] for key, values in parse_qs(urlsplit(first).query).items()}  # with the filters
    answer = client.post("/decide", data={"token": TOKEN, **item, "score": "0", "then": "next"},
                         headers={"Origin": "http://localhost"})
    assert answer.status_code == 303 and answer.headers["Location"] == second


def test_another_host_name_is_refused_even_with_the_token(graded):
    app = create_app(graded[1], load_config(None), TOKEN, "ta", port=8123)
    client = app.test_client()
    assert client.get(f"/?token={TOKEN}", headers={"Host": "attacker.example:8123"}).status_code == 403
    assert client.get(f"/?token={TOKEN}", headers={"Host": "127.0.0.1:8123"}).status_code == 200


def test_undo_in_the_app_brings_the_automated_score_back(app, graded):
    client = signed_in(app)
    origin = {"Origin": "http://localhost"}
    before = totals(graded[1], "ben")
    assert client.post("/decide", data=form(score="4"), headers=origin).status_code == 303
    assert totals(graded[1], "ben") == tuple(t + 4 for t in before)  # matches_tf: 0 -> its maximum, 4
    assert client.post("/decide", data=form(action="undo"), headers=origin).status_code == 303
    assert totals(graded[1], "ben") == before and [d.undo for d in decisions(graded)] == [False, True]
