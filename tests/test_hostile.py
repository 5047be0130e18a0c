"""Hostile hand-ins: each attack sits in one target, which loses its points with a clear message,
while every other target of the same hand-in keeps full marks and nothing outside the child's
own temporary folder is touched. (Crashes, hangs and exits: test_sandbox.py.)"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from markupsafe import escape

from grader.batch import BatchSettings, content_hash, run_batch
from grader.checks.part1 import Part1
from grader.gradebook import Gradebook
from grader.pipeline import load_sources
from grader.report.html import submission_page
from grader.sandbox.jobs import Limits, run_job
from grader.sandbox.zygote import Zygote
from grader.targets import TARGETS, locate
from tests.conftest import FAST
from tests.helpers import CORRECT_PART1, IMPORTS, part1_cells, part1_full_marks, write_handin, write_notebook
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


# --- One student never sees another, nor the grader (issue 12) ---------------------------------
# Each attack is first run unconfined, in a plain process of the test's own, to show that it
# works there (so a pass below is not vacuous), then graded, where it must come back empty.


def probe_sigmoid(zygote: Zygote, source: str, folder: Path, limits: Limits = Limits(call_timeout=10.0)):
    """Run a hand-in's `sigmoid` through the sandbox as Part 1 does, on its first input only;
    returns the JobOutcome."""
    write_notebook(folder / "hw.ipynb", [IMPORTS, source])
    job = Part1(limits).job(locate(TARGETS["sigmoid"], load_sources(folder)))
    job.calls = job.calls[:1]
    return run_job(zygote, job)


def first_error(outcome) -> str:
    """What the first call sent back: the student's exception text (the exfiltration channel)."""
    first = outcome.calls[0]
    return (first.data or {}).get("error") or first.failure or outcome.problem or ""


def run_unconfined(source: str, *arguments: str, env: dict | None = None) -> str:
    """The attack's `sigmoid(None)` run in a fresh, unconfined Python: its RuntimeError text."""
    script = source + "\ntry:\n    sigmoid(None)\nexcept RuntimeError as e:\n    print(e)\n"
    return subprocess.run([sys.executable, "-c", script, *arguments], capture_output=True, text=True, timeout=120,
                          env=env or dict(os.environ)).stdout


def test_symlinks_leading_out_of_the_handin_are_never_read(grade, tmp_path):
    classmate = write_notebook(tmp_path / "ana" / "tf2.0-exercise.ipynb", part1_cells())
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "answers.py").write_text(IMPORTS + "\n" + CORRECT_PART1["sigmoid"])
    thief = write_handin(tmp_path / "mallory")
    (thief / "tf2.0-exercise.ipynb").unlink()
    (thief / "tf2.0-exercise.ipynb").symlink_to(Path("..") / "ana" / "tf2.0-exercise.ipynb")
    (thief / "answers.py").symlink_to(tmp_path / "secret" / "answers.py")
    (thief / "copied").symlink_to(tmp_path / "ana", target_is_directory=True)
    assert "def softmax" in (thief / "tf2.0-exercise.ipynb").read_text()  # the links do lead to answers
    assert part1_full_marks(grade(classmate.parent)[1])

    checks, result = grade(thief)
    for target in CORRECT_PART1:
        assert result.per_target()[target][0] == 0, f"{target} was graded from a classmate's notebook"
        assert "not read: answers.py, tf2.0-exercise.ipynb" in checks[f"{target}.matches_tf"].message
    assert result.per_target()["Matmul"] == (8.0, 8.0)  # the hand-in's own notebooks still count
    assert any("tf2.0-exercise.ipynb: a symlink to a file outside the hand-in" in n for n in result.notes), result.notes
    assert any("answers.py: a symlink to a file outside" in n for n in result.notes)
    assert not any("copied/" in f for f in result.files)


