"""Exports for the tools instructors and CI already use, built from the results contract (dicts):
a gradebook CSV, Gradescope's results.json, and JUnit XML."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET

from grader.i18n import tr
from grader.results import TARGET_ORDER, failed_checks, target_totals
from grader.roster import people
from grader.similarity import PairScore

PERSON_COLUMNS = {"student_id": "id", "student_name": "name", "student_email": "email",
                  "student_login": "login"}  # grades.csv's columns of the students an intake named
_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def spreadsheet_cell(value: object) -> object:
    """Keep a spreadsheet from running a student's text as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def grades_csv(results: list[dict], roster_columns: list[str] = (),
               students: dict[str, dict[str, str] | list[dict[str, str]]] | None = None,
               absent: list[dict[str, str]] = ()) -> str:
    """One row per student credited with a hand-in (a group's members each): the score of each target that
    carries points, then the total, and the checks a human must review (`needs_human`, until a reviewer
    has decided them). With a roster, its columns come first (`students`: hand-in name -> roster row, or
    every member's row), and `absent` students get a row of zeros; without one, the ids the LMS or
    GitHub gave (grader/intake) come first when there are any."""
    targets = [t for t in TARGET_ORDER if any(target_totals(r).get(t, (0, 0))[1] for r in results)]
    students = students or {}
    identified = not roster_columns and any(people(r) for r in results)
    columns = [*roster_columns, *(PERSON_COLUMNS if identified else ())]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*columns, "submission", *targets, "total", "max_score", "all_passed", "problems",
                     "needs_human"])
    for result in results:
        totals = target_totals(result)
        failed = bool(failed_checks(result))
        problems = len(result.get("notes", [])) + len(result.get("internal_errors", []))
        row = [spreadsheet_cell(str(result.get("submission", ""))),
               *[f"{totals[t][0]:g}" if t in totals else "" for t in targets],
               f"{float(result.get('score', 0)):g}", f"{float(result.get('max_score', 0)):g}",
               "no" if failed or result.get("internal_errors") else "yes", problems,
               " ".join(c["id"] for c in result.get("checks", []) if c.get("needs_human") and "override" not in c)]
        if identified:
            credited = [{c: p.get(f) or "" for c, f in PERSON_COLUMNS.items()} for p in people(result)]
        else:
            credited = students.get(str(result.get("submission", "")), {})
            credited = credited if isinstance(credited, list) else [credited]
        for person in credited or [{}]:
            writer.writerow([*(spreadsheet_cell(person.get(c, "")) for c in columns), *row])
    maximum = max((float(r.get("max_score", 0)) for r in results), default=0.0)
    for student in absent:
        writer.writerow([*(spreadsheet_cell(student.get(c, "")) for c in roster_columns), "", *["0"] * len(targets),
                         "0", f"{maximum:g}", "no", "no hand-in", ""])
    return out.getvalue()


def similarity_csv(rows: list[PairScore]) -> str:
    """similarity.csv: one row per pair and target above the floor (`*`: all targets pooled)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["a", "b", "target", "score", "flagged"])
    for row in rows:
        writer.writerow([spreadsheet_cell(row.a), spreadsheet_cell(row.b), row.target, f"{row.score:.3f}",
                         "yes" if row.flagged else "no"])
    return out.getvalue()


def _reviewed(decision: dict) -> str:
    """A reviewer's decision as the student reads it."""
    if decision.get("comment"):
        return tr("reviewed by {by}: {comment}", by=decision["by"], comment=decision["comment"])
    return tr("reviewed by {by}", by=decision["by"])


def _check_output(check: dict) -> str:
    text = check["message"] + ("\n" + tr("hint: {hint}", hint=check["hint"]) if check.get("hint") else "")
    if "override" in check:
        text += "\n" + _reviewed(check["override"]) + " " + tr("(automated score {score:g})",
                                                                score=float(check["auto_score"]))
    return text


def gradescope(result: dict, visibility: str = "visible") -> dict:
    """Gradescope's autograder results.json: the total, and one test per check (visible to students)."""
    notes = [tr("could not load: {note}", note=note) for note in result.get("notes", [])]
    notes += [tr("grader error (not the student's fault): {error}", error=error)
              for error in result.get("internal_errors", [])]
    notes += [tr("total adjusted by {points:+g}: {reviewed}", points=float(a["score"]), reviewed=_reviewed(a))
              for a in result.get("adjustments", [])]
    return {
        "score": float(result.get("score", 0)),
        "execution_time": round(float(result.get("duration_s", 0))),
        "output": "\n".join([f"dlgrade {result.get('environment', {}).get('dlgrade', '')}: "
                             f"{float(result.get('score', 0)):g} / {float(result.get('max_score', 0)):g}"] + notes),
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": [
            {"name": check["id"], "number": str(i), "score": float(check["score"]),
             "max_score": float(check["max_score"]), "status": "passed" if check["passed"] else "failed",
             "output": _check_output(check), "tags": [check["target"]],
             "visibility": "after_published" if check.get("hidden") else visibility}
            for i, check in enumerate(result.get("checks", []), start=1)
        ],
    }


def _text(value: object) -> str:
    """XML 1.0 cannot hold every character a student's exception may contain."""
    return _XML_INVALID.sub("\ufffd", str(value))


def _outcome(check: dict, internal_errors: list[str]) -> str | None:
    """None (passed), "failure", "error" (the grader's own fault: its message is one of the hand-in's
    internal errors) or "skipped" (failed, 0 points)."""
    if check["passed"]:
        return None
    if check["message"] in internal_errors:
        return "error"
    return "failure" if check["max_score"] else "skipped"


def junit_xml(results: list[dict]) -> str:
    """JUnit XML: one <testsuite> per hand-in, one <testcase> per check. A failed check is a
    <failure>, an <error> when the grader failed it, <skipped> when it carries no points."""
    root = ET.Element("testsuites", name="dlgrade")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for result in results:
        checks = result.get("checks", [])
        kinds = [_outcome(c, result.get("internal_errors", [])) for c in checks]
        errors, failures, skipped = (kinds.count(k) for k in ("error", "failure", "skipped"))
        suite = ET.SubElement(root, "testsuite", name=_text(result.get("submission", "")), tests=str(len(checks)),
                              failures=str(failures), errors=str(errors), skipped=str(skipped),
                              time=f"{float(result.get('duration_s', 0)):.3f}")
        for check, kind in zip(checks, kinds):
            case = ET.SubElement(suite, "testcase", classname=_text(f"dlgrade.{check['target']}"),
                                 name=_text(check["id"]), time="0")
            if kind == "skipped":
                ET.SubElement(case, "skipped", message=_text(tr("informational check (0 points): {message}",
                                                                message=check["message"]))[:500])
            elif kind:
                element = ET.SubElement(case, kind, message=_text(check["message"])[:500], type="dlgrade")
                element.text = _text(_check_output(check))
        problems = result.get("notes", []) + result.get("internal_errors", [])
        if problems:
            ET.SubElement(suite, "system-err").text = _text("\n".join(problems))
        totals["tests"] += len(checks)
        totals["failures"] += failures
        totals["errors"] += errors
        total_time += float(result.get("duration_s", 0))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
