"""What the pipeline asks of every family of checks (Part1, Part2, Training, FunctionFitting).

A family names its targets, finds each in the hand-in (`locate`, `found`), says what it can
without running anything (`settled`), builds the sandbox job that probes the rest (`job`), and
judges what came back (`judge`). A new kind of check is one more subclass beside the others.
"""

from __future__ import annotations

from pathlib import Path

from grader.extract import SourceFile
from grader.targets import Located, Target, locate, source_of


class Family:
    mergeable = False  # True: the jobs of one file's targets may run in one child (Job.merge)
    targets: tuple[str, ...] = ()

    def locate(self, target: Target, files: list[SourceFile], handin: Path) -> Located:
        """Where the target is graded from: by default the definition of its name (targets.locate)."""
        return locate(target, files)

    def found(self, located: Located) -> bool:
        """Whether there is anything to grade; if not, `missing` explains."""
        return located.file is not None

    def source(self, located: Located) -> dict:
        """The graded code and where it is, for the results' `sources`."""
        return source_of(located)