def test_devices_fifos_and_oversized_files_are_skipped_without_hanging(tmp_path):
    folder = write_handin(tmp_path / "odd")
    os.mkfifo(folder / "pipe.ipynb")
    (folder / "zero.ipynb").symlink_to("/dev/zero")
    (folder / "inner.py").symlink_to(folder / "tf2.0-exercise.ipynb")  # inside the hand-in: followed
    (folder / "huge.py").write_bytes(b"#" * (3 * 2**20))
    signal.alarm(60)  # a FIFO or /dev/zero read without end would hang here
    try:
        files = {f.display: f for f in load_sources(folder, max_bytes=2 * 2**20)}
        digest = content_hash(folder)
    finally:
        signal.alarm(0)
    assert "not a regular file" in files["pipe.ipynb"].error
    assert "outside the hand-in" in files["zero.ipynb"].error
    assert "over the 2 MB limit" in files["huge.py"].error
    assert files["inner.py"].error is None and files["tf2.0-exercise.ipynb"].cells
    assert len(digest) == 64


ENVIRONMENT_THIEF = """import ctypes, os, re
def sigmoid(x):
    secret = os.environ.get('DLGRADE_TEST_SECRET', '') or 'unset'
    seen = [secret] + [k for k in os.environ if 'SECRET' in k]
    try:
        with open('/proc/self/environ', 'rb') as f:
            seen += re.findall(rb'SECRET=([^\\x00]*)', f.read())
    except OSError:
        pass
    with open('/proc/self/maps') as maps:
        for line in maps:  # the secret anywhere in this process's writable memory
            bounds, perms, _, _, _, *name = line.split()
            start, end = (int(v, 16) for v in bounds.split('-'))
            if perms.startswith('rw') and end - start < 2**28 and not name[:1] == ['[vvar]']:
                seen += re.findall(rb'sk-live-[0-9a-f]{16}', ctypes.string_at(start, end - start))[:1]
    raise RuntimeError(f'seen={seen!r}')
"""


def test_student_code_sees_nothing_of_the_graders_environment(tmp_path, monkeypatch):
    secret = "sk-live-" + os.urandom(8).hex()
    monkeypatch.setenv("DLGRADE_TEST_SECRET", secret)
    assert secret in run_unconfined(ENVIRONMENT_THIEF)  # the attack finds it in an ordinary process
    with Zygote() as zygote:  # started while the grader's environment holds the secret
        outcome = probe_sigmoid(zygote, ENVIRONMENT_THIEF, tmp_path)
    message = first_error(outcome)
    assert "seen=['unset']" in message, message
    assert secret not in json.dumps([c.data or c.failure for c in outcome.calls], default=str)
    environment = next(item for item in outcome.confinement["applied"] if item.startswith("environment: only"))
    assert "DLGRADE_TEST_SECRET" not in environment and "HOME" in environment


FILE_THIEF = """import glob, os
def sigmoid(x):
    found = []
    for pattern in {patterns!r}:
        for path in glob.glob(pattern, recursive=True):
            try:
                with open(path, 'rb') as f:
                    data = f.read()
            except OSError:
                continue
            if bytes.fromhex('{needle}') in data:
                found.append(path)
    raise RuntimeError(f'found={{found!r}} tmp={{sorted(os.listdir("/tmp"))!r}}')
"""


def test_classmates_files_gradebook_config_and_home_are_out_of_sight(grader, tmp_path, confinement):
    require(confinement, "own file system view")
    marker = "ANA-" + os.urandom(6).hex()
    root, out = tmp_path / "class", tmp_path / "out"
    write_handin(root / "ana", sigmoid=f"def sigmoid(x):  # {marker}\n    return 1 / (1 + tf.exp(-x))")
    (tmp_path / "dlgrade.toml").write_text(f"# {marker}\n")
    home_file = Path.home() / f".dlgrade-test-{marker}"
    home_file.write_text(marker)
    patterns = [f"{root}/**/*", f"{out}/**/*", f"{tmp_path}/*.toml", f"{Path.home()}/.dlgrade-test-*"]
    thief = FILE_THIEF.format(patterns=patterns, needle=marker.encode().hex())  # the marker is not in its code
    write_handin(root / "mallory", sigmoid=thief)
    try:
        assert "/class/ana/tf2.0-exercise.ipynb" in run_unconfined(thief)  # readable to an ordinary process
        settings = BatchSettings(targets=tuple(sorted(FAST)), limits=Limits(call_timeout=5.0, load_timeout=6.0))
        with Gradebook(out / "gradebook.sqlite") as book:
            run_batch(root, out, settings, lambda: SessionWorkers(grader, settings), book, only=["ana"])
            run_batch(root, out, settings, lambda: SessionWorkers(grader, settings), book)  # ana's grades exist now
            entries = {e.name: e.result for e in book.entries()}
    finally:
        home_file.unlink()
    stolen = json.dumps(entries["mallory"])
    assert "found=[]" in stolen and marker not in stolen
    message = next(c["message"] for c in entries["mallory"]["checks"] if c["id"] == "sigmoid.matches_tf")
    seen_in_tmp = message.split("tmp=", 1)[1]
    assert "dlgrade-child-" in seen_in_tmp and tmp_path.parts[2] not in seen_in_tmp  # not the tests' own folders
    assert entries["ana"]["score"] == entries["ana"]["max_score"]
    assert {c["target"] for c in entries["mallory"]["checks"] if not c["passed"] and c["max_score"]} == {"sigmoid"}


