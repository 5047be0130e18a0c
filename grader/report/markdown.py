"""Markdown summary of a hand-in, for CI pages such as GitHub's job summary or a merge request."""

from __future__ import annotations

from grader.report.html import points, target_views
from grader.results import failed_checks


def _cell(text: str) -> str:
    """Table-safe: no pipes or newlines, and no HTML (GitHub renders some of it)."""
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
            .replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def summary(result: dict) -> str:
    """Total, points per target, then each failed check with its message and hint."""
    failed = failed_checks(result)
    verdict = "all checks passed" if not failed else f"{len(failed)} check{'s' * (len(failed) != 1)} failed"
    lines = [f"## dlgrade: {_cell(str(result['submission']))}: {points(result['score'])} / "
             f"{points(result['max_score'])} ({verdict})", "", "| target | points |", "|---|---:|"]
    lines += [f"| {view.name} | {points(view.score)} / {points(view.max_score)} |" for view in target_views(result)]
    if failed:
        lines += ["", "| failed check | message | hint |", "|---|---|---|"]
        lines += [f"| {_cell(c['id'])} | {_cell(c['message'])} | {_cell(c.get('hint') or '')} |" for c in failed]
    if result.get("late"):
        late = result["late"]
        lines += ["", f"Late by {late['days_late']} day(s): {late['penalty'] * 100:g}% off "
                      f"(before the penalty: {points(result['raw_score'])})."]
    return "\n".join(lines) + "\n"
