"""Markdown summary of a hand-in, for CI pages such as GitHub's job summary or a merge request."""

from __future__ import annotations

from grader.report.html import points, target_views
from grader.i18n import _, ntr, tr
from grader.results import failed_checks


def _cell(text: str) -> str:
    """Table-safe: no pipes or newlines, and no HTML (GitHub renders some of it)."""
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
            .replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def summary(result: dict) -> str:
    """Total, points per target, then each failed check with its message and hint."""
    failed = failed_checks(result)
    verdict = _("all checks passed") if not failed else ntr("{count} check failed", "{count} checks failed",
                                                            len(failed))
    lines = [f"## dlgrade: {_cell(str(result['submission']))}: {points(result['score'])} / "
             f"{points(result['max_score'])} ({verdict})", "", _row(_("target"), _("points")), "|---|---:|"]
    lines += [f"| {view.name} | {points(view.score)} / {points(view.max_score)} |" for view in target_views(result)]
    if failed:
        lines += ["", _row(_("failed check"), _("message"), _("hint")), "|---|---|---|"]
        lines += [f"| {_cell(c['id'])} | {_cell(c['message'])} | {_cell(c.get('hint') or '')} |" for c in failed]
    if result.get("late"):
        late = result["late"]
        if late.get("days_late") is None:
            lines += ["", tr("Marked late without a time: the score is reduced by {percent:g}% (one day's penalty); "
                             "before the penalty it was {raw}.", percent=late["penalty"] * 100,
                             raw=points(result["raw_score"]))]
        else:
            lines += ["", tr("Late by {days} day(s): the score is reduced by {percent:g}%; before the penalty it was "
                             "{raw}.", days=late["days_late"], percent=late["penalty"] * 100,
                             raw=points(result["raw_score"]))]
    return "\n".join(lines) + "\n"
