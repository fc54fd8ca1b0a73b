r"""Ball arithmetic shared by every model's certificates (FLINT's Arb through python-flint; optional).

An enclosure is a proof: Arb carries a radius with every number and every operation widens it
enough that the exact value stays inside.  User inputs enter as the exact rationals written
(``0.3`` is 3/10, :func:`theorykit.core.precision.exact`); :class:`Enclosure` prints ``[lo, hi]``
rounded outward.  The certificates themselves live with their models
(:mod:`theorykit.committee.certify`, :mod:`theorykit.rf.certify`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal
from fractions import Fraction

from .errors import CaseError
from .precision import exact
from .schema import DEFAULT_PREC  # noqa: F401  (the certificates' default, declared with its rule)

#: Significant digits of the printed enclosure endpoints (rounded outward).
DIGITS = 40


def flint_module():
    """python-flint, or a CaseError saying how to install it."""
    try:
        import flint
    except ImportError:
        raise CaseError("certify", 'certified enclosures need python-flint: pip install "theorykit[certify]"') from None
    return flint


def available() -> bool:
    """Whether python-flint can be imported."""
    try:
        flint_module()
    except CaseError:
        return False
    return True


def ball(x):
    """The exact rational ``x`` was written as (0.3 is 3/10), as an Arb ball at the context's precision."""
    flint = flint_module()
    q = exact(x)
    return flint.arb(flint.fmpq(q.numerator, q.denominator))


def arb_of_expr(expr, values: dict, memo: dict | None = None):
    """A SymPy expression as an arb ball: rationals, pi, the symbols in ``values`` (balls), ``+``,
    ``*``, powers, ``sqrt``, ``asin`` and ``gamma``.  Each operation is Arb's, so the result
    encloses the expression's value at every point of the input balls.  ``memo`` (a dict kept
    between calls with the same ``values``) evaluates shared subexpressions once."""
    import sympy as sp

    flint = flint_module()
    arb = flint.arb
    if expr in values:
        return values[expr]
    if memo is not None and expr in memo:
        return memo[expr]
    if expr.is_Integer:
        out = arb(int(expr))
    elif expr.is_Rational:
        out = arb(flint.fmpq(int(expr.p), int(expr.q)))
    elif expr is sp.pi:
        out = arb.pi()
    else:
        args = [arb_of_expr(a, values, memo) for a in expr.args]
        if isinstance(expr, sp.Add):
            out = sum(args[1:], args[0])
        elif isinstance(expr, sp.Mul):
            out = args[0]
            for a in args[1:]:
                out = out * a
        elif isinstance(expr, sp.Pow):
            base, power = args
            if expr.exp == sp.Rational(1, 2):
                out = base.sqrt()
            elif expr.exp == sp.Rational(-1, 2):
                out = 1 / base.sqrt()
            elif expr.exp.is_Integer:
                out = base ** int(expr.exp)
            else:
                out = base**power
        elif isinstance(expr, sp.asin):
            out = args[0].asin()
        elif isinstance(expr, sp.gamma):
            out = args[0].gamma()
        else:
            raise CaseError("certify", f"cannot evaluate {type(expr).__name__} in ball arithmetic")
    if memo is not None:
        memo[expr] = out
    return out


def _exact_value(value) -> Fraction:
    """The exact binary number held by an exact arb (a ball's endpoint)."""
    man, exp = value.mid().man_exp()
    man, exp = int(man), int(exp)
    return Fraction(man * 2**exp) if exp >= 0 else Fraction(man, 2**-exp)


def _decimal(q: Fraction, rounding: str, digits: int) -> str:
    context = Context(prec=digits, rounding=rounding)
    return str(context.divide(Decimal(q.numerator), Decimal(q.denominator)))


@dataclass(frozen=True)
class Enclosure:
    """``[lo, hi]`` as decimal strings, rounded outward: the exact value lies inside."""

    lo: str
    hi: str

    @classmethod
    def of(cls, ball, digits: int = DIGITS) -> Enclosure:
        return cls(
            _decimal(_exact_value(ball.lower()), ROUND_FLOOR, digits),
            _decimal(_exact_value(ball.upper()), ROUND_CEILING, digits),
        )

    @classmethod
    def of_rational(cls, q: Fraction, digits: int = DIGITS) -> Enclosure:
        return cls(_decimal(q, ROUND_FLOOR, digits), _decimal(q, ROUND_CEILING, digits))

    def as_list(self) -> list[str]:
        return [self.lo, self.hi]

    def contains(self, value) -> bool:
        """Whether ``value`` (a decimal string, Fraction or mpmath number, read exactly) lies inside."""
        v = Fraction(str(value)) if not isinstance(value, Fraction) else value
        return Fraction(self.lo) <= v <= Fraction(self.hi)

    def relative_width(self) -> float:
        lo, hi = Fraction(self.lo), Fraction(self.hi)
        middle = abs(lo + hi) / 2
        return float((hi - lo) / middle) if middle else float(hi - lo)
