"""Write grader/data/references.npz: TensorFlow's answers for Parts 1 and 2 on the grader's seeded inputs.

Run it again whenever the inputs of a check change (a test recomputes every reference with
TensorFlow and fails when the shipped file no longer matches; a stale entry is never used, since
each carries a digest of its inputs).

    python reference/make_references.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader import references  # noqa: E402
from grader.checks.part1 import Part1  # noqa: E402
from grader.checks.part2 import Part2  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "grader" / "data" / references.FILE


def main() -> None:
    entries = {}
    for family in (Part1(), Part2()):
        for target in family.targets:
            entries[target] = (family.inputs_digest(target), family.compute_expected(target))
    references.save(OUT, entries)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.1f} kB): {', '.join(entries)}")


if __name__ == "__main__":
    main()
