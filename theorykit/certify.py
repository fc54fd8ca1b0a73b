r"""Certified enclosures with ball arithmetic (FLINT's Arb through python-flint; optional).

Two precisions that agree are strong evidence (:mod:`theorykit.precision`); an enclosure is a
proof: Arb carries a radius with every number and every operation widens it enough that the
exact value stays inside.  The inputs enter as the exact rationals the user wrote (``0.3`` is
3/10) and derived inputs (the power-law eigenvalues and their normalisation, ``1/sqrt(K)``, the
initial errors) are computed in ball arithmetic from them, so ``[lo, hi]`` contains the exact
value of the model the user specified.

Certified so far (``pip install "theorykit[certify]"``):

* :func:`plateau_enclosures` -- the symmetric plateau of the O(eta) erf committee: ``R``,
  ``Q``, ``C`` from the closed form SymPy derives, :math:`\varepsilon_g` from Saad & Solla's
  arcsines, the escape rate for ``L = 1`` from its closed form.
* :func:`late_phase_enclosures` -- the late-phase rate constants, the decoupled decay rate and
  the exponent, from their closed forms.
* :func:`rf_stationary_enclosure` -- the random-feature ridge (t -> infinity, ``T = 0``) error,
  its closure root proven unique in a ball by interval Newton.
* :func:`linear_curve_enclosures` -- the linear network's learning curve
  :math:`\varepsilon_g(\alpha) = \tfrac12\lambda^T e^{A\alpha}e(0)`, with
  :math:`A = -2\eta\,\mathrm{diag}(\lambda) + \eta^2(\lambda\circ f)\lambda^T` (the derived
  coefficients), by Arb's certified matrix exponential (output noise by a ball linear solve);
  and its power law: the exponent :math:`\nu = \beta/(1+\beta)` (exact), the Gamma-function
  prefactor and the window.

Examples
--------
>>> from fractions import Fraction
>>> exact(0.3)
Fraction(3, 10)
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal
from fractions import Fraction

import numpy as np

from .errors import CaseError
from .model import CommitteeModel
from .precision import exact
from .schema import PREC_RULE
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


def _ball(x):
    flint = _flint()
    q = exact(x)
    return flint.arb(flint.fmpq(q.numerator, q.denominator))


def _spectrum_balls(spec) -> tuple[list, list]:
    """Eigenvalues and fractions as balls from the exact inputs (a power law normalised in balls)."""
    flint = _flint()
    arb, L = flint.arb, spec.L
    f = [arb(flint.fmpq(1, L))] * L if len(set(spec.fractions)) == 1 else [_ball(v) for v in spec.fractions]
    if spec.kind != "power_law":
        return [_ball(v) for v in spec.eigenvalues], f
    power = -(1 + _ball(spec.beta))
    raw = [arb(k) ** power for k in range(1, L + 1)]
    norm = sum((fk * rk for fk, rk in zip(f, raw)), arb(0))
    return [rk / norm for rk in raw], f


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
    """Enclosures of the linear network's curve (one per alpha) and of its power law.

    ``power_law`` maps ``exponent``, ``prefactor``, ``alpha_min``, ``alpha_max`` to enclosures
    (empty without a power law of equal fractions).
    """

    alpha: list
    eps_g: list[Enclosure]
    power_law: dict
    prec_bits: int
    not_certified: dict

    @property
    def exponent(self) -> Enclosure | None:
        return self.power_law.get("exponent")

    def as_dict(self) -> dict:
        out = {
            "certified": True,
            "certify_prec_bits": self.prec_bits,
            "eps_g_enclosure": [e.as_list() for e in self.eps_g],
        }
        if self.power_law:
            out["exponent_enclosure"] = self.power_law["exponent"].as_list()
            out["power_law_enclosures"] = {k: e.as_list() for k, e in self.power_law.items()}
        if self.not_certified:
            out["not_certified"] = self.not_certified
        return out


def _power_law_enclosures(spec, eta_eff, lam_plus, e0_total) -> dict:
    """The derived law's exponent (exact), prefactor and window, in ball arithmetic."""
    from .derive.linear import derive_power_law_asymptotics

    law = derive_power_law_asymptotics()
    S = law.symbols
    values = {S["beta"]: _ball(spec.beta), S["eta"]: eta_eff, S["L"]: _flint().arb(spec.L), S["lambda_plus"]: lam_plus}
    values[S["e0"]] = e0_total
    beta = exact(spec.beta)
    out = {"exponent": Enclosure.of_rational(beta / (1 + beta))}
    for name in ("prefactor", "alpha_min", "alpha_max"):
        out[name] = Enclosure.of(_arb_of(getattr(law, name), values))
    return out


