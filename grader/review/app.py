"""The review web app (Flask): the queue, a page per hand-in, one item at a time, and the form that
records a decision.

Security: every request must carry the session's token (in the address once; the answer then sets an
HttpOnly, SameSite=Strict cookie), else 403; a POST must also carry it in the form and come from the
app's own origin; pages are jinja2 templates with autoescape and a Content-Security-Policy allowing only
the app's own script, so a hand-in's `<script>` or `onerror=` is shown, never run. The app reads the
gradebook only: it never runs student code.
"""

from __future__ import annotations

import hmac
from pathlib import Path

import jinja2
from flask import Flask, Response, abort, redirect, request

from grader import i18n, overrides
from grader.config import Config
from grader.gradebook import Gradebook
from grader.i18n import _, tr
from grader.report import html, reviewed
from grader.results import who
from grader.review import decisions as recording
from grader.review.reading import marks, report_texts
from grader.review.queue import KIND_ORDER, STATUSES, Item, build
from grader.similarity import SimilaritySettings, compare

COOKIE = "dlgrade_review"
HERE = Path(__file__).parent
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'self'; form-action 'self'; "
       "base-uri 'none'")
FILTERS = ("kind", "target", "status")


def _environment(language: str) -> jinja2.Environment:
    """The review templates, beside the report's (whose look they extend), speaking `language`."""
    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(HERE / "templates"),
                                    jinja2.FileSystemLoader(html.TEMPLATES)]),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"])
    environment.install_gettext_translations(i18n.catalog(language), newstyle=True)
    return environment


