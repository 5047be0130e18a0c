"""Intake: every system recognised from its names and read into hand-ins with who and when; ambiguity and
the unknown refused before anything is written; students' archives unpacked, a bad one costing one student."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader.batch import handin_hash
from grader.config import Config, LatePolicy, load_config
from grader.intake import IntakeError, IntakeOptions
from grader.intake.stage import listing, recognise, take_in
from grader.intake.times import apply_times
from grader.roster import Roster
from grader import scoring
from tests.intake_fixtures import (WORKSHEET, blackboard_files, brightspace_files, canvas_files, gradescope_files,
                                   moodle_files, notebook_bytes, write_tree, zip_bytes, BAD)

UTC = timezone.utc


@pytest.fixture
def nb(tmp_path) -> bytes:
    return notebook_bytes(tmp_path)


@pytest.fixture
def bad(tmp_path) -> bytes:
    return notebook_bytes(tmp_path, BAD)


def read(tmp_path: Path, files: dict, forced: str | None = None, options: IntakeOptions = IntakeOptions(),
         as_zip: bool = False):
    """Write a download (a folder, or a zip of it) and take it in under tmp_path/out."""
    if as_zip:
        source = tmp_path / "download.zip"
        source.write_bytes(zip_bytes({k: v.encode() if isinstance(v, str) else v for k, v in files.items()}))
    else:
        source = write_tree(tmp_path / "download", files)
    return take_in(source, tmp_path / "out", options, forced=forced)


def by_key(intake) -> dict:
    return {h.key: h for h in intake.handins}


# --- recognition -------------------------------------------------------------------------------------------


def test_each_system_is_recognised_from_its_names(nb, bad):
    cases = {"canvas": canvas_files(nb, bad), "gradescope": gradescope_files(nb), "moodle": moodle_files(nb),
             "blackboard": blackboard_files(nb, bad), "brightspace": brightspace_files(nb, bad)}
    for system, files in cases.items():
        assert recognise(sorted(files))[0] == system, system
    assert recognise(["ana/hw.ipynb", "ben/hw.ipynb"]) == ("folders", "")
    assert recognise(["hw1-submissions/hw1-ana/.git/", "hw1-submissions/hw1-ana/hw.ipynb",
                      "hw1-submissions/hw1-bob/.git/"]) == ("git", "hw1-submissions/")
    # a zip of one folder holding the download, as Gradescope's export comes
    assert recognise([f"assignment_77_export/{n}" for n in gradescope_files(nb)]) == ("gradescope",
                                                                                     "assignment_77_export/")


def test_today_folders_named_like_nothing_stay_folders():
    names = ["ana/hw.ipynb", "ben_2/hw.ipynb", "hw1-cleo/part1.py", "dan/attempt_1/hw.ipynb"]
    assert recognise(names) == ("folders", "")
    assert recognise([]) == ("folders", "")


def test_ambiguous_and_unrecognised_downloads_are_refused_naming_the_candidates(tmp_path, nb, bad):
    mixed = dict(canvas_files(nb, bad)) | {k: v for k, v in blackboard_files(nb, bad).items()}
    with pytest.raises(IntakeError, match="canvas .*blackboard|blackboard .*canvas") as caught:
        read(tmp_path, mixed)
    assert "--intake" in str(caught.value)
    with pytest.raises(IntakeError, match="no system recognised"):
        read(tmp_path / "loose", {"hw1.ipynb": nb, "notes.txt": "x"})
    assert not (tmp_path / "out").exists() and not (tmp_path / "loose" / "out").exists()
    forced = read(tmp_path / "forced", mixed, forced="blackboard")
    assert forced.system == "blackboard" and {h.key for h in forced.handins} == {"jdoe", "hli"}


def test_listing_reads_a_zip_without_unpacking_and_marks_clones(tmp_path, nb):
    (tmp_path / "d.zip").write_bytes(zip_bytes({"a\\b.ipynb": nb, "c/": b""}))
    assert listing(tmp_path / "d.zip") == ["a/b.ipynb"]
    write_tree(tmp_path / "repos", {"hw1-ana/.git/HEAD": "ref", "hw1-ana/hw.ipynb": nb})
    assert listing(tmp_path / "repos") == ["hw1-ana/.git/", "hw1-ana/hw.ipynb"]


# --- Canvas ------------------------------------------------------------------------------------------------


def test_canvas_ids_late_markers_reuploads_and_anonymous(tmp_path, nb, bad):
    intake = read(tmp_path, canvas_files(nb, bad) | {"readme.txt": "not an upload"}, as_zip=True)
    handins = by_key(intake)
    assert set(handins) == {"doejohn_123456", "lihua_234567", "wangfang_345678", "anon_Xk3Pq"}
    lihua = handins["lihua_234567"]
    assert lihua.student.to_dict() == {"id": "234567", "name": "lihua", "email": None, "login": None}
    assert lihua.late_marker and lihua.submitted_at is None
    assert (lihua.folder / "hw1.ipynb").read_bytes() == nb  # the re-upload, under the original name
    assert lihua.files == ["hw1.ipynb"] and lihua.attempts[0]["file"] == "hw1.ipynb"
    assert handins["wangfang_345678"].late_marker  # the old lower-case marker
    assert not handins["doejohn_123456"].late_marker
    assert handins["anon_Xk3Pq"].student.id == "anon_Xk3Pq" and handins["anon_Xk3Pq"].student.name is None
    wang = handins["wangfang_345678"]
    assert wang.archives == ["wangfang_late_345678_9876700_homework.zip"[len("wangfang_late_345678_9876700_"):]]
    assert wang.files == ["homework/homework/hw1.ipynb"]
    assert any("__MACOSX" in item for item in wang.left_out)
    assert any("readme.txt" in note for note in intake.notes)
    line = intake.summary()
    assert line.startswith("Canvas download:") and "4 students" in line and "2 marked late" in line
    assert "1 archive unpacked" in line and "1 re-upload kept as the latest" in line
    for handin in intake.handins:  # everything under --out
        assert (tmp_path / "out" / "intake") in handin.folder.parents


def test_a_refused_archive_costs_only_its_student(tmp_path, nb, bad):
    files = canvas_files(nb, bad)
    files["wangfang_late_345678_9876700_homework.zip"] = zip_bytes({"../../escape.ipynb": nb})
    files["zhaolei_456789_9876900_hw.zip"] = zip_bytes({"hw.ipynb": nb})[:-30]  # truncated
    handins = by_key(read(tmp_path, files))
    wang, zhao = handins["wangfang_345678"], handins["zhaolei_456789"]
    assert "homework.zip" in wang.error and "../../escape.ipynb" in wang.error and "traversal" in wang.error
    assert "hw.zip" in zhao.error and "[corrupt]" in zhao.error
    assert list(wang.folder.iterdir()) == [] and list(zhao.folder.iterdir()) == []
    assert not list(tmp_path.rglob("escape.ipynb"))
    assert all(h.error is None for k, h in handins.items() if k not in ("wangfang_345678", "zhaolei_456789"))
    assert (handins["doejohn_123456"].folder / "hw1.ipynb").is_file()


def test_a_second_intake_materialises_byte_identical_files(tmp_path, nb, bad):
    first = {h.key: handin_hash(h) for h in read(tmp_path, canvas_files(nb, bad), as_zip=True).handins}
    again = {h.key: handin_hash(h) for h in read(tmp_path, canvas_files(nb, bad), as_zip=True).handins}
    assert first == again
    files = canvas_files(nb, bad) | {"doejohn_123456_9876543_hw1.ipynb": bad}
    changed = {h.key: handin_hash(h) for h in read(tmp_path, files, as_zip=True).handins}
    assert [k for k in first if first[k] != changed[k]] == ["doejohn_123456"]


def test_the_input_is_never_changed(tmp_path, nb, bad):
    source = write_tree(tmp_path / "download", canvas_files(nb, bad))
    before = {p: p.read_bytes() for p in source.rglob("*") if p.is_file()}
    take_in(source, tmp_path / "out", IntakeOptions())
    assert {p: p.read_bytes() for p in source.rglob("*") if p.is_file()} == before


# --- Gradescope --------------------------------------------------------------------------------------------


def test_gradescope_submitters_groups_and_created_at(tmp_path, nb):
    intake = read(tmp_path, {f"assignment_77_export/{k}": v for k, v in gradescope_files(nb).items()}, as_zip=True)
    handins = by_key(intake)
    assert set(handins) == {"Ana_Li_S1", "Bob_Wu_S2"}
    ana, group = handins["Ana_Li_S1"], handins["Bob_Wu_S2"]
    assert ana.student.to_dict() == {"id": "S1", "name": "Ana Li", "email": "ana@x.edu", "login": None}
    assert ana.submitted_at == datetime(2026, 12, 1, 9, 22, 33, 123456, tzinfo=UTC)
    assert [m.id for m in group.members] == ["S2", "S3"] and group.files == ["work/hw1.ipynb"]
    assert group.submitted_at == datetime(2026, 12, 3, 8, 0, tzinfo=UTC) and len(group.attempts) == 1
    assert "3 students" in intake.summary() and "1 group hand-in" in intake.summary()


# --- Moodle ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["3", "4", "flat"])
def test_moodle_folders_old_and_new_and_flat(tmp_path, nb, form):
    intake = read(tmp_path, moodle_files(nb, form), as_zip=True)
    handins = by_key(intake)
    assert set(handins) == {"Ana_Li_500001", "Bob_Wu_500002", "Team_Blue_500003"}
    ana = handins["Ana_Li_500001"]
    assert ana.student.id == "500001" and ana.student.name == "Ana Li" and ana.submitted_at is None
    expected = ["hw1.ipynb", "onlinetext/onlinetext.html"] if form != "flat" else ["hw1.ipynb"]
    assert sorted(ana.files) == expected
    if form != "flat":
        assert handins["Bob_Wu_500002"].files == ["sub/hw1.ipynb"]
    assert any("no grading worksheet" in note for note in intake.notes)


def test_moodle_worksheet_beside_the_download_gives_emails_times_and_team_members(tmp_path, nb):
    (tmp_path / "worksheet.csv").write_text(WORKSHEET, encoding="utf-8")
    zone = timezone(timedelta(hours=1))
    handins = by_key(read(tmp_path, moodle_files(nb, "4"), as_zip=True, options=IntakeOptions(zone=zone)))
    ana, bob, team = handins["Ana_Li_500001"], handins["Bob_Wu_500002"], handins["Team_Blue_500003"]
    assert ana.student.email == "ana@x.edu" and ana.submitted_at == datetime(2026, 12, 1, 10, 22, tzinfo=zone)
    assert bob.submitted_at == datetime(2026, 12, 3, 21, 5, tzinfo=zone)
    assert [m.name for m in team.members] == ["Cai Yu", "Dan Ma"]


# --- Blackboard --------------------------------------------------------------------------------------------


def test_blackboard_latest_attempt_counts_under_its_original_name(tmp_path, nb, bad):
    handins = by_key(read(tmp_path, blackboard_files(nb, bad), as_zip=True))
    john = handins["jdoe"]
    assert john.student.to_dict() == {"id": "jdoe", "name": "John Doe", "email": None, "login": "jdoe"}
    assert john.files == ["my hw1.ipynb"] and (john.folder / "my hw1.ipynb").read_bytes() == nb
    assert john.submitted_at == datetime(2026, 12, 2, 9, 30, 10, tzinfo=UTC)
    assert [a["attempt"] for a in john.attempts] == ["2026-11-30-20-15-00"]
    assert handins["hli"].student.name == "Hua Li" and handins["hli"].attempts == []


# --- Brightspace -------------------------------------------------------------------------------------------


def test_brightspace_names_and_times_to_the_minute(tmp_path, nb, bad):
    intake = read(tmp_path, brightspace_files(nb, bad), as_zip=True)
    handins = by_key(intake)
    ana = handins["Ana_Li"]
    assert ana.student.to_dict() == {"id": None, "name": "Ana Li", "email": None, "login": None}
    assert ana.submitted_at == datetime(2026, 12, 2, 13, 22, tzinfo=UTC)  # "122 PM": 1:22 PM, not 12:02
    assert (ana.folder / "hw1.ipynb").read_bytes() == nb and len(ana.attempts) == 1
    assert handins["Bob_Wu"].submitted_at == datetime(2026, 12, 3, 21, 5, tzinfo=UTC)
    assert handins["Cai_Yu"].files == ["hw1.ipynb"]
    assert any("only names" in note for note in intake.notes)


# --- when --------------------------------------------------------------------------------------------------


def course(due: datetime | None) -> Config:
    return load_config().__class__(**{**load_config().__dict__, "late": LatePolicy(due, 0.1, 1.0)})


def test_a_late_marker_without_a_time_costs_one_day_and_days_stay_unknown():
    due = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
    late = scoring.late_record(course(due), None, marked_late=True)
    assert late["days_late"] is None and late["penalty"] == 0.1 and late["submitted_at"] is None
    assert scoring.late_record(course(due), None) is None
    assert scoring.late_record(course(None), None, marked_late=True) is None  # no late policy: no penalty
    two_days = scoring.late_record(course(due), due + timedelta(hours=30))
    assert two_days["days_late"] == 2 and two_days["penalty"] == 0.2
    document = {"score": 40.0, "max_score": 40.0}
    assert scoring.retime(document, course(due), None, True)["score"] == 36.0 and document["raw_score"] == 40.0
    assert scoring.retime(document, course(due), due, False) == {"score": 40.0, "max_score": 40.0}


def test_submitted_at_csv_overrides_the_system(tmp_path, nb):
    intake = read(tmp_path, gradescope_files(nb))
    times = tmp_path / "times.csv"
    times.write_text("student,submitted_at\nS3,2026-12-05T10:00:00+00:00\nnobody,2026-12-05T10:00:00\n")
    apply_times(intake, times)
    group = by_key(intake)["Bob_Wu_S2"]
    assert group.submitted_at == datetime(2026, 12, 5, 10, tzinfo=UTC) and group.time_source == "--submitted-at"
    assert by_key(intake)["Ana_Li_S1"].time_source == ":created_at"
    assert any("nobody" in note for note in intake.notes)


def test_intake_time_never_comes_from_a_files_mtime(tmp_path, nb, bad):
    handin = by_key(read(tmp_path, canvas_files(nb, bad)))["doejohn_123456"]
    record = handin.record()
    assert record["submitted_at"] is None and record["time_source"] == "canvas"
    assert scoring.late_record(course(datetime(2000, 1, 1, tzinfo=UTC)), handin.submitted_at) is None


# --- who: rosters join on the ids that came in ---------------------------------------------------------------


def joined(tmp_path: Path, roster_text: str, system: str, results: list[dict]):
    (tmp_path / "roster.csv").write_text(roster_text, encoding="utf-8")
    roster = Roster.read(tmp_path / "roster.csv", None, system=system)
    return roster, roster.join([r["submission"] for r in results], {r["submission"]: r["people"] for r in results})


def person(id=None, name=None, email=None, login=None) -> dict:
    return {"id": id, "name": name, "email": email, "login": login}


def test_rosters_join_without_a_key_when_their_columns_say_which(tmp_path):
    canvas = "Student,ID,SIS User ID,SIS Login ID,Section\nJohn Doe,123456,,,\nHua Li,234567,,,\n"
    roster, join = joined(tmp_path, canvas, "canvas", [{"submission": "doejohn_123456",
                                                          "people": [person("123456", "doejohn")]}])
    assert roster.key == "ID" and join.matched["doejohn_123456"]["Student"] == "John Doe"
    assert [r["Student"] for r in join.missing] == ["Hua Li"]
    worksheet = "Identifier,Full name,Email address\nParticipant 500001,Ana Li,ana@x.edu\n"
    _, join = joined(tmp_path, worksheet, "moodle", [{"submission": "a", "people": [person("500001")]}])
    assert join.matched["a"]["Full name"] == "Ana Li"
    gradescope = "Name,SID,Email\nBob Wu,S2,bob@x.edu\nCai Yu,S3,cai@x.edu\n"
    _, join = joined(tmp_path, gradescope, "gradescope", [{"submission": "g", "people": [person("S2"), person("S3")]}])
    assert [r["Name"] for r in join.groups["g"]] == ["Bob Wu", "Cai Yu"] and join.missing == []
    classroom = "identifier,github_username\nana@x.edu,ana-gh\n"
    _, join = joined(tmp_path, classroom, "git", [{"submission": "ana-gh", "people": [person(login="Ana-GH")]}])
    assert join.matched["ana-gh"]["identifier"] == "ana@x.edu"
    with pytest.raises(ValueError, match="--roster-key"):
        joined(tmp_path, "name,email\nA,a@x\n", "canvas", [])


def test_a_roster_never_joins_on_the_wrong_id(tmp_path):
    """A Canvas user id that only equals another student's SIS id must not match through it."""
    canvas = "Student,ID,SIS User ID,SIS Login ID,Section\nJohn Doe,111,123456,,\n"
    _, join = joined(tmp_path, canvas, "canvas", [{"submission": "x_123456", "people": [person("123456")]}])
    assert join.unmatched == ["x_123456"]