def linear_curve_enclosures(
    model: CommitteeModel, eta, init: Overlaps, alpha, prec: int = DEFAULT_PREC
) -> LinearCertificate:
    r"""Certified :math:`\varepsilon_g(\alpha)` of the linear network, every input exact.

    With output noise :math:`s` the forcing :math:`g = c\eta^2(\lambda\circ f)s^2` enters as
    :math:`\varepsilon_g = \tfrac12\lambda^T[e^{A\alpha}(e(0) + A^{-1}g) - A^{-1}g]`, the
    linear solve done in ball arithmetic too.  For a power law with equal fractions the
    exponent (exact), the prefactor and the window of the derived law are enclosed as well.
    """
    from .linear import _require_linear, linear_coefficients

    flint = _flint()
    _require_linear(model)
    PREC_RULE.check(prec, "prec")
    coeffs = linear_coefficients()
    a, b, c = exact(coeffs.a), exact(coeffs.b), exact(coeffs.c)
    spec = model.spectrum
    L = spec.L
    arb = flint.arb
    with flint.ctx.workprec(prec):
        lam, f = _spectrum_balls(spec)
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
        shift = flint.arb_mat(L, 1)  # A^-1 g: the stationary offset of the noise forcing
        if model.noise != 0:
            s2 = _ball(model.noise) ** 2
            g = flint.arb_mat([[_ball(c) * eta_eff**2 * lam[k] * f[k] * s2] for k in range(L)])
            shift = A.solve(g)
        start = flint.arb_mat([[e0[k] + shift[k, 0]] for k in range(L)])
        offset = sum((lam[k] * shift[k, 0] for k in range(L)), arb(0)) / 2
        enclosures = []
        for value in alpha:
            E = (A * _ball(value)).exp() * start
            eps = sum((lam[k] * E[k, 0] for k in range(L)), arb(0)) / 2 - offset
            enclosures.append(Enclosure.of(eps))
        law = {}
        if spec.kind == "power_law" and len(set(spec.fractions)) == 1:
            law = _power_law_enclosures(spec, eta_eff, lam[0], sum(e0, arb(0)))
    return LinearCertificate([float(v) for v in alpha], enclosures, law, prec, {})


def _arb_of(expr, values: dict):
    """A SymPy expression built from rationals, pi, symbols in ``values``, +, *, powers and asin, as an arb."""
    import sympy as sp

    flint = _flint()
    arb = flint.arb
    if expr in values:
        return values[expr]
    if expr.is_Integer:
        return arb(int(expr))
    if expr.is_Rational:
        return arb(flint.fmpq(int(expr.p), int(expr.q)))
    if expr is sp.pi:
        return arb.pi()
    args = [_arb_of(a, values) for a in expr.args]
    if isinstance(expr, sp.Add):
        return sum(args[1:], args[0])
    if isinstance(expr, sp.Mul):
        out = args[0]
        for a in args[1:]:
            out = out * a
        return out
    if isinstance(expr, sp.Pow):
        base, power = args
        if expr.exp == sp.Rational(1, 2):
            return base.sqrt()
        if expr.exp.is_Integer:
            return base ** int(expr.exp)
        return base**power
    if isinstance(expr, sp.asin):
        return args[0].asin()
    if isinstance(expr, sp.gamma):
        return args[0].gamma()
    raise CaseError("certify", f"cannot evaluate {type(expr).__name__} in ball arithmetic")


def _erf_pair(c_ab, c_aa, c_bb):
    """<g(u_a) g(u_b)> for g(z) = erf(z/sqrt(2)) (Saad & Solla), in ball arithmetic."""
    arb = _flint().arb
    return 2 / arb.pi() * (c_ab / ((1 + c_aa) * (1 + c_bb)).sqrt()).asin()


