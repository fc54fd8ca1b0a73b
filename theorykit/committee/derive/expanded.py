r"""The index system written out for small, concrete K and M (one eigenmode).

The numeric path never expands the system (see :mod:`theorykit.lower`); this module exists
for *exact* questions about small cases, where a scalar expression per order parameter is what
one wants -- here the Jacobian at the plateau and its eigenvalues in closed form.  Every unit
is concrete, every covariance entry its own symbol (``Q_ij``, ``R_in``, ``T_nm``).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ...core.errors import DerivationError
from .activations import get_activation
from .kernels import KERNELS
from .odes import K_, KERNEL_FUNCTIONS, G, Om, W, c_K, derive_index_system, eta, exact_readout, frac, lam, n_, w
from .odes import i as idx_i
from .odes import j as idx_j
from .odes import y as idx_y
from .symmetric import closed_form_plateau


@dataclass(frozen=True)
class ExpandedSystem:
    """Isotropic (L = 1, :math:`\\lambda = f = 1`) equations for concrete K, M.

    Attributes
    ----------
    variables : tuple of sympy.Symbol
        ``R_in`` (row-major) then ``Q_ij`` for ``i <= j``.
    rhs : tuple of sympy.Expr
        :math:`d/d\\alpha` of each variable.
    teacher : dict
        ``T_nm`` symbols (substitute the teacher).
    """

    variables: tuple
    rhs: tuple
    teacher: dict

    def jacobian(self) -> sp.Matrix:
        return sp.Matrix(self.rhs).jacobian(sp.Matrix(self.variables))


def _cov_symbol(a: int, b: int, K: int) -> sp.Symbol:
    a, b = min(a, b), max(a, b)
    if b < K:
        return sp.Symbol(f"Q_{a}{b}")
    if a < K:
        return sp.Symbol(f"R_{a}{b - K}")
    return sp.Symbol(f"T_{a - K}{b - K}")


def expanded_isotropic_system(
    activation_name: str, K: int, M: int, normalization: str, small_lr: bool = True
) -> ExpandedSystem:
    """Write out the L = 1 equations for ``K`` students and ``M`` teachers.

    Intended for ``K + M`` up to about 6: the expressions grow like ``(K + M)^2`` kernels each.
    """
    if K + M > 8:
        raise DerivationError("the expanded system is meant for K + M <= 8; use the index form beyond")
    system = derive_index_system(small_lr)
    evaluate, G_values, W_values = _expanded_coefficients(activation_name, K, M, normalization, small_lr)
    k_ = next(s for s in system.drift.free_symbols if s.name == "k")
    drift = system.drift.subs(k_, 0)
    extra = system.dq_extra.subs(k_, 0)
    variables, rhs = [], []
    for a in range(K):
        for m in range(M):
            variables.append(_cov_symbol(a, K + m, K))
            rhs.append(evaluate(drift, {idx_i: a, idx_y: K + m}))
    for a in range(K):
        for b in range(a, K):
            variables.append(_cov_symbol(a, b, K))
            value = evaluate(drift, {idx_i: a, idx_y: b}) + evaluate(drift, {idx_i: b, idx_y: a})
            rhs.append(value + evaluate(extra, {idx_i: a, idx_j: b}))
    teacher = {_cov_symbol(K + a, K + b, K): None for a in range(M) for b in range(a, M)}
    rhs = tuple(e.xreplace({eta: 1}) for e in rhs)
    return ExpandedSystem(tuple(variables), rhs, teacher)


def closed_form_escape_rate(activation_name: str, K: int, M: int, normalization: str) -> sp.Expr | None:
    r"""Largest eigenvalue (per unit :math:`\eta\alpha`) of the isotropic Jacobian at the plateau, exactly.

    The plateau comes from :func:`theorykit.committee.derive.symmetric.closed_form_plateau`; the Jacobian
    of the written-out L = 1 system is evaluated there and its eigenvalues found by SymPy.
    Returns ``None`` if either step has no closed form, and for ``K != M``, whose plateau
    values are nested radicals that make SymPy's eigenvalue search run for minutes.  (For erf,
    K = M, the values for K = 2, 3, 4 follow :math:`2/(\pi\sqrt{(2K-1)(2K+1)^3})`.)
    """
    if K != M:
        return None

    plateau = closed_form_plateau(activation_name, K, M, normalization)
    if plateau is None:
        return None
    system = expanded_isotropic_system(activation_name, K, M, normalization, small_lr=True)
    point = {}
    for v in system.variables:
        a, b = v.name[2], v.name[3]
        if v.name.startswith("R"):
            point[v] = plateau.R
        else:
            point[v] = plateau.Q if a == b else plateau.C
    for t in system.teacher:
        point[t] = sp.Integer(int(t.name[2] == t.name[3]))
    J = system.jacobian().xreplace(point).applyfunc(lambda e: sp.radsimp(sp.simplify(e)))
    try:
        eigenvalues = [sp.simplify(e) for e in J.eigenvals()]
    except (NotImplementedError, sp.polys.polyerrors.PolynomialError):
        return None
    real = [e for e in eigenvalues if e.is_real]
    if len(real) != len(eigenvalues):
        return None
    return max(real, key=lambda e: sp.N(e, 30))


def stein_matrix(activation_name: str, K: int, M: int, normalization: str) -> sp.Matrix:
    """The Stein coefficients :math:`G_{ix}` (K x (K + M)) written out in the covariance symbols."""
    _evaluate, G_values, _W = _expanded_coefficients(activation_name, K, M, normalization, True)
    return sp.Matrix(K, K + M, lambda a, b: G_values[(a, b)])


def noise_matrix(activation_name: str, K: int, M: int, normalization: str) -> sp.Matrix:
    """The noise matrix :math:`W_{ij} = \\langle\\delta_i\\delta_j\\rangle` (K x K) written out in the
    covariance symbols and the output-noise variance ``s2``."""
    _evaluate, _G, W_values = _expanded_coefficients(activation_name, K, M, normalization, False, keep_noise=True)
    return sp.Matrix(K, K, lambda a, b: W_values[(a, b)])


def covariance_symbol(a: int, b: int, K: int) -> sp.Symbol:
    """The symbol of covariance entry ``(a, b)`` (students first, then teachers): ``Q_ab``, ``R_an``, ``T_nm``."""
    return _cov_symbol(a, b, K)


def _expanded_coefficients(
    activation_name: str, K: int, M: int, normalization: str, small_lr: bool, keep_noise: bool = False
):
    """An evaluator of index expressions on concrete units, and ``G``, ``W`` written out (``W``
    without output noise unless ``keep_noise``: the isotropic system is for the noiseless case)."""
    activation = get_activation(activation_name)
    system = derive_index_system(small_lr)
    n = K + M
    cK, cM = exact_readout(K, M, normalization)
    weights = [-cK] * K + [cM] * M
    kernels = {name: activation.kernel_expr(KERNELS[name]) for name in system.kernels_used()}

    def evaluate(expr: sp.Expr, env: dict) -> sp.Expr:
        if isinstance(expr, sp.Sum):
            body, limits = expr.function, list(expr.limits)
            (dummy, _lo, hi), rest = limits[-1], limits[:-1]
            top = {n_ - 1: n, K_ - 1: K}[hi]
            inner = sp.Sum(body, *rest) if rest else body
            return sp.Add(*(evaluate(inner, {**env, dummy: u}) for u in range(top)))
        if isinstance(expr, sp.Indexed):
            idx = [env.get(a, a) for a in expr.indices]
            if expr.base == w:
                return weights[idx[0]]
            if expr.base in (lam, frac):
                return sp.Integer(1)
            if expr.base == Om:
                return _cov_symbol(idx[1], idx[2], K)
            if expr.base == G:
                return G_values[(idx[0], idx[1])]
            if expr.base == W:
                return W_values[(idx[0], idx[1])]
            raise DerivationError(f"unknown array {expr.base}")
        if isinstance(expr, sp.KroneckerDelta):
            a, b = (env[s] for s in expr.args)
            return sp.Integer(int(a == b))
        if isinstance(expr, sp.Function) and type(expr).__name__ in KERNEL_FUNCTIONS:
            spec = KERNELS[type(expr).__name__]
            units = [env[a] for a in expr.args]
            values = {s: _cov_symbol(units[a], units[b], K) for s, (a, b) in zip(spec.args, spec.arg_pairs)}
            return kernels[spec.name].xreplace(values)
        if isinstance(expr, (sp.Add, sp.Mul, sp.Pow)):
            return expr.func(*(evaluate(a, env) for a in expr.args))
        return expr

    x_ = next(s for s in system.G.free_symbols if s.name == "x")
    G_values = {(a, b): evaluate(system.G, {idx_i: a, x_: b}).xreplace({c_K: cK}) for a in range(K) for b in range(n)}
    W_values = {}
    if not small_lr:
        W_values = {
            (a, b): evaluate(system.W, {idx_i: a, idx_j: b}).xreplace(
                {c_K: cK} if keep_noise else {c_K: cK, sp.Symbol("s2", positive=True): 0}
            )
            for a in range(K)
            for b in range(K)
        }
    return evaluate, G_values, W_values
