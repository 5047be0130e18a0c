"""Similarity across a class: disguised copies found and ranked first, textbook answers, blank
and starter-only hand-ins never flagged, and the report escaped and self-contained."""

from __future__ import annotations

import csv
import random

import pytest

from grader.batch import BatchSettings, run_batch
from grader.gradebook import Gradebook
from grader.report.html import pair_page
from grader.sandbox.jobs import Limits
from grader.similarity import COMBINED, SimilaritySettings, answers, compare, fingerprint, starter_code
from tests.conftest import FAST
from tests.similarity_variants import PART1, disguise, extracted, make_class, write_student
from tests.test_batch import SessionWorkers
from tests.test_report import assert_no_student_markup

TEXTBOOK = {target: 0 for target in (*PART1, "Matmul", "Relu", "mnist_tf")}


def pooled(rows, a: str, b: str):
    return next((r for r in rows if r.target == COMBINED and {r.a, r.b} == {a, b}), None)


def test_fingerprints_survive_renaming_comments_docstrings_and_layout():
    original = "def softmax(x):\n    e = tf.exp(x - tf.reduce_max(x, axis=-1, keepdims=True))\n" \
               "    return e / tf.reduce_sum(e, axis=-1, keepdims=True)"
    disguised = 'def softmax(logits):\n    """Softmax over the last axis."""\n    # stable\n\n' \
                "    exps = tf.exp(logits -\n                  tf.reduce_max(logits, axis=-1, keepdims=True))\n" \
                "    return exps / tf.reduce_sum(exps, axis=-1,   keepdims=True)  # done"
    different = "def softmax(x):\n    e = np.exp(x - np.max(x, axis=1, keepdims=True))\n    return e / e.sum(axis=1, keepdims=True)"
    assert set(fingerprint(original)) == set(fingerprint(disguised))
    assert len(set(fingerprint(original)) & set(fingerprint(different))) < len(fingerprint(original)) / 2


def test_starter_code_alone_gives_no_answer_to_compare(tmp_path):
    blank = extracted(write_student(tmp_path / "blank", {}, blank=True))
    assert set(blank["sources"]) >= {"softmax", "Matmul", "mnist_tf"}  # the skeleton is there ...
    assert answers([blank], SimilaritySettings()) == {}  # ... and nothing of it counts
    assert all(starter_code()[t].strip() for t in ("softmax", "Matmul", "Relu", "mnist_numpy"))


def test_blank_and_starter_only_handins_are_never_flagged(tmp_path):
    results = [extracted(write_student(tmp_path / f"blank{i}", {}, blank=True)) for i in range(3)]
    assert not any(r.flagged for r in compare(results))


def test_shared_starter_code_would_flag_without_its_subtraction(tmp_path, monkeypatch):
    """The subtraction is what keeps two hand-ins with different answers apart in a small class."""
    rng = random.Random(7)
    results = [extracted(write_student(tmp_path / f"s{i}", {t: rng.randrange(1, 4) for t in TEXTBOOK})) for i in range(2)]
    assert not any(r.flagged for r in compare(results))
    monkeypatch.setattr("grader.similarity.starter_fingerprints", lambda: {})
    assert pooled(compare(results), "s0", "s1").flagged  # the given classes and model make them look alike


def test_the_textbook_softmax_alone_is_not_flagged_five_unusual_shared_answers_are(tmp_path):
    rng = random.Random(3)
    picks = [{t: rng.randrange(0, 4) for t in TEXTBOOK} for _ in range(12)]
    for student in picks[:6]:
        student["softmax"] = 0  # half the class wrote the textbook softmax
    picks[0] = dict(TEXTBOOK, sigmoid=1, softmax_ce=2, sigmoid_ce=3, Matmul=3, Relu=3, mnist_tf=3)
    picks[1] = dict(picks[0], mnist_tf=1)  # shares five unusual answers (and the textbook softmax) with s000
    picks[2] = dict(TEXTBOOK, sigmoid=3, softmax_ce=4, sigmoid_ce=2, Matmul=2, Relu=1, mnist_tf=2)  # textbook softmax only
    touches = ["s000", "s000"] + [f"s{i:03d}" for i in range(2, 12)]  # s001 has s000's very answers
    results = [extracted(write_student(tmp_path / f"s{i:03d}", p, touches=t)) for i, (p, t) in enumerate(zip(picks, touches))]
    rows = compare(results)
    assert pooled(rows, "s000", "s001").flagged
    textbook_only = pooled(rows, "s000", "s002")
    assert textbook_only is None or not textbook_only.flagged


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_disguised_copies_are_flagged_and_rank_first_for_both_members(tmp_path, seed):
    results, planted = make_class(tmp_path, students=25, copies=3, seed=seed, blanks=2)
    rows = [r for r in compare(results) if r.target == COMBINED]
    flagged = {(r.a, r.b) for r in rows if r.flagged}
    assert planted <= flagged
    assert len(flagged - planted) <= 2, flagged - planted  # independent pairs alike by chance (calibration: README)
    for a, b in planted:
        for member in (a, b):
            top = next(r for r in rows if member in (r.a, r.b))
            assert (top.a, top.b) == (a, b), f"{member}'s most similar pair is {top.a}/{top.b}, not the planted copy"