# --- reports, grades.csv and the review queue name the student -----------------------------------------------


def graded(submission: str, people: list[dict], score: float = 10.0, sources: bool = True) -> dict:
    check = {"id": "sigmoid.matches_tf", "target": "sigmoid", "score": score, "max_score": 10.0,
             "passed": score == 10.0, "message": "m", "hint": None}
    result = {"submission": submission, "score": score, "max_score": 10.0, "checks": [check], "files": [],
              "notes": [] if sources else ["archive hw.zip refused"], "internal_errors": [], "duration_s": 1.0,
              "environment": {},
              "sources": {"sigmoid": {}} if sources else {}, "student": people[0],
              "intake": {"system": "gradescope", "files": [], "archives": []}}
    return result | ({"members": people} if len(people) > 1 else {})


def test_reports_grades_and_the_review_queue_name_the_student(tmp_path):
    from grader.gradebook import Gradebook
    from grader.report.exports import grades_csv
    from grader.report.html import class_page, submission_page
    from grader.review.queue import build

    group = graded("Bob_Wu_S2", [person("S2", "Bob Wu", "bob@x.edu"), person("S3", "Cai Yu")])
    single = graded("Ana_Li_S1", [person("S1", "Ana Li")], 0.0, sources=False)
    plain = {k: v for k, v in graded("ana", [person()]).items() if k != "student"}
    table = list(csv.DictReader(io.StringIO(grades_csv([group, single]))))
    assert [(r["student_id"], r["student_name"], r["submission"], r["total"]) for r in table] == [
        ("S2", "Bob Wu", "Bob_Wu_S2", "10"), ("S3", "Cai Yu", "Bob_Wu_S2", "10"), ("S1", "Ana Li", "Ana_Li_S1", "0")]
    assert grades_csv([plain]).startswith("submission,")  # a plain folder: today's columns
    page = submission_page(group)
    assert '<span id="submission">Bob Wu, Cai Yu</span>' in page and "bob@x.edu" in page
    assert ">Bob Wu, Cai Yu</a>" in class_page([(group, "g/report.html")])
    with Gradebook(tmp_path / "book.sqlite") as book:
        book.record("Ana_Li_S1", "h", "k", single, {"handin": "h"})
        items = build(book, load_config())
    assert items[0].to_dict()["who"] == "Ana Li" and items[0].kind == "failed_to_load"