def plateau_enclosures(model: CommitteeModel, eta, prec: int = DEFAULT_PREC) -> dict:
    r"""Certified symmetric plateau of the small-learning-rate erf committee (infinite-N teacher).

    ``R``, ``Q``, ``C`` from the closed form SymPy derives (:func:`theorykit.derive.symmetric.
    closed_form_plateau`), :math:`\varepsilon_g` from Saad & Solla's arcsines on them, and for
    ``L = 1`` the escape rate from its closed form -- all in ball arithmetic at ``prec`` bits.
    Needs the aggregated teacher variance :math:`T^{(1)} = \sum_k f_k\lambda_k = 1` exactly (a
    power law is normalised so; explicit eigenvalues are checked as exact rationals).  What
    cannot be certified is named in ``not_certified``.
    """
    import sympy as sp

    from .derive.expanded import closed_form_escape_rate
    from .derive.symmetric import closed_form_plateau

    flint = _flint()
    if not model.small_lr or model.activation_name != "erf":
        raise CaseError(
            "certify", "certified plateaus need the O(eta) erf committee (small_lr = true, activation 'erf')"
        )
    PREC_RULE.check(prec, "prec")
    spec = model.spectrum
    if spec.kind != "power_law":
        total = sum(exact(f) * exact(lam) for f, lam in zip(spec.fractions, spec.eigenvalues))
        if total != 1:
            raise CaseError("spectrum", f"certified plateaus need sum_k f_k lambda_k = 1 exactly, got {float(total)!r}")
    found = closed_form_plateau(model.activation_name, model.K, model.M, model.normalization)
    if found is None:
        raise CaseError("certify", "SymPy finds no closed-form plateau for this model: nothing to certify")
    K, M = model.K, model.M
    not_certified = {}
    with flint.ctx.workprec(prec):
        R, Q, C = (_arb_of(sp.sympify(e), {}) for e in (found.R, found.Q, found.C))
        if model.normalization == "sqrt":
            cK, cM = 1 / flint.arb(K).sqrt(), 1 / flint.arb(M).sqrt()
        else:
            cK = cM = flint.arb(1)
        one = flint.arb(1)
        eps = (
            cK**2 * (K * _erf_pair(Q, Q, Q) + K * (K - 1) * _erf_pair(C, Q, Q))
            - 2 * cK * cM * K * M * _erf_pair(R, Q, one)
            + cM**2 * M * _erf_pair(one, one, one)
        ) / 2
        values = {"R": R, "Q": Q, "C": C, "eps_g": eps}
        mu = closed_form_escape_rate(model.activation_name, K, M, model.normalization) if spec.L == 1 else None
        if mu is not None:
            values["escape_rate"] = _ball(eta) * _arb_of(sp.sympify(mu), {})
        else:
            not_certified["escape_rate"] = (
                "no closed form for L > 1; an enclosure of the Jacobian's top eigenvalue is not implemented yet"
            )
        enclosures = {name: Enclosure.of(value).as_list() for name, value in values.items()}
    out = {"certified": True, "certify_prec_bits": prec, "enclosures": enclosures}
    if not_certified:
        out["not_certified"] = not_certified
    return out


def late_phase_enclosures(model: CommitteeModel, eta, prec: int = DEFAULT_PREC) -> dict:
    r"""Certified late-phase constants: :math:`\nu_{slow}`, :math:`\nu_{fast}`, the decoupled rate and the exponent.

    From their closed forms (:func:`theorykit.derive.late_phase.derive_specialised_rates`) with
    the aggregated teacher variance :math:`\tau = \sum_k f_k\lambda_k` and
    :math:`\lambda_{min}` computed in ball arithmetic from the exact inputs; the exponent
    :math:`\nu = \beta/(1+\beta)` is an exact rational.  The dense (coupled) rates are not
    certified (``not_certified`` says so).
    """
    import sympy as sp

    from .derive.late_phase import K_sym, derive_specialised_rates, tau
    from .late_phase import _require_specialisable

    flint = _flint()
    _require_specialisable(model)
    if model.activation_name not in ("erf", "linear"):
        raise CaseError("model.activation", "the late-phase closed forms need 'erf' or 'linear'")
    PREC_RULE.check(prec, "prec")
    closed = derive_specialised_rates(model.activation_name)
    cK2 = sp.Rational(1, model.K) if model.normalization == "sqrt" else sp.Integer(1)
    spec = model.spectrum
    L = spec.L
    arb = flint.arb
    with flint.ctx.workprec(prec):
        lam, f = _spectrum_balls(spec)
        values = {tau: sum((fk * lk for fk, lk in zip(f, lam)), arb(0))}
        rates = {}
        for name in ("nu_slow", "nu_fast"):
            expr = getattr(closed, name).xreplace({K_sym: model.K, sp.Symbol("c_K2", positive=True): cK2})
            rates[name] = _arb_of(expr, values)
        if model.K == 1:  # one unit: the slow and fast rates coincide (as in late_asymptotics)
            rates["nu_slow"] = rates["nu_fast"]
        # the smallest eigenvalue: the last of a power law; explicit ones compared as exact rationals
        smallest = L - 1 if spec.kind == "power_law" else min(range(L), key=lambda k: exact(spec.eigenvalues[k]))
        lam_min = lam[smallest]
        rates["eps_rate_decoupled"] = 2 * _ball(eta) * lam_min * rates["nu_slow"]
        enclosures = {name: Enclosure.of(value).as_list() for name, value in rates.items()}
    if spec.kind == "power_law":
        beta = exact(spec.beta)
        enclosures["exponent"] = Enclosure.of_rational(beta / (1 + beta)).as_list()
    not_certified = {"eps_rate": "the dense (coupled) rates need eigenvalue enclosures: not implemented yet"}
    return {"certified": True, "certify_prec_bits": prec, "enclosures": enclosures, "not_certified": not_certified}


