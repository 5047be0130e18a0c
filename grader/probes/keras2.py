"""Child side of Part 4: run code written for Keras 2 under Keras 2.

TensorFlow 2.16 and later ship Keras 3, which dropped APIs that older fitting code uses
(`tf.keras.optimizers.legacy`, some `tf.keras` behaviours). When a run fails on one of those,
the unit is run again with `keras`, `tensorflow.keras` and their sub-modules resolved to
`tf_keras` (Keras 2, the `dlgrade[keras2]` extra), as `TF_USE_LEGACY_KERAS=1` would do in a fresh
interpreter; the zygote imported TensorFlow long before, so the switch is made by aliasing the
modules in this child only.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import sys
import types

PACKAGE = "tf_keras"
# What only Keras 3 says, or what fails only under it
_KERAS3_ONLY = re.compile(r"optimizers\.legacy|keras\.optimizers' has no attribute 'legacy'|"
                          r"(not|no longer) supported in Keras 3|Keras 3|keras\.src|"
                          r"has no attribute '(experimental|set_session|get_session)'", re.I)
_ALIASED = ("keras", "tensorflow.keras")


def keras3_problem(notes: list[str], imports: list[str]) -> str | None:
    """The first failure of a Keras-using run that Keras 2 would not have, or None."""
    if not {"keras", "tensorflow"} & set(imports):
        return None
    return next((note for note in notes if _KERAS3_ONLY.search(note)), None)


def available() -> bool:
    return importlib.util.find_spec(PACKAGE) is not None


def active() -> bool:
    """Whether this process already runs Keras 2 in place of Keras 3."""
    return any(isinstance(finder, _Alias) for finder in sys.meta_path)


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves `keras[.x]` and `tensorflow.keras[.x]` to the already imported `tf_keras[.x]`."""

    @staticmethod
    def _real(fullname: str) -> str | None:
        for alias in _ALIASED:
            if fullname == alias or fullname.startswith(alias + "."):
                return PACKAGE + fullname[len(alias):]
        return None

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        real = self._real(fullname)
        if real is None or importlib.util.find_spec(real) is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return importlib.import_module(self._real(spec.name))

    def exec_module(self, module: types.ModuleType) -> None:
        """The real module is already executed."""


def use_keras2() -> None:
    """From now on in this process, `keras` and `tensorflow.keras` are Keras 2 (tf_keras)."""
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    for name in [n for n in sys.modules if any(n == a or n.startswith(a + ".") for a in _ALIASED)]:
        del sys.modules[name]
    sys.meta_path.insert(0, _Alias())
    keras2 = importlib.import_module(PACKAGE)
    sys.modules["keras"] = sys.modules["tensorflow.keras"] = keras2
    tensorflow = sys.modules.get("tensorflow")
    if tensorflow is not None:
        setattr(tensorflow, "keras", keras2)
