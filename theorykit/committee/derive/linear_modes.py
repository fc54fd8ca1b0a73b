"""Linear networks: the closed per-mode error equations and their power-law asymptotics.

Everything here is *derived* from the general committee-machine system
(:func:`~theorykit.committee.derive.odes.derive_index_system`) with the linear activation's kernels:

1. :func:`derive_linear_error_system` -- for K = M = 1 the per-mode error
   :math:`e_k = q^{(k)} - 2 r^{(k)} + t^{(k)}` obeys a closed linear system

   .. math:: \\frac{de_k}{d\\alpha} = a\\,\\eta\\lambda_k e_k + b\\,\\eta^2\\lambda_k f_k
             \\sum_j \\lambda_j e_j + c\\,\\eta^2\\lambda_k f_k s^2,

   and the code finds ``a = -2``, ``b = 1``, ``c = 1`` by substituting the kernels into the
   index expressions and checking that nothing but ``e`` is left (the closure).
2. :func:`derive_power_law_asymptotics` -- the small-eta form
   :math:`\\varepsilon_g \\approx \\tfrac12\\sum_k\\lambda_k e_k(0)e^{-2\\eta\\lambda_k\\alpha}` for
   :math:`\\lambda_k=\\lambda_+k^{-(1+\\beta)}`, :math:`e_k(0)=e_0 f_k`, :math:`f_k = 1/L`, turned into
   an integral over k and evaluated by SymPy: exponent :math:`\\beta/(1+\\beta)` and a Gamma-function
   prefactor, valid for :math:`1/(2\\eta\\lambda_+) \\ll \\alpha \\ll L^{1+\\beta}/(2\\eta\\lambda_+)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from ...core.errors import DerivationError
from .activations import get_activation
from .kernels import KERNELS
from .odes import INDEX_RANGE, KERNEL_FUNCTIONS, Om, c_K, derive_index_system, frac, i, j, k, lam, n_, s2, w, x, y
from .odes import G as G_array
from .odes import W as W_array
from .odes import eta as eta_sym


@dataclass(frozen=True)
class LinearErrorSystem:
    """``de_k/dalpha = a eta lam_k e_k + b eta^2 lam_k f_k sum_j lam_j e_j + c eta^2 lam_k f_k s^2``."""

    a: sp.Expr
    b: sp.Expr
    c: sp.Expr
    equation: sp.Eq

    def latex(self) -> str:
        return sp.latex(self.equation)


def _linear_kernels(expr: sp.Expr, C: sp.Matrix) -> sp.Expr:
    """Replace kernel applications on concrete unit indices by the linear activation's kernels."""
    act = get_activation("linear")
    replacements = {}
    for app in expr.atoms(sp.Function):
        name = app.func.__name__
        if name in KERNEL_FUNCTIONS:
            spec = KERNELS[name]
            units = [int(u) for u in app.args]
            kernel = act.kernel_expr(spec)
            subs = {sym: C[units[p], units[q]] for sym, (p, q) in zip(spec.args, spec.arg_pairs)}
            replacements[app] = kernel.subs(subs, simultaneous=True)
    return expr.xreplace(replacements)


@cache
def derive_linear_error_system() -> LinearErrorSystem:
    """Derive the closed error equations from the general index system (K = M = 1)."""
    system = derive_index_system(False)
    qk, rk, tk, ek = sp.symbols("q_k r_k t_k e_k", real=True)
    Q1, R1, T1 = sp.symbols("Q1 R1 T1", real=True)  # C = sum_k lam_k Omega^(k)
    E1 = sp.Symbol("E1", real=True)  # sum_j lam_j e_j
    lam_k, f_k = sp.symbols("lambda_k f_k", positive=True)
    C = sp.Matrix([[Q1, R1], [R1, T1]])
    weights = {w[0]: -c_K, w[1]: c_K}  # K = M = 1: c_K = c_M in both normalisations
    concrete = {n_: 2}
    G = sp.Matrix(
        1, 2, lambda _, col: _linear_kernels(system.G.subs(concrete).subs({i: 0, x: col}).doit(), C).xreplace(weights)
    )
    Wv = _linear_kernels(system.W.subs(concrete).subs({i: 0, j: 0}).doit(), C).xreplace(weights)
    omega = sp.Matrix([[qk, rk], [rk, tk]])

    def drift(col: int) -> sp.Expr:
        expr = system.drift.subs(concrete).subs({i: 0, y: col}).doit()
        expr = expr.xreplace({G_array[0, p]: G[0, p] for p in range(2)})
        expr = expr.xreplace({Om[k, a, b]: omega[a, b] for a in range(2) for b in range(2)})
        return expr.xreplace({lam[k]: lam_k})

    extra = system.dq_extra.subs({i: 0, j: 0}).xreplace({W_array[0, 0]: Wv, lam[k]: lam_k, frac[k]: f_k})
    dq = 2 * drift(0) + extra
    dr = drift(1)
    de = sp.expand(dq - 2 * dr)
    de = sp.expand(de.subs(qk, ek + 2 * rk - tk))
    de = sp.expand(de.subs(Q1, E1 + 2 * R1 - T1).subs(c_K, 1))
    if de.has(rk) or de.has(tk) or de.has(R1) or de.has(T1):
        raise DerivationError(f"linear error equations did not close: {de}")
    a = sp.simplify(de.coeff(ek) / (eta_sym * lam_k))
    b = sp.simplify(de.coeff(E1) / (eta_sym**2 * lam_k * f_k))
    c = sp.simplify(de.coeff(s2) / (eta_sym**2 * lam_k * f_k))
    rest = sp.simplify(
        de - a * eta_sym * lam_k * ek - b * eta_sym**2 * lam_k * f_k * E1 - c * eta_sym**2 * lam_k * f_k * s2
    )
    if rest != 0 or a.free_symbols or b.free_symbols or c.free_symbols:
        raise DerivationError(f"unexpected structure of the linear error equations: {de}")
    lam_j, e_j = sp.IndexedBase("lambda"), sp.IndexedBase("e")
    jj = sp.Symbol("j", integer=True)
    rhs = (
        a * eta_sym * lam_k * ek
        + b * eta_sym**2 * lam_k * f_k * sp.Sum(lam_j[jj] * e_j[jj], (jj, 1, sp.Symbol("L")))
        + c * eta_sym**2 * lam_k * f_k * s2
    )
    equation = sp.Eq(sp.Derivative(sp.Function("e_k")(sp.Symbol("alpha")), sp.Symbol("alpha")), rhs)
    INDEX_RANGE.setdefault(jj, sp.Symbol("L"))
    return LinearErrorSystem(a, b, c, equation)


