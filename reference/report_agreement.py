"""Part 4's report check alone on a real class, without training anything: the fast loop.

Grades only `function_fitting.report` of every hand-in of a class with the TA's verdicts
(`fitting.tsv`), as `dlgrade batch --part 4` would: the report is read in the grader, and PDF and
Word files are read in the sandbox as always (a job with only the documents call). Prints, per
hand-in, the TA's "Rep n/4" beside dlgrade's sections and their evidence, and the agreement
(exact and within one section) as reference/fitting_agreement.py counts it.

    python reference/report_agreement.py ../shared/corpus [--all]   # --all: every hand-in, not only disagreements
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's grader, not an installed one
from grader.checks.fitting import FunctionFitting  # noqa: E402
from grader.config import load_config  # noqa: E402
from grader.pipeline import limits_from, load_sources  # noqa: E402
from grader.sandbox.jobs import run_job  # noqa: E402
from grader.sandbox.zygote import Zygote  # noqa: E402
from grader.targets import TARGETS  # noqa: E402

HERE = Path(__file__).resolve().parent


def _ta_verdicts(corpus: Path) -> dict:
    spec = importlib.util.spec_from_file_location("fitting_agreement", HERE / "fitting_agreement.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while they are made
    spec.loader.exec_module(module)
    return module.ta_verdicts(corpus)


def report_check(family: FunctionFitting, zygote: Zygote, handin: Path) -> dict:
    """The report check of one hand-in, its fitting code located but not run."""
    located = family.locate(TARGETS["function_fitting"], load_sources(handin, family.max_file_bytes), handin)
    documents = None
    if located.report.documents:
        located.units = []
        documents = run_job(zygote, family.job(located)).calls[0]  # only the documents call: nothing trains
    return family._report(located.report, documents).to_dict()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--all", action="store_true", help="list every hand-in, not only the disagreements")
    arguments = parser.parse_args(argv)
    config = load_config()
    family = FunctionFitting(limits_from(config), config.fitting, 0, config.max_file_bytes)
    exact = near = total = 0
    with _closing(Zygote()) as zygote:
        for handin, verdict in sorted(_ta_verdicts(arguments.corpus).items()):
            if verdict.sections is None:
                continue
            check = report_check(family, zygote, arguments.corpus / handin)
            found = round(check["score"] / check["max_score"] * 4)
            total += 1
            exact += found == verdict.sections
            near += abs(found - verdict.sections) <= 1
            if arguments.all or found != verdict.sections:
                print(f"{handin}: TA {verdict.sections}/4, dlgrade {found}/4")
                for line in check.get("details", {}).get("evidence", []) or []:
                    print("    ", _evidence_line(line))
    print(f"report sections: {exact} of {total} exact, {near} of {total} within one section")
    return 0


def _evidence_line(item: dict) -> str:
    mark = "+" if item.get("counted") else "-"
    return f"{mark} {item.get('section')}: {item.get('where', '')} {item.get('text', '')!r} {item.get('why', '')}"


class _closing:
    """`with` for a zygote, closed at the end."""

    def __init__(self, zygote: Zygote):
        self.zygote = zygote

    def __enter__(self) -> Zygote:
        return self.zygote

    def __exit__(self, *exc_info: object) -> None:
        self.zygote.close()


if __name__ == "__main__":
    sys.exit(main())
