"""Serve the review app on 127.0.0.1 only, on a free port unless one is given, behind a fresh token."""

from __future__ import annotations

import secrets
import sys
import threading
import webbrowser
from pathlib import Path

from grader.config import Config
from grader.i18n import _, tr


def serve(reports: Path, config: Config, port: int = 0, open_browser: bool = True, reviewer: str = "") -> int:
    """Run until interrupted; prints the address with its token. Returns the exit status."""
    try:
        from werkzeug.serving import make_server

        from grader.review.app import create_app
    except ImportError:
        print("dlgrade: " + _("the review app needs Flask: pip install 'dlgrade[review]'"), file=sys.stderr)
        return 2
    from grader.review.decisions import reviewer as default_reviewer

    token = secrets.token_urlsafe(24)
    app = create_app(reports, config, token, default_reviewer(reviewer))
    try:
        server = make_server("127.0.0.1", port, app, threaded=True)
    except OSError as error:
        print("dlgrade: " + tr("cannot listen on 127.0.0.1:{port}: {error}", port=port, error=error), file=sys.stderr)
        return 2
    app.config["PORT"] = server.server_port
    url = f"http://127.0.0.1:{server.server_port}/?token={token}"
    print(tr("review {folder} at {url} (Ctrl+C stops)", folder=reports, url=url), flush=True)
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
