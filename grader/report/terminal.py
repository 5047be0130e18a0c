"""Terminal report: one row per check with points, message and hint (rich; plain when piped)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.i18n import _, ntr, tr
from grader.results import SubmissionResult
from grader.scoring import HIDDEN_MESSAGE


def _points(value: float) -> str:
    return f"{value:g}"


def render(result: SubmissionResult, console: Console, show_hidden: bool = False) -> None:
    """Print the table of checks, the notes on what could not be loaded, and the total; hidden
    checks show only their points and verdict unless `show_hidden`."""
    table = Table(title=f"dlgrade: {result.submission}", show_lines=False, expand=True)
    table.add_column(_("target"), no_wrap=True)
    table.add_column(_("check"), no_wrap=True)
    table.add_column(_("points"), justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column(_("message / hint"), ratio=1)
    for check in result.checks:
        mark = Text(_("pass"), style="green") if check.passed else Text(_("FAIL"), style="bold red")
        if check.hidden and not show_hidden:
            detail = Text(_(HIDDEN_MESSAGE), style="dim")
        else:
            detail = Text(check.message)
        if check.hint and (show_hidden or not check.hidden):
            detail.append("\n" + _("hint: "), style="bold yellow")
            detail.append(check.hint, style="yellow")
        short_id = check.id.split(".", 1)[-1]
        table.add_row(check.target, short_id, f"{_points(check.score)}/{_points(check.max_score)}", mark, detail)
    console.print(table)
    for note in result.notes:
        console.print(Text(tr("note: {note}", note=note), style="dim"))
    for error in result.internal_errors:
        console.print(Text(tr("internal error: {error}", error=error), style="bold magenta"))
    failed = sum(not c.passed for c in result.checks)
    per_target = "  ".join(f"{t} {_points(s)}/{_points(m)}" for t, (s, m) in result.per_target().items())
    verdict = _("all checks passed") if failed == 0 else ntr("{count} check failed", "{count} checks failed", failed)
    console.print(Text(tr("Total: {score}/{max_score} ({verdict})", score=_points(result.score),
                          max_score=_points(result.max_score), verdict=verdict), style="bold"))
    if result.late:
        console.print(Text(tr("late by {days} day(s): the score is reduced by {percent:g}%; before the penalty it was "
                              "{raw}", days=result.late["days_late"], percent=result.late["penalty"] * 100,
                              raw=_points(result.raw_score)), style="yellow"))
    console.print(Text(per_target, style="dim"))


class BatchProgress:
    """Progress of a batch: a bar with count, rate and ETA on a terminal, one plain line per
    hand-in otherwise (logs and CI)."""

    def __init__(self, console: Console):
        self.console = console
        self._bar = None
        self._task = None

    def __enter__(self) -> "BatchProgress":
        if self.console.is_terminal:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self._bar = Progress(TextColumn(_("grading")), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
                                 TimeRemainingColumn(), TextColumn("{task.fields[last]}"), console=self.console)
            self._bar.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, name: str, result: dict | None, done: int, total: int) -> None:
        outcome = _("unchanged") if result is None else f"{_points(result['score'])}/{_points(result['max_score'])}"
        if self._bar is None:
            self.console.print(Text(f"[{done}/{total}] {name}: {outcome}"), soft_wrap=True)
            return
        if self._task is None:
            self._task = self._bar.add_task("grading", total=total, rate="", last="")
        elapsed = self._bar.tasks[0].elapsed or 0.0
        rate = tr("{rate:.0f}/min", rate=done / elapsed * 60) if elapsed > 1 else ""
        self._bar.update(self._task, completed=done, rate=rate, last=f"{name}: {outcome}"[:40])
