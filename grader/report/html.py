"""HTML reports rendered from the results contract (dicts), so stored results render again unchanged.

Templates live in `templates/` and autoescape everything; the pages carry a Content-Security-
Policy that allows no script but the class page's own sorter (by hash), so even a missed
escape could not run a student's script.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jinja2

from grader import i18n, similarity
from grader.i18n import _, tr
from grader.report import charts
from grader.results import TARGET_ORDER, failed_checks, target_totals, who

TEMPLATES = Path(__file__).parent / "templates"
SORTER_JS = (TEMPLATES / "sort_table.js").read_text(encoding="utf-8")


@cache
def _environment(language: str) -> jinja2.Environment:
    """The templates with `_`/`ngettext` speaking `language` (jinja2's i18n extension, gettext catalogs)."""
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                     extensions=["jinja2.ext.i18n"])
    environment.install_gettext_translations(i18n.catalog(language), newstyle=True)
    return environment


def _render(template: str, **context: object) -> str:
    """A page in the active language, its `lang` attribute set to match."""
    language = i18n.active()
    return _environment(language).get_template(template).render(html_lang=i18n.HTML_LANG[language], **context)


def _csp(script: str | None = None) -> str:
    """No network, no plugins, no script unless it is exactly `script` (by its sha256)."""
    scripts = "'none'"
    if script is not None:
        scripts = "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
    return f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src {scripts}; base-uri 'none'; form-action 'none'"


def points(value: float) -> str:
    return f"{value:g}"


@dataclass
class CodeLine:
    number: int
    text: str
    flagged: bool


@dataclass
class TargetView:
    """One target's block of the per-hand-in page."""

    name: str
    score: float
    max_score: float
    checks: list[dict]
    where: str | None = None
    code: list[CodeLine] = field(default_factory=list)
    gradients: list[tuple[str, list[str], list[list[str]]]] = field(default_factory=list)  # (check, columns, rows)
    charts: list[charts.LineChart] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)  # Part 4: the student's own plots, base64 PNG
    output_tail: str = ""  # Part 4: the end of what the fitting code printed
    evidence: list[dict] = field(default_factory=list)  # Part 4's report: per section, the line that counted or why not

    @property
    def failing(self) -> bool:
        return any(not c["passed"] and c["max_score"] for c in self.checks)


def _code_lines(source: dict, checks: list[dict]) -> list[CodeLine]:
    flagged = {line for c in checks if not c["passed"] for line in (c.get("details") or {}).get("lines", [])}
    first = int(source.get("first_line", 1))
    return [CodeLine(first + i, text, first + i in flagged) for i, text in enumerate(str(source["code"]).split("\n"))]


def _gradient_table(check: dict) -> tuple[str, list[str], list[list[str]]] | None:
    rows = (check.get("details") or {}).get("relative_errors")
    if not rows:
        return None
    columns = [k for k in rows[0] if k != "case"]
    body = [[str(row.get("case", ""))] + [f"{float(row[k]):.1e}" if k in row else "" for k in columns] for row in rows]
    return check["id"], ["inputs"] + columns, body


def _training_charts(check: dict) -> list[charts.LineChart]:
    details = check.get("details") or {}
    curve = details.get("curve") or {}
    reference = (details.get("reference") or {}).get("curve") or {}
    found = []
    for key, title in (("loss", _("loss")), ("accuracy", _("training accuracy"))):
        curves = [(_("yours"), curve.get(key) or [], "student")]
        if reference.get(key):
            curves.append((_("reference (mean of correct runs)"), reference[key], "reference"))
        threshold = details.get("threshold") if key == "accuracy" and reference else None
        chart = charts.line_chart(f"{check['id']}: {title}", curves, threshold)
        if chart:
            found.append(chart)
    return found