@dataclass(frozen=True)
class PowerLawAsymptotics:
    """:math:`\\varepsilon_g \\approx A\\,\\alpha^{-\\gamma}` in the window ``alpha_min << alpha << alpha_max``.

    All attributes are SymPy expressions in ``beta``, ``eta``, ``L``, ``lambda_plus`` and ``e0``
    (the initial error per unit fraction, ``e_k(0) = e0 f_k``).
    """

    exponent: sp.Expr
    prefactor: sp.Expr
    alpha_min: sp.Expr
    alpha_max: sp.Expr
    symbols: dict

    def latex(self) -> dict[str, str]:
        return {
            "exponent": sp.latex(self.exponent),
            "prefactor": sp.latex(self.prefactor),
            "window": rf"{sp.latex(self.alpha_min)} \ll \alpha \ll {sp.latex(self.alpha_max)}",
        }


@cache
def derive_power_law_asymptotics() -> PowerLawAsymptotics:
    """Continuum approximation of the small-eta learning curve for a power-law spectrum.

    With :math:`c = 2\\eta\\lambda_+\\alpha` the sum over modes becomes
    :math:`\\frac{e_0}{2L}\\int_1^\\infty dk\\,\\lambda_+k^{-(1+\\beta)}e^{-c k^{-(1+\\beta)}}`; the
    substitution :math:`u = c\\,k^{-(1+\\beta)}` gives
    :math:`\\frac{e_0\\lambda_+}{2L(1+\\beta)}c^{-\\beta/(1+\\beta)}\\int_0^c u^{\\beta/(1+\\beta)-1}e^{-u}du`,
    and for :math:`c\\gg1` the integral is :math:`\\Gamma(\\beta/(1+\\beta))`.  The upper end of the
    window is where the smallest eigenvalue starts to decay, :math:`c L^{-(1+\\beta)} \\sim 1`.
    """
    beta, eta, L, lam_plus, e0, alpha = sp.symbols("beta eta L lambda_+ e_0 alpha", positive=True)
    kk, u, cc = sp.symbols("k u c", positive=True)
    integrand = lam_plus * kk ** (-(1 + beta)) * sp.exp(-cc * kk ** (-(1 + beta)))
    # substitution u = c k^{-(1+beta)}, done symbolically and checked
    k_of_u = (cc / u) ** (1 / (1 + beta))
    dk_du = sp.diff(k_of_u, u)
    transformed = sp.simplify(-(integrand.subs(kk, k_of_u) * dk_du))
    power = sp.simplify(sp.powsimp(transformed / sp.exp(-u), force=True))
    gamma_integral = sp.integrate(
        sp.expand_power_base(power / power.subs(u, 1), force=True) * sp.exp(-u), (u, 0, sp.oo), conds="none"
    )
    coefficient = sp.powsimp(power.subs(u, 1), force=True)
    large_c = sp.simplify(e0 / (2 * L) * coefficient * gamma_integral)
    eps = sp.powsimp(sp.expand_power_base(large_c.subs(cc, 2 * eta * lam_plus * alpha), force=True), force=True)
    exponent = sp.simplify(-sp.diff(sp.log(eps), alpha) * alpha)
    prefactor = sp.simplify(eps * alpha**exponent)
    # write the Gamma function's argument as (integer) + exponent and let SymPy peel off the
    # integer shifts, so the prefactor reads Gamma(beta/(1+beta) + m) times a rational factor
    prefactor = sp.simplify(
        prefactor.replace(
            lambda e: isinstance(e, sp.gamma),
            lambda e: sp.expand_func(sp.gamma(sp.simplify(e.args[0] - exponent) + exponent)),
        )
    )
    if exponent.has(alpha) or prefactor.has(alpha):
        raise DerivationError("power-law asymptotics did not separate into A alpha^-gamma")
    alpha_min = 1 / (2 * eta * lam_plus)
    alpha_max = L ** (1 + beta) / (2 * eta * lam_plus)
    symbols = {"beta": beta, "eta": eta, "L": L, "lambda_plus": lam_plus, "e0": e0, "alpha": alpha}
    return PowerLawAsymptotics(exponent, prefactor, alpha_min, alpha_max, symbols)
