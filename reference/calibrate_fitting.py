"""Calibrate Part 4's thresholds on hand-ins of my own: grade every fitting variant
(tests/fitting_variants.py, and the real-class patterns of tests/fitting_real_patterns.py) and print
the measured R² (on the student's in-range test points, else the grid), the line's R², the comment
share, and each check against what the variant must get. The thresholds in default_config.toml sit
between the good and the broken variants printed here; their agreement with a teaching assistant on
a real class is measured by reference/fitting_agreement.py (see the README).

    python reference/calibrate_fitting.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.pipeline import Grader  # noqa: E402
from tests.fitting_real_patterns import VARIANTS as REAL_PATTERNS  # noqa: E402
from tests.fitting_variants import VARIANTS  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    torch = importlib.util.find_spec("torch") is not None
    wrong = 0
    print(f"{'variant':34} {'R2':>8} {'line R2':>8} {'comments':>8}  checks (lower case: failed; * not as expected)")
    with Grader(workers=2) as grader, tempfile.TemporaryDirectory() as scratch:
        for name, variant in {**VARIANTS, **REAL_PATTERNS}.items():
            if args.only and name not in args.only or variant.needs_torch and not torch:
                continue
            result = grader.grade(variant.write(Path(scratch) / name), {"function_fitting"})
            checks = {c.id.split(".", 1)[1]: c for c in result.checks}
            fit = checks["fit"].details or {}
            message = checks["fit"].message
            line = message.split("a straight line reaches R² ")[1].split()[0].rstrip(";") if "straight line" in message else "-"
            share = checks["comments"].message.split("(")[1].split(";")[0]
            marks = []
            for check, result_check in checks.items():
                expected = check not in variant.failing
                mark = check.upper() if result_check.passed else check
                if result_check.passed != expected:
                    mark += "*"
                    wrong += 1
                marks.append(mark)
            r2 = fit.get("r2")
            print(f"{name:34} {r2 if r2 is None else round(r2, 4)!s:>8} {line:>8} {share:>8}  {' '.join(marks)}")
    print(f"{wrong} check(s) not as expected")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
