"""`dlgrade batch` on downloads end to end (few, and only the sigmoid target: grading is slow): a Canvas zip
graded and exported imports into the same Canvas gradebook, one bad archive costs one student, a second run
re-grades nothing, and an ambiguous download exits 2 having written nothing."""

from __future__ import annotations

import csv
import io
import json

from grader.cli import main
from tests.intake_fixtures import BAD, blackboard_files, canvas_files, notebook_bytes, write_tree, zip_bytes

COURSE = '[late]\ndue = "2026-12-01T23:59:00+00:00"\npenalty_per_day = 0.25\n'


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_canvas_zip_round_trip_to_canvas_csv_with_the_same_ids(tmp_path, capsys):
    nb, bad = notebook_bytes(tmp_path), notebook_bytes(tmp_path, BAD)
    files = canvas_files(nb, bad) | {"zhaolei_456789_9876900_hw.zip": zip_bytes({"hw.ipynb": nb})[:-30]}
    download = tmp_path / "submissions.zip"
    download.write_bytes(zip_bytes(files))
    (tmp_path / "course.toml").write_text(COURSE)
    out = tmp_path / "out"
    command = ["batch", str(download), "--out", str(out), "--target", "sigmoid", "--export", "canvas",
               "--assignment", "HW1 (77)", "--no-similarity", "--config", str(tmp_path / "course.toml")]
    assert main(command) == 0
    printed = capsys.readouterr().out
    assert printed.index("Canvas download:") < printed.index("graded 5")
    assert "5 students, 2 marked late, 1 archive unpacked, 1 re-upload kept as the latest, 1 could not be read" \
        in printed
    exported = rows((out / "canvas.csv").read_text())
    assert sorted(r["ID"] for r in exported) == ["123456", "234567", "345678", "456789", "anon_Xk3Pq"]
    assert list(exported[0]) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "HW1 (77)"]
    scores = {r["ID"]: r["HW1 (77)"] for r in exported}
    # lihua: LATE without a time, the re-upload (correct) graded: one day's penalty of 25%
    assert scores == {"123456": "10", "234567": "7.5", "345678": "7.5", "456789": "0", "anon_Xk3Pq": "10"}
    results = {r["submission"]: r for r in json.loads((out / "results.json").read_text())}
    lihua = results["lihua_234567"]
    assert lihua["student"] == {"id": "234567", "name": "lihua", "email": None, "login": None}
    assert lihua["late"]["days_late"] is None and lihua["raw_score"] == 10
    assert lihua["intake"]["system"] == "canvas" and lihua["intake"]["attempts"][0]["file"] == "hw1.ipynb"
    zhao = results["zhaolei_456789"]
    assert not zhao["sources"] and "hw.zip" in zhao["notes"][0] and "[corrupt]" in zhao["notes"][0]
    grades = rows((out / "grades.csv").read_text())
    assert {r["ID"] for r in grades} == set(scores) and all(r["submission"] for r in grades)  # the ids, as a roster
    page = (out / "lihua_234567" / "report.html").read_text()
    assert '<span id="submission">lihua</span>' in page and "234567" in page and "marked late" in page
    assert main(command) == 0
    assert "graded 0, unchanged 5" in capsys.readouterr().out
    # a reviewer's decision renders the exports again from the stored roster: the same ids, the new score
    assert main(["override", str(out), "zhaolei_456789", "sigmoid.matches_tf", "4", "--by", "ta"]) == 0
    again = {r["ID"]: r["HW1 (77)"] for r in rows((out / "canvas.csv").read_text())}
    assert again == scores | {"456789": "4"}
    listed = main(["review", str(out), "--list", "--format", "json"])
    assert listed == 0 and '"who": "zhaolei"' in capsys.readouterr().out


def test_an_ambiguous_download_exits_2_and_writes_nothing(tmp_path, capsys):
    nb, bad = notebook_bytes(tmp_path), notebook_bytes(tmp_path, BAD)
    download = write_tree(tmp_path / "download", canvas_files(nb, bad) | blackboard_files(nb, bad))
    out = tmp_path / "out"
    assert main(["batch", str(download), "--out", str(out), "--target", "sigmoid"]) == 2
    error = capsys.readouterr().err
    assert "canvas" in error and "blackboard" in error and "--intake" in error
    assert not out.exists()


def test_at_deadline_without_a_due_date_exits_2_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "class" / "ana").mkdir(parents=True)
    out = tmp_path / "out"
    assert main(["batch", str(tmp_path / "class"), "--out", str(out), "--at-deadline"]) == 2
    assert "[late] due" in capsys.readouterr().err and not out.exists()
