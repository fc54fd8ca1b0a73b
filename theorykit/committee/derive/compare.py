"""Check an expression you derived by hand against the one theorykit derives.

Two independent verdicts, so that a failure to simplify is never mistaken for a disagreement:

* **symbolic** -- ``simplify(mine - derived) == 0`` (``True``), or ``None`` when SymPy cannot
  decide (it never answers ``False`` from simplification alone);
* **numeric** -- both expressions at random points of a domain you give, in mpmath at ``dps``
  digits; points where either is not real (outside the physical domain, e.g. a covariance that
  is not positive definite) are skipped and counted.

Both expressions are SymPy objects you built in Python; no string is parsed.

Example (Biehl & Schwarze's dR/dalpha for K = M = 1, erf, per unit eta, small learning rate):

>>> import sympy as sp
>>> from theorykit.committee.derive.expanded import expanded_isotropic_system
>>> derived = expanded_isotropic_system("erf", 1, 1, "sqrt").rhs[0]
>>> R, Q, T = sp.symbols("R_00 Q_00 T_00")
>>> mine = 2 / sp.pi * ((T * (1 + Q) - R**2) / ((1 + Q) * sp.sqrt((1 + Q) * (1 + T) - R**2))
...                     - R / ((1 + Q) * sp.sqrt(1 + 2 * Q)))
>>> report = compare_expressions(mine, derived, {R: (-1, 1), Q: (0.1, 2), T: (0.1, 2)})
>>> report.agree, report.symbolic
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from ...core.errors import CaseError


@dataclass(frozen=True)
class Comparison:
    """Verdict of :func:`compare_expressions`.

    Attributes
    ----------
    symbolic : bool or None
        ``True`` when the difference simplifies to zero; ``None`` when undecided.
    max_abs_difference, max_rel_difference : float
        Over the evaluated points (``nan`` when none was evaluated).
    points : int
        Points evaluated; ``skipped`` points were outside the real domain of either expression.
    worst_point : dict
        The point (symbol name -> value) of the largest relative difference.
    agree : bool
        ``symbolic is True``, or -- when undecided -- every evaluated point agrees to
        ``tolerance`` relative (and at least one point was evaluated).
    """

    symbolic: bool | None
    max_abs_difference: float
    max_rel_difference: float
    points: int
    skipped: int
    worst_point: dict
    tolerance: float
    agree: bool


def compare_expressions(
    mine: sp.Expr,
    derived: sp.Expr,
    domain: dict,
    samples: int = 40,
    seed: int = 0,
    dps: int = 30,
    tolerance: float | None = None,
    simplify: bool = True,
) -> Comparison:
    """Compare ``mine`` with ``derived`` symbolically and at random points.

    Parameters
    ----------
    mine, derived : sympy.Expr
        The two expressions; their free symbols must be covered by ``domain``.
    domain : dict
        ``{symbol: (low, high)}``: the box sampled uniformly.
    samples : int
        Random points drawn (1 to 10 000).
    seed : int
        Seed of the points (recorded for reproducibility).
    dps : int
        Working precision of the numeric check (15 to 1000); scoped, no global leak.
    tolerance : float, optional
        Relative agreement required of the numeric check; default ``10**(-(dps - 5))``.
    simplify : bool
        Try ``sympy.simplify`` on the difference first (can be slow for large expressions).
    """
    import mpmath

    if not isinstance(mine, sp.Basic) or not isinstance(derived, sp.Basic):
        raise CaseError(
            "mine", "both expressions must be SymPy expressions (build them in Python; strings are not parsed)"
        )
    free = (mine.free_symbols | derived.free_symbols) - set(domain)
    if free:
        raise CaseError("domain", f"give a range for every free symbol; missing: {sorted(map(str, free))}")
    if not (isinstance(samples, int) and 1 <= samples <= 10_000):
        raise CaseError("samples", f"must be an integer in [1, 10000], got {samples!r}")
    if not (isinstance(dps, int) and 15 <= dps <= 1000):
        raise CaseError("dps", f"must be an integer in [15, 1000], got {dps!r}")
    for sym, bounds in domain.items():
        lo, hi = bounds
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise CaseError(f"domain[{sym}]", f"must be finite (low, high) with low < high, got {bounds!r}")
    tolerance = 10.0 ** (-(dps - 5)) if tolerance is None else float(tolerance)
    symbolic = None
    if simplify and sp.simplify(mine - derived) == 0:
        symbolic = True
    symbols = list(domain)
    f_mine = sp.lambdify(symbols, mine, "mpmath")
    f_derived = sp.lambdify(symbols, derived, "mpmath")
    rng = np.random.default_rng(seed)
    draws = [[rng.uniform(*domain[s]) for s in symbols] for _ in range(samples)]
    worst, worst_point, max_abs, points = -1.0, {}, -1.0, 0
    with mpmath.workdps(dps):
        for values in draws:
            args = [mpmath.mpf(v) for v in values]
            try:
                a, b = f_mine(*args), f_derived(*args)
            except (ValueError, ZeroDivisionError):
                continue
            if not (isinstance(a, mpmath.mpf) and isinstance(b, mpmath.mpf)):
                continue  # complex: outside the real domain
            points += 1
            diff = abs(a - b)
            rel = diff / max(abs(a), abs(b), mpmath.mpf(10) ** (-dps))
            max_abs = max(max_abs, float(diff))
            if float(rel) > worst:
                worst, worst_point = float(rel), {str(s): v for s, v in zip(symbols, values)}
    if points == 0:
        worst = max_abs = float("nan")
    agree = symbolic is True or (points > 0 and worst <= tolerance)
    return Comparison(symbolic, max_abs, worst, points, samples - points, worst_point, tolerance, agree)
