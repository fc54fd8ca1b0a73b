r"""Decoupled limit :math:`\Sigma \to P` of the random-feature DMFT and its power laws.

While the number of learned modes is small compared with ``P``, :math:`\kappa \ll P\eta_k`
for the modes being learned and each mode relaxes on its own with
:math:`A \to \mathrm{diag}(\gamma + P\eta_k)`, :math:`\Psi^\top\Psi \to \mathrm{diag}(P\eta_k)`:

.. math:: \varepsilon_g(t) \approx \tfrac12 \sum_k \eta_k\, \phi_t(\gamma + P\eta_k)

with :math:`\phi_t` from :func:`~theorykit.rf.derive.derive_equal_time_kernels`.
For :math:`\eta_k = c\,k^{-(1+a)}`, teacher variances :math:`d_k = k^{-b}`, and
:math:`\gamma = 0`, the mode sum becomes an integral over :math:`k` (substitution
:math:`x = Pct\,k^{-(1+a)}`), which SymPy evaluates in Gamma functions:

* bias :math:`\propto t^{-(a+b)/(1+a)}`,
* label-noise and Langevin variance :math:`\propto t^{1/(1+a)}`,

valid, to relative accuracy :math:`\epsilon`, while the number of learned modes
:math:`k^*(t) = (Pct)^{1/(1+a)}` satisfies :math:`1 \le k^* \le \min(N\epsilon^{1/a},\,
P\epsilon\,a/(1+a))` (the modes beyond ``N`` that the continuum includes carry a share
:math:`(k^*/N)^a` of the bias; the coupling changes :math:`\Sigma` by
:math:`(1+1/a)\,k^*/P`).  Their sum has the early-stopping optimum :math:`t^*` and
:math:`\varepsilon_g(t^*) \propto P^{-\nu}`, both derived here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from ..core.errors import DerivationError
from .derive import P, T, derive_equal_time_kernels, gamma, lam, s, t

a = sp.Symbol("a", positive=True)
b = sp.Symbol("b", nonnegative=True)
c = sp.Symbol("c", positive=True)
N = sp.Symbol("N", positive=True)
k = sp.Symbol("k", positive=True)
x = sp.Symbol("x", positive=True)
tol = sp.Symbol("epsilon", positive=True)  # relative accuracy that defines the window


@dataclass(frozen=True)
class DecoupledAsymptotics:
    r"""Power laws of the decoupled limit (``gamma = 0``).

    Attributes
    ----------
    per_mode : dict
        ``{"bias", "labels", "thermal"}``: :math:`\tfrac12\eta_k(\ldots)` as functions of ``k``.
    laws : dict
        The same summed over modes in the continuum: ``prefactor * t**exponent``.
    exponents : dict
        ``{"bias": -(a+b)/(1+a), "variance": 1/(1+a)}``.
    t_star, eps_star, eps_star_exponent_P, t_star_exponent_P : sympy.Expr
        Early-stopping time, error there, and their exponents in ``P``.
    window : tuple
        ``(t_lo, t_hi_spectrum, t_hi_decoupling)`` in terms of the accuracy symbol ``epsilon``.
    """

    per_mode: dict
    laws: dict
    exponents: dict
    t_star: sp.Expr
    eps_star: sp.Expr
    t_star_exponent_P: sp.Expr
    eps_star_exponent_P: sp.Expr
    window: tuple

    def latex(self) -> dict:
        out = {f"law_{name}": sp.latex(expr) for name, expr in self.laws.items()}
        out.update({"t^*": sp.latex(self.t_star), r"\varepsilon_g(t^*)": sp.latex(self.eps_star)})
        return out


def _mellin(expr: sp.Expr) -> sp.Expr:
    r""":math:`\int_0^\infty` of a sum of :math:`C\,x^{q}e^{-nx}` terms, term by term.

    Each term gives :math:`C\,\Gamma(q+1)\,n^{-(q+1)}`.  Terms that diverge on their own
    (the variance integrands :math:`(1-e^{-x})^2 x^{q}` with :math:`-3<q<-1`) are summed by
    analytic continuation in :math:`q`, which is exact for their convergent combination; the
    bare power (:math:`n = 0`) continues to zero.
    """
    total = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(expr)):
        coeff, x_part = sp.factor(term).as_independent(x, as_Add=False)
        # log of x^q e^{-n x} is q log x - n x: read q and n off the expanded logarithm.
        log_part = sp.expand(sp.expand_log(sp.log(x_part), force=True))
        power = log_part.coeff(sp.log(x))
        rate = -log_part.coeff(x)
        if sp.simplify(log_part - power * sp.log(x) + rate * x) != 0:
            raise DerivationError(f"cannot integrate {x_part} in the continuum mode sum")
        if rate != 0:
            total += coeff * sp.gamma(power + 1) * rate ** (-(power + 1))
    return total


def _continuum_sum(summand) -> sp.Expr:
    r""":math:`\int_0^\infty` summand dk over modes via :math:`x = Pct\,k^{-(1+a)} = P\eta_k t`.

    ``summand(eta_k, k)`` returns the per-mode term.
    """
    k_of_x = (P * c * t) ** (1 / (1 + a)) * x ** (-1 / (1 + a))
    jacobian = (P * c * t) ** (1 / (1 + a)) * x ** (-1 / (1 + a) - 1) / (1 + a)
    integrand = sp.expand_power_base(summand(x / (P * t), k_of_x) * jacobian, force=True)
    return sp.simplify(sp.powsimp(_mellin(sp.expand(integrand)), force=True))


def _exponent_in(expr: sp.Expr, var: sp.Symbol) -> sp.Expr:
    """The exponent of ``var`` in a product of powers (checked: nothing else depends on it)."""
    log_expr = sp.expand(sp.expand_log(sp.log(expr), force=True))
    exponent = sp.factor(var * sp.diff(log_expr, var))
    if exponent.has(var):
        raise DerivationError(f"{expr} is not a power law in {var}")
    return exponent


@cache
def derive_decoupled_asymptotics() -> DecoupledAsymptotics:
    """Continuum power laws, early stopping and windows of the decoupled theory."""
    moments = derive_equal_time_kernels().moments
    e = sp.Symbol("eta", positive=True)
    at_mode = {gamma: 0, lam: P * e}
    summands = {
        "bias": lambda eta_k, kk: eta_k * kk ** (-b) * moments["teacher"].subs(at_mode).subs(e, eta_k) / 2,
        "labels": lambda eta_k, kk: eta_k * moments["labels"].subs(at_mode).subs(e, eta_k) / 2,
        "thermal": lambda eta_k, kk: eta_k * moments["thermal"].subs(at_mode).subs(e, eta_k) / 2,
    }
    eta_k = c * k ** (-(1 + a))
    per_mode = {name: sp.simplify(f(eta_k, k)) for name, f in summands.items()}
    laws = {name: _continuum_sum(f) for name, f in summands.items()}
    exponents = {
        "bias": _exponent_in(laws["bias"], t),
        "variance": _exponent_in(laws["labels"], t),
    }
    if sp.simplify(_exponent_in(laws["thermal"], t) - exponents["variance"]) != 0:
        raise DerivationError("label-noise and Langevin variances grow with different exponents")
    # Early stopping of A P^pA t^-alpha + B P^pB t^beta, solved once for generic positive
    # symbols (fast) and then specialised; the P-exponents are read off the generic form.
    A_, B_, al, be, tt, pA, pB = sp.symbols("A B alpha beta t_* p_A p_B", positive=True)
    total = A_ * P**pA * tt**-al + B_ * P**pB * tt**be
    roots = sp.solve(sp.diff(total, tt), tt)
    if len(roots) != 1:
        raise DerivationError(f"early-stopping condition has {len(roots)} roots: {roots}")
    bias_law, variance_law = laws["bias"], laws["labels"] + laws["thermal"]
    p_bias, p_var = _exponent_in(bias_law, P), _exponent_in(laws["thermal"], P)
    generic = {
        A_: sp.powsimp(bias_law.subs({t: 1, P: 1}), force=True),
        B_: sp.powsimp(variance_law.subs({t: 1, P: 1}), force=True),
        al: -exponents["bias"],
        be: exponents["variance"],
        pA: p_bias,
        pB: p_var,
    }
    t_star_generic = sp.powsimp(roots[0], force=True)
    eps_star_generic = total.subs(tt, t_star_generic)
    t_star = t_star_generic.subs(generic)
    eps_star = eps_star_generic.subs(generic)
    t_star_exponent_P = sp.factor(_exponent_in(t_star_generic, P).subs(generic))
    eps_star_exponent_P = sp.factor(sp.simplify(pA - al * _exponent_in(t_star_generic, P)).subs(generic))
    # Window, at relative accuracy epsilon, in terms of the learned-mode count
    # k*(t) = (P c t)^{1/(1+a)}: at least one mode learned; the modes the finite spectrum
    # lacks (k > N) carry a relative share (k*/N)^a of the continuum bias; the coupling
    # corrects Sigma by R ~ (1 + 1/a) k*/P.
    t_of_k = lambda modes: modes ** (1 + a) / (P * c)  # noqa: E731
    window = (t_of_k(1), t_of_k(N * tol ** (1 / a)), t_of_k(P * tol * a / (1 + a)))
    return DecoupledAsymptotics(
        per_mode=per_mode,
        laws=laws,
        exponents=exponents,
        t_star=t_star,
        eps_star=eps_star,
        t_star_exponent_P=t_star_exponent_P,
        eps_star_exponent_P=eps_star_exponent_P,
        window=window,
    )


__all__ = ["DecoupledAsymptotics", "derive_decoupled_asymptotics", "a", "b", "c", "P", "N", "T", "s"]
