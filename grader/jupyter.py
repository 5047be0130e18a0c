"""Self-check inside Jupyter: `import grader; grader.check()` grades the notebook's folder.

It grades the files as saved on disk, through the same sandbox as `dlgrade check` (the
notebook's own cells never run: each graded definition is loaded alone in a child process),
and shows the table of checks inline (HTML in Jupyter, rich text in a terminal IPython), with
the hints. `grader.check("softmax")` narrows it to one target; `%load_ext grader` adds the
`%dlgrade [TARGET ...]` magic. The first check of a kernel starts the grader (about one
TensorFlow import); later ones reuse it.
"""

from __future__ import annotations

import atexit
import io
from pathlib import Path

from rich.console import Console
from rich.text import Text

from grader import i18n
from grader.i18n import N_, _
from grader.report.terminal import render
from grader.results import SubmissionResult
from grader.targets import TARGETS, TRAINING_TARGETS

SAVED_FILES_NOTE = N_("dlgrade grades your files as saved on disk, not the cells of this kernel: save the notebook "
                      "first (Jupyter's autosave may lag). Your cells are not run; each function is loaded alone "
                      "in a sandbox.")
_grader = None


class CheckReport:
    """What `grader.check()` returns: the verdicts, shown as a table wherever IPython displays it."""

    def __init__(self, result: SubmissionResult):
        self.result = result

    @property
    def score(self) -> float:
        return self.result.score

    @property
    def max_score(self) -> float:
        return self.result.max_score

    @property
    def passed(self) -> bool:
        return self.result.passed

    def _console(self, **options) -> Console:
        console = Console(file=io.StringIO(), width=110, highlight=False, **options)
        console.print(Text(_(SAVED_FILES_NOTE), style="dim"))
        render(self.result, console)
        return console

    def _repr_html_(self) -> str:
        console = self._console(record=True, force_terminal=True, color_system="truecolor")
        return console.export_html(inline_styles=True, code_format=(
            '<pre style="white-space: pre-wrap; font-family: ui-monospace, Menlo, Consolas, monospace; '
            'font-size: 12px">{code}</pre>'))

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(self._console(force_terminal=True).file.getvalue())

    def __repr__(self) -> str:
        return self._console(force_terminal=False, no_color=True).file.getvalue()


def check(*targets: str, path: str | Path = ".", fast: bool = False, lang: str | None = None) -> CheckReport:
    """Grade the hand-in in `path` (default: the notebook's folder); `targets` narrows it to those
    targets (e.g. "softmax"), `fast` skips the MNIST training checks, `lang` ("en", "zh") chooses the
    language (default: dlgrade.toml's `language`, else the locale's)."""
    global _grader
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown:
        raise ValueError(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(TARGETS)}")
    if _grader is None:
        from grader.pipeline import Grader

        _grader = Grader(workers=2)
        atexit.register(_grader.close)
    i18n.use(i18n.resolve(lang, _grader.config.language))
    selected = set(targets) or None
    if fast:
        selected = (selected or set(TARGETS)) - TRAINING_TARGETS
    return CheckReport(_grader.grade(Path(path), selected))


def load_ipython_extension(ipython) -> None:
    """`%load_ext grader`: the `%dlgrade [TARGET ...] [--fast] [--lang zh]` line magic."""

    def dlgrade(line: str) -> CheckReport:
        words = line.replace("--lang=", "--lang ").split()
        lang = words[words.index("--lang") + 1] if "--lang" in words[:-1] else None
        options = {"--fast", "--lang", lang}
        return check(*[w for w in words if w not in options], fast="--fast" in words, lang=lang)

    ipython.register_magic_function(dlgrade, "line", "dlgrade")
