r"""Certified enclosures with ball arithmetic (FLINT's Arb through python-flint; optional).

Two precisions that agree are strong evidence (:mod:`theorykit.core.precision`); an enclosure is a
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

import numpy as np

from ..core.balls import DEFAULT_PREC, Enclosure, ball, flint_module
from ..core.errors import CaseError
from ..core.precision import exact
from ..core.schema import PREC_RULE
from .late_phase import _require_specialisable
from .linear_network import _require_linear, linear_coefficients
from .model import CommitteeModel
from .solve.initial import Overlaps


def _spectrum_balls(spec) -> tuple[list, list]:
    """Eigenvalues and fractions as balls from the exact inputs (a power law normalised in balls)."""
    flint = flint_module()
    arb, L = flint.arb, spec.L
    f = [arb(flint.fmpq(1, L))] * L if len(set(spec.fractions)) == 1 else [ball(v) for v in spec.fractions]
    if spec.kind != "power_law":
        return [ball(v) for v in spec.eigenvalues], f
    power = -(1 + ball(spec.beta))
    raw = [arb(k) ** power for k in range(1, L + 1)]
    norm = sum((fk * rk for fk, rk in zip(f, raw)), arb(0))
    return [rk / norm for rk in raw], f


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
    from .derive.linear_modes import derive_power_law_asymptotics

    law = derive_power_law_asymptotics()
    S = law.symbols
    values = {
        S["beta"]: ball(spec.beta),
        S["eta"]: eta_eff,
        S["L"]: flint_module().arb(spec.L),
        S["lambda_plus"]: lam_plus,
    }
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
    flint = flint_module()
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
            return sum((ball(v) for v in np.ravel(values)), arb(0))

        e0 = [cK**2 * total(init.q[k]) - 2 * cK * cM * total(init.r[k]) + cM**2 * total(init.t[k]) for k in range(L)]
        eta_eff = model.K * cK**2 * ball(eta)
        A = flint.arb_mat(L, L)
        for k in range(L):
            for j in range(L):
                A[k, j] = ball(b) * eta_eff**2 * lam[k] * f[k] * lam[j] + (ball(a) * eta_eff * lam[k] if j == k else 0)
        shift = flint.arb_mat(L, 1)  # A^-1 g: the stationary offset of the noise forcing
        if model.noise != 0:
            s2 = ball(model.noise) ** 2
            g = flint.arb_mat([[ball(c) * eta_eff**2 * lam[k] * f[k] * s2] for k in range(L)])
            shift = A.solve(g)
        start = flint.arb_mat([[e0[k] + shift[k, 0]] for k in range(L)])
        offset = sum((lam[k] * shift[k, 0] for k in range(L)), arb(0)) / 2
        enclosures = []
        for value in alpha:
            E = (A * ball(value)).exp() * start
            eps = sum((lam[k] * E[k, 0] for k in range(L)), arb(0)) / 2 - offset
            enclosures.append(Enclosure.of(eps))
        law = {}
        if spec.kind == "power_law" and len(set(spec.fractions)) == 1:
            law = _power_law_enclosures(spec, eta_eff, lam[0], sum(e0, arb(0)))
    return LinearCertificate([float(v) for v in alpha], enclosures, law, prec, {})


def _arb_of(expr, values: dict):
    """A SymPy expression built from rationals, pi, symbols in ``values``, +, *, powers and asin, as an arb."""
    import sympy as sp

    flint = flint_module()
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
    arb = flint_module().arb
    return 2 / arb.pi() * (c_ab / ((1 + c_aa) * (1 + c_bb)).sqrt()).asin()


def plateau_enclosures(model: CommitteeModel, eta, prec: int = DEFAULT_PREC) -> dict:
    r"""Certified symmetric plateau of the small-learning-rate erf committee (infinite-N teacher).

    ``R``, ``Q``, ``C`` from the closed form SymPy derives (:func:`theorykit.committee.derive.symmetric.
    closed_form_plateau`), :math:`\varepsilon_g` from Saad & Solla's arcsines on them, and for
    ``L = 1`` the escape rate from its closed form -- all in ball arithmetic at ``prec`` bits.
    Needs the aggregated teacher variance :math:`T^{(1)} = \sum_k f_k\lambda_k = 1` exactly (a
    power law is normalised so; explicit eigenvalues are checked as exact rationals).  What
    cannot be certified is named in ``not_certified``.
    """
    import sympy as sp

    from .derive.expanded import closed_form_escape_rate
    from .derive.symmetric import closed_form_plateau

    flint = flint_module()
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
            values["escape_rate"] = ball(eta) * _arb_of(sp.sympify(mu), {})
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

    From their closed forms (:func:`theorykit.committee.derive.late_expansion.derive_specialised_rates`) with
    the aggregated teacher variance :math:`\tau = \sum_k f_k\lambda_k` and
    :math:`\lambda_{min}` computed in ball arithmetic from the exact inputs; the exponent
    :math:`\nu = \beta/(1+\beta)` is an exact rational.  The dense (coupled) rates are not
    certified (``not_certified`` says so).
    """
    import sympy as sp

    from .derive.late_expansion import K_sym, derive_specialised_rates, tau

    flint = flint_module()
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
        rates["eps_rate_decoupled"] = 2 * ball(eta) * lam_min * rates["nu_slow"]
        enclosures = {name: Enclosure.of(value).as_list() for name, value in rates.items()}
    if spec.kind == "power_law":
        beta = exact(spec.beta)
        enclosures["exponent"] = Enclosure.of_rational(beta / (1 + beta)).as_list()
    not_certified = {"eps_rate": "the dense (coupled) rates need eigenvalue enclosures: not implemented yet"}
    return {"certified": True, "certify_prec_bits": prec, "enclosures": enclosures, "not_certified": not_certified}
