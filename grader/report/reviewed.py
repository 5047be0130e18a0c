"""Reports of a graded class with its review decisions applied, rendered from the gradebook alone.

`dlgrade batch` records here how it rendered the class (sub-folders, similarity settings, roster and
LMS exports), so `dlgrade override`, `dlgrade review` and `dlgrade report` write the same files again
with the newest decisions, without grading anything.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from grader import overrides
from grader.gradebook import Decision, Gradebook
from grader.report.write import unique_slugs, write_class, write_submission
from grader.roster import Joined, Roster, RosterOptions
from grader.similarity import SimilaritySettings

RENDERING = "rendering"  # the meta key


def remember(gradebook: Gradebook, folders: dict[str, str], similarity: SimilaritySettings | None,
             roster: dict | None, root: Path | None = None) -> None:
    """Store how the class was rendered: `roster` holds Roster.read's arguments and RosterOptions' flags;
    `root` is the class folder (the review app shows the Part 4 report from it)."""
    gradebook.set_meta(RENDERING, {"folders": folders, "similarity": asdict(similarity) if similarity else None,
                                   "roster": roster, "root": str(root.resolve()) if root else None})


def roster_meta(path: Path, key: str | None, prefix: str, zero_missing: bool, exports: tuple[str, ...],
                assignment: str, system: str | None = None) -> dict:
    """The roster settings as `remember` stores them (the roster is read again at each rendering); without
    a key, the roster joins on the ids of `system`'s hand-ins."""
    return {"path": str(path.resolve()), "key": key, "prefix": prefix, "zero_missing": zero_missing,
            "exports": list(exports), "assignment": assignment, "system": system}


def stored_roster(gradebook: Gradebook) -> RosterOptions | None:
    """The roster the batch last rendered with, read again (RosterError when it cannot be read)."""
    stored = (gradebook.meta(RENDERING) or {}).get("roster")
    if not stored:
        return None
    return RosterOptions(Roster.read(Path(stored["path"]), stored["key"], stored["prefix"], stored.get("system")),
                         stored["zero_missing"], tuple(stored["exports"]), stored["assignment"])


def reviewed_results(gradebook: Gradebook, names: list[str] | None = None) -> dict[str, dict]:
    """Hand-in name -> its latest result with the decisions in force applied, in name order."""
    decisions = overrides.latest(gradebook.decisions())
    return {entry.name: overrides.apply(entry.result, decisions, gradebook.inputs(entry.name), entry.name)
            for entry in gradebook.entries(names)}


def stale(gradebook: Gradebook, names: list[str] | None = None) -> list[Decision]:
    """The decisions in force (not undone) that no longer apply: the work under them changed since."""
    inputs = {entry.name: gradebook.inputs(entry.name) for entry in gradebook.entries(names)}
    found = []
    for decision in overrides.latest(gradebook.decisions()).values():
        if decision.undo or decision.name not in inputs:
            continue
        if overrides.is_stale(decision, inputs[decision.name], inputs.get(decision.subject)):
            found.append(decision)
    return found


def folders_of(gradebook: Gradebook) -> dict[str, str]:
    """The hand-ins of the class and their report sub-folders: as the batch last rendered them, else
    every hand-in of the gradebook under a fresh slug."""
    stored = (gradebook.meta(RENDERING) or {}).get("folders")
    if stored:
        return stored
    names = [entry.name for entry in gradebook.entries()]
    return dict(zip(names, unique_slugs(names)))


def render(gradebook: Gradebook, out: Path, submissions: list[str] | None = None,
           similarity: SimilaritySettings | None = None, roster: RosterOptions | None = None,
           stored_settings: bool = True) -> Joined | None:
    """Write the reports of `submissions` (default: every hand-in) and the class-wide files into `out`,
    decisions applied; with `stored_settings`, similarity and roster as the batch last rendered them."""
    folders = folders_of(gradebook)
    results = reviewed_results(gradebook, list(folders))
    folders = {name: folders[name] for name in results}
    if stored_settings:
        stored = gradebook.meta(RENDERING) or {}
        similarity = SimilaritySettings(**stored["similarity"]) if stored.get("similarity") else None
        roster = stored_roster(gradebook)
    for name in results if submissions is None else submissions:
        write_submission(results[name], out / folders[name], index_href="../index.html")
    return write_class(list(results.values()), out, list(folders.values()), similarity, roster)
