"""Gradescope "Export Submissions": `submission_metadata.yml` and one `submission_<id>/` per submission.

The metadata names the submitters (`:name`, `:sid`, `:email`; several for a group) and the time
(`:created_at`). A group's hand-in is graded once and credited to every member. The YAML is read
with PyYAML's safe loader; Ruby tags Gradescope may write are read as plain data.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import yaml

from grader.i18n import tr
from grader.intake import Evidence, Handin, Intake, IntakeError, IntakeOptions, Student, files_under, slug

SYSTEM = "gradescope"
METADATA = "submission_metadata.yml"
FOLDER = re.compile(r"^submission_\d+$")


class _Loader(yaml.SafeLoader):
    """The safe loader, reading any tag (`!ruby/object:...`) as the plain mapping, list or string it tags."""


def _untagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_Loader.add_multi_constructor("!", _untagged)


def detect(names: list[str]) -> Evidence | None:
    """Strong when the metadata file lies at the top."""
    if METADATA in names:
        folders = {n.split("/", 1)[0] for n in names if FOLDER.match(n.split("/", 1)[0])}
        return Evidence(SYSTEM, True, tr("{file} and {count} submission folders", file=METADATA, count=len(folders)))
    return None


def _time(value: object) -> datetime | None:
    """`:created_at` as an aware time (PyYAML may give a datetime or, for odd forms, the text)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str):
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip())  # Ruby writes nanoseconds
    text = re.sub(r"\s*([+-]\d{2}):?(\d{2})$", r"\1:\2", text).replace(" UTC", "+00:00")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def read(root: Path, scratch: Path, options: IntakeOptions) -> Intake:
    """One hand-in per submission folder named in the metadata; folders it does not name are left out."""
    try:
        metadata = yaml.load((root / METADATA).read_text(encoding="utf-8"), Loader=_Loader) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise IntakeError(tr("{file}: cannot be read: {error}", file=root / METADATA, error=error)) from None
    if not isinstance(metadata, dict):
        raise IntakeError(tr("{file}: expected one entry per submission", file=root / METADATA))
    intake = Intake(SYSTEM, [], files=len(files_under(root)))
    for folder, entry in sorted(metadata.items()):
        entry = entry if isinstance(entry, dict) else {}
        submitters = [s for s in entry.get(":submitters") or [] if isinstance(s, dict)]
        members = [Student(id=_text(s.get(":sid")), name=_text(s.get(":name")), email=_text(s.get(":email")))
                   for s in submitters]
        if not members:
            intake.notes.append(tr("{folder}: no submitters in the metadata; left out", folder=folder))
            continue
        path = root / str(folder)
        if not path.is_dir():
            intake.notes.append(tr("{folder}: in the metadata but not in the export", folder=folder))
            continue
        created = _time(entry.get(":created_at"))
        first = members[0]
        handin = Handin(key=slug(f"{first.label()}_{first.id or first.email or folder}"), student=first,
                        members=members if len(members) > 1 else [], submitted_at=created, system=SYSTEM,
                        time_source=":created_at" if created else "gradescope (no :created_at)",
                        sources=[(p, p.relative_to(path).as_posix()) for p in files_under(path)])
        history = entry.get(":history") or []
        handin.attempts = [{"created_at": str(h.get(":created_at")), "reason": tr("an earlier submission, not graded")}
                           for h in history if isinstance(h, dict)]
        intake.handins.append(handin)
    named = {str(f) for f in metadata}
    intake.notes += [tr("{folder}: not in {file}; left out", folder=p.name, file=METADATA)
                     for p in sorted(root.iterdir()) if p.is_dir() and p.name not in named]
    return intake
