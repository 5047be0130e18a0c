"""Compare a student's array with the reference and say precisely how they differ."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader.i18n import tr


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
    return tr("shape {shape} {dtype}", shape=tuple(array.shape), dtype=array.dtype)


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def mismatch(expected: np.ndarray, got: np.ndarray, tolerance: Tolerance, scalar: bool = False) -> str | None:
    """None when `got` matches, else what differs: shape, non-finite values or the worst element."""
    if scalar:
        if got.size != 1:
            return tr("expected a scalar, got {got}", got=describe(got))
        got, expected = got.reshape(()), np.asarray(expected).reshape(())
    elif got.shape != expected.shape:
        return tr("expected {expected}, got {got}", expected=describe(expected), got=describe(got))
    got = got.astype(np.float64) if got.dtype.kind != "c" else got.real.astype(np.float64)
    finite = np.isfinite(got)
    if not finite.all():
        index = tuple(int(i) for i in np.argwhere(~finite)[0])
        where = tr(" at {index}", index=list(index)) if index else ""
        return tr("got non-finite values ({count} of {size}; {got}{where} where {expected} was expected)",
                  count=int((~finite).sum()), size=got.size, got=_fmt(got[index]), where=where,
                  expected=_fmt(expected[index]))
    excess = np.abs(got - expected) - (tolerance.atol + tolerance.rtol * np.abs(expected))
    if (excess <= 0).all():
        return None
    if not excess.shape:
        return tr("expected {expected}, got {got} (abs err {error:.2g})", expected=_fmt(expected), got=_fmt(got),
                  error=abs(got - expected))
    index = np.unravel_index(int(np.argmax(excess)), excess.shape)
    error = abs(got[index] - expected[index])
    return tr("worst element at {index}: expected {expected}, got {got} (abs err {error:.2g}, {described})",
              index=[int(i) for i in index], expected=_fmt(expected[index]), got=_fmt(got[index]), error=error,
              described=describe(got))


def matches(expected: np.ndarray, got: np.ndarray, tolerance: Tolerance, scalar: bool = False) -> bool:
    """Whether `got` equals `expected` within tolerance (used to recognise known mistakes)."""
    try:
        return mismatch(expected, got, tolerance, scalar) is None
    except (ValueError, TypeError, FloatingPointError):
        return False