PROCESS_SNOOP = """import os, re, time
def sigmoid(x):
    others, found = set(), []
    until = time.monotonic() + 3
    while time.monotonic() < until and not found:
        for pid in filter(str.isdigit, os.listdir('/proc')):
            if int(pid) == os.getpid():
                continue
            others.add(int(pid))
            try:
                with open(f'/proc/{pid}/maps') as maps, open(f'/proc/{pid}/mem', 'rb', 0) as mem:
                    for line in maps:
                        bounds, perms = line.split()[:2]
                        start, end = (int(v, 16) for v in bounds.split('-'))
                        if perms.startswith('rw') and end - start < 2**28:
                            try:
                                found += re.findall(rb'VICTIM-[0-9a-f]{12}', os.pread(mem.fileno(), end - start, start))[:1]
                            except OSError:
                                pass
            except OSError:
                pass
        time.sleep(0.2)
    raise RuntimeError(f'others={sorted(others)[:20]!r} found={found!r}')
"""


def test_other_processes_are_invisible_and_their_memory_unreadable(grader, tmp_path, confinement):
    require(confinement, "own /proc", "not dumpable")
    marker = "VICTIM-" + os.urandom(6).hex()
    victim_code = f"import time\ndef sigmoid(x):\n    held = '{marker}' * 3\n    time.sleep(4)\n    return 1 / (1 + np.exp(-x))"
    holder = subprocess.Popen([sys.executable, "-c", f"import time; held = '{marker}' * 3; time.sleep(60)"])
    try:
        time.sleep(1)
        assert marker in run_unconfined(PROCESS_SNOOP)  # an ordinary process reads a sibling's memory
    finally:
        holder.kill()
        holder.wait()
    with ThreadPoolExecutor(2) as pool:
        victim = pool.submit(probe_sigmoid, grader.zygote, victim_code, tmp_path / "victim")
        time.sleep(1.0)
        snoop = pool.submit(probe_sigmoid, grader.zygote, PROCESS_SNOOP, tmp_path / "snoop")
        message, _ = first_error(snoop.result()), victim.result()
    assert "found=[]" in message and marker not in message, message
    assert "others=[]" in message, message  # not even a pid of the victim or the grader


def test_children_are_not_dumpable(grader, tmp_path):
    source = "import ctypes\ndef sigmoid(x):\n    raise RuntimeError(f'dumpable={ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)}')"
    assert "dumpable=1" in run_unconfined(source)
    assert "dumpable=0" in first_error(probe_sigmoid(grader.zygote, source, tmp_path))


FORKER = """import os, time, numpy as np
def sigmoid(x):
    pids = []
    for _ in range({children}):
        pid = os.fork()
        if pid == 0:
            try:
                block = np.ones({megabytes} * 2**20 // 8)  # touched: really resident
                time.sleep(3)  # held while the siblings allocate theirs
                os._exit(0 if block.sum() > 0 else 1)
            except BaseException:
                os._exit(1)
        pids.append(pid)
    held = sum(os.waitpid(pid, 0)[1] == 0 for pid in pids)
    raise RuntimeError(f'children-holding-memory={{held}}')
"""


