"""Review decisions on results, without grading: how they apply, their bounds, history and undo,
staleness, and the CSV round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import overrides
from grader.config import load_config
from grader.gradebook import Decision, Gradebook
from grader.review import decisions as recording

CONFIG = load_config(None)


def result(name: str = "ana", code: str = "def softmax(x): ...", late: float | None = None) -> dict:
    checks = [{"id": "softmax.matches_tf", "target": "softmax", "score": 0.0, "max_score": 4, "passed": False,
               "message": "wrong", "hint": None},
              {"id": "softmax.last_axis", "target": "softmax", "score": 3.0, "max_score": 3, "passed": True,
               "message": "ok", "hint": None},
              {"id": "function_fitting.numpy_bonus", "target": "function_fitting", "score": 0.0, "max_score": 0,
               "passed": False, "message": "no bonus", "hint": None}]
    document = {"submission": name, "score": 3.0, "max_score": 7.0, "checks": checks,
                "sources": {"softmax": {"where": "hw.ipynb", "first_line": 1, "code": code}}, "files": ["hw.ipynb"],
                "notes": [], "internal_errors": [], "duration_s": 0.5, "environment": {}}
    if late:
        document |= {"raw_score": 3.0, "late": {"penalty": late}, "score": round(3.0 * (1 - late), 6)}
    return document


def inputs_of(document: dict) -> dict[str, str]:
    """The fingerprints a batch would store (no hand-in folder: the code alone decides)."""
    return overrides.fingerprints(Path("/nonexistent"), document, "hash-of-" + document["sources"]["softmax"]["code"])


def decide(document: dict, subject: str, score: float | None, n: int = 1, kind: str = "check", undo: bool = False,
           fingerprint: str | None = None) -> Decision:
    inputs = inputs_of(document)
    fingerprint = fingerprint if fingerprint is not None else inputs[subject if kind == "check" else overrides.HANDIN]
    return Decision(n, kind, document["submission"], subject, score, undo, "see me", "private", "ta", 1.7e9 + n,
                    fingerprint)


def test_an_override_changes_the_total_by_its_delta_and_keeps_the_automated_score():
    document = result()
    applied = overrides.apply(document, overrides.latest([decide(document, "softmax.matches_tf", 2.5)]),
                              inputs_of(document))
    check = applied["checks"][0]
    assert (check["score"], check["auto_score"]) == (2.5, 0.0)
    assert check["override"] == {"score": 2.5, "by": "ta", "at": "2023-11-14T22:13:21+00:00", "comment": "see me"}
    assert (applied["score"], applied["auto_score"]) == (5.5, 3.0)
    assert "override" not in applied["checks"][1] and document["score"] == 3.0  # the input is not changed
    assert overrides.apply(applied, {}, inputs_of(document)) == document  # applying again starts from automated


def test_a_late_penalty_is_taken_from_the_reviewed_score():
    document = result(late=0.5)
    applied = overrides.apply(document, overrides.latest([decide(document, "softmax.matches_tf", 4)]),
                              inputs_of(document))
    assert (applied["raw_score"], applied["score"], applied["auto_score"]) == (7.0, 3.5, 1.5)


def test_history_latest_wins_and_an_undo_restores_the_automated_score():
    document = result()
    first, second = decide(document, "softmax.matches_tf", 1, n=1), decide(document, "softmax.matches_tf", 3, n=2)
    assert overrides.apply(document, overrides.latest([second, first]), inputs_of(document))["score"] == 6
    undo = decide(document, "softmax.matches_tf", None, n=3, undo=True)
    assert overrides.apply(document, overrides.latest([first, second, undo]), inputs_of(document)) == document


def test_a_hand_in_adjustment_may_be_negative():
    document = result()
    applied = overrides.apply(document, overrides.latest([decide(document, "", -2, kind="handin")]),
                              inputs_of(document))
    assert applied["score"] == 1 and applied["adjustments"][0]["score"] == -2


def test_a_decision_on_other_code_is_stale_and_not_applied():
    old, new = result(code="def softmax(x): return x"), result(code="def softmax(x): return 2 * x")
    decision = decide(old, "softmax.matches_tf", 4)
    assert overrides.apply(old, overrides.latest([decision]), inputs_of(old))["score"] == 7
    assert overrides.is_stale(decision, inputs_of(new))
    assert overrides.apply(new, overrides.latest([decision]), inputs_of(new)) == new
    other_target = decide(old, "function_fitting.numpy_bonus", 1)
    assert not overrides.is_stale(other_target, inputs_of(new))  # only the changed target's decisions go stale


@pytest.mark.parametrize("check, score, allowed", [
    ("softmax.matches_tf", 4, True), ("softmax.matches_tf", 4.5, False), ("softmax.matches_tf", -1, False),
    ("softmax.matches_tf", float("nan"), False), ("function_fitting.numpy_bonus", 5, True),  # its extra credit
    ("function_fitting.numpy_bonus", 5.5, False), ("no.such_check", 1, False)])
def test_bounds_are_zero_to_the_maximum_or_the_extra_credit(check, score, allowed):
    document = result()
    request = overrides.Request("check", "ana", check, score, by="ta")
    attempt = lambda: overrides.validate(request, {"ana": document}, {"ana": inputs_of(document)}, CONFIG, 0.0)
    if allowed:
        assert attempt().score == score
    else:
        with pytest.raises(overrides.OverrideError):
            attempt()


def test_unknown_hand_in_and_an_adjustment_without_a_reason_are_refused():
    document = result()
    known, inputs = {"ana": document}, {"ana": inputs_of(document)}
    with pytest.raises(overrides.OverrideError, match="unknown hand-in 'bob'"):
        overrides.validate(overrides.Request("check", "bob", "softmax.matches_tf", 1, by="ta"), known, inputs,
                           CONFIG, 0)
    with pytest.raises(overrides.OverrideError, match="needs a reason"):
        overrides.validate(overrides.Request("handin", "ana", "", -1, by="ta"), known, inputs, CONFIG, 0)


def class_gradebook(path) -> Gradebook:
    book = Gradebook(path)
    for name in ("ana", "ben"):
        document = result(name)
        book.record(name, "h", "k", document, inputs_of(document))
    return book


def test_the_csv_round_trip_restores_every_decision(tmp_path):
    (tmp_path / "one").mkdir(), (tmp_path / "two").mkdir()
    with class_gradebook(tmp_path / "one" / "gradebook.sqlite") as book:
        recording.record(book, tmp_path / "one", [
            overrides.Request("check", "ana", "softmax.matches_tf", 2, "=HYPERLINK(\"x\")", "note, with comma", "ta"),
            overrides.Request("check", "ana", "softmax.matches_tf", None, by="tb", undo=True),
            overrides.Request("handin", "ben", "", -1.5, "copied the README", by="ta")], CONFIG)
        exported = recording.export_csv(book.decisions())
    assert "'=HYPERLINK" in exported  # a spreadsheet does not run it as a formula
    with class_gradebook(tmp_path / "two" / "gradebook.sqlite") as book:
        recording.record(book, tmp_path / "two", recording.parse_csv(exported, "importer"), CONFIG)
        assert recording.export_csv(book.decisions()) == exported
        recording.record(book, tmp_path / "two", recording.parse_csv(exported, "importer"), CONFIG)
        assert len(book.decisions()) == 3  # importing the same file again adds nothing


@pytest.mark.parametrize("row", ["check,ana,softmax.matches_tf,,9,no,,,ta,,",  # out of bounds
                                 "check,ana,softmax.matches_tf,,two,no,,,ta,,",  # not a number
                                 "check,zoe,softmax.matches_tf,,1,no,,,ta,,",  # unknown hand-in
                                 "check,ana,softmax.matches_tf,,1,maybe,,,ta,,",  # undo neither yes nor no
                                 "check,ana,softmax.matches_tf"])  # too few cells
def test_an_import_with_one_bad_row_writes_nothing(tmp_path, row):
    good = "check,ben,softmax.matches_tf,,1,no,fine,,ta,,"
    text = ",".join(recording.COLUMNS) + "\n" + good + "\n" + row + "\n"
    with class_gradebook(tmp_path / "gradebook.sqlite") as book:
        with pytest.raises(overrides.OverrideError, match="row 3"):
            requests = recording.parse_csv(text, "ta")
            recording.validate_rows(requests, book, CONFIG)
        assert book.decisions() == []
