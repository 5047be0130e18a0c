"""The shipped references of Parts 1 and 2 are TensorFlow's answers, current, and never used stale."""

from __future__ import annotations

import numpy as np
import pytest

from grader import references
from grader.checks.part1 import Part1
from grader.checks.part2 import Part2

FAMILIES = [(family, target) for family in (Part1(), Part2()) for target in family.targets]


@pytest.mark.parametrize("family, target", FAMILIES, ids=[t for _, t in FAMILIES])
def test_shipped_references_equal_tensorflows_answers(family, target):
    shipped = references.load(target, family.inputs_digest(target))
    assert shipped is not None, f"no current reference shipped for {target}: run reference/make_references.py"
    computed = family.compute_expected(target)  # TensorFlow, now
    assert [len(group) for group in shipped] == [len(group) for group in computed]
    for shipped_group, computed_group in zip(shipped, computed):
        for got, want in zip(shipped_group, computed_group):
            assert got.shape == np.shape(want)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_a_reference_for_other_inputs_is_never_used():
    part1 = Part1()
    assert references.load("softmax", part1.inputs_digest("softmax")) is not None
    assert references.load("softmax", references.digest([np.zeros(3)])) is None
    assert references.load("no_such_target", part1.inputs_digest("softmax")) is None


def test_grading_process_does_not_import_tensorflow_for_parts_1_and_2():
    import subprocess
    import sys

    script = ("import sys\nfrom grader.checks.part1 import Part1\nfrom grader.checks.part2 import Part2\n"
              "for family in (Part1(), Part2()):\n    for target in family.targets:\n        family.expected(target)\n"
              "print('tensorflow' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip() == "False"