def test_memory_cap_covers_every_process_a_handin_starts(grader, tmp_path, confinement):
    require(confinement, "own cgroup")
    forker = FORKER.format(children=4, megabytes=500)
    assert "children-holding-memory=4" in run_unconfined(forker)  # 2 GB, each process under its own cap
    outcome = probe_sigmoid(grader.zygote, forker, tmp_path, Limits(call_timeout=30.0, memory_mb=1200))
    message = first_error(outcome)
    assert "children-holding-memory=4" not in message, message
    assert "children-holding-memory=" in message or "out of memory" in message, message


def test_fork_bomb_stops_at_the_process_cap(grader, tmp_path, confinement):
    require(confinement, "own cgroup")
    bomb = ("import os, time\ndef sigmoid(x):\n    made = 0\n    for _ in range(300):\n        try:\n"
            "            if os.fork() == 0:\n                time.sleep(30)\n                os._exit(0)\n"
            "            made += 1\n        except OSError:\n            pass\n"
            "    raise RuntimeError(f'forked={made}')")
    outcome = probe_sigmoid(grader.zygote, bomb, tmp_path, Limits(call_timeout=20.0, max_processes=40))
    forked = int(first_error(outcome).rsplit("forked=", 1)[1].split()[0])
    assert forked < 40



def test_thread_pools_fit_under_the_process_cap_that_stops_a_fork_bomb(grader, tmp_path, confinement):
    """The cap counts threads too: TensorFlow's and torch's pools grow with the machine's cores (and tf.data
    iterators measured while Keras trains add more), so a correct hand-in with 150 threads is not refused,
    while a fork bomb still stops below the same default cap."""
    require(confinement, "own cgroup")
    pools = ("import threading\ndef sigmoid(x):\n    stop = threading.Event()\n"
             "    made = [threading.Thread(target=stop.wait) for _ in range(150)]\n"
             "    for thread in made:\n        thread.start()\n    stop.set()\n"
             "    for thread in made:\n        thread.join()\n    raise RuntimeError(f'threads={len(made)}')")
    outcome = probe_sigmoid(grader.zygote, pools, tmp_path / "pools", Limits(call_timeout=20.0))
    assert "threads=150" in first_error(outcome)
    bomb = ("import os, time\ndef sigmoid(x):\n    made = 0\n    for _ in range(Limits_cap + 50):\n        try:\n"
            "            if os.fork() == 0:\n                time.sleep(30)\n                os._exit(0)\n"
            "            made += 1\n        except OSError:\n            pass\n"
            "    raise RuntimeError(f'forked={made}')").replace("Limits_cap", str(Limits().max_processes))
    outcome = probe_sigmoid(grader.zygote, bomb, tmp_path / "bomb", Limits(call_timeout=20.0))
    assert int(first_error(outcome).rsplit("forked=", 1)[1].split()[0]) < Limits().max_processes


CPU_HOG = """import os, time
def sigmoid(x):
    until = time.monotonic() + 6
    for _ in range(4):
        if os.fork() == 0:
            os.setsid()  # a session each: the scheduler's per-session fairness (autogroup) does not apply
            while time.monotonic() < until:
                pass
            os._exit(0)
    while time.monotonic() < until:
        pass
    raise RuntimeError('done hogging')
"""
CPU_METER = """import time
def sigmoid(x):
    cpu, wall = time.process_time(), time.monotonic()
    while time.monotonic() - wall < 2:
        pass
    raise RuntimeError(f'cpu-share={(time.process_time() - cpu) / (time.monotonic() - wall):.2f}')
"""


def test_busy_processes_of_one_handin_leave_a_classmate_its_core(grader, tmp_path, confinement):
    require(confinement, "own cgroup")
    with ThreadPoolExecutor(2) as pool:
        hog = pool.submit(probe_sigmoid, grader.zygote, CPU_HOG, tmp_path / "hog")
        time.sleep(2.0)  # the hog's five processes are spinning
        meter = pool.submit(probe_sigmoid, grader.zygote, CPU_METER, tmp_path / "meter")
        measured, _ = first_error(meter.result()), hog.result()
    share = float(measured.rsplit("cpu-share=", 1)[1].split()[0])
    assert share > 0.7, f"a classmate's busy processes left this child {share:.0%} of a core"