def _fit_charts(check: dict) -> list[charts.LineChart]:
    """Part 4: the grader's own plot of the model against the target on the dense grid."""
    plot = (check.get("details") or {}).get("plot")
    if not plot:
        return []
    title = tr("{check}: model and target on a grid of the training interval", check=check["id"])
    chart = charts.curve_chart(title, plot["x"], [(_("target function"), plot["target"], "reference"),
                                                  (_("your model"), plot["model"], "student")])
    return [chart] if chart else []


def target_views(result: dict) -> list[TargetView]:
    """The result's checks grouped per target in homework order, with code, gradients and curves."""
    views: dict[str, TargetView] = {}
    for check in result.get("checks", []):
        view = views.setdefault(check["target"], TargetView(check["target"], 0.0, 0.0, []))
        view.checks.append(check)
        view.score += float(check["score"])
        view.max_score += float(check["max_score"])
        table = _gradient_table(check)
        if table:
            view.gradients.append(table)
        view.charts += _training_charts(check) + _fit_charts(check)
        details = check.get("details") or {}
        view.figures += [f for f in details.get("figures", []) if isinstance(f, str)]
        view.output_tail = view.output_tail or str(details.get("output_tail", ""))
        view.evidence += [item for item in details.get("evidence", []) if isinstance(item, dict)]
    for name, view in views.items():
        source = (result.get("sources") or {}).get(name)
        if source and "code" in source:
            view.where = str(source.get("where", ""))
            view.code = _code_lines(source, view.checks)
    order = {name: i for i, name in enumerate(TARGET_ORDER)}
    return sorted(views.values(), key=lambda v: order.get(v.name, len(order)))


def _person(person: dict) -> str:
    ids = [f"{label} {person[key]}" for key, label in (("id", "id"), ("login", "login")) if person.get(key)]
    text = " ".join(p for p in (person.get("name"), f"<{person['email']}>" if person.get("email") else "") if p)
    return f"{text} ({', '.join(ids)})" if ids else text


def intake_facts(result: dict) -> list[str]:
    """What intake read for a hand-in, as the report says it: the system, who, when, the commit graded,
    attempts not graded, what was left out, and the late penalty."""
    intake = result.get("intake") or {}
    facts = []
    if intake and intake.get("system") != "folders":
        people = [_person(p) for p in result.get("members") or [result.get("student") or {}]]
        facts.append(tr("handed in through {system}: {people}", system=intake["system"],
                        people="; ".join(p for p in people if p) or _("no name given")))
    if intake.get("submitted_at"):
        facts.append(tr("submitted at {time} (from {source})", time=intake["submitted_at"],
                        source=intake["time_source"]))
    elif intake.get("late_marker"):
        facts.append(tr("marked late by {source}, without a time", source=intake["time_source"]))
    commit = intake.get("commit")
    if commit:
        facts.append(tr("graded commit {sha} of {time} ({subject}), of {count} commits; commit times are set by the "
                        "student", sha=commit["sha"][:12], time=commit["committed_at"], subject=commit["subject"],
                        count=commit["all_commits"]))
    facts += [tr("not graded: {what} ({reason})", what=a.get("file") or a.get("attempt") or a.get("submitted_at")
                 or a.get("created_at") or "?", reason=a.get("reason", "")) for a in intake.get("attempts", [])]
    facts += [tr("left out: {what}", what=item) for item in intake.get("left_out", [])]
    late = result.get("late")
    if late:
        days = _("an unknown number of") if late.get("days_late") is None else late["days_late"]
        facts.append(tr("late by {days} day(s): the score is reduced by {percent:g}%", days=days,
                        percent=late["penalty"] * 100))
    return facts


def submission_page(result: dict, index_href: str | None = None) -> str:
    """The self-contained report of one hand-in."""
    return _render("submission.html.j2", result=result, who=who(result), facts=intake_facts(result),
                   targets=target_views(result), points=points, index_href=index_href, csp=_csp())


@dataclass
class ClassRow:
    submission: str
    href: str | None
    score: float
    max_score: float
    per_target: dict[str, str]
    failed: int
    problems: int  # notes + internal errors
    reviewed: bool = False  # a reviewer's decision changed the score


