r"""Certified enclosures with ball arithmetic (FLINT's Arb through python-flint; optional).

Two precisions that agree are strong evidence (:mod:`theorykit.precision`); an enclosure is a
proof: Arb carries a radius with every number and every operation widens it enough that the
exact value stays inside.  The inputs enter as the exact rationals the user wrote (``0.3`` is
3/10) and derived inputs (the power-law eigenvalues and their normalisation, ``1/sqrt(K)``, the
initial errors) are computed in ball arithmetic from them, so ``[lo, hi]`` contains the exact
value of the model the user specified.

Certified so far (``pip install "theorykit[certify]"``):

* :func:`linear_curve_enclosures` -- the linear network's learning curve
  :math:`\varepsilon_g(\alpha) = \tfrac12\lambda^T e^{A\alpha}e(0)`, with
  :math:`A = -2\eta\,\mathrm{diag}(\lambda) + \eta^2(\lambda\circ f)\lambda^T` (the derived
  coefficients), by Arb's certified matrix exponential; and its power-law exponent
  :math:`\nu = \beta/(1+\beta)`, an exact rational.

Examples
--------
>>> from fractions import Fraction
>>> exact(0.3)
Fraction(3, 10)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal
from fractions import Fraction

import numpy as np

from .errors import CaseError
from .model import CommitteeModel
from .solve.initial import Overlaps

#: Default working precision of the ball arithmetic, in bits.
DEFAULT_PREC = 256
#: Significant digits of the printed enclosure endpoints (rounded outward).
DIGITS = 40


def _flint():
    try:
        import flint
    except ImportError:
        raise CaseError("certify", 'certified enclosures need python-flint: pip install "theorykit[certify]"') from None
    return flint


def available() -> bool:
    """Whether python-flint can be imported."""
    try:
        _flint()
    except CaseError:
        return False
    return True


def exact(x) -> Fraction:
    """A user's number as the exact rational it was written as (``0.3`` -> 3/10)."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, (bool, np.bool_)):
        raise TypeError("a bool is not a number here")
    if isinstance(x, (int, np.integer)):
        return Fraction(int(x))
    if isinstance(x, (float, np.floating)) and math.isfinite(float(x)):
        return Fraction(repr(float(x)))
    raise TypeError(f"cannot read {x!r} as an exact rational")


def _ball(x):
    flint = _flint()
    q = exact(x)
    return flint.arb(flint.fmpq(q.numerator, q.denominator))


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


@dataclass(frozen=True)
class LinearCertificate:
    """Enclosures of the linear network's curve (one per alpha) and of its power-law exponent."""

    alpha: list
    eps_g: list[Enclosure]
    exponent: Enclosure | None
    prec_bits: int
    not_certified: dict

    def as_dict(self) -> dict:
        out = {
            "certified": True,
            "certify_prec_bits": self.prec_bits,
            "eps_g_enclosure": [e.as_list() for e in self.eps_g],
        }
        if self.exponent is not None:
            out["exponent_enclosure"] = self.exponent.as_list()
        if self.not_certified:
            out["not_certified"] = self.not_certified
        return out


def linear_curve_enclosures(
    model: CommitteeModel, eta, init: Overlaps, alpha, prec: int = DEFAULT_PREC
) -> LinearCertificate:
    r"""Certified :math:`\varepsilon_g(\alpha)` of the linear network, every input exact.

    Raises :class:`~theorykit.errors.CaseError` for what cannot be certified here (output
    noise: its forcing term is not implemented in ball arithmetic) rather than returning a
    wider or uncertified number.
    """
    from .linear import _require_linear, linear_coefficients

    flint = _flint()
    _require_linear(model)
    if model.noise != 0:
        raise CaseError("model.noise", "certified linear curves are implemented for noise-free labels (noise = 0)")
    if isinstance(prec, bool) or not isinstance(prec, int) or not 64 <= prec <= 100_000:
        raise CaseError("prec", f"must be an integer number of bits in [64, 100000], got {prec!r}")
    coeffs = linear_coefficients()
    a, b = exact(coeffs.a), exact(coeffs.b)
    spec = model.spectrum
    L = spec.L
    arb, fmpq = flint.arb, flint.fmpq
    with flint.ctx.workprec(prec):
        if len(set(spec.fractions)) == 1:
            f = [arb(fmpq(1, L))] * L
        else:
            f = [_ball(v) for v in spec.fractions]
        if spec.kind == "power_law":
            power = -(1 + _ball(spec.beta))
            raw = [arb(k) ** power for k in range(1, L + 1)]
            norm = sum((fk * rk for fk, rk in zip(f, raw)), arb(0))
            lam = [rk / norm for rk in raw]
        else:
            lam = [_ball(v) for v in spec.eigenvalues]
        if model.normalization == "sqrt":
            cK, cM = 1 / arb(model.K).sqrt(), 1 / arb(model.M).sqrt()
        else:
            cK = cM = arb(1)

        def total(values) -> object:
            return sum((_ball(v) for v in np.ravel(values)), arb(0))

        e0 = [cK**2 * total(init.q[k]) - 2 * cK * cM * total(init.r[k]) + cM**2 * total(init.t[k]) for k in range(L)]
        eta_eff = model.K * cK**2 * _ball(eta)
        A = flint.arb_mat(L, L)
        for k in range(L):
            for j in range(L):
                A[k, j] = _ball(b) * eta_eff**2 * lam[k] * f[k] * lam[j] + (
                    _ball(a) * eta_eff * lam[k] if j == k else 0
                )
        start = flint.arb_mat([[v] for v in e0])
        enclosures = []
        for value in alpha:
            E = (A * _ball(value)).exp() * start
            eps = sum((lam[k] * E[k, 0] for k in range(L)), arb(0)) / 2
            enclosures.append(Enclosure.of(eps))
    exponent = None
    not_certified = {}
    if spec.kind == "power_law" and len(set(spec.fractions)) == 1:
        beta = exact(spec.beta)
        exponent = Enclosure.of_rational(beta / (1 + beta))
        not_certified["prefactor"] = (
            "the Gamma-function prefactor and the window are not yet evaluated in ball arithmetic"
        )
    return LinearCertificate([float(v) for v in alpha], enclosures, exponent, prec, not_certified)