def test_disguised_copy_is_flagged_in_a_class_of_two(tmp_path):
    original = write_student(tmp_path / "ana", {t: 1 for t in TEXTBOOK})
    copy = disguise(original, tmp_path / "mallory", random.Random(1))
    assert sorted(p.name for p in copy.glob("*.ipynb")) != sorted(p.name for p in original.glob("*.ipynb"))
    rows = compare([extracted(original), extracted(copy)])
    assert pooled(rows, "ana", "mallory").flagged


def test_batch_writes_similarity_csv_class_section_and_escaped_side_by_side_pages(grader, tmp_path):
    root, out = tmp_path / "class", tmp_path / "out"
    original = write_student(root / "<img src=x onerror=alert(1)>", {t: 2 for t in TEXTBOOK})
    disguise(original, root / "mallory", random.Random(2))
    write_student(root / "bob", {t: 1 for t in TEXTBOOK})
    write_student(root / "blank", {}, blank=True)
    settings = BatchSettings(targets=tuple(sorted(FAST)), limits=Limits(call_timeout=5.0, load_timeout=6.0))
    with Gradebook(out / "gradebook.sqlite") as book:
        run_batch(root, out, settings, lambda: SessionWorkers(grader, settings), book, similarity=SimilaritySettings())
    rows = list(csv.DictReader((out / "similarity.csv").open()))
    flagged = [r for r in rows if r["flagged"] == "yes" and r["target"] == "*"]
    assert [(r["a"], r["b"]) for r in flagged] == [("<img src=x onerror=alert(1)>", "mallory")]
    assert {r["target"] for r in rows if r["flagged"] == "yes"} >= {"softmax", "Matmul"}
    assert not any("blank" in (r["a"], r["b"]) for r in rows)
    index = (out / "index.html").read_text()
    assert "Similar hand-ins" in index and "similarity/" in index
    pages = list((out / "similarity").glob("*.html"))
    assert len(pages) == 1
    page = pages[0].read_text()
    assert 'class="line shared"' in page
    assert_no_student_markup(page)
    assert_no_student_markup(index)


def test_no_similarity_skips_it(grader, tmp_path):
    root, out = tmp_path / "class", tmp_path / "out"
    write_student(root / "ana", {t: 1 for t in TEXTBOOK})
    settings = BatchSettings(targets=("softmax",), limits=Limits(call_timeout=5.0, load_timeout=6.0))
    with Gradebook(out / "gradebook.sqlite") as book:
        run_batch(root, out, settings, lambda: SessionWorkers(grader, settings), book)
    assert not (out / "similarity.csv").exists() and "Similar hand-ins" not in (out / "index.html").read_text()


def test_pair_page_marks_only_shared_lines():
    left = {"submission": "a", "sources": {"softmax": {"where": "a.ipynb, cell 2", "first_line": 1,
                                                       "code": PART1["softmax"][1]}}}
    right = {"submission": "b", "sources": {"softmax": {"where": "b.ipynb, cell 4", "first_line": 1,
                                                        "code": PART1["softmax"][1] + "\n    # unrelated = 1"}}}
    page = pair_page(left, right, compare([left, right]))
    assert page.count('class="line shared"') == 2 * len(PART1["softmax"][1].split("\n"))
    assert '<span class="line"><span class="no">5</span>    # unrelated = 1</span>' in page
