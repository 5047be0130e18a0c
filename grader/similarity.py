"""Similarity across a class: which hand-ins share unusual code, per target and overall.

Reads only what grading already extracted (each result's `sources`: the definition graded for
each target), so no student code runs and nothing is read again. Each definition becomes a
token stream with comments, docstrings, layout and local names normalised away (a name that is
neither a keyword, an attribute nor a well-known module or builtin becomes `V`, a string `S`);
its fingerprints are the hashes of every run of K tokens, minus those of the handed-out starter
code (grader/data/starter_code.json). Every run is kept, not a winnowed sample as in MOSS:
answers here are a few lines long, and sampling would drop most of the evidence. A fingerprint
weighs by its rarity in the class (inverse document frequency, normalised so that a fingerprint
two students alone share weighs 1, and one shared by more than half the class 0): the textbook
softmax that many students wrote alike weighs little, code that two students alone share weighs
fully. A pair's score for a target is the weighted Jaccard index of its two fingerprint sets;
its hand-in score pools every target, so a target counts by how much unusual code it holds. Its
evidence is a surprise: for each target, -ln of the share of the class whose answer holds all
the code the two share, times their score there, summed over targets. Some pair of a class of N
reaches about ln(N(N-1)/2) by luck alone; a pair is flagged when its evidence passes that by the
course's margin (and its score reaches the floor), so two students who both wrote the textbook
softmax are not flagged, and two who share five unusual answers are. Answers with fewer than `min_fingerprints` fingerprints of their own (blank or
starter-only) are never compared.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import keyword
import math
import tokenize
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources
from itertools import combinations

K = 6
COMMON_SHARE = 0.5  # fingerprints in more than this share of the class weigh nothing
MIN_CLASS = 10  # rarity is judged as in a class of at least this many
COMBINED = "*"
_KEPT_NAMES = {"tf", "np", "numpy", "tensorflow", "torch", "nn", "F", "keras", "layers", "math", "self", "cls",
               "super"} | set(dir(builtins))
_STRINGS = {tokenize.STRING, getattr(tokenize, "FSTRING_START", tokenize.STRING)}  # f-strings: Python 3.12+
_STRING_PARTS = {getattr(tokenize, name) for name in ("FSTRING_MIDDLE", "FSTRING_END") if hasattr(tokenize, name)}
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENCODING, tokenize.ENDMARKER}


@dataclass(frozen=True)
class SimilaritySettings:
    """Thresholds, from the course configuration's [similarity] section."""

    flag_score: float = 0.25
    flag_evidence: float = 2.0  # surprise (nats) beyond what luck gives some pair of a class this size
    min_fingerprints: int = 6
    floor: float = 0.5

    @classmethod
    def from_config(cls, values: dict[str, float]) -> "SimilaritySettings":
        return cls(**{k: (int(v) if k == "min_fingerprints" else float(v)) for k, v in values.items()})


@dataclass
class PairScore:
    """One pair of hand-ins for one target (or `*`, all targets pooled)."""

    a: str
    b: str
    target: str
    score: float
    evidence: float  # per target: the summed weight of what they share; pooled: its surprise in nats
    flagged: bool = False


@dataclass
class Answer:
    """One hand-in's code for one target, fingerprinted: hash -> the lines (first, last) it spans."""

    code: str
    first_line: int
    spans: dict[int, tuple[int, int]] = field(default_factory=dict)


def _tokens(code: str) -> list[tuple[str, int]]:
    """(normalised token, line) pairs of `code`; an unparsable tail is dropped."""
    found: list[tuple[str, int]] = []
    previous, before_previous, statement_start = "", "", True
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                statement_start = True
            if token.type in _SKIPPED:
                continue
            if token.type == tokenize.STRING and statement_start:  # a docstring or a bare string
                before_previous, previous, statement_start = previous, "S", False
                continue
            text = token.string
            if token.type == tokenize.NAME and not keyword.iskeyword(text) and (
                    (previous != "." and text not in _KEPT_NAMES) or (previous == "." and before_previous == "self")):
                text = "V"  # a local name, or an attribute the student named (self.W1)
            elif token.type in _STRINGS:
                text = "S"
            elif token.type in _STRING_PARTS:
                continue
            found.append((text, token.start[0]))
            before_previous, previous, statement_start = previous, text, False
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return found


def _hash(tokens: list[str]) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(tokens).encode(), digest_size=8).digest(), "big")


def fingerprint(code: str, first_line: int = 1) -> dict[int, tuple[int, int]]:
    """Every K-token run of `code` (normalised) as hash -> (first line, last line) it spans."""
    tokens = _tokens(code)
    spans: dict[int, tuple[int, int]] = {}
    for start in range(len(tokens) - K + 1):
        window = tokens[start:start + K]
        spans.setdefault(_hash([t for t, _ in window]), (window[0][1] + first_line - 1, window[-1][1] + first_line - 1))
    return spans


