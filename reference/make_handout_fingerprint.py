"""Derive the fingerprint of the course's own handout text, so that no verbatim course text ships.

Most hand-ins carry the chapter's README (the assignment, which names the four report sections)
and the starter notebooks' markdown. That text is never a student's report. This script finds it
in real hand-ins: a line that stands in the README of at least MIN_HANDINS different hand-ins is
the handout's, and so is every markdown line of the course's notebooks in reference/. It writes
only hashes of normalised lines and of their character shingles (grader/data/handout.json),
which grader/fitting/handout.py uses to drop handout lines wherever they appear.

    python reference/make_handout_fingerprint.py ../shared/corpus
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.fitting.handout import SHINGLE, digest, normalise, shingles  # noqa: E402

MIN_HANDINS = 3
OUTPUT = REPO / "grader" / "data" / "handout.json"


def _markdown_lines(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    return [line for cell in cells if cell.get("cell_type") == "markdown"
            for line in "".join(cell.get("source", [])).splitlines()]


def handout_lines(corpus: Path) -> set[str]:
    """Normalised lines of the course's text: shared by the READMEs of MIN_HANDINS hand-ins, or in
    the course's own notebooks."""
    seen: dict[str, set[str]] = defaultdict(set)
    for readme in corpus.glob("*/**/README.md"):
        handin = readme.relative_to(corpus).parts[0]
        for line in readme.read_text(encoding="utf-8", errors="replace").splitlines():
            if normalise(line):
                seen[normalise(line)].add(handin)
    lines = {line for line, handins in seen.items() if len(handins) >= MIN_HANDINS}
    for notebook in (REPO / "reference").glob("*.ipynb"):
        lines |= {normalise(line) for line in _markdown_lines(notebook) if normalise(line)}
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path, help="a folder of real hand-ins, one sub-folder each")
    arguments = parser.parse_args(argv)
    lines = handout_lines(arguments.corpus)
    fingerprint = {
        "about": "hashes of the course handout's normalised lines and of their character shingles "
                 "(reference/make_handout_fingerprint.py); no course text is stored",
        "shingle": SHINGLE,
        "lines": sorted({digest(line) for line in lines}),
        "shingles": sorted({digest(s) for line in lines for s in shingles(line)}),
    }
    OUTPUT.write_text(json.dumps(fingerprint, indent=0) + "\n", encoding="utf-8")
    print(f"{len(lines)} handout lines, {len(fingerprint['shingles'])} shingles -> {OUTPUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
