"""`dlgrade gradescope-bundle`: the autograder zip Gradescope expects, with dlgrade inside.

The zip holds `setup.sh` (installs the dlgrade wheel and its dependencies), `run_autograder`
(grades `/autograder/submission` into `/autograder/results/results.json`), the wheel itself and
the course configuration. Both scripts take their root from AUTOGRADER_ROOT (default
`/autograder`), so the bundle can be tried in any folder laid out like Gradescope's. The run
script never ends without a results file: if dlgrade fails, it writes one that says so.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from grader import __version__

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when the autograder image is built.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
if ! command -v python3 >/dev/null || ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-pip python3-venv
fi
python3 -m pip install --upgrade "$ROOT"/source/dlgrade-*.whl
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; it must always leave results/results.json behind.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
mkdir -p "$ROOT/results"
RESULTS="$ROOT/results/results.json"
rm -f "$RESULTS"
CONFIG=()
[ -f "$ROOT/source/dlgrade.toml" ] && CONFIG=(--config "$ROOT/source/dlgrade.toml")
cd "$ROOT/source"
python3 -m grader check "$ROOT/submission" "${CONFIG[@]}" --gradescope "$RESULTS" --format markdown \\
    > "$ROOT/results/dlgrade.log" 2>&1
status=$?
if [ ! -s "$RESULTS" ]; then
    python3 - "$RESULTS" "$status" "$ROOT/results/dlgrade.log" <<'EOF'
import json, sys
path, status, log = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    tail = open(log, encoding="utf-8", errors="replace").read()[-3000:]
except OSError:
    tail = ""
json.dump({"score": 0.0, "tests": [], "visibility": "visible", "stdout_visibility": "hidden",
           "output": f"dlgrade could not grade this submission (exit status {status}); this is not a grade. "
                     f"Please tell your instructor.\\n{tail}"}, open(path, "w"))
EOF
fi
exit 0
"""


def _record_line(name: str, data: bytes) -> list[str]:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [name, f"sha256={digest}", str(len(data))]


def wheel_from_installed(folder: Path) -> Path | None:
    """A wheel rebuilt from the installed dlgrade (its dist-info and package files), or None when
    dlgrade is not installed that way (an editable install keeps no files of its own)."""
    try:
        distribution = metadata.distribution("dlgrade")
    except metadata.PackageNotFoundError:
        return None
    files = [f for f in distribution.files or [] if f.parts[0] == "grader" or f.parts[0].endswith(".dist-info")]
    if not any(f.parts[0] == "grader" for f in files):
        return None
    skip = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
    wheel = folder / f"dlgrade-{__version__}-py3-none-any.whl"
    records, info = [], next(f.parts[0] for f in files if f.parts[0].endswith(".dist-info"))
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            name = file.as_posix()
            if file.name in skip or "__pycache__" in file.parts or name.endswith(".pyc"):
                continue
            data = Path(file.locate()).read_bytes()
            archive.writestr(name, data)
            records.append(_record_line(name, data))
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(records + [[f"{info}/RECORD", "", ""]])
        archive.writestr(f"{info}/RECORD", text.getvalue())
    return wheel


def wheel_from_source(folder: Path) -> Path | None:
    """A wheel built by pip from the source tree dlgrade runs from, if it runs from one."""
    source = Path(__file__).resolve().parent.parent
    pyproject = source / "pyproject.toml"
    if not pyproject.is_file() or 'name = "dlgrade"' not in pyproject.read_text(encoding="utf-8"):
        return None
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(folder),
                    str(source)], check=True, stdout=subprocess.DEVNULL)
    return next(folder.glob("dlgrade-*.whl"), None)


def write_bundle(out: Path, config: Path | None = None) -> Path:
    """Write the autograder zip to `out`; returns it."""
    with tempfile.TemporaryDirectory(prefix="dlgrade-bundle-") as tmp:
        wheel = wheel_from_source(Path(tmp)) or wheel_from_installed(Path(tmp))
        if wheel is None:
            raise RuntimeError("cannot find dlgrade's own files to put in the bundle (install it with pip)")
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
                entry = zipfile.ZipInfo(name)
                entry.external_attr = 0o100755 << 16  # executable, as Gradescope requires
                archive.writestr(entry, text)
            archive.write(wheel, wheel.name)
            if config is not None:
                archive.write(config, "dlgrade.toml")
    return out
