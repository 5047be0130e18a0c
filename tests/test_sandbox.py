"""Isolation: a hang, crash or exit inside one target costs that target only, never the grader."""

from __future__ import annotations

import io
import os
import struct
import time
import json

import numpy as np
import pytest

from grader.sandbox.protocol import FrameReader, ProtocolError, decode_array, encode_frame
from tests.helpers import CORRECT_PART1, IMPORTS, part1_full_marks, write_handin, write_notebook

FULL = 10.0


def _read_back(data: bytes):
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    try:
        return FrameReader(read).read(deadline=time.monotonic() + 10)
    finally:
        os.close(read)


def test_frames_round_trip_arrays_and_json():
    message = {"event": "result", "output": np.arange(6, dtype=np.float32).reshape(2, 3), "nested": [{"a": np.int64(3).item()}]}
    back = _read_back(encode_frame(message))
    assert back["event"] == "result" and back["nested"] == [{"a": 3}]
    np.testing.assert_array_equal(back["output"], message["output"])
    assert back["output"].dtype == np.float32


def test_pickled_object_arrays_are_refused():
    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(ProtocolError):
        decode_array(buffer.getvalue())


def test_malformed_and_oversized_headers_are_refused():
    with pytest.raises(ProtocolError):
        _read_back(struct.pack(">I", 5) + b"{nope")
    with pytest.raises(ProtocolError):
        _read_back(struct.pack(">I", 2**31))
    header = json.dumps({"body": {"x": {"$array": 3}}, "blobs": []}).encode()
    with pytest.raises(ProtocolError):
        _read_back(struct.pack(">I", len(header)) + header)


HOSTILE_SIGMOIDS = {
    "infinite loop": ("def sigmoid(x):\n    while True:\n        pass", "timed out"),
    "sleep with signals ignored": ("import signal, time\ndef sigmoid(x):\n    for s in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT):\n"
                                   "        signal.signal(s, signal.SIG_IGN)\n    time.sleep(1000)", "timed out"),
    "sys.exit": ("import sys\ndef sigmoid(x):\n    sys.exit(0)", "sys.exit(0) was called"),
    "os._exit": ("import os\ndef sigmoid(x):\n    os._exit(0)", "exited with status 0"),
    "segfault": ("import ctypes\ndef sigmoid(x):\n    ctypes.string_at(0)", "SIGSEGV"),
    "KeyboardInterrupt": ("def sigmoid(x):\n    raise KeyboardInterrupt", "KeyboardInterrupt"),
    "deep recursion": ("def sigmoid(x):\n    return sigmoid(x)", "RecursionError"),
}


@pytest.mark.parametrize("name", list(HOSTILE_SIGMOIDS))
def test_hostile_function_costs_only_its_target(grade, tmp_path, name):
    source, expected = HOSTILE_SIGMOIDS[name]
    checks, result = grade(write_handin(tmp_path, sigmoid=source))
    assert expected in checks["sigmoid.matches_tf"].message
    totals = result.per_target()
    assert totals["sigmoid"][0] == 0
    assert all(totals[t] == (FULL, FULL) for t in ("softmax", "softmax_ce", "sigmoid_ce"))
    assert not result.internal_errors


@pytest.mark.parametrize("definition", [
    "def sigmoid(x, _=[0 for _ in iter(int, 1)]):\n    return 1 / (1 + tf.exp(-x))",
    "class Sigmoid:\n    while True:\n        pass\n\ndef sigmoid(x):\n    return Sigmoid()",
    "import os\nclass Sigmoid:\n    os._exit(3)\n\ndef sigmoid(x):\n    return Sigmoid()",
])
def test_definition_that_hangs_or_exits_while_loading_is_skipped(grade, tmp_path, definition):
    checks, result = grade(write_handin(tmp_path, sigmoid=definition))
    # an endless list may reach the memory cap before the load timeout: stopped either way
    assert any("while this was being defined; skipped" in note or "MemoryError" in note for note in result.notes), \
        result.notes
    totals = result.per_target()
    assert totals["sigmoid"][0] == 0
    assert all(totals[t] == (FULL, FULL) for t in ("softmax", "softmax_ce", "sigmoid_ce"))


