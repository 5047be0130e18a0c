"""The course's own handout text, recognised by a shipped fingerprint, so it never counts as a report.

The fingerprint (grader/data/handout.json, made by reference/make_handout_fingerprint.py) holds
hashes of the handout's normalised lines and of their character shingles, not the text. A line
of a hand-in is the handout's when its normalised form is one of those lines, or when nearly all
of its shingles are (a line lightly edited, or two handout lines joined). Short lines ("## 要求:",
"## 数据集") are common words too: they are dropped only above more handout text, so a student's
own "## 数据集" heading above their own text still counts.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from functools import lru_cache
from importlib import resources

SHINGLE = 5  # characters of a normalised line per shingle
LONG = 8  # normalised characters from which a line is recognised on its own
SHINGLE_SHARE = 0.8  # share of a line's shingles that makes it the handout's


def normalise(line: str) -> str:
    """Letters and digits only, case-folded and NFKC-normalised: markdown, spacing and punctuation
    (full-width or not) do not tell two copies of the handout apart."""
    text = unicodedata.normalize("NFKC", line).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def shingles(normalised: str) -> list[str]:
    return [normalised[i:i + SHINGLE] for i in range(len(normalised) - SHINGLE + 1)]


@lru_cache(maxsize=1)
def _fingerprint() -> tuple[frozenset[str], frozenset[str]]:
    data = json.loads(resources.files("grader.data").joinpath("handout.json").read_text(encoding="utf-8"))
    return frozenset(data["lines"]), frozenset(data["shingles"])


def is_handout(line: str) -> bool:
    """Whether one line is the handout's (see the module docstring)."""
    text = normalise(line)
    if not text:
        return False
    lines, known = _fingerprint()
    if digest(text) in lines:
        return True
    pieces = shingles(text)
    return len(text) >= LONG + SHINGLE and sum(digest(p) in known for p in pieces) >= SHINGLE_SHARE * len(pieces)


def copied(lines: list[str]) -> set[int]:
    """Indices of the handout's lines among `lines`. A short handout line counts only when the next
    line is the handout's too (a handout heading over handout text)."""
    filled = [i for i, line in enumerate(lines) if normalise(line)]
    handout = {i for i in filled if is_handout(lines[i])}
    drop = set()
    for position, index in enumerate(filled):
        if index not in handout:
            continue
        following = filled[position + 1] if position + 1 < len(filled) else None
        previous = filled[position - 1] if position else None
        if len(normalise(lines[index])) >= LONG or following in handout or \
                following is None and previous in handout:
            drop.add(index)
    return drop


def strip(text: str) -> tuple[str, int]:
    """`text` without its handout lines (see `copied`), and how many non-empty lines were dropped."""
    lines = text.splitlines()
    drop = copied(lines)
    kept = [line for i, line in enumerate(lines) if i not in drop]
    return "\n".join(kept), len(drop)
