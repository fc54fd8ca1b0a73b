r"""One precision discipline for every high-precision path (written once, used everywhere).

The rule (``docs/precision.md``):

1. **Lift user numbers as the decimals they were written as.**  :func:`lift` turns the float
   ``0.3`` into the decimal three tenths, not its binary neighbour
   ``0.299999999999999988897769753748...``: the shortest decimal that reads back as the same
   float (``repr``) is the number the user typed into a case file or a call.
2. **Recompute derived inputs at the working precision**, from their definitions: power-law
   eigenvalues and their normalisation, equal fractions ``1/L``, ``1/sqrt(K)``, initial errors
   from the overlaps, effective learning rates, rescaled times.  A float array never enters a
   high-precision path (:func:`lift` refuses nothing, so the discipline is that callers lift
   *inputs*, never results of float arithmetic).
3. **Evaluate twice, each time from the exact inputs.** :func:`two_precisions` runs a
   computation at ``dps + 10`` and ``dps + 25`` working digits (scoped with
   ``mpmath.workdps``; the global precision is never touched).  The computation must lift its
   inputs *inside* the call, so the two runs differ only in precision: two runs that start
   from the same rounded input agree to 38 digits about a value that is right to 16.
4. **Refuse digits nobody can vouch for.** :meth:`Precise.require` raises
   :class:`~theorykit.core.errors.NumericalFailure` (CLI exit 1) when fewer than ``dps`` digits
   agree.

Examples
--------
>>> import mpmath
>>> with mpmath.workdps(30):
...     print(lift(0.3) == mpmath.mpf("0.3"), lift(0.3) == mpmath.mpf(0.3))
True False
>>> third = two_precisions(lambda: lift(1) / 3, 40)
>>> third.agreement_digits >= 40, third.strings()
(True, '0.3333333333333333333333333333333333333333')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from .errors import NumericalFailure
from .schema import DPS_RULE

if TYPE_CHECKING:  # mpmath itself is imported where a function first needs it (40 ms of a small solve's process)
    import mpmath

#: Extra working digits of the two evaluations behind a ``dps``-digit result.
GUARD_DIGITS = (10, 25)


def check_dps(dps, name: str = "dps") -> int | None:
    """``None`` (float evaluation) or an integer in the one accepted range (:data:`theorykit.core.schema.DPS_RULE`)."""
    return None if dps is None else DPS_RULE.check(dps, name)


def exact(x) -> Fraction:
    """A user's number as the exact rational it was written as: the one reading rule.

    ``float`` (and NumPy floats) by their shortest round-trip decimal (``0.3`` -> 3/10);
    ``int``, ``Fraction`` and decimal strings exactly.  :func:`lift` and the ball arithmetic of
    :mod:`theorykit.committee.certify` both read numbers through here.
    """
    if isinstance(x, Fraction):
        return x
    if isinstance(x, (bool, np.bool_)):
        raise TypeError("a bool is not a number here")
    if isinstance(x, (int, np.integer)):
        return Fraction(int(x))
    if isinstance(x, (float, np.floating)):
        if not math.isfinite(float(x)):
            raise NumericalFailure(f"cannot lift a non-finite number ({x!r}) to high precision")
        return Fraction(repr(float(x)))
    if isinstance(x, str):
        return Fraction(x)
    raise TypeError(f"cannot lift {type(x).__name__} to high precision")


def lift(x) -> mpmath.mpf:
    """One number at the caller's working precision, read as the decimal it was written as.

    :func:`exact` reads it (``float`` by its shortest round-trip decimal; ``int``, ``Fraction``,
    decimal strings exactly); ``mpf`` is unchanged (already at a working precision).
    """
    import mpmath

    if isinstance(x, (mpmath.mpf, mpmath.mpc)):
        return x
    q = exact(x)
    return mpmath.mpf(q.numerator) / q.denominator


def lift_array(values) -> np.ndarray:
    """:func:`lift` on every entry; an object array of the same shape."""
    arr = np.asarray(values, dtype=object)
    out = np.empty(arr.shape, dtype=object)
    for index, value in np.ndenumerate(arr):
        out[index] = lift(value)
    return out


def _leaves(value):
    """The numbers in a nested result (dicts, lists, tuples, object arrays); ``None`` skipped."""
    if value is None:
        return
    if isinstance(value, Mapping):
        for key in sorted(value):
            yield from _leaves(value[key])
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, np.ndarray):
        for item in value.ravel():
            yield from _leaves(item)
    else:
        yield value


def agreement_digits(low, high, cap: float) -> float:
    """Decimal digits on which two results agree: min over their numbers of ``-log10 |low - high| / |high|``.

    Equal numbers (and a pair of zeros) count as ``cap`` digits; a number that is zero in one
    run and not in the other, or two results of different shape, as 0.
    """
    import mpmath

    worst = float(cap)
    lows, highs = list(_leaves(low)), list(_leaves(high))
    if len(lows) != len(highs):
        return 0.0
    with mpmath.workdps(int(cap) + 10):
        for a, b in zip(lows, highs):
            diff = abs(a - b)
            if diff == 0:
                continue
            if b == 0:
                return 0.0
            worst = min(worst, float(-mpmath.log10(diff / abs(b))))
    return max(worst, 0.0)


@dataclass(frozen=True)
class Precise:
    """A high-precision result with the digits two independent evaluations agree on.

    Attributes
    ----------
    value : object
        The result of the more precise evaluation (``mpf`` numbers in the computation's own
        structure: a number, list, dict ...).
    dps : int
        Digits asked for.
    agreement_digits : float
        Digits on which the ``dps + 10`` and ``dps + 25`` evaluations agree (min over the
        numbers of the result; capped at ``dps + 25``).
    working_dps : tuple of int
        The two working precisions.
    """

    value: object
    dps: int
    agreement_digits: float
    working_dps: tuple[int, int]

    @property
    def vouched(self) -> bool:
        """Whether every number agrees to at least ``dps`` digits."""
        return self.agreement_digits >= self.dps

    def require(self, what: str) -> Precise:
        """Raise :class:`NumericalFailure` unless :attr:`vouched`; returns ``self``."""
        if not self.vouched:
            lo, hi = self.working_dps
            raise NumericalFailure(
                f"{what}: only {self.agreement_digits:.1f} digits agree between {lo} and {hi} working digits, "
                f"fewer than the {self.dps} asked for"
            )
        return self

    def strings(self, value=None):
        """The result as decimal strings of ``dps`` significant digits, in its own structure."""
        import mpmath

        value = self.value if value is None else value
        with mpmath.workdps(self.working_dps[1]):
            return _map(value, lambda v: mpmath.nstr(v, self.dps, strip_zeros=False))

    def floats(self, value=None):
        """The result rounded to floats, in its own structure."""
        import mpmath

        value = self.value if value is None else value
        return _map(value, lambda v: float(v.real) if isinstance(v, mpmath.mpc) and v.imag == 0 else float(v))

    def as_dict(self) -> dict:
        """``dps``, ``working_dps`` and ``agreement_digits`` for an output file."""
        return {"dps": self.dps, "working_dps": list(self.working_dps), "agreement_digits": self.agreement_digits}


def _map(value, fn):
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {key: _map(item, fn) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_map(item, fn) for item in value]
    if isinstance(value, np.ndarray):
        return [_map(item, fn) for item in value]
    return fn(value)


def two_precisions(compute: Callable[[], object], dps: int) -> Precise:
    """Run ``compute()`` at ``dps + 10`` and ``dps + 25`` working digits and measure their agreement.

    ``compute`` takes no arguments and runs at the current (scoped) mpmath precision; it must
    lift its inputs itself (:func:`lift`, or a model's ``high_precision`` constructors) so that
    each run starts from the exact inputs.  It may return any nesting of dicts, lists, tuples
    and object arrays of ``mpf``/``mpc`` (``None`` entries are skipped).
    """
    import mpmath

    dps = DPS_RULE.check(dps, "dps")
    lo_dps, hi_dps = (dps + extra for extra in GUARD_DIGITS)
    with mpmath.workdps(lo_dps):
        low = compute()
    with mpmath.workdps(hi_dps):
        high = compute()
    return Precise(high, dps, agreement_digits(low, high, hi_dps), (lo_dps, hi_dps))