def class_page(entries: list[tuple[dict, str | None]], title: str | None = None,
               pairs: list[FlaggedPair] | None = None) -> str:
    """The class summary: histogram, pass rate per check, common hints, flagged similar pairs (None:
    not computed), a sortable table of students."""
    results = [result for result, _href in entries]
    max_score = max((float(r.get("max_score", 0)) for r in results), default=0.0)
    scores = [float(r.get("score", 0)) for r in results]
    by_check: dict[str, list[bool]] = {}
    hints: Counter[str] = Counter()
    for result in results:
        for check in result.get("checks", []):
            if check["max_score"]:
                by_check.setdefault(check["id"], []).append(bool(check["passed"]))
        hints.update({c["hint"] for c in result.get("checks", []) if not c["passed"] and c.get("hint")})
    rates = [(check_id, sum(flags) / len(flags)) for check_id, flags in by_check.items()]
    rows = [ClassRow(who(result), href, float(result.get("score", 0)),
                     float(result.get("max_score", 0)),
                     {t: points(s) for t, (s, m) in target_totals(result).items() if m},
                     len(failed_checks(result)),
                     len(result.get("notes", [])) + len(result.get("internal_errors", [])), "auto_score" in result)
            for result, href in entries]
    columns = [t for t in TARGET_ORDER if any(t in row.per_target for row in rows)]
    return _render(
        "index.html.j2", title=title or _("dlgrade: class summary"), rows=rows, columns=columns, points=points,
        count=len(results),
        mean=(sum(scores) / len(scores)) if scores else 0.0, max_score=max_score,
        histogram=charts.histogram(_("total scores"), scores, max_score) if results else None,
        rates=charts.pass_rates(_("hand-ins passing each check (%)"), rates) if rates else None,
        hints=hints.most_common(10), pairs=pairs, sorter=SORTER_JS, csp=_csp(SORTER_JS))


@dataclass
class FlaggedPair:
    """A flagged pair on the class page, linking to its side-by-side view."""

    a: str
    b: str
    score: float
    evidence: float
    targets: list[str]
    href: str


@dataclass
class SideBySide:
    """One target of a side-by-side view: both students' code, matching lines marked."""

    target: str
    score: float
    left_where: str
    right_where: str
    left: list[CodeLine]
    right: list[CodeLine]


def _marked(answer: similarity.Answer, matching: set[int]) -> list[CodeLine]:
    return [CodeLine(answer.first_line + i, text, answer.first_line + i in matching)
            for i, text in enumerate(answer.code.split("\n"))]


def side_by_side(left: dict, right: dict, rows: list[similarity.PairScore]) -> list[SideBySide]:
    """The targets of a pair's `rows` with both hand-ins' code, the lines they share marked."""
    by_target = similarity.answers([left, right], similarity.SimilaritySettings(min_fingerprints=0))
    blocks = []
    for row in rows:
        answers = by_target.get(row.target, {})
        first, second = answers.get(str(left.get("submission"))), answers.get(str(right.get("submission")))
        if row.target == similarity.COMBINED or first is None or second is None:
            continue
        shared_left, shared_right = similarity.matching_lines(first, second)
        blocks.append(SideBySide(row.target, row.score, left["sources"][row.target].get("where", ""),
                                 right["sources"][row.target].get("where", ""),
                                 _marked(first, shared_left), _marked(second, shared_right)))
    return blocks


def pair_page(left: dict, right: dict, rows: list[similarity.PairScore], index_href: str | None = None) -> str:
    """Two hand-ins' code side by side, target by target, the lines they share highlighted."""
    pooled = next(r for r in rows if r.target == similarity.COMBINED)
    blocks = side_by_side(left, right, rows)
    return _render("pair.html.j2",
        left=left.get("submission"), right=right.get("submission"), pooled=pooled, blocks=blocks,
        index_href=index_href, csp=_csp())
