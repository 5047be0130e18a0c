"""The environment variables student code sees: a short, explicit list, nothing of the grader's.

The zygote is started from this environment (not forked from the grader), so no token or
password of the instructor's shell or CI runner exists anywhere in its memory or in
`/proc/self/environ`; each child then points HOME and the temporary folders at its own folder.
"""

from __future__ import annotations

import os
import sys

# Passed through from the grader when set: settings some machines need for numpy to run at all
# (OpenBLAS on some processors) or for the interpreter to find its own libraries.
PASSED_THROUGH = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LD_LIBRARY_PATH")

# Chosen by the grader: one thread per library (children run side by side), quiet TensorFlow,
# a plotting backend that never opens a window, and a locale that decodes UTF-8.
FIXED = {
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
}


def sandbox_environment(home: str, source: dict[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a process that runs (or forks) student code, with `home` as its
    HOME and temporary folder; `source` (default: the grader's) only supplies PASSED_THROUGH."""
    source = os.environ if source is None else source
    environment = dict(FIXED)
    environment["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"])
    for name in ("HOME", "TMPDIR", "TMP", "TEMP"):
        environment[name] = home
    environment.update({name: source[name] for name in PASSED_THROUGH if name in source})
    return environment


def replace_environment(environment: dict[str, str]) -> None:
    """Make `environment` this process's whole environment (os.environ and the C library's)."""
    os.environ.clear()
    os.environ.update(environment)