def starter_code() -> dict[str, str]:
    """The handed-out code of each target (reference/make_starter_code.py)."""
    data = json.loads(resources.files("grader.data").joinpath("starter_code.json").read_text(encoding="utf-8"))
    return data["targets"]


def starter_fingerprints() -> dict[str, set[int]]:
    """Fingerprints of the handed-out code, per target."""
    return {target: set(fingerprint(code)) for target, code in starter_code().items()}


def answers(results: list[dict], settings: SimilaritySettings) -> dict[str, dict[str, Answer]]:
    """target -> hand-in -> its fingerprinted answer (starter code removed; short answers left out)."""
    starter = starter_fingerprints()
    found: dict[str, dict[str, Answer]] = defaultdict(dict)
    for result in results:
        for target, source in (result.get("sources") or {}).items():
            first = int(source.get("first_line", 1))
            answer = Answer(source.get("code", ""), first, fingerprint(source.get("code", ""), first))
            for given in starter.get(target, set()) & set(answer.spans):
                del answer.spans[given]
            if len(answer.spans) >= settings.min_fingerprints:
                found[target][str(result.get("submission", ""))] = answer
    return found


def _weights(by_handin: dict[str, Answer]) -> dict[int, float]:
    """Each fingerprint's weight: 1 when two hand-ins share it, falling with how many do; 0 past
    COMMON_SHARE of the class."""
    frequency: dict[int, int] = defaultdict(int)
    for answer in by_handin.values():
        for print_ in answer.spans:
            frequency[print_] += 1
    size = max(len(by_handin), MIN_CLASS)
    scale = math.log(size / 2)
    return {print_: 0.0 if count > COMMON_SHARE * size else min(1.0, math.log(size / count) / scale)
            for print_, count in frequency.items()}


def _surprise(prints: list[int], holders: dict[int, set[str]], class_size: int) -> float:
    """How unlikely it is that two independent students share this code: -ln of the share of
    the class whose answer holds every one of these fingerprints (a class counts as at least
    MIN_CLASS students, so that rarity means something in a small one)."""
    ordered = sorted(prints, key=lambda p: len(holders[p]))
    everyone = set(holders[ordered[0]])
    for print_ in ordered[1:]:
        if len(everyone) <= 2:
            break
        everyone &= holders[print_]
    return -math.log(min(1.0, max(2, len(everyone)) / max(class_size, MIN_CLASS)))


def compare(results: list[dict], settings: SimilaritySettings = SimilaritySettings()) -> list[PairScore]:
    """Every pair above the floor, per target and pooled (`*`), most similar first."""
    class_size = len(results)
    chance = math.log(max(1, class_size * (class_size - 1) // 2))  # surprise that some pair reaches by luck
    shared: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    weights: dict[str, dict[int, float]] = {}
    holders: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    totals: dict[str, dict[str, float]] = {}  # target -> hand-in -> weight of its answer
    for target, by_handin in answers(results, settings).items():
        weight = weights[target] = _weights(by_handin)
        totals[target] = {name: sum(weight[p] for p in answer.spans) for name, answer in by_handin.items()}
        for name, answer in by_handin.items():
            for print_ in answer.spans:
                if weight[print_] > 0:
                    holders[target][print_].add(name)
        for print_, names in holders[target].items():
            for a, b in combinations(sorted(names), 2):
                shared[(a, b)][target].append(print_)
    rows = []
    for (a, b), by_target in shared.items():
        pooled_shared = pooled_union = surprise = 0.0
        pair_rows = []
        for target in sorted(totals):
            if a not in totals[target] or b not in totals[target]:
                continue
            prints = by_target.get(target, [])
            common = sum(weights[target][p] for p in prints)
            union = totals[target][a] + totals[target][b] - common
            if union <= 0:
                continue
            pooled_shared, pooled_union = pooled_shared + common, pooled_union + union
            if prints:
                surprise += common / union * _surprise(prints, holders[target], class_size)
            pair_rows.append(PairScore(a, b, target, common / union, common))
        if pooled_union <= 0:
            continue
        pooled = PairScore(a, b, COMBINED, pooled_shared / pooled_union, surprise)
        pooled.flagged = pooled.score >= settings.flag_score and surprise >= chance + settings.flag_evidence
        for row in pair_rows:  # the targets they are alike in
            row.flagged = pooled.flagged and row.score >= settings.floor
        rows += [row for row in [pooled, *pair_rows] if row.score >= settings.floor or row.flagged]
    rows.sort(key=lambda r: (r.target != COMBINED, -r.score, -r.evidence, r.a, r.b, r.target))
    return rows


def matching_lines(a: Answer, b: Answer) -> tuple[set[int], set[int]]:
    """The lines of each answer covered by fingerprints the two share (for the side-by-side view)."""
    both = set(a.spans) & set(b.spans)

    def covered(answer: Answer) -> set[int]:
        return {line for p in both for line in range(answer.spans[p][0], answer.spans[p][1] + 1)}

    return covered(a), covered(b)
