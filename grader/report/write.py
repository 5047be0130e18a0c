"""Write every report and export of a set of results into one folder.

Layout of `out/`: `index.html`, `grades.csv`, `junit.xml`, `results.json` (all contracts), and
per hand-in `<slug>/report.html`, `<slug>/results.json`, `<slug>/gradescope_results.json`.
Each file is written atomically (temporary file, then rename), so a killed run never leaves a
half-written report behind.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
from pathlib import Path

from grader.report.exports import grades_csv, gradescope, junit_xml, similarity_csv
from grader.report.html import FlaggedPair, class_page, pair_page, submission_page
from grader.roster import Joined, RosterOptions, roster_files
from grader.similarity import COMBINED, SimilaritySettings, compare


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def remove_stale_temporaries(out: Path) -> None:
    """Temporary files of a run that was killed mid-write (their targets are rewritten anyway)."""
    if out.is_dir():
        for stale in out.rglob(".*.tmp"):
            stale.unlink(missing_ok=True)


def slug(name: str) -> str:
    """A folder name safe on every file system, whatever the student named their folder."""
    text = unicodedata.normalize("NFKC", name)
    text = re.sub(r"[^\w.-]+", "_", text).strip("._") or "hand-in"
    return text[:80]


def unique_slugs(names: list[str]) -> list[str]:
    taken: dict[str, int] = {}
    slugs = []
    for name in names:
        base = slug(name)
        count = taken.get(base.lower(), 0)
        taken[base.lower()] = count + 1
        slugs.append(base if count == 0 else f"{base}-{count + 1}")
    return slugs


def as_json(document: object) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_submission(result: dict, folder: Path, index_href: str | None = None) -> None:
    """The per-hand-in files: report.html, results.json (the contract) and gradescope_results.json."""
    write_atomically(folder / "report.html", submission_page(result, index_href))
    write_atomically(folder / "results.json", as_json(result))
    write_atomically(folder / "gradescope_results.json", as_json(gradescope(result)))


def write_similarity(results: list[dict], out: Path, folders: list[str], settings: SimilaritySettings) -> list[FlaggedPair]:
    """similarity.csv, and a side-by-side page per flagged pair (similarity/<a>--<b>.html);
    returns the flagged pairs for the class page."""
    rows = compare(results, settings)
    write_atomically(out / "similarity.csv", similarity_csv(rows))
    by_name = {str(r.get("submission", "")): (r, f) for r, f in zip(results, folders)}
    flagged = []
    for pooled in (r for r in rows if r.target == COMBINED and r.flagged):
        (left, left_folder), (right, right_folder) = by_name[pooled.a], by_name[pooled.b]
        pair_rows = [r for r in rows if (r.a, r.b) == (pooled.a, pooled.b)]
        href = f"similarity/{left_folder}--{right_folder}.html"
        write_atomically(out / href, pair_page(left, right, pair_rows, index_href="../index.html"))
        flagged.append(FlaggedPair(pooled.a, pooled.b, pooled.score, pooled.evidence,
                                   [r.target for r in pair_rows if r.target != COMBINED and r.flagged], href))
    return flagged


def write_class(results: list[dict], out: Path, folders: list[str] | None = None,
                similarity: SimilaritySettings | None = None, roster: RosterOptions | None = None) -> Joined | None:
    """The class-wide files; `folders` are the per-hand-in sub-folders the index links to;
    with `similarity` settings, the similarity report too; with a `roster`, grades.csv gains its
    columns, and missing.csv, unmatched.csv and the LMS exports are written (returns the join)."""
    hrefs = [f"{folder}/report.html" for folder in folders] if folders else [None] * len(results)
    pairs = write_similarity(results, out, folders or unique_slugs([str(r.get("submission", "")) for r in results]),
                             similarity) if similarity else None
    write_atomically(out / "index.html", class_page(list(zip(results, hrefs)), pairs=pairs))
    joined = None
    if roster is None:
        write_atomically(out / "grades.csv", grades_csv(results))
    else:
        joined, files = roster_files(results, roster)
        for name, text in files.items():
            write_atomically(out / name, text)
        write_atomically(out / "grades.csv", grades_csv(results, roster.roster.columns, joined.groups,
                                                        joined.missing if roster.zero_missing else []))
    write_atomically(out / "junit.xml", junit_xml(results))
    write_atomically(out / "results.json", as_json(results))
    return joined


def write_reports(results: list[dict], out: Path, similarity: SimilaritySettings | None = None) -> list[Path]:
    """Everything for `results` into `out` (the similarity report too, given its settings);
    returns the per-hand-in report paths."""
    folders = unique_slugs([str(r.get("submission", "")) for r in results])
    for result, folder in zip(results, folders):
        write_submission(result, out / folder, index_href="../index.html")
    write_class(results, out, folders, similarity)
    return [out / folder / "report.html" for folder in folders]
