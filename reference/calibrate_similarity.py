"""Calibrate the similarity flag on independent answers and disguised copies (tests/similarity_variants.py).

For each class size, several seeded classes are built: independent hand-ins (one answer per target
drawn from pools written in different styles, the textbook answer 40% of the time), disguised
copies of some of them, and starter-only hand-ins. Prints, per class size, recall (planted pairs
flagged), how often a planted pair ranks first among the pairs of both its members, precision
(flagged pairs that were planted), and the independent pairs' highest scores.

    python reference/calibrate_similarity.py [--seeds 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.similarity import COMBINED, SimilaritySettings, compare  # noqa: E402
from tests.similarity_variants import make_class  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    settings = SimilaritySettings()
    print(f"thresholds: score >= {settings.flag_score}, evidence >= {settings.flag_evidence}")
    print("| students | copies | blanks | classes | recall | ranks first | precision | independent pairs: max score mean [max] | seconds per class |")
    print("|---|---|---|---|---|---|---|---|---|")
    for students, copies, blanks in ((8, 2, 2), (30, 4, 3), (100, 6, 5), (300, 8, 5)):
        planted_total = found = first = flagged_total = 0
        best_independent, seconds = [], []
        for seed in range(args.seeds if students < 300 else max(1, args.seeds // 5)):
            with tempfile.TemporaryDirectory() as folder:
                results, planted = make_class(Path(folder), students, copies, seed, blanks)
            started = time.perf_counter()
            rows = [r for r in compare(results, settings) if r.target == COMBINED]
            seconds.append(time.perf_counter() - started)
            flagged = {(r.a, r.b) for r in rows if r.flagged}
            planted_total += len(planted)
            found += len(planted & flagged)
            flagged_total += len(flagged)
            for a, b in planted:
                top_a = next(r for r in rows if a in (r.a, r.b))
                top_b = next(r for r in rows if b in (r.a, r.b))
                first += (top_a.a, top_a.b) == (a, b) == (top_b.a, top_b.b)
            independent = [r.score for r in rows if (r.a, r.b) not in planted]
            best_independent.append(max(independent, default=0.0))
        precision = found / flagged_total if flagged_total else 1.0
        print(f"| {students} | {copies} | {blanks} | {len(seconds)} | {found}/{planted_total} | {first}/{planted_total} | "
              f"{precision:.3f} | {statistics.mean(best_independent):.3f} [{max(best_independent):.3f}] | "
              f"{statistics.median(seconds):.2f} |")


if __name__ == "__main__":
    main()