def create_app(reports: Path, config: Config, token: str, reviewer: str, port: int | None = None) -> Flask:
    """The app for the class graded into `reports`; `port` (when served) fixes the allowed Host and Origin."""
    app = Flask(__name__, static_folder=str(HERE / "static"), static_url_path="/static")
    app.config["PORT"] = port
    environment = _environment(i18n.active())

    def origins() -> set[str]:
        if app.config["PORT"] is None:
            return {request.host_url.rstrip("/")}
        return {f"http://{host}:{app.config['PORT']}" for host in ("127.0.0.1", "localhost")}

    @app.before_request
    def guard() -> None:
        if app.config["PORT"] is not None and "http://" + request.host not in origins():
            abort(403)  # another host name resolving here (DNS rebinding)
        given = request.args.get("token") or request.cookies.get(COOKIE) or ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            abort(403)
        if request.method == "POST":
            if not hmac.compare_digest(request.form.get("token", "").encode(), token.encode()) \
                    or request.headers.get("Origin") not in origins():
                abort(403)

    @app.after_request
    def harden(response: Response) -> Response:
        if request.args.get("token") == token and request.cookies.get(COOKIE) != token:
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
        response.headers["Content-Security-Policy"] = CSP + "; frame-ancestors 'none'"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"  # "no-referrer" would send "Origin: null" on a POST
        response.headers["Cache-Control"] = "no-store"
        return response

    def page(template: str, status: int = 200, **context: object) -> Response:
        text = environment.get_template(template).render(
            html_lang=i18n.HTML_LANG[i18n.active()], csp=CSP, token=token, points=html.points, stamp=overrides.stamp,
            **context)
        return Response(text, status=status, mimetype="text/html")

    def gradebook() -> Gradebook:
        return Gradebook(reports / "gradebook.sqlite")

    def filters() -> dict[str, str]:
        return {key: request.values.get(key, "") for key in FILTERS if request.values.get(key)}

    def chosen(items: list[Item], wanted: dict[str, str]) -> list[Item]:
        return [i for i in items if all(getattr(i, key) == value for key, value in wanted.items())]

    @app.get("/")
    def queue() -> Response:
        with gradebook() as book:
            items = build(book, config)
            names = list(reviewed.folders_of(book))
        wanted = filters()
        return page("queue.html.j2", items=chosen(items, wanted), everything=items, wanted=wanted, names=names,
                    kinds=[k for k in KIND_ORDER if any(i.kind == k for i in items)], statuses=STATUSES,
                    targets=sorted({i.target for i in items if i.target}),
                    done=sum(i.status == "done" for i in items))

    @app.get("/handin")
    def handin() -> Response:
        name = request.args.get("name", "")
        with gradebook() as book:
            results = reviewed.reviewed_results(book, [name])
            if name not in results:
                abort(404)
            items = {i.key: i for i in build(book, config) if i.submission == name}
        return page("handin.html.j2", name=name, who=who(results[name]), result=results[name], items=items)

    def item_context(book: Gradebook, key: tuple[str, str, str]) -> dict:
        kind, name, subject = key
        automated = {e.name: e.result for e in book.entries()}
        if name not in automated or (kind == "pair" and subject not in automated) or kind not in overrides.KINDS:
            abort(404)
        items = build(book, config)
        item = next((i for i in items if i.key == key), None)
        result = automated[name]
        shown = reviewed.reviewed_results(book, [name])[name]
        context: dict = {"key": key, "result": result, "shown": shown, "item": item,
                         "history": [d for d in book.decisions() if d.key == key]}
        if kind == "check":
            check = next((c for c in result.get("checks", []) if c["id"] == subject), None)
            if check is None:
                abort(404)
            view = next(v for v in html.target_views(result) if v.name == check["target"])
            root = (book.meta(reviewed.RENDERING) or {}).get("root")
            used = (check.get("details") or {}).get("used", []) if subject in overrides.READS_REPORT else []
            report = report_texts(Path(root) / name, used, config.max_file_bytes) if root and used else []
            context |= {"check": check, "view": view, "ceiling": overrides.upper_bound(check, config),
                        "current": next(c for c in shown["checks"] if c["id"] == subject), "report": report,
                        "marks": marks((check.get("details") or {}).get("evidence", []))}
        elif kind == "pair":
            stored = (book.meta(reviewed.RENDERING) or {}).get("similarity")
            settings = SimilaritySettings(**stored) if stored else SimilaritySettings.from_config(config.similarity)
            rows = [r for r in compare(list(automated.values()), settings) if (r.a, r.b) == (name, subject)]
            context |= {"other": automated[subject], "blocks": html.side_by_side(result, automated[subject], rows),
                        "rows": [r for r in rows if r.target != "*"]}
        wanted = filters()
        queued = chosen(items, wanted)
        keys = [i.key for i in queued]
        at = keys.index(key) if key in keys else None
        context |= {"wanted": wanted, "position": at, "count": len(keys),
                    "previous": queued[at - 1] if at else None,
                    "next": queued[at + 1] if at is not None and at + 1 < len(keys) else None}
        return context

    def key_of(values) -> tuple[str, str, str]:
        return values.get("k", ""), values.get("n", ""), values.get("s", "")

    @app.get("/item")
    def item() -> Response:
        with gradebook() as book:
            return page("item.html.j2", reviewer=reviewer, error=None, saved=request.args.get("saved"),
                        conflict=request.args.get("conflict"),
                        **item_context(book, key_of(request.args)))

    @app.post("/decide")
    def decide() -> Response:
        form = request.form
        kind, name, subject = key_of(form)
        undo = form.get("action") == "undo"
        by = recording.reviewer(form.get("by", "").strip() or reviewer)
        comment, note, adjust = form.get("comment", ""), form.get("note", ""), form.get("adjust", "")
        try:
            score = None if undo else _number(form.get("score", ""))
            if kind == "pair" and adjust and not undo:
                requests = [overrides.Request("pair", name, subject, None, comment, note, by),
                            overrides.Request("handin", adjust, overrides.HANDIN, _number(form.get("points", "")),
                                              comment, note, by)]
            else:
                requests = [overrides.Request(kind, name, subject, score, comment, note, by, undo=undo)]
            if kind != "pair" and score is None and not undo:
                raise overrides.OverrideError(_("enter a score, or undo the decision"))
        except overrides.OverrideError as error:
            return _refused(kind, name, subject, str(error))
        with gradebook() as book:
            context = item_context(book, (kind, name, subject))  # the queue as the reviewer saw it: its next item
            try:
                recording.record(book, reports, requests, config)
            except overrides.OverrideError as error:
                return _refused(kind, name, subject, str(error))
        latest = context["history"][-1].id if context["history"] else 0
        if form.get("seen", str(latest)) != str(latest):  # someone saved this item meanwhile: stay and say so
            return redirect(_item_url((kind, name, subject), context["wanted"], saved="1", conflict="1"), code=303)
        following = context["next"] if form.get("then") == "next" else None
        if following is not None:
            return redirect(_item_url(following.key, context["wanted"]), code=303)
        return redirect(_item_url((kind, name, subject), context["wanted"], saved="1"), code=303)

    def _refused(kind: str, name: str, subject: str, message: str) -> Response:
        with gradebook() as book:
            return page("item.html.j2", status=400, reviewer=reviewer, error=message, saved=None, conflict=None,
                        **item_context(book, (kind, name, subject)))

    environment.globals["item_url"] = _item_url
    return app


def _number(text: str) -> float | None:
    """A score typed in the form (empty: none)."""
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise overrides.OverrideError(tr("a score must be a number; got {score!r}", score=text)) from None


def _item_url(key: tuple[str, str, str], wanted: dict[str, str] | None = None, **notices: str) -> str:
    """The address of one item, keeping the queue's filters (for next and previous), with `notices`
    to show (saved, conflict)."""
    from urllib.parse import urlencode

    return "/item?" + urlencode({"k": key[0], "n": key[1], "s": key[2], **(wanted or {}), **notices})
