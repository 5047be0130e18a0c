"""Rosters: hand-in folders joined to students, nobody dropped silently, LMS imports with the
columns Canvas and Moodle document."""

from __future__ import annotations

import csv
import io

import pytest

from grader.cli import main
from grader.roster import Roster, RosterError, RosterOptions, canvas_csv, moodle_csv, roster_files
from tests.helpers import write_notebook, IMPORTS, CORRECT_PART1

ROSTER = "name,github,email,student id\nAna Li,Ana,ana@x.edu,S1\nBob Wu,bob,bob@x.edu,S2\nCai Yu,cai,cai@x.edu,S3\n"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def roster(tmp_path) -> Roster:
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    return Roster.read(tmp_path / "roster.csv", "github", prefix="hw1-")


def test_folders_join_students_case_insensitively_after_the_prefix(roster):
    joined = roster.join(["hw1-ana", "HW1-Bob", "hw1-zed", "stray"])
    assert {folder: row["name"] for folder, row in joined.matched.items()} == {"hw1-ana": "Ana Li", "HW1-Bob": "Bob Wu"}
    assert [row["name"] for row in joined.missing] == ["Cai Yu"]
    assert joined.unmatched == ["hw1-zed", "stray"]


def test_a_bad_roster_says_what_is_wrong(tmp_path):
    (tmp_path / "r.csv").write_text("name,login\nAna,ana\nAna2,ANA\n")
    with pytest.raises(RosterError, match="no column 'github'"):
        Roster.read(tmp_path / "r.csv", "github")
    with pytest.raises(RosterError, match="appears twice"):
        Roster.read(tmp_path / "r.csv", "login")


def test_lms_exports_have_the_documented_columns(roster):
    scored = [(roster.rows[0], 37.0), (roster.rows[2], None)]
    canvas = _rows(canvas_csv(scored, "HW1 (1234)"))
    # Canvas: Student, ID, SIS User ID, SIS Login ID, Section, then "Assignment (id)"
    assert list(canvas[0]) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "HW1 (1234)"]
    assert canvas[0]["Student"] == "Ana Li" and canvas[0]["SIS User ID"] == "S1" and canvas[0]["HW1 (1234)"] == "37"
    assert canvas[1]["HW1 (1234)"] == ""  # no grade is not a zero unless asked for
    moodle = _rows(moodle_csv(scored, "HW1"))
    # Moodle maps users by an identifier column (email address or ID number), then one grade item
    assert list(moodle[0]) == ["Email address", "ID number", "HW1"]
    assert moodle[0] == {"Email address": "ana@x.edu", "ID number": "S1", "HW1": "37"}


def test_roster_files_list_the_missing_and_the_unmatched(roster):
    results = [{"submission": "hw1-ana", "score": 40.0}, {"submission": "=cmd()", "score": 3.0}]
    joined, files = roster_files(results, RosterOptions(roster, zero_missing=True, exports=("canvas",)))
    assert [r["name"] for r in _rows(files["missing.csv"])] == ["Bob Wu", "Cai Yu"]
    assert _rows(files["unmatched.csv"]) == [{"folder": "'=cmd()"}]  # no spreadsheet formula
    assert [r["dlgrade"] for r in _rows(files["canvas.csv"])] == ["40", "0", "0"]


def test_batch_with_a_roster_of_three_one_missing(tmp_path, capsys):
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    for user in ("ana", "bob"):
        write_notebook(tmp_path / "class" / f"hw1-{user}" / "hw.ipynb", [IMPORTS, CORRECT_PART1["sigmoid"]])
    write_notebook(tmp_path / "class" / "hw1-zed" / "hw.ipynb", [IMPORTS])
    out = tmp_path / "out"
    code = main(["batch", str(tmp_path / "class"), "--out", str(out), "--target", "sigmoid", "--roster",
                 str(tmp_path / "roster.csv"), "--roster-key", "github", "--folder-prefix", "hw1-", "--zero-missing",
                 "--export", "canvas", "--export", "moodle", "--no-similarity"])
    assert code == 0
    line = capsys.readouterr().out
    assert "roster: 1 without a hand-in" in line and "1 folders unmatched (unmatched.csv: hw1-zed)" in line
    grades = _rows((out / "grades.csv").read_text())
    students = [r for r in grades if r["name"]]
    assert [r["name"] for r in students] == ["Ana Li", "Bob Wu", "Cai Yu"]
    assert students[2]["total"] == "0" and students[2]["problems"] == "no hand-in"
    assert [r["name"] for r in _rows((out / "missing.csv").read_text())] == ["Cai Yu"]
    assert [r["folder"] for r in _rows((out / "unmatched.csv").read_text())] == ["hw1-zed"]
    assert len(_rows((out / "canvas.csv").read_text())) == 3 and len(_rows((out / "moodle.csv").read_text())) == 3


def test_export_without_a_roster_is_refused(tmp_path, capsys):
    (tmp_path / "class").mkdir()
    assert main(["batch", str(tmp_path / "class"), "--out", str(tmp_path / "out"), "--export", "canvas"]) == 2
    assert "--export needs --roster" in capsys.readouterr().err
