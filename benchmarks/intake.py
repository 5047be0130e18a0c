"""Intake speed (issue 27, point 6): recognising and unpacking a 300-student Canvas zip (about 1,200 files,
40 MB) apart from grading, side by side with a plain `zipfile.extractall` of the same zip.

    python benchmarks/intake.py [--students 300] [--repeat 3]

The zip is the one benchmarks/intake_unpack.py builds (seeded, no student data: notebooks with
incompressible figures, LATE markers, one student in ten handing in a zip of the folder). That benchmark
times the archive module alone; this one the whole intake stage: recognition from the member names, the
download unpacked, every hand-in materialised under --out with the students' own zips unpacked.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.intake_unpack import build_canvas_zip  # noqa: E402
from grader.intake import IntakeOptions  # noqa: E402
from grader.intake.stage import take_in  # noqa: E402


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
        download = build_canvas_zip(work, args.students)
        with zipfile.ZipFile(download) as archive:
            files, size = len(archive.infolist()), sum(i.file_size for i in archive.infolist())
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