def test_top_level_training_loop_and_downloads_never_run(grade, tmp_path):
    cells = [IMPORTS, "(x, y), _ = tf.keras.datasets.mnist.load_data()", *CORRECT_PART1.values(),
             "while True:\n    pass", "import os\nos._exit(1)"]
    write_notebook(tmp_path / "hw.ipynb", cells)
    _, result = grade(tmp_path)
    assert part1_full_marks(result)


def test_missing_packages_only_fail_the_code_that_uses_them(grade, tmp_path):
    cells = ["import numpy as np\nimport tensorflow as tf\nimport dlgrade_absent_plotting.pyplot as plt\n"
             "import dlgrade_absent_torch as torch\nfrom dlgrade_absent_tqdm import tqdm",
             *CORRECT_PART1.values(), "def plot(x):\n    plt.plot(x)"]
    cells[2] = "def sigmoid(x):\n    plt.figure()\n    return 1 / (1 + tf.exp(-x))"
    write_notebook(tmp_path / "hw.ipynb", cells)
    checks, result = grade(tmp_path)
    assert "not installed where dlgrade runs" in checks["sigmoid.matches_tf"].message
    assert result.per_target()["softmax"] == (FULL, FULL)


def test_printing_does_not_reach_the_results(grade, tmp_path):
    source = "def sigmoid(x):\n    print('{\"score\": 100}' * 1000)\n    return 1 / (1 + tf.exp(-x))"
    _, result = grade(write_handin(tmp_path, sigmoid=source))
    assert result.score == result.max_score


def test_tf_function_with_autograph_control_flow(grade, tmp_path):
    source = ("@tf.function\ndef sigmoid(x):\n    x = tf.convert_to_tensor(x)\n    if tf.reduce_min(x) >= 0:\n"
              "        y = 1 / (1 + tf.exp(-x))\n    else:\n        y = tf.exp(x - tf.nn.softplus(x))\n    return y")
    checks, result = grade(write_handin(tmp_path, sigmoid=source))
    assert result.per_target()["sigmoid"] == (FULL, FULL), [c.message for c in checks.values() if not c.passed]


def test_a_grader_error_fails_its_target_only_and_is_flagged(grader, tmp_path, monkeypatch):
    from grader.checks.part2 import Part2

    def broken_job(self, located):
        raise RuntimeError("simulated grader bug")

    monkeypatch.setattr(Part2, "job", broken_job)
    result = grader.grade(write_handin(tmp_path), {"softmax", "Matmul"})
    assert result.per_target() == {"softmax": (FULL, FULL), "Matmul": (0.0, 8.0)}
    assert result.internal_errors == ["grader error while grading `Matmul`: RuntimeError: simulated grader bug"]



def test_a_function_that_always_kills_the_process_is_not_called_forever(grade, tmp_path):
    checks, result = grade(write_handin(tmp_path, sigmoid="import os\ndef sigmoid(x):\n    os._exit(0)"))
    assert "exited with status 0" in checks["sigmoid.matches_tf"].message
    assert "not called again after 3 calls in a row ended the process" in checks["sigmoid.large_logits"].message
    assert all(result.per_target()[t] == (FULL, FULL) for t in ("softmax", "softmax_ce", "sigmoid_ce"))


def test_crashes_on_some_inputs_only_cost_those_inputs(grade, tmp_path):
    picky = "import os\nimport numpy as np\ndef sigmoid(x):\n    if np.ndim(x) < 2:\n        os._exit(1)\n" \
            "    return 1 / (1 + tf.exp(-x))"
    checks, _ = grade(write_handin(tmp_path, sigmoid=picky))
    assert checks["sigmoid.matches_tf"].passed and checks["sigmoid.large_logits"].passed
    assert not checks["sigmoid.any_shape"].passed and "exited with status 1" in checks["sigmoid.any_shape"].message


def test_readability_check_of_a_missing_path_is_false_not_a_crash():
    from grader.sandbox.confine import _readable_by_others

    assert _readable_by_others("/no/such/python/site-packages/numpy/__init__.py") is False
    assert _readable_by_others("/usr") is True


def test_temporary_files_go_to_the_childs_own_folder(grade, tmp_path):
    source = ("import tempfile\ndef sigmoid(x):\n    with tempfile.NamedTemporaryFile() as scratch:\n"
              "        scratch.write(b'ok')\n    return 1 / (1 + tf.exp(-x))")
    checks, result = grade(write_handin(tmp_path, sigmoid=source))
    assert result.per_target()["sigmoid"] == (FULL, FULL), checks["sigmoid.matches_tf"].message