def test_a_file_name_taken_from_the_student_never_leaves_the_hand_in(tmp_path, nb, bad):
    files = blackboard_files(nb, bad)
    receipt = "HW_1_hli_attempt_2026-12-01-23-58-59.txt"
    files[receipt] = files[receipt].replace("Original filename: hw1.ipynb", "Original filename: ../../../evil.ipynb")
    hua = by_key(read(tmp_path, files))["hli"]
    assert hua.files == ["evil.ipynb"] and (hua.folder / "evil.ipynb").read_bytes() == nb
    assert not (tmp_path / "evil.ipynb").exists() and not (tmp_path / "out" / "evil.ipynb").exists()


def test_moodle_export_writes_back_the_worksheet_ids_and_a_group_gets_a_row_each(tmp_path):
    from grader.roster import RosterOptions, roster_files

    (tmp_path / "worksheet.csv").write_text(WORKSHEET, encoding="utf-8")
    roster = Roster.read(tmp_path / "worksheet.csv", None, system="moodle")
    results = [{"submission": "Ana_Li_500001", "score": 30.0, "student": person("500001", "Ana Li")},
               {"submission": "Team_Blue_500003", "score": 20.0, "student": person("500003", "Team Blue"),
                "members": [person("500003", "Cai Yu"), person("500004", "Dan Ma")]}]
    joined, files = roster_files(results, RosterOptions(roster, exports=("moodle",), assignment="HW1"))
    exported = list(csv.DictReader(io.StringIO(files["moodle.csv"])))
    assert [(r["Identifier"], r["HW1"]) for r in exported] == [
        ("Participant 500001", "30"), ("Participant 500003", "20"), ("Participant 500004", "20"),
        ("Participant 500002", "")]
    assert joined.unmatched == [] and [r["Full name"] for r in joined.missing] == ["Bob Wu"]


def test_canvas_names_with_underscores_digits_and_late_markers_parse_at_the_first_ids():
    from grader.intake.canvas import parse

    assert parse("van_der_berg_123_456_hw_2_3.py") | {} == {
        "name": "van_der_berg", "id": "123", "late": False, "attachment": 456, "file": "hw_2_3.py", "anonymous": False}
    assert parse("doejohn_late_1_2_late_work.ipynb")["file"] == "late_work.ipynb"
    assert parse("doejohn_LATE_1_2_x.ipynb")["late"] and not parse("doejohn_1_2_LATE.ipynb")["late"]
    assert parse("hw1.ipynb") is None and parse("notes_2024.txt") is None
