"""Compare a student's array with the reference and say precisely how they differ."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float

    @staticmethod
    def for_dtype(dtype: np.dtype, loose: bool = False) -> "Tolerance":
        """float64 inputs are judged tightly, float32 inputs at float32 precision.

        `loose` admits the small epsilon students add inside a log (log(x + 1e-8)).
        """
        if loose:
            return Tolerance(1e-4, 1e-5)
        return Tolerance(1e-5, 1e-7) if np.dtype(dtype) == np.float64 else Tolerance(1e-4, 1e-6)


def describe(array: np.ndarray) -> str:
    """`shape (2, 3) float32`."""
    return f"shape {tuple(array.shape)} {array.dtype}"


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def mismatch(expected: np.ndarray, got: np.ndarray, tolerance: Tolerance, scalar: bool = False) -> str | None:
    """None when `got` matches, else what differs: shape, non-finite values or the worst element."""
    if scalar:
        if got.size != 1:
            return f"expected a scalar, got {describe(got)}"
        got, expected = got.reshape(()), np.asarray(expected).reshape(())
    elif got.shape != expected.shape:
        return f"expected {describe(expected)}, got {describe(got)}"
    got = got.astype(np.float64) if got.dtype.kind != "c" else got.real.astype(np.float64)
    finite = np.isfinite(got)
    if not finite.all():
        index = tuple(int(i) for i in np.argwhere(~finite)[0])
        where = f" at {list(index)}" if index else ""
        return (f"got non-finite values ({int((~finite).sum())} of {got.size}; "
                f"{_fmt(got[index])}{where} where {_fmt(expected[index])} was expected)")
    excess = np.abs(got - expected) - (tolerance.atol + tolerance.rtol * np.abs(expected))
    if (excess <= 0).all():
        return None
    if not excess.shape:
        return f"expected {_fmt(expected)}, got {_fmt(got)} (abs err {abs(got - expected):.2g})"
    index = np.unravel_index(int(np.argmax(excess)), excess.shape)
    error = abs(got[index] - expected[index])
    return (f"worst element at {[int(i) for i in index]}: expected {_fmt(expected[index])}, "
            f"got {_fmt(got[index])} (abs err {error:.2g}, {describe(got)})")


def matches(expected: np.ndarray, got: np.ndarray, tolerance: Tolerance, scalar: bool = False) -> bool:
    """Whether `got` equals `expected` within tolerance (used to recognise known mistakes)."""
    try:
        return mismatch(expected, got, tolerance, scalar) is None
    except (ValueError, TypeError, FloatingPointError):
        return False
