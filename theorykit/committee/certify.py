r"""Certified enclosures with ball arithmetic (FLINT's Arb through python-flint; optional).

Two precisions that agree are strong evidence (:mod:`theorykit.core.precision`); an enclosure is a
proof: Arb carries a radius with every number and every operation widens it enough that the
exact value stays inside.  The inputs enter as the exact rationals the user wrote (``0.3`` is
3/10) and derived inputs (the power-law eigenvalues and their normalisation, ``1/sqrt(K)``, the
initial errors) are computed in ball arithmetic from them, so ``[lo, hi]`` contains the exact
value of the model the user specified.

Certified so far (``pip install "theorykit[certify]"``):

* :func:`plateau_enclosures` -- the symmetric plateau (infinite-N teacher, any K, M, learning
  rate, output noise and spectrum): ``R``, ``Q``, ``C`` from the closed form SymPy derives where
  there is one, else proven by the Krawczyk test on the derived plateau equations
  (:mod:`theorykit.core.krawczyk`); :math:`\varepsilon_g` on them; the escape rate from its
  closed form (``L = 1``) or as the largest real part of the full Jacobian's eigenvalues
  (:mod:`theorykit.core.eigen_enclosure`).
* :func:`late_phase_enclosures` -- the late-phase rate constants, the decoupled decay rate and
  the exponent, from their closed forms; the dense decay rate from eigenvalue enclosures.
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

from ..core.balls import DEFAULT_PREC, Enclosure, arb_of_expr, ball, flint_module
from ..core.eigen_enclosure import max_real_part
from ..core.errors import CaseError, DerivationError
from ..core.krawczyk import certify_root
from ..core.precision import exact
from ..core.schema import PREC_RULE
from .jacobian_balls import BallJacobian
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
        out[name] = Enclosure.of(arb_of_expr(getattr(law, name), values))
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


#: Largest Jacobian (rows) whose eigenvalues are enclosed (Arb's eigenvalue enclosure is cubic in it).
EIGEN_LIMIT = 160


def _symmetric_equations(model: CommitteeModel):
    """The symmetric system of ``model`` (K, M, read-out weights substituted), the plateau
    conditions to solve, their unknowns and ``C`` in terms of them (``None``: ``C`` is one).

    At small learning rate the per-mode fixed point forces ``C = Q`` exactly
    (:func:`~theorykit.committee.derive.symmetric.per_mode_fixed_point`: the ratio is free of the
    Stein coefficients), and on that surface the ``Q`` and ``C`` conditions coincide -- the
    three conditions are then degenerate (their Jacobian singular), so ``C`` is eliminated by
    the derived relation and two conditions remain.  With the :math:`O(\\eta^2)` term no such
    relation holds and all three are solved.
    """
    model.require_classic("the certified plateau")
    from .derive.odes import c_K
    from .derive.symmetric import (
        C,
        K,
        M,
        Q,
        R,
        _ratio_relation,
        c_k,
        c_M,
        derive_symmetric_system,
        per_mode_fixed_point,
    )
    from .derive.symmetric import q_k as q_mode

    try:
        system = derive_symmetric_system(model.activation_name, model.small_lr)
    except DerivationError as exc:
        raise CaseError("model.activation", f"certified plateaus need closed-form kernels: {exc}") from None
    cK, cM = model.readout_exact()
    subs = {K: model.K, M: model.M, c_K: cK, c_M: cM}
    equations = [e.xreplace(subs) for e in system.fixed_point_equations()]
    if model.K == 1:  # one student: no student-student overlap C
        return system, subs, equations[:2], [R, Q], None
    if model.small_lr:
        per_mode = per_mode_fixed_point(system)
        ratio = _ratio_relation(per_mode[c_k] / per_mode[q_mode])
        if ratio is not None:
            C_of = ratio.xreplace(subs) * Q
            return system, subs, [e.xreplace({C: C_of}) for e in equations[:2]], [R, Q], C_of
    return system, subs, equations, [R, Q, C], None


def require_certifiable_plateau(model: CommitteeModel, prec: int = DEFAULT_PREC) -> None:
    """Raise the CaseError :func:`plateau_enclosures` would, without its work: python-flint
    installed, ``prec`` in range, an activation whose kernels have closed forms."""
    flint_module()
    PREC_RULE.check(prec, "prec")
    _symmetric_equations(model)


def _plateau_by_krawczyk(model: CommitteeModel, eta, T, start) -> dict:
    """``R, Q, C`` (balls) of the symmetric plateau, proven unique in a box around ``start`` by Krawczyk."""
    from .derive.odes import eta as eta_symbol
    from .derive.odes import s2
    from .derive.symmetric import T as T_symbol

    _system, _subs, equations, unknowns, C_of = _symmetric_equations(model)
    jacobian = [[e.diff(u) for u in unknowns] for e in equations]
    fixed = {T_symbol: T, eta_symbol: ball(eta), s2: ball(model.noise) ** 2}

    def values(x):
        return {**fixed, **dict(zip(unknowns, x))}

    def F(x):
        v, memo = values(x), {}
        return [arb_of_expr(e, v, memo) for e in equations]

    def J(x):
        v, memo = values(x), {}
        return [[arb_of_expr(e, v, memo) for e in row] for row in jacobian]

    found = certify_root(F, J, start[: len(unknowns)], "certified plateau")
    out = dict(zip((str(u) for u in unknowns), found))
    if model.K == 1:
        out["C"] = None
    elif C_of is not None:
        out["C"] = arb_of_expr(C_of, values(found))
    return out


def plateau_enclosures(
    model: CommitteeModel,
    eta,
    prec: int = DEFAULT_PREC,
    start: tuple[float, float, float] | None = None,
    closed_form: bool = True,
) -> dict:
    r"""Certified symmetric plateau of the committee with the infinite-N teacher.

    ``R``, ``Q``, ``C``: from the closed form SymPy derives where there is one (small learning
    rate, :math:`T^{(1)} = \sum_k f_k\lambda_k = 1` exactly; :func:`theorykit.committee.derive.
    symmetric.closed_form_plateau`); otherwise -- finite learning rate, output noise, any
    normalisation of the spectrum -- the three derived plateau conditions
    (:meth:`~theorykit.committee.derive.symmetric.SymmetricSystem.fixed_point_equations`) are
    solved by Newton at ``prec`` bits and a box around the root is proven to hold exactly one
    root by the Krawczyk test (:func:`theorykit.core.krawczyk.certify_root`).
    :math:`\varepsilon_g` is the derived symmetric error on those balls.  The escape rate: the
    closed form for ``L = 1`` where SymPy finds one, else the largest real part of the
    eigenvalues of the full Jacobian (:class:`~theorykit.committee.jacobian_balls.BallJacobian`,
    every mode) at the plateau, enclosed by Arb, for Jacobians up to :data:`EIGEN_LIMIT` rows.
    What cannot be certified is named in ``not_certified``; ``certified_by`` says how each
    value was.

    Parameters
    ----------
    start : (R, Q, C), optional
        Float plateau to start Newton from (default: :func:`theorykit.committee.plateau.find_plateau`).
    closed_form : bool
        Use the closed forms where SymPy finds them; ``False`` certifies by the numeric routes
        (Krawczyk, eigenvalue enclosures) even then -- a check of the closed forms themselves.

    Examples
    --------
    Check a derivation: SymPy's closed-form plateau height against a proven numeric enclosure.

    >>> import sympy as sp
    >>> import theorykit as tk
    >>> from theorykit.committee.derive.symmetric import closed_form_plateau
    >>> model = tk.CommitteeModel(3, 3, tk.Spectrum.power_law(1, 1.0), small_lr=True)
    >>> R = closed_form_plateau("erf", 3, 3, "sqrt").R
    >>> R
    sqrt(15)/15
    >>> box = plateau_enclosures(model, 0.5, closed_form=False)["enclosures"]["R"]
    >>> Enclosure(*box).contains(sp.N(R, 60))
    True
    """
    import sympy as sp

    from .derive.expanded import closed_form_escape_rate
    from .derive.odes import eta as eta_symbol
    from .derive.odes import s2
    from .derive.symmetric import T as T_symbol
    from .derive.symmetric import closed_form_plateau

    flint = flint_module()
    PREC_RULE.check(prec, "prec")
    system, subs, *_ = _symmetric_equations(model)
    spec = model.spectrum
    total = sum(exact(f) * exact(lam) for f, lam in zip(spec.fractions, spec.eigenvalues))
    closed = None
    if closed_form and model.small_lr and (spec.kind == "power_law" or total == 1):
        closed = closed_form_plateau(model.activation_name, model.K, model.M, model.normalization)
    if closed is None and start is None:
        from .plateau import find_plateau

        found = find_plateau(model, float(eta), closed_form=False)
        start = (found.R, found.Q, found.C if found.C is not None else found.Q)
    K, M, L = model.K, model.M, spec.L
    not_certified, certified_by = {}, {}
    with flint.ctx.workprec(prec):
        lam, f = _spectrum_balls(spec)
        T = sum((fk * lk for fk, lk in zip(f, lam)), flint.arb(0))
        if closed is not None:
            R, Q, C = (arb_of_expr(sp.sympify(e), {}) for e in (closed.R, closed.Q, closed.C))
            certified_by["R, Q, C"] = "closed form (SymPy)"
        else:
            found = _plateau_by_krawczyk(model, eta, T, start)
            R, Q, C = found["R"], found["Q"], found["C"]
            certified_by["R, Q, C"] = "Krawczyk test on the derived plateau equations"
        symbols = {sp.Symbol("R", real=True): R, sp.Symbol("Q", real=True): Q, T_symbol: T}
        if C is not None:
            symbols[sp.Symbol("C", real=True)] = C
        symbols.update({eta_symbol: ball(eta), s2: ball(model.noise) ** 2})
        eps = arb_of_expr(system.eps_g.xreplace(subs), symbols)
        values = {"R": R, "Q": Q, "eps_g": eps}
        if C is not None:
            values["C"] = C
        mu = None
        if closed is not None and L == 1:
            mu = closed_form_escape_rate(model.activation_name, K, M, model.normalization)
        if mu is not None:
            values["escape_rate"] = ball(eta) * arb_of_expr(sp.sympify(mu), {})
            certified_by["escape_rate"] = "closed form (SymPy, L = 1)"
        else:
            jacobian = BallJacobian(model)
            if jacobian.size > EIGEN_LIMIT:
                not_certified["escape_rate"] = (
                    f"the full Jacobian has {jacobian.size} rows; eigenvalue enclosures are limited to {EIGEN_LIMIT}"
                )
            else:
                Cb = Q if C is None else C
                omegas = [_plateau_block(K, M, R, Q, Cb, fk / T, fk) for fk in f]
                values["escape_rate"] = max_real_part(jacobian.at(eta, lam, f, omegas), "certified escape rate")
                certified_by["escape_rate"] = "Gershgorin discs of the full Jacobian after an exact similarity (Arb)"
        enclosures = {name: Enclosure.of(value).as_list() for name, value in values.items()}
    out = {"certified": True, "certify_prec_bits": prec, "enclosures": enclosures, "certified_by": certified_by}
    if not_certified:
        out["not_certified"] = not_certified
    return out


def _plateau_block(K: int, M: int, R, Q, C, scale, fk) -> list[list]:
    """Per-mode covariance at the symmetric plateau: ``scale`` times ``R, Q, C``, teacher ``f_k 1``."""
    arb = flint_module().arb
    n = K + M
    out = [[arb(0)] * n for _ in range(n)]
    for a in range(n):
        for b in range(n):
            if a < K and b < K:
                out[a][b] = scale * (Q if a == b else C)
            elif a < K or b < K:
                out[a][b] = scale * R
            elif a == b:
                out[a][b] = fk
    return out


def late_phase_enclosures(model: CommitteeModel, eta, prec: int = DEFAULT_PREC) -> dict:
    r"""Certified late-phase constants: :math:`\nu_{slow}`, :math:`\nu_{fast}`, the decoupled rate and the exponent.

    From their closed forms (:func:`theorykit.committee.derive.late_expansion.derive_specialised_rates`) with
    the aggregated teacher variance :math:`\tau = \sum_k f_k\lambda_k` and
    :math:`\lambda_{min}` computed in ball arithmetic from the exact inputs; the exponent
    :math:`\nu = \beta/(1+\beta)` is an exact rational.  The dense (coupled) decay rate of
    :math:`\varepsilon_g`, ``eps_rate`` = min(2 x slowest in-span rate, slowest out-of-span rate)
    as in :func:`~theorykit.committee.late_phase.late_asymptotics`, from enclosures of the
    eigenvalues of the two blocks of the full Jacobian at perfect learning
    (:class:`~theorykit.committee.jacobian_balls.BallJacobian`, :func:`theorykit.core.
    eigen_enclosure.max_real_part`), for Jacobians up to :data:`EIGEN_LIMIT` rows.
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
            rates[name] = arb_of_expr(expr, values)
        if model.K == 1:  # one unit: the slow and fast rates coincide (as in late_asymptotics)
            rates["nu_slow"] = rates["nu_fast"]
        # the smallest eigenvalue: the last of a power law; explicit ones compared as exact rationals
        smallest = L - 1 if spec.kind == "power_law" else min(range(L), key=lambda k: exact(spec.eigenvalues[k]))
        lam_min = lam[smallest]
        rates["eps_rate_decoupled"] = 2 * ball(eta) * lam_min * rates["nu_slow"]
        enclosures = {name: Enclosure.of(value).as_list() for name, value in rates.items()}
        not_certified, certified_by = {}, {name: "closed form (SymPy)" for name in enclosures}
        jacobian = BallJacobian(model)
        if jacobian.size > EIGEN_LIMIT:
            not_certified["eps_rate"] = (
                f"the full Jacobian has {jacobian.size} rows; eigenvalue enclosures are limited to {EIGEN_LIMIT}"
            )
        else:
            rows = jacobian.at(eta, lam, f, [_specialised_block(model.K, fk) for fk in f])
            J_rr, J_oo = _late_blocks(jacobian, rows, L)
            slowest_r = -max_real_part(J_rr, "certified late-phase rates")
            slowest_o = -max_real_part(J_oo, "certified late-phase rates")
            enclosures["eps_rate"] = Enclosure.of(_arb_min(2 * slowest_r, slowest_o)).as_list()
            certified_by["eps_rate"] = "Gershgorin discs of the two Jacobian blocks after an exact similarity (Arb)"
    if spec.kind == "power_law":
        beta = exact(spec.beta)
        enclosures["exponent"] = Enclosure.of_rational(beta / (1 + beta)).as_list()
        certified_by["exponent"] = "exact rational beta / (1 + beta)"
    out = {"certified": True, "certify_prec_bits": prec, "enclosures": enclosures, "certified_by": certified_by}
    if not_certified:
        out["not_certified"] = not_certified
    return out


