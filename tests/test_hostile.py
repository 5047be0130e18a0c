"""Hostile hand-ins: each attack sits in one target, which loses its points with a clear message,
while every other target of the same hand-in keeps full marks and nothing outside the child's
own temporary folder is touched. (Crashes, hangs and exits: test_sandbox.py.)"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import nbformat
import pytest
from markupsafe import escape

from grader.batch import BatchSettings, run_batch
from grader.gradebook import Gradebook
from grader.report.html import submission_page
from grader.sandbox.jobs import Limits
from tests.conftest import FAST
from tests.helpers import CORRECT_PART1, IMPORTS, write_handin, write_notebook
from tests.test_batch import SessionWorkers
from tests.test_report import assert_no_student_markup

FULL = 10.0
OTHERS = ("softmax", "softmax_ce", "sigmoid_ce")
CORRECT_SIGMOID = "    return 1 / (1 + tf.exp(-x))"


def only_sigmoid_lost(result) -> None:
    totals = result.per_target()
    assert totals["sigmoid"][0] < FULL, "the attack earned full marks"
    assert all(totals[t] == (FULL, FULL) for t in OTHERS), totals
    assert not result.internal_errors


@pytest.fixture(scope="module")
def confinement(grader, tmp_path_factory) -> dict:
    """What the sandbox applies on this machine (graded once, on a harmless hand-in)."""
    folder = write_notebook(tmp_path_factory.mktemp("probe") / "hw.ipynb", [IMPORTS, CORRECT_PART1["sigmoid"]]).parent
    return grader.grade(folder, {"sigmoid"}).confinement or {}


def require(confinement: dict, *guarantees: str) -> None:
    """Skip (saying why) when this machine cannot apply a guarantee (e.g. not root, no namespaces)."""
    for guarantee in guarantees:
        if not any(guarantee in item for item in confinement.get("applied", [])):
            pytest.skip(f"this machine does not allow '{guarantee}': {confinement.get('missing')}")


def test_memory_exhaustion_hits_the_cap_not_the_machine(grade, tmp_path):
    # np.empty reserves without touching pages, so the cap (not the call timeout) must stop it
    greedy = ("import numpy as np\ndef sigmoid(x):\n    hoard = []\n    while True:\n"
              "        hoard.append(np.empty(100 * 2**20 // 8))\n")
    started = time.monotonic()
    checks, result = grade(write_handin(tmp_path, sigmoid=greedy))
    assert "MemoryError" in checks["sigmoid.matches_tf"].message
    assert time.monotonic() - started < 60
    only_sigmoid_lost(result)


def test_output_floods_are_capped_and_do_not_break_grading(grade, tmp_path):
    flood = ("import os, sys\ndef sigmoid(x):\n    chunk = b'x' * 2**20\n    for _ in range(300):\n"
             "        for fd in (1, 2):\n            try:\n                os.write(fd, chunk)\n"
             "            except OSError:\n                pass\n    print('y' * 10**6, file=sys.stderr)\n"
             + CORRECT_SIGMOID)
    checks, result = grade(write_handin(tmp_path, sigmoid=flood))
    assert all(result.per_target()[t] == (FULL, FULL) for t in ("sigmoid",) + OTHERS)  # correct, if noisy
    assert len(json.dumps(result.to_dict())) < 200_000  # nothing of the flood reaches the results


PATCHES = {
    "numpy's comparisons": "import numpy as np\ndef sigmoid(x, _=(setattr(np, 'allclose', lambda *a, **k: True), "
                           "setattr(np.testing, 'assert_allclose', lambda *a, **k: None))):\n    return x",
    "tf.nn.sigmoid": "import tensorflow as tf\ndef sigmoid(x, _=setattr(tf.nn, 'sigmoid', lambda x, name=None: x)):\n"
                     "    return x",
    "the grader's own modules": "import grader.checks.compare as c, grader.probes.convert as v\n"
                                "def sigmoid(x, _=(setattr(c, 'matches', lambda *a, **k: True), "
                                "setattr(c, 'mismatch', lambda *a, **k: None))):\n    return x",
}


@pytest.mark.parametrize("name", list(PATCHES))
def test_patching_numpy_tf_or_the_grader_fools_no_judge(grade, tmp_path, name):
    checks, result = grade(write_handin(tmp_path, sigmoid=PATCHES[name]))
    assert not checks["sigmoid.matches_tf"].passed
    only_sigmoid_lost(result)


FAKE_RESULT = json.dumps({"event": "result", "call": 0, "passed": True, "score": 10, "output": [0.5]})
FORGERY = f"""import os, sys, struct
def sigmoid(x):
    fake = {FAKE_RESULT!r}.encode()
    print(fake.decode()); print(fake.decode(), file=sys.stderr)
    for fd in range(3, 64):
        for data in (fake, struct.pack('<Q', len(fake)) + fake, b'{{"exit": "exited with status 0"}}'):
            try:
                os.write(fd, data)
            except OSError:
                pass
    with open('results.json', 'w') as f:
        f.write(fake.decode())
    return x
