"""Calibrate the MNIST checks: held-out accuracy of correct models under the grader's protocol.

Runs the real protocol (same zygote, jobs and judge as `dlgrade check`) for the instructor's
solution and every correct variant in tests/mnist_variants.py, over 20 seeds, and writes
`grader/data/calibration.json`: per target the reference distribution and mean curve, each
variant's distribution, and the pass threshold derived from them:

    threshold = max(CHANCE + 0.15, worst accuracy of any correct variant over all seeds - 0.05)

    python reference/calibrate_mnist.py [--seeds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from grader.checks.mnist import PROTOCOLS, Training  # noqa: E402
from grader.pipeline import load_sources  # noqa: E402
from grader.sandbox.jobs import run_job  # noqa: E402
from grader.sandbox.zygote import Zygote  # noqa: E402
from grader.targets import TARGETS, locate  # noqa: E402
from tests.helpers import write_handin  # noqa: E402
from tests.mnist_variants import NUMPY_CORRECT, TF_CORRECT  # noqa: E402

CHANCE = 0.10
OUT = REPO / "grader" / "data" / "calibration.json"


def measure(zygote: Zygote, folder: Path, target: str, seed: int) -> tuple[float, list[float], list[float], Callable]:
    """Held-out accuracy and curves of one run, and a function: whether it gets full marks at a threshold."""
    located = locate(TARGETS[target], load_sources(folder))
    outcome = run_job(zygote, Training(seed=seed, stop_early=False).job(located))
    trains = Training(seed=seed).judge(located, outcome)[1]
    curve = trains.details["curve"]

    def full_marks(threshold: float) -> bool:
        return all(r.passed for r in Training(seed=seed, thresholds={target: threshold}).judge(located, outcome))

    return trains.details.get("held_out_accuracy", 0.0), curve["loss"], curve["accuracy"], full_marks


def summary(values: list[float]) -> dict[str, float]:
    return {"mean": round(float(np.mean(values)), 4), "std": round(float(np.std(values)), 4),
            "min": round(float(np.min(values)), 4), "max": round(float(np.max(values)), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    zygote = Zygote()
    variants = {"mnist_numpy": NUMPY_CORRECT, "mnist_tf": TF_CORRECT}
    calibration = {}
    with tempfile.TemporaryDirectory() as scratch, ThreadPoolExecutor(2) as pool:
        for target, named in variants.items():
            folders = {name: write_handin(Path(scratch) / target / name, edits=edits) for name, edits in named.items()}
            runs = {name: [pool.submit(measure, zygote, folder, target, seed) for seed in range(args.seeds)]
                    for name, folder in folders.items()}
            measured = {name: [f.result() for f in futures] for name, futures in runs.items()}
            accuracies = {name: [m[0] for m in results] for name, results in measured.items()}
            worst = min(min(values) for values in accuracies.values())
            threshold = round(max(CHANCE + 0.15, worst - 0.05), 3)
            reference = measured["reference"]
            calibration[target] = {
                "protocol": {"steps": PROTOCOLS[target].steps, "lr": PROTOCOLS[target].lr, "seeds": args.seeds},
                "reference": {**summary(accuracies["reference"]),
                              "curve_loss": [round(float(v), 4) for v in np.mean([r[1] for r in reference], axis=0)],
                              "curve_accuracy": [round(float(v), 4) for v in np.mean([r[2] for r in reference], axis=0)]},
                "variants": {name: {**summary(values), "full_marks": sum(m[3](threshold) for m in measured[name])}
                             for name, values in accuracies.items()},  # judged at the new threshold
                "threshold": threshold,
            }
            for name, values in accuracies.items():
                stats = calibration[target]["variants"][name]
                print(f"{target:12s} {name:14s} mean {stats['mean']:.3f} std {stats['std']:.3f} "
                      f"min {stats['min']:.3f} max {stats['max']:.3f} full marks {stats['full_marks']}/{args.seeds}")
            print(f"{target:12s} threshold {calibration[target]['threshold']}")
    zygote.close()
    OUT.write_text(json.dumps(calibration, indent=1) + "\n")
    print(f"wrote {OUT}\n")
    print(markdown(calibration))


def markdown(calibration: dict) -> str:
    """The README's table of measured distributions."""
    lines = ["| target | variant | held-out accuracy: mean ± std [min, max] | full marks |", "|---|---|---|---|"]
    for target, data in calibration.items():
        seeds = data["protocol"]["seeds"]
        for name, stats in data["variants"].items():
            lines.append(f"| {target} | {name} | {stats['mean']:.3f} ± {stats['std']:.3f} [{stats['min']:.3f}, "
                         f"{stats['max']:.3f}] | {stats['full_marks']}/{seeds} |")
        lines.append(f"| {target} | **pass threshold** | {data['threshold']} | |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