def _specialised_block(K: int, fk) -> list[list]:
    """Per-mode covariance at perfect learning, ``r_k = q_k = t_k = f_k 1`` (K = M)."""
    arb = flint_module().arb
    return [[fk if a % K == b % K else arb(0) for b in range(2 * K)] for a in range(2 * K)]


def _late_blocks(jacobian, rows: list, L: int) -> tuple[list, list]:
    """The in-span block ``J_rr`` (``dq = dr + dr^T``) and the out-of-span block ``J_oo``
    (``do = dq - dr - dr^T``) of the full Jacobian at perfect learning, as in
    :func:`theorykit.committee.late_phase._blocks` (same coordinates, ball entries)."""
    arb = flint_module().arb
    K = jacobian.K
    variables = jacobian.variables
    d = len(variables)
    index = {v: x for x, v in enumerate(variables)}

    def r_var(i, m):
        return index[("r", i, K + m)]

    def q_var(a, b):
        return index[("q", min(a, b), max(a, b))]

    r_cols = [(i, m) for i in range(K) for m in range(K)]
    o_cols = [(a, b) for a in range(K) for b in range(a, K)]

    def apply(direction: dict) -> list:
        """``J`` times the sparse vector ``{global index: coefficient}``."""
        return [sum((row[c] * v for c, v in direction.items()), arb(0)) for row in rows]

    J_rr = [[arb(0)] * (L * len(r_cols)) for _ in range(L * len(r_cols))]
    J_oo = [[arb(0)] * (L * len(o_cols)) for _ in range(L * len(o_cols))]
    for l_ in range(L):
        for c, (i, m) in enumerate(r_cols):
            direction = {l_ * d + r_var(i, m): 1}
            q = l_ * d + q_var(i, m)
            direction[q] = direction.get(q, 0) + (2 if i == m else 1)
            out = apply(direction)
            for k in range(L):
                for x, (a, b) in enumerate(r_cols):
                    J_rr[k * len(r_cols) + x][l_ * len(r_cols) + c] = out[k * d + r_var(a, b)]
        for c, (a, b) in enumerate(o_cols):
            out = apply({l_ * d + q_var(a, b): 1})
            for k in range(L):
                for x, (i, j) in enumerate(o_cols):
                    value = out[k * d + q_var(i, j)] - out[k * d + r_var(i, j)] - out[k * d + r_var(j, i)]
                    J_oo[k * len(o_cols) + x][l_ * len(o_cols) + c] = value
    return J_rr, J_oo


def _arb_min(a, b):
    """An enclosure of ``min(a, b)`` for balls."""
    if a.upper() < b.lower():
        return a
    if b.upper() < a.lower():
        return b
    return a.union(b)