def once(attack: str) -> str:
    """The attack on the first call of each child only (slow attacks), a correct sigmoid after."""
    return (attack.replace("def sigmoid(x):", "def _attack(x):") + "\n_attacked = []\n"
            "def sigmoid(x):\n    if not _attacked:\n        _attacked.append(1)\n        _attack(x)\n"
            "    import numpy as np\n    return 1 / (1 + np.exp(-np.asarray(x, dtype=float)))\n")


def _used_memory() -> int:
    info = dict(line.split(":") for line in Path("/proc/meminfo").read_text().splitlines())
    return (int(info["MemTotal"].split()[0]) - int(info["MemAvailable"].split()[0])) * 1024


def _in_dlgrade_cgroups() -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if "dlgrade-" in Path(f"/proc/{pid}/cgroup").read_text():
                found.append(pid)
        except OSError:
            pass
    return found


def test_hostile_class_gets_no_secret_no_classmate_and_no_bystanders_points(tmp_path):
    """The bar, end to end through `dlgrade batch` with a secret in the grader's environment."""
    secret, marker = "sk-live-" + os.urandom(8).hex(), "VICTIM-" + os.urandom(6).hex()
    root, out = tmp_path / "class", tmp_path / "out"
    write_handin(root / "ana", sigmoid=f"def sigmoid(x):  # {marker}\n    return 1 / (1 + tf.exp(-x))")
    write_handin(root / "bob")
    attackers = {
        "envdump": ENVIRONMENT_THIEF,
        "snoop": FILE_THIEF.format(patterns=[f"{root}/**/*", f"{out}/**/*", f"{Path.home()}/*"],
                                   needle=marker.encode().hex()),
        "peeper": once(PROCESS_SNOOP),
        "forker": FORKER.format(children=8, megabytes=1000),
        "hog": once(CPU_HOG),
    }
    for name, source in attackers.items():
        write_handin(root / name, sigmoid=source)
    thief = write_handin(root / "thief")
    (thief / "tf2.0-exercise.ipynb").unlink()
    (thief / "tf2.0-exercise.ipynb").symlink_to(Path("..") / "ana" / "tf2.0-exercise.ipynb")
    (write_handin(root / "zero") / "extra.ipynb").symlink_to("/dev/zero")

    baseline, peak, running = _used_memory(), [0], threading.Event()

    def sample() -> None:
        while not running.is_set():
            peak[0] = max(peak[0], _used_memory() - baseline)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        run = subprocess.run([sys.executable, "-m", "grader", "batch", str(root), "--out", str(out), "--fast",
                              "--call-timeout", "10"], capture_output=True, text=True, timeout=900,
                             env=dict(os.environ, DLGRADE_TEST_SECRET=secret, TF_CPP_MIN_LOG_LEVEL="2"))
    finally:
        running.set()
        sampler.join()
    assert run.returncode == 0, run.stderr
    assert peak[0] < 6 * 2**30, f"grading took {peak[0] / 2**30:.1f} GB of the machine"
    assert _in_dlgrade_cgroups() == [], "a process of the batch outlived it"
    results = {r["submission"]: r for r in json.loads((out / "results.json").read_text())}
    for name in ("ana", "bob", "zero"):
        assert results[name]["score"] == results[name]["max_score"], name
    assert any("extra.ipynb: a symlink to a file outside" in n for n in results["zero"]["notes"])
    lost = {name: {c["target"] for c in results[name]["checks"] if not c["passed"] and c["max_score"]}
            for name in [*attackers, "thief"]}
    assert lost == {**{name: {"sigmoid"} for name in attackers}, "thief": set(CORRECT_PART1)}, lost
    for name in [*attackers, "thief"]:
        written = "".join(p.read_text(errors="replace") for p in (out / name).rglob("*") if p.is_file())
        assert secret not in written and marker not in written, name
    messages = {name: next(c["message"] for c in results[name]["checks"] if c["id"] == "sigmoid.matches_tf")
                for name in attackers}
    assert "seen=['unset']" in messages["envdump"]
    assert "found=[]" in messages["snoop"] and "others=[]" in messages["peeper"]
    assert "out of memory" in messages["forker"] or "children-holding-memory=" in messages["forker"]
