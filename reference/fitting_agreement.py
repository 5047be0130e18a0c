"""Part 4 on a real class: how often dlgrade agrees with a teaching assistant's verdicts.

Reads the TA's verdicts (`fitting.tsv` of the corpus: one row per fitting piece, `ta_verdict`
such as "fit WORKS (...). T yes. ReLU yes. NP no. C ok (.19). Rep 4/4 ...") and dlgrade's results
of the same class (the `results.json` of `dlgrade batch`), and prints, per check, how many
hand-ins agree:

- fit: the TA's verdict of the hand-in is its best piece's (dlgrade grades the best unit).
  A plain "fit WORKS (...)" or "fit FAILS (...)" is clear; a qualified one ("WORKS but unstable",
  "WORKS in range", "MOSTLY WORKS", PARTIAL, UNSTABLE) is not, and is not counted. A clear verdict
  flagged `needs_human` is counted apart (neither agreeing nor disagreeing).
- report: the number of sections found equals the TA's "Rep n/4" exactly.
- test_set: T yes / NO (a "partial" T is not clear and is left out).
- relu: ReLU yes (a Leaky ReLU counts as a ReLU variant).

    python -m grader batch ../shared/corpus --part 4 --out /tmp/corpus-fit
    python reference/fitting_agreement.py ../shared/corpus /tmp/corpus-fit/results.json [--verbose]

tests/test_corpus.py runs the same comparison and fails below the issue's bar.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

CHECKS = ("fit", "report", "test_set", "relu")
_FIT = re.compile(r"^fit (MOSTLY WORKS|WORKS|FAILS|PARTIAL|UNSTABLE)")


@dataclass
class Verdict:
    """The TA's verdict of one hand-in's Part 4 (its pieces combined)."""

    fit: str | None = None  # "pass", "fail" or "unclear"
    test_set: bool | None = None  # None: partial, not clear
    relu: bool | None = None
    sections: int | None = None
    pieces: list[str] = field(default_factory=list)


def _piece(text: str) -> tuple[str | None, bool | None, bool | None, int | None]:
    fit = _FIT.match(text)
    word = fit.group(1) if fit else None
    verdict = {"WORKS": "pass", "FAILS": "fail"}.get(word, "unclear" if word else None)
    if verdict and fit and not text[fit.end():].startswith(" ("):  # "WORKS but unstable", "WORKS in range"...
        verdict = "unclear"
    test = re.search(r"\bT:? (yes|NO|partial)", text)
    relu = re.search(r"\bReLU:? ?(yes|no|Leaky)", text, re.I)
    report = re.search(r"\bRep:? ?(\d)/4", text)
    return (verdict, {"yes": True, "NO": False}.get(test.group(1)) if test else None,
            relu.group(1).lower() != "no" if relu else None, int(report.group(1)) if report else None)


def ta_verdicts(corpus: Path) -> dict[str, Verdict]:
    """Hand-in folder -> the TA's verdict, pieces combined: the best fit, a test set in any piece."""
    verdicts: dict[str, Verdict] = {}
    with open(corpus / "fitting.tsv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            fit, test, relu, sections = _piece(row["ta_verdict"])
            verdict = verdicts.setdefault(row["dir"], Verdict())
            verdict.pieces.append(row["ta_verdict"][:90])
            order = {"pass": 2, "unclear": 1, "fail": 0}
            if fit and (verdict.fit is None or order[fit] > order[verdict.fit]):
                verdict.fit = fit
            if test is not None:
                verdict.test_set = bool(verdict.test_set) or test
            if relu is not None:
                verdict.relu = bool(verdict.relu) or relu
            if sections is not None and verdict.sections is None:
                verdict.sections = sections
    return verdicts


def dlgrade_checks(results: Path) -> dict[str, dict[str, dict]]:
    """Hand-in -> {check name: check} of function_fitting, from a batch's results.json."""
    found = {}
    for result in json.loads(results.read_text(encoding="utf-8")):
        checks = {c["id"].split(".", 1)[1]: c for c in result.get("checks", []) if c["target"] == "function_fitting"}
        found[result["submission"]] = checks
    return found


@dataclass
class Agreement:
    agree: int = 0
    clear: int = 0
    human: int = 0
    disagreements: list[str] = field(default_factory=list)

    def line(self, name: str) -> str:
        human = f", {self.human} flagged for a human" if name == "fit" else ""
        return f"{name:9s} {self.agree:3d} of {self.clear:3d} agree{human}"


def compare(verdicts: dict[str, Verdict], graded: dict[str, dict[str, dict]]) -> dict[str, Agreement]:
    """Per check, agreement between the TA and dlgrade over the hand-ins both judged."""
    table = {name: Agreement() for name in CHECKS}
    for handin, verdict in sorted(verdicts.items()):
        checks = graded.get(handin, {})

        def note(name: str, agrees: bool, said: str) -> None:
            table[name].agree += agrees
            if not agrees:
                check = checks.get(name, {})
                table[name].disagreements.append(f"{handin}: TA {said}; dlgrade {check.get('score')}/"
                                                 f"{check.get('max_score')}: {str(check.get('message'))[:300]}")

        fit = checks.get("fit", {})
        if verdict.fit == "unclear":
            pass
        elif verdict.fit:
            table["fit"].clear += 1
            if fit.get("needs_human"):
                table["fit"].human += 1
            else:
                note("fit", bool(fit.get("passed")) == (verdict.fit == "pass"), verdict.fit)
        if verdict.sections is not None:
            table["report"].clear += 1
            credit = checks.get("report", {}).get("score", 0) / max(checks.get("report", {}).get("max_score", 5), 1)
            note("report", round(credit * 4) == verdict.sections, f"{verdict.sections}/4")
        if verdict.test_set is not None:
            table["test_set"].clear += 1
            note("test_set", bool(checks.get("test_set", {}).get("passed")) == verdict.test_set,
                 "test set" if verdict.test_set else "no test set")
        if verdict.relu is not None:
            table["relu"].clear += 1
            note("relu", bool(checks.get("relu", {}).get("passed")) == verdict.relu, "ReLU" if verdict.relu else "no ReLU")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("results", type=Path, help="results.json of `dlgrade batch CORPUS --part 4`")
    parser.add_argument("--verbose", action="store_true", help="list every disagreement")
    arguments = parser.parse_args(argv)
    table = compare(ta_verdicts(arguments.corpus), dlgrade_checks(arguments.results))
    for name in CHECKS:
        print(table[name].line(name))
        if arguments.verbose:
            for line in table[name].disagreements:
                print("   ", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
