"""Downloads of every system, built from the naming rules of issue 27 (no real student data)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from tests.helpers import CORRECT_PART1, IMPORTS, write_notebook

GOOD = [IMPORTS, CORRECT_PART1["sigmoid"]]
BAD = [IMPORTS, "def sigmoid(x):\n    return 1 / (1 + tf.exp(x))"]  # the sign error


def notebook_bytes(tmp: Path, cells: list[str] = GOOD) -> bytes:
    """A notebook's bytes, written by tests.helpers."""
    return write_notebook(tmp / "scratch.ipynb", cells).read_bytes()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def write_tree(root: Path, files: dict[str, bytes | str]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return root


def canvas_files(nb: bytes, bad: bytes) -> dict[str, bytes]:
    """Three students: one on time, one LATE with a re-upload, one under the old lower-case marker whose
    only upload is a zip of the folder; plus anonymous grading's form and a macOS leftover."""
    return {
        "doejohn_123456_9876543_hw1.ipynb": nb,
        "lihua_LATE_234567_9876600_hw1.ipynb": bad,
        "lihua_LATE_234567_9876601_hw1-1.ipynb": nb,  # the re-upload: kept
        "wangfang_late_345678_9876700_homework.zip": zip_bytes({"homework/hw1.ipynb": nb,
                                                                "__MACOSX/homework/._hw1.ipynb": b"\0\5\26\7"}),
        "anon_Xk3Pq_9876800_hw1.ipynb": nb,
    }


def gradescope_files(nb: bytes) -> dict[str, bytes | str]:
    """A single submission and a group of two; Ruby's time format and one Ruby tag."""
    metadata = """\
submission_1001:
  :submitters:
  - :name: Ana Li
    :sid: 'S1'
    :email: ana@x.edu
  :created_at: 2026-12-01 10:22:33.123456000 +01:00
  :score: 0.0
submission_1002: !ruby/hash:ActiveSupport::HashWithIndifferentAccess
  :submitters:
  - :name: Bob Wu
    :sid: 'S2'
    :email: bob@x.edu
  - :name: Cai Yu
    :sid: 'S3'
    :email: cai@x.edu
  :created_at: 2026-12-03 08:00:00.000000000 +00:00
  :history:
  - :created_at: 2026-11-30 09:00:00.000000000 +00:00
"""
    return {"submission_metadata.yml": metadata, "submission_1001/hw1.ipynb": nb,
            "submission_1002/work/hw1.ipynb": nb}


WORKSHEET = """\
Identifier,Full name,Email address,Status,Grade,Maximum Grade,Last modified (submission),Group
Participant 500001,Ana Li,ana@x.edu,Submitted for grading,,40,"Tuesday, 1 December 2026, 10:22 AM",
Participant 500002,Bob Wu,bob@x.edu,Submitted for grading,,40,"Thursday, 3 December 2026, 9:05 PM",
Participant 500003,Cai Yu,cai@x.edu,Submitted for grading,,40,"Monday, 30 November 2026, 8:00 AM",Team Blue
Participant 500004,Dan Ma,dan@x.edu,No submission,,40,-,Team Blue
"""


def moodle_files(nb: bytes, form: str = "3") -> dict[str, bytes]:
    """Moodle 3.x folders (a trailing `_`), 4.x folders (none), or flat files; online text; a team."""
    trail = "_" if form == "3" else ""
    if form == "flat":
        return {"Ana Li_500001_assignsubmission_file_hw1.ipynb": nb,
                "Bob Wu_500002_assignsubmission_file_hw1.ipynb": nb,
                "Team Blue_500003_assignsubmission_file_hw1.ipynb": nb}
    return {f"Ana Li_500001_assignsubmission_file{trail}/hw1.ipynb": nb,
            f"Ana Li_500001_assignsubmission_onlinetext{trail}/onlinetext.html": b"<p>see the notebook</p>",
            f"Bob Wu_500002_assignsubmission_file{trail}/sub/hw1.ipynb": nb,
            f"Team Blue_500003_assignsubmission_file{trail}/hw1.ipynb": nb}


RECEIPT = """\
Name: {name} ({user})
Assignment: HW 1
Date Submitted: {date}
Current Grade: Needs Grading

Submission Field:
There is no student submission text data for this assignment.

Comments:
There are no student comments for this assignment.

Files:
\tOriginal filename: {original}
\tFilename: {stored}
"""


def blackboard_files(nb: bytes, bad: bytes) -> dict[str, bytes | str]:
    """Two attempts by one student (the later is graded), one attempt by another."""
    files: dict[str, bytes | str] = {}
    for user, name, stamp, data, original in (("jdoe", "John Doe", "2026-11-30-20-15-00", bad, "my hw1.ipynb"),
                                              ("jdoe", "John Doe", "2026-12-02-09-30-10", nb, "my hw1.ipynb"),
                                              ("hli", "Hua Li", "2026-12-01-23-58-59", nb, "hw1.ipynb")):
        stored = f"HW_1_{user}_attempt_{stamp}_{original.replace(' ', '_')}"
        files[stored] = data
        files[f"HW_1_{user}_attempt_{stamp}.txt"] = RECEIPT.format(name=name, user=user, date=stamp,
                                                                 original=original, stored=stored)
    return files


def brightspace_files(nb: bytes, bad: bytes) -> dict[str, bytes | str]:
    """Folders per submission (one student twice), one flat file, and index.html."""
    return {"index.html": "<html><body>HW 1</body></html>",
            "145601-205312 - Ana Li - Dec 1, 2026 1022 AM/hw1.ipynb": bad,
            "145777-205312 - Ana Li - Dec 2, 2026 122 PM/hw1.ipynb": nb,
            "145602-205313 - Bob Wu - Dec 3, 2026 905 PM/work/hw1.ipynb": nb,
            "145603-205314 - Cai Yu - Nov 30, 2026 1159 PM - hw1.ipynb": nb}