def rf_stationary_enclosure(model, prec: int = DEFAULT_PREC) -> dict:
    r"""Certified :math:`t\to\infty` error of random-feature regression with weight decay (``T = 0``).

    The stationary state is kernel ridge regression with ridge :math:`\gamma` (summed loss;
    :math:`P\gamma` for the mean loss): :math:`\kappa = \gamma + \kappa\sum_k\eta_k/(P\eta_k+\kappa)`
    and :math:`\varepsilon_g = \tfrac12\,[\sum_k \eta_k d_k\kappa^2/(P\eta_k+\kappa)^2 + s^2\gamma_C]
    /(1-\gamma_C)`, :math:`\gamma_C = \sum_k P\eta_k^2/(P\eta_k+\kappa)^2` (Canatar et al. 2021).
    :math:`\kappa` is enclosed by an interval Newton step that maps a ball around the float root
    strictly into itself (a proof that it holds exactly one root), every input exact.
    """
    from scipy.optimize import brentq

    flint = _flint()
    if model.gamma <= 0:
        raise CaseError("gamma", "the certified stationary error needs weight decay gamma > 0 (a unique ridge limit)")
    if model.T != 0:
        raise CaseError("T", "the certified stationary error is implemented for T = 0 (the thermal part is not)")
    PREC_RULE.check(prec, "prec")
    arb = flint.arb
    N, P = model.N, model.P
    with flint.ctx.workprec(prec):
        if model.eigenvalues is not None:
            eta = [_ball(v) for v in model.eigenvalues]
        else:
            raw = [arb(k) ** (-(1 + _ball(model.a))) for k in range(1, N + 1)]
            total = sum(raw, arb(0)) if model.normalization == "sum" else raw[0]
            eta = [r / total for r in raw]
        d = [arb(k) ** (-_ball(model.teacher_exponent)) for k in range(1, N + 1)]
        ridge = _ball(model.gamma) * (P if model.loss == "mean" else 1)
        s2 = _ball(model.noise) ** 2

        def F(k):
            return k - ridge - k * sum((e / (P * e + k) for e in eta), arb(0))

        def dF(k):
            return 1 - sum((P * e**2 / (P * e + k) ** 2 for e in eta), arb(0))

        floats = [float(e.mid()) for e in eta]
        g = float(ridge.mid())
        k0 = brentq(lambda k: k - g - k * sum(e / (P * e + k) for e in floats), g, g + sum(floats) + 1.0, xtol=1e-300)
        radius = max(abs(k0) * 1e-10, 1e-300)
        X = arb(k0, radius)
        m = arb(k0)
        newton = m - F(m) / dF(X)
        if not (dF(X) > 0 and X.contains_interior(newton)):
            raise CaseError("certify", "interval Newton could not prove a unique root of the ridge closure here")
        kappa = newton
        for _ in range(8):  # the root stays in every Newton image of a ball holding it; each step squares the width
            centre = arb(kappa.mid())
            kappa = centre - F(centre) / dF(kappa)
        denom = [(P * e + kappa) ** 2 for e in eta]
        gamma_c = sum((P * e**2 / q for e, q in zip(eta, denom)), arb(0))
        signal = sum((e * dk * kappa**2 / q for e, dk, q in zip(eta, d, denom)), arb(0))
        eps = (signal + s2 * gamma_c) / (1 - gamma_c) / 2
        out = {"stationary": {"eps_g": Enclosure.of(eps).as_list(), "kappa": Enclosure.of(kappa).as_list()}}
    return {"certified": True, "certify_prec_bits": prec, "enclosures": out}
