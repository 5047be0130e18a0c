"""How long unpacking a class's Canvas download takes with dlgrade's checks, next to a plain
`zipfile.extractall` of the same zip (no checks at all), measured side by side in one run.

The zip is made here (no student data): 300 students, about 1,200 files and 40 MB, Canvas's flat
names (`name[_LATE]_<user id>_<attachment id>_<file>`), notebooks with incompressible figure
outputs, and one student in ten handing in a zip of the folder (unpacked as a nested archive).
Target (issue 27): recognising and unpacking it in well under 10 s on this 2-core machine. The
refusal of a 1 GB zip bomb at the default caps is timed too (target: well under a second).

    python benchmarks/intake_unpack.py [--students 300] [--runs 5]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.intake.archives import ArchiveError, unpack  # noqa: E402


def _notebook(rng: random.Random, figures: int) -> bytes:
    """A homework notebook: code cells and `figures` PNG-sized outputs (random bytes: they do not compress)."""
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": i, "outputs": [],
              "source": f"def f{i}(x):\n    return x * {i}\n"} for i in range(20)]
    for cell in cells[:figures]:
        png = base64.b64encode(rng.randbytes(rng.randint(20_000, 40_000))).decode()
        cell["outputs"] = [{"output_type": "display_data", "metadata": {}, "data": {"image/png": png}}]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def _hand_in(rng: random.Random) -> dict[str, bytes]:
    """One student's files: the exercise notebooks, a helper script, sometimes a report and data."""
    files = {"tf2.0-exercise.ipynb": _notebook(rng, 1),
             "tutorial_minst_fnn-numpy-exercise.ipynb": _notebook(rng, 2),
             "function_fitting.py": b"import numpy as np\n" + b"# fit a ReLU network\n" * rng.randint(20, 200)}
    if rng.random() < 0.8:
        report = "## 函数定义\n## 数据采集\n## 模型描述\n## 拟合效果\n"
        files["report.md"] = report.encode() * rng.randint(5, 50)
    if rng.random() < 0.4:
        files["train_points.npy"] = rng.randbytes(rng.randint(20_000, 120_000))
    return files


def build_canvas_zip(folder: Path, students: int = 300, seed: int = 0) -> Path:
    """Write a Canvas "Download Submissions" zip of `students` made-up students into `folder`."""
    rng = random.Random(seed)
    path = folder / "submissions.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(students):
            who = f"student{i:03d}{'abcdefghij'[i % 10]}" + ("_LATE" if rng.random() < 0.1 else "")
            user = 100_000 + i
            files = _hand_in(rng)
            if rng.random() < 0.1:  # the whole folder zipped by the student (a nested archive)
                inner = io.BytesIO()
                with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as nested:
                    for name, data in files.items():
                        nested.writestr(f"hw1/{name}", data)
                    nested.writestr("__MACOSX/hw1/._tf2.0-exercise.ipynb", b"\0\5\26\7")
                files = {"hw1.zip": inner.getvalue()}
            for name, data in files.items():
                archive.writestr(f"{who}_{user}_{rng.randint(1_000_000, 9_999_999)}_{name}", data)
    return path


def _side_by_side(runs: int, *actions) -> list[float]:
    """The median time of each action, run in turn `runs` times (the disk is shared: interleaving is fair)."""
    times: list[list[float]] = [[] for _ in actions]
    for _ in range(runs):
        for action, spent in zip(actions, times):
            started = time.perf_counter()
            action()
            spent.append(time.perf_counter() - started)
    return [statistics.median(spent) for spent in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        started = time.perf_counter()
        download = build_canvas_zip(scratch, args.students)
        built = time.perf_counter() - started
        with zipfile.ZipFile(download) as archive:
            members = archive.infolist()
        size = sum(m.file_size for m in members)
        print(f"Canvas zip: {len(members)} files, {size / 2**20:.1f} MB unpacked, "
              f"{download.stat().st_size / 2**20:.1f} MB packed (built in {built:.1f} s)")
        counter = iter(range(10**6))

        def checked() -> None:
            unpack(download, scratch / f"checked{next(counter)}")

        def plain() -> None:
            with zipfile.ZipFile(download) as archive:
                archive.extractall(scratch / f"plain{next(counter)}")
        ours, theirs = _side_by_side(args.runs, checked, plain)
        result = unpack(download, scratch / "last")
        print(f"dlgrade unpack: {ours:.2f} s ({len(result.files)} files, {len(result.archives) - 1} nested archives "
              f"unpacked, {len(result.dropped)} junk dropped)")
        print(f"zipfile.extractall: {theirs:.2f} s (no checks, nested archives left packed)")
        print(f"ratio: {ours / theirs:.2f}x")
        from tests.archive_fixtures import zeros_zip
        bomb = zeros_zip(scratch / "bomb.zip", 2**30)
        started = time.perf_counter()
        try:
            unpack(bomb, scratch / "bomb")
        except ArchiveError as error:
            print(f"1 GB zip bomb refused in {time.perf_counter() - started:.3f} s ({error.rule})")
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
