"""Intake speed (issue 27, point 6): recognising and unpacking a 300-student Canvas zip (about 1,200 files,
40 MB) apart from grading, side by side with a plain `zipfile.extractall` of the same zip.

    python benchmarks/intake.py [--students 300] [--repeat 3]

The zip is built here (seeded): four uploads per student (a notebook with an embedded figure, a .py file,
a report, and for one student in ten a zip of their folder instead of the .py), LATE markers and re-uploads.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import random
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.intake import IntakeOptions  # noqa: E402
from grader.intake.stage import take_in  # noqa: E402


def _notebook(rng: random.Random, size: int) -> bytes:
    """A notebook of about `size` bytes: code cells and a base64 PNG-like output (incompressible)."""
    figure = base64.b64encode(rng.randbytes(size * 3 // 4 // 4 * 3)).decode()
    cells = [{"cell_type": "code", "execution_count": 1, "metadata": {}, "source": ["import numpy as np\n"] * 20,
              "outputs": [{"output_type": "display_data", "metadata": {}, "data": {"image/png": figure}}]}]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def build_canvas_zip(path: Path, students: int, seed: int = 0) -> tuple[int, int]:
    """Write the download; returns (files, bytes unpacked)."""
    rng = random.Random(seed)
    files = total = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for number in range(students):
            name, user = f"student{number:03d}", 100000 + number
            late = "_LATE" if number % 7 == 0 else ""
            attachment = 5000000 + number * 10
            uploads = {"hw1.ipynb": _notebook(rng, 165_000),
                       "report.md": ("# Report\n" + "The loss went down. " * 300).encode(),
                       "notes.txt": rng.randbytes(2_000).hex().encode()}
            if number % 10 == 0:
                inner = io.BytesIO()
                with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as packed:
                    packed.writestr("hw/part2.py", "def relu(x):\n    return x\n" * 200)
                uploads["hw.zip"] = inner.getvalue()
            else:
                uploads["part2.py"] = ("def relu(x):\n    return x * (x > 0)\n" * 150).encode()
            if number % 50 == 0:
                uploads["hw1-1.ipynb"] = _notebook(rng, 165_000)  # a re-upload
            for index, (file, data) in enumerate(sorted(uploads.items())):
                archive.writestr(f"{name}{late}_{user}_{attachment + index}_{file}", data)
                files += 1
                total += len(data)
    return files, total


def _timed(action, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dlgrade-intake-bench-"))
    try:
        download = work / "submissions.zip"
        files, size = build_canvas_zip(download, args.students)
        print(f"Canvas zip: {files} files, {size / 2**20:.1f} MB unpacked, {download.stat().st_size / 2**20:.1f} MB "
              f"packed, {args.students} students")

        def plain() -> None:
            shutil.rmtree(work / "plain", ignore_errors=True)
            with zipfile.ZipFile(download) as archive:
                archive.extractall(work / "plain")

        def intake() -> None:
            shutil.rmtree(work / "out", ignore_errors=True)
            found = take_in(download, work / "out", IntakeOptions())
            assert found.system == "canvas" and len(found.handins) == args.students, found.summary()

        baseline = _timed(plain, args.repeat)
        ours = _timed(intake, args.repeat)
        print(take_in(download, work / "out", IntakeOptions()).summary())
        print(f"zipfile.extractall:            {baseline:6.2f} s")
        print(f"dlgrade intake (recognise, unpack, materialise every hand-in): {ours:6.2f} s "
              f"({ours / baseline:.1f}x extractall; issue 27 asks under 10 s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
