r"""The late phase: flow near the specialised fixed point, its rates and its power law (SymPy).

1. :func:`derive_mode_flow` -- per eigenmode, write the student-teacher overlaps as
   :math:`r_k = c_k t_k` and the student-student overlaps as
   :math:`q_k = o_k + c_k t_k c_k^T` (``o_k`` is the part of the students outside the teachers'
   span, the Schur complement of ``t_k``).  From the index system's matrix form
   :math:`d\Omega^{(k)}/d\alpha = \eta\lambda_k G\,\Omega^{(k)}` (+ transpose, + the
   :math:`\eta^2` term) SymPy verifies the *exact* equations

   .. math::

       \frac{dc_k}{d\alpha} = \eta\lambda_k\,(G_s c_k + G_t),\qquad
       \frac{do_k}{d\alpha} = \eta\lambda_k\,(G_s o_k + o_k G_s^T) + \eta^2\lambda_k f_k W .

   So every mode relaxes with rates :math:`\eta\lambda_k\times` (eigenvalues of :math:`G_s`),
   and ``o`` is fed only by the :math:`\eta^2` noise.
2. :func:`derive_specialised_rates` -- at the specialised fixed point ``c = 1``, ``o = 0``
   (K = M, the aggregated covariance :math:`[[T, T], [T, T]]` with :math:`T = \tau 1`) the
   Stein matrix is written out for concrete K and found to be
   :math:`G_s = d_0 1 + d_1(11^T - 1)` with :math:`G_s + G_t = 0`; ``d_0`` and ``d_1`` are
   :math:`-c_K^2\langle g'(u)^2\rangle` and :math:`-c_K^2\langle g'(u)g'(v)\rangle` for
   independent ``u, v`` of variance :math:`\tau` (checked for K = 2 and 3).  The per-mode
   rate constants are :math:`\nu_{slow} = d_1 - d_0` ((K - 1)-fold, the students'
   differences) and :math:`\nu_{fast} = -(d_0 + (K-1) d_1)`.
3. :func:`derive_late_power_law` -- :math:`\varepsilon_g` is second order in the deviations,
   so each mode contributes :math:`\propto\lambda_k f_k e^{-2\nu\eta\lambda_k\alpha}`; the
   power-law sum is the linear network's (:func:`~theorykit.committee.derive.linear_modes.derive_power_law_asymptotics`)
   with :math:`\eta\to\nu\eta`: exponent :math:`\beta/(1+\beta)`, window
   :math:`1/(2\nu_{slow}\eta\lambda_+) \ll \alpha \ll L^{1+\beta}/(2\nu_{fast}\eta\lambda_+)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from ...core.errors import DerivationError
from .activations import get_activation
from .expanded import stein_matrix
from .kernels import KERNELS
from .linear_modes import derive_power_law_asymptotics

tau = sp.Symbol("tau", positive=True)
K_sym = sp.Symbol("K", integer=True, positive=True)


@dataclass(frozen=True)
class ModeFlow:
    """The exact per-mode equations in the variables ``c_k`` and ``o_k`` (display forms)."""

    dc: sp.Eq
    do: sp.Eq

    def latex(self) -> dict[str, str]:
        return {"dc": sp.latex(self.dc), "do": sp.latex(self.do)}


@cache
def derive_mode_flow(size: int = 2) -> ModeFlow:
    """Verify the ``(c, o)`` equations on explicit ``size x size`` symbolic matrices.

    Raises :class:`~theorykit.core.errors.DerivationError` if the identity fails.
    """

    def mat(name: str, symmetric: bool = False) -> sp.Matrix:
        if symmetric:
            return sp.Matrix(size, size, lambda a, b: sp.Symbol(f"{name}_{min(a, b)}{max(a, b)}"))
        return sp.Matrix(size, size, lambda a, b: sp.Symbol(f"{name}_{a}{b}"))

    a, f, eta = sp.symbols("a f eta", positive=True)  # a = eta lambda_k
    c, Gt = mat("c"), mat("G_t")
    Gs, t, o, W = mat("G_s", True), mat("t", True), mat("o", True), mat("W", True)
    r = c * t
    q = o + c * t * c.T
    # index system, matrix form: dr = a (Gs r + Gt t); dq = a (Gs q + Gt r^T) + transpose + eta a f W
    dr = a * (Gs * r + Gt * t)
    A = a * (Gs * q + Gt * r.T)
    dq = A + A.T + eta * a * f * W
    dc = a * (Gs * c + Gt)  # claimed
    do = a * (Gs * o + o * Gs.T) + eta * a * f * W  # claimed
    # r = c t: dr must equal dc t; q = o + c t c^T: dq must equal do + dc t c^T + c t dc^T
    check_r = (dr - dc * t).applyfunc(sp.expand)
    check_q = (dq - (do + dc * t * c.T + c * t * dc.T)).applyfunc(sp.expand)
    if any(e != 0 for e in check_r) or any(e != 0 for e in check_q):
        raise DerivationError("the (c, o) form of the per-mode equations does not follow from the index system")
    C, O, G_s, G_t, W_ = (sp.MatrixSymbol(s, size, size) for s in ("c_k", "o_k", "G_s", "G_t", "W"))
    lam_k, f_k, alpha = sp.symbols("lambda_k f_k alpha", positive=True)
    eta_s = sp.Symbol("eta", positive=True)
    dc_eq = sp.Eq(sp.Derivative(C, alpha), eta_s * lam_k * (G_s * C + G_t), evaluate=False)
    do_eq = sp.Eq(
        sp.Derivative(O, alpha),
        eta_s * lam_k * (G_s * O + O * G_s.T) + eta_s**2 * lam_k * f_k * W_,
        evaluate=False,
    )
    return ModeFlow(dc_eq, do_eq)


@dataclass(frozen=True)
class SpecialisedRates:
    """Closed-form rate constants at the specialised fixed point (SymPy, in ``K`` and ``tau``).

    Attributes
    ----------
    d0, d1 : sympy.Expr
        Diagonal and off-diagonal entries of :math:`G_s` (symbolic ``K``).
    nu_slow, nu_fast : sympy.Expr
        Per-mode decay constants of ``c_k``: mode ``k`` relaxes at :math:`\\eta\\lambda_k\\nu`.
    checked_K : tuple of int
        Concrete K for which the written-out Stein matrix was compared with ``d0``, ``d1``.
    """

    d0: sp.Expr
    d1: sp.Expr
    nu_slow: sp.Expr
    nu_fast: sp.Expr
    checked_K: tuple

    def for_model(self, K: int, normalization: str, tau_value=1) -> dict[str, sp.Expr]:
        """Exact values for a model (``tau`` = the aggregated teacher variance, 1 by default)."""
        cK2 = sp.Rational(1, K) if normalization == "sqrt" else sp.Integer(1)
        subs = {K_sym: K, tau: sp.nsimplify(tau_value), sp.Symbol("c_K2", positive=True): cK2}
        return {name: sp.simplify(getattr(self, name).xreplace(subs)) for name in ("d0", "d1", "nu_slow", "nu_fast")}

    def rate_function(self, name: str, K: int, normalization: str):
        """``name`` (``nu_slow``, ``nu_fast`` ...) as an mpmath function of ``tau`` for this K.

        For high-precision callers: ``tau`` (the aggregated teacher variance) is then computed
        at the working precision instead of being rounded into a rational.
        """
        cK2 = sp.Rational(1, K) if normalization == "sqrt" else sp.Integer(1)
        expr = getattr(self, name).xreplace({K_sym: K, sp.Symbol("c_K2", positive=True): cK2})
        return sp.lambdify([tau], expr, "mpmath")

    def latex(self) -> dict[str, str]:
        return {name: sp.latex(getattr(self, name)) for name in ("d0", "d1", "nu_slow", "nu_fast")}


@cache
def derive_specialised_rates(activation_name: str = "erf", checks: tuple = (2, 3)) -> SpecialisedRates:
    """Stein matrix at the specialised fixed point, in closed form for every K.

    ``d0``, ``d1`` come from the activation's ``dgdg`` kernel (:math:`\\langle g'g'\\rangle`) times
    :math:`-c_K^2` (symbol ``c_K2``); the written-out ``G`` of
    :func:`~theorykit.committee.derive.expanded.stein_matrix` for each K in ``checks`` must equal them
    (and :math:`G_s + G_t = 0`), else :class:`~theorykit.core.errors.DerivationError`.
    """
    act = get_activation(activation_name)
    kernel = act.kernel_expr(KERNELS["dgdg"])
    if kernel is None:
        raise DerivationError(f"activation {activation_name!r} has no closed-form <g'g'> kernel")
    c00, c11, c01 = KERNELS["dgdg"].args
    cK2 = sp.Symbol("c_K2", positive=True)
    d0 = -cK2 * sp.factor(sp.simplify(kernel.xreplace({c00: tau, c11: tau, c01: tau})))
    d1 = -cK2 * sp.factor(sp.simplify(kernel.xreplace({c00: tau, c11: tau, c01: 0})))
    for K in checks:
        G = stein_matrix(activation_name, K, K, "sqrt")
        point = {}
        for a in range(K):
            for b in range(a, K):
                point[sp.Symbol(f"Q_{a}{b}")] = tau if a == b else 0
                point[sp.Symbol(f"T_{a}{b}")] = tau if a == b else 0
            for m in range(K):
                point[sp.Symbol(f"R_{a}{m}")] = tau if a == m else 0
        Gv = G.xreplace(point).applyfunc(lambda e: sp.factor(sp.simplify(e)))
        want = {cK2: sp.Rational(1, K)}
        for a in range(K):
            for b in range(K):
                expected = (d0 if a == b else d1).xreplace(want)
                if sp.simplify(sp.factor(Gv[a, b] - expected)) != 0:
                    raise DerivationError(f"G_s at the specialised point is not d0 1 + d1 (11^T - 1) for K = {K}")
                if sp.simplify(Gv[a, b] + Gv[a, K + b]) != 0:
                    raise DerivationError(f"G_s + G_t != 0 at the specialised point for K = {K}")
    nu_slow = sp.simplify(d1 - d0)
    nu_fast = sp.simplify(-(d0 + (K_sym - 1) * d1))
    return SpecialisedRates(d0, d1, nu_slow, nu_fast, tuple(checks))


@dataclass(frozen=True)
class LatePowerLaw:
    """SymPy forms of the late-phase power law (symbols as in the linear derivation, plus ``nu``)."""

    exponent: sp.Expr
    alpha_min: sp.Expr
    alpha_max: sp.Expr
    symbols: dict

    def latex(self) -> dict[str, str]:
        return {
            "exponent": sp.latex(self.exponent),
            "window": rf"{sp.latex(self.alpha_min)} \ll \alpha \ll {sp.latex(self.alpha_max)}",
        }


@cache
def derive_late_power_law() -> LatePowerLaw:
    """Exponent and window of :math:`\\varepsilon_g \\propto \\alpha^{-\\gamma}` after specialisation.

    Each component decays like the linear network's error with :math:`\\eta` replaced by
    :math:`\\nu\\eta`; the derived linear exponent must not depend on :math:`\\eta` (checked),
    and the window is the intersection of the components' windows.
    """
    law = derive_power_law_asymptotics()
    S = dict(law.symbols)
    if law.exponent.has(S["eta"]):
        raise DerivationError("the power-law exponent depends on the rate constant")
    nu_slow, nu_fast = sp.symbols("nu_slow nu_fast", positive=True)
    alpha_min = law.alpha_min.xreplace({S["eta"]: nu_slow * S["eta"]})
    alpha_max = law.alpha_max.xreplace({S["eta"]: nu_fast * S["eta"]})
    S.update({"nu_slow": nu_slow, "nu_fast": nu_fast})
    return LatePowerLaw(law.exponent, alpha_min, alpha_max, S)