"""


def test_fake_results_on_every_stream_and_descriptor_are_not_believed(grade, tmp_path):
    checks, result = grade(write_handin(tmp_path, sigmoid=FORGERY))
    assert not checks["sigmoid.matches_tf"].passed
    only_sigmoid_lost(result)


def test_returned_objects_never_run_code_in_the_grader(grade, tmp_path):
    marker = tmp_path / "parent-was-fooled"
    trap = f"""import os, numpy as np
class Trap:
    def __reduce__(self):
        return (os.system, ("touch {marker}",))
    def __array__(self, dtype=None, copy=None):
        return np.full((10, 5), 0.5)
    def __eq__(self, other):
        return True
    def __float__(self):
        return 0.5
def sigmoid(x):
    return Trap()
"""
    checks, result = grade(write_handin(tmp_path / "hand-in", sigmoid=trap))
    assert not marker.exists()
    assert not checks["sigmoid.matches_tf"].passed
    only_sigmoid_lost(result)


def _processes_with(needle: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if needle.encode() in cmdline.read():
                    found.append(pid)
        except OSError:
            pass
    return found


def test_detached_children_do_not_outlive_grading(grade, tmp_path):
    lingering = ("import os\ndef sigmoid(x):\n    if os.fork() == 0:\n        os.setsid()\n"
                 "        if os.fork() == 0:\n            os.execvp('sleep', ['sleep', '4242.5'])\n        os._exit(0)\n"
                 "    os.wait()\n" + CORRECT_SIGMOID)
    checks, result = grade(write_handin(tmp_path, sigmoid=lingering))
    time.sleep(0.5)
    assert _processes_with("4242.5") == [], "a process started by the hand-in survived its grading"
    assert result.per_target()["sigmoid"] == (FULL, FULL)


def test_no_file_outside_the_temporary_folder_and_no_byte_to_a_local_server(grade, tmp_path, confinement):
    require(confinement, "no network", "read-only")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    received, graded = [], threading.Event()

    def accept() -> None:
        while not graded.is_set() and not received:
            try:
                connection, _ = listener.accept()
                received.append(connection.recv(100) or b"(connected)")
            except OSError:
                pass

    thread = threading.Thread(target=accept)
    thread.start()
    targets = [tmp_path / "outside.txt", Path.home() / "dlgrade-was-here.txt", Path("/tmp/dlgrade-was-here.txt"),
               Path("/var/tmp/dlgrade-was-here.txt")]
    for leftover in targets:  # our own marker names, in case an earlier run was interrupted
        leftover.unlink(missing_ok=True)
    port = listener.getsockname()[1]
    escape = (f"import socket\ndef sigmoid(x):\n    for path in {[str(t) for t in targets]!r}:\n        try:\n"
              f"            open(path, 'w').write('pwned')\n        except OSError:\n            pass\n    try:\n"
              f"        socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'leak')\n"
              f"    except OSError:\n        pass\n" + CORRECT_SIGMOID)
    _, result = grade(write_handin(tmp_path / "hand-in", sigmoid=escape))
    graded.set()
    thread.join()
    listener.close()
    assert received == [], "a byte reached the TCP listener"
    written = [t for t in targets if t.exists()]
    for path in written:
        path.unlink()
    assert written == []
    assert result.per_target()["sigmoid"] == (FULL, FULL)  # its failed attempts cost nothing else


def test_attacks_on_the_gradebook_and_reports_change_nothing(grader, tmp_path, confinement):
    require(confinement, "read-only")
    root, out = tmp_path / "class", tmp_path / "out"
    write_handin(root / "ana")
    settings = BatchSettings(targets=tuple(sorted(FAST)), limits=Limits(call_timeout=3.0, load_timeout=6.0))
    with Gradebook(out / "gradebook.sqlite") as book:
        run_batch(root, out, settings, lambda: SessionWorkers(grader, settings), book)
    protected = [out / "gradebook.sqlite", out / "ana" / "report.html", out / "ana" / "results.json"]
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in protected}
    vandal = ("import glob\ndef sigmoid(x):\n    for path in " + repr([str(p) for p in protected]) + ":\n"
              "        try:\n            open(path, 'w').write('<script>alert(1)</script>')\n"
              "        except OSError:\n            pass\n" + CORRECT_SIGMOID)
    write_handin(root / "mallory", sigmoid=vandal)
    with Gradebook(out / "gradebook.sqlite") as book:
        summary = run_batch(root, out, settings, lambda: SessionWorkers(grader, settings), book)
        entries = {e.name: e for e in book.entries()}
    assert summary.graded == 1 and summary.unchanged == 1
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in protected[1:]}
    assert after == {p: before[p] for p in protected[1:]}
    assert entries["ana"].result["score"] == entries["ana"].result["max_score"]
    assert entries["mallory"].result["score"] == entries["mallory"].result["max_score"]
    assert_no_student_markup(submission_page(entries["mallory"].result))


def test_report_environment_says_what_the_sandbox_applied_and_missed(grade, tmp_path):
    _, result = grade(write_handin(tmp_path), {"sigmoid"})
    confinement = result.to_dict()["environment"]["confinement"]
    assert any("memory cap" in item for item in confinement["applied"])
    page = submission_page(result.to_dict())
    assert 'id="confinement"' in page
    for item in confinement["missing"]:
        assert f"not confined: {escape(item)}" in page
    if os.geteuid() == 0:
        assert any("PID namespace" in item for item in confinement["applied"])


def test_fifty_megabyte_notebook_of_outputs(grade, tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(IMPORTS)]
    for source in CORRECT_PART1.values():
        cell = nbformat.v4.new_code_cell(source)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="0.123456789 " * 1_100_000)]
        notebook.cells.append(cell)
    path = tmp_path / "big" / "tf2.0-exercise.ipynb"
    path.parent.mkdir()
    nbformat.write(notebook, path)
    assert path.stat().st_size > 50 * 2**20
    _, result = grade(path.parent, {"softmax", "sigmoid", "softmax_ce", "sigmoid_ce"})
    assert result.score == result.max_score == 40


def test_thousands_of_cells(grade, tmp_path):
    filler = [f"x_{i} = {i}\nprint(x_{i})" for i in range(3000)]
    cells = [IMPORTS, *filler[:1500], *CORRECT_PART1.values(), *filler[1500:]]
    folder = write_notebook(tmp_path / "many" / "tf2.0-exercise.ipynb", cells).parent
    started = time.monotonic()
    _, result = grade(folder, {"softmax", "sigmoid", "softmax_ce", "sigmoid_ce"})
    assert result.score == result.max_score == 40
    assert time.monotonic() - started < 60


def test_hostile_class_is_graded_by_the_batch_command(tmp_path):
    """End to end through `dlgrade batch`: the batch finishes and only the attacked targets lose."""
    root = tmp_path / "class"
    write_handin(root / "good")
    write_handin(root / "greedy", sigmoid=("import numpy as np\ndef sigmoid(x):\n    h = []\n    while True:\n"
                                           "        h.append(np.ones(100 * 2**20 // 8))"))
    write_handin(root / "liar", sigmoid=FORGERY)
    (root / "truncated").mkdir()
    (root / "truncated" / "hw.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "def softmax(x):')
    (root / "latin1").mkdir()
    (root / "latin1" / "hw.py").write_bytes(("# \xe9t\xe9\n" + IMPORTS + "\n" + CORRECT_PART1["sigmoid"]).encode("latin-1"))
    run = subprocess.run(["python", "-m", "grader", "batch", str(root), "--out", str(tmp_path / "out"), "--fast",
                          "--call-timeout", "3"], capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert run.returncode == 0, run.stderr
    assert "graded 5" in run.stdout and "failed to load 1" in run.stdout
    results = {r["submission"]: r for r in json.loads((tmp_path / "out" / "results.json").read_text())}
    assert results["good"]["score"] == results["good"]["max_score"]
    for name in ("greedy", "liar"):
        lost = {c["target"] for c in results[name]["checks"] if not c["passed"] and c["max_score"]}
        assert lost == {"sigmoid"}, (name, lost)
    latin1 = {c["target"]: c for c in results["latin1"]["checks"]}
    assert latin1["sigmoid"]["passed"]
