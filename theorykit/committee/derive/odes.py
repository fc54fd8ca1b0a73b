"""Index-form derivation of the committee-machine order-parameter equations.

The derivation follows the SGD update itself; nothing below is typed in as a result.

*Units.*  Student and teacher pre-activations are stacked into one vector
:math:`u = (a_1..a_K, b_1..b_M)` of ``n = K + M`` units with signed read-out weights
:math:`w_x = -c_K` (students) and :math:`w_x = +c_M` (teachers), so that
:math:`\\zeta - \\sigma = \\sum_x w_x g(u_x) + \\nu` with output noise :math:`\\nu`.

*Update.*  :math:`J_i \\leftarrow J_i + \\frac{\\eta}{\\sqrt N}\\delta_i x` with
:math:`\\delta_i = c_K g'(a_i)(\\zeta - \\sigma)`.  For the overlap of student ``i`` with any
unit ``y`` in eigenspace ``k``, :math:`\\Omega^{(k)}_{iy} = J_i P_k U_y / N`, one step changes
it by :math:`\\frac{\\eta}{N}\\delta_i h` with the Gaussian field :math:`h = x P_k U_y/\\sqrt N`,
whose covariance with the units is :math:`\\lambda_k \\Omega^{(k)}_{xy}`.  Stein's lemma turns
:math:`\\langle\\delta_i h\\rangle` into :math:`\\lambda_k\\sum_x\\Omega^{(k)}_{xy} G_{ix}` with
:math:`G_{ix} = \\langle\\partial\\delta_i/\\partial u_x\\rangle`; the second-order term of the
student-student overlap contributes :math:`\\eta^2 \\lambda_k f_k W_{ij}`,
:math:`W_{ij} = \\langle\\delta_i\\delta_j\\rangle`.

The Gaussian average maps every product of activation factors to a kernel of
:mod:`theorykit.committee.derive.kernels` applied to unit indices (e.g. ``dgdg(i, x)``), so the result
stays small and structured for any K, M and L: a handful of index expressions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from ...core.errors import DerivationError
from .kernels import KERNELS, KernelSpec, kernel_for_orders

# ---- index symbols and their ranges -----------------------------------------------------
i, j = sp.symbols("i j", integer=True)  # students
x, y, v = sp.symbols("x y v", integer=True)  # all units (students then teachers)
k = sp.Symbol("k", integer=True)  # eigenmodes
K_, n_, L_ = sp.symbols("K n L", integer=True, positive=True)

#: Range of every index symbol: students run over ``K``, units over ``n = K + M``.
INDEX_RANGE: dict[sp.Symbol, sp.Symbol] = {i: K_, j: K_, x: n_, y: n_, v: n_, k: L_}

# ---- arrays and parameters -------------------------------------------------------------
u = sp.IndexedBase("u")  # pre-activations
w = sp.IndexedBase("w")  # signed read-out weights
Om = sp.IndexedBase("Omega")  # per-mode overlaps, shape (L, n, n)
lam = sp.IndexedBase("lambda")  # eigenvalues
frac = sp.IndexedBase("f")  # eigenvalue multiplicity fractions
G = sp.IndexedBase("G")  # <d delta_i / d u_x>, shape (K, n)
W = sp.IndexedBase("W")  # <delta_i delta_j>, shape (K, K)
eta, c_K, s2 = sp.symbols("eta c_K s2", positive=True)
kappa = sp.Symbol("kappa", nonnegative=True)  # weight decay
N_inputs = sp.Symbol("N", positive=True)  # input dimension, for the N -> infinity limit of the decay


def exact_readout(K, M, normalization: str) -> tuple:
    """``(c_K, c_M)`` of a normalisation, exact: ``1/sqrt(K), 1/sqrt(M)`` as radicals (``K``, ``M``
    integers or symbols) for ``"sqrt"``, else ``1, 1``."""
    if normalization == "sqrt":
        return 1 / sp.sqrt(K), 1 / sp.sqrt(M)
    return sp.Integer(1), sp.Integer(1)


nu = sp.Symbol("nu", real=True)  # output noise, variance s2
g = sp.Function("g")


def kernel_function(spec: KernelSpec) -> type[sp.Function]:
    """A SymPy function class ``spec.name(unit indices...)`` that prints as the average."""

    def _latex(self, printer, exp=None):  # noqa: ANN001 - SymPy printer protocol
        body = spec.latex(tuple(printer._print(a) for a in self.args))
        return body if exp is None else rf"{body}^{{{exp}}}"

    return type(spec.name, (sp.Function,), {"nargs": spec.n_slots, "_latex": _latex, "spec": spec})


KERNEL_FUNCTIONS: dict[str, type[sp.Function]] = {name: kernel_function(s) for name, s in KERNELS.items()}


# ---- Gaussian average of index expressions ---------------------------------------------
@dataclass(frozen=True)
class _Monomial:
    coef: sp.Expr  # everything that is not an activation factor
    factors: tuple[tuple[sp.Expr, int], ...]  # (unit index, derivative order)
    dummies: tuple[sp.Symbol, ...]


def _fresh(symbol: sp.Symbol, taken: set[sp.Symbol]) -> sp.Symbol:
    """A unit-range dummy index not in ``taken`` (keeps x, y, v readable where possible)."""
    for candidate in (x, y, v, *sp.symbols("x1:20", integer=True)):
        if candidate not in taken:
            INDEX_RANGE.setdefault(candidate, INDEX_RANGE.get(symbol, n_))
            return candidate
    raise DerivationError("too many nested sums")


def _monomials(expr: sp.Expr) -> list[_Monomial]:
    """Split an index expression into monomials with their summation dummies."""
    return _monomials_with(expr, set())


def _split_product(term: sp.Expr, taken: set[sp.Symbol]) -> list[_Monomial]:
    coef = sp.Integer(1)
    factors: list[tuple[sp.Expr, int]] = []
    dummies: list[sp.Symbol] = []
    sums: list[sp.Sum] = []
    for factor in sp.Mul.make_args(term):
        base, power = factor.as_base_exp()
        if isinstance(base, sp.Sum):
            sums.extend([base] * int(power))
            continue
        parsed = _activation_factor(base)
        if parsed is None:
            coef *= factor
        else:
            factors.extend([parsed] * int(power))
    if not sums:
        return [_Monomial(coef, tuple(factors), tuple(dummies))]
    # pull the first Sum out, renaming its dummy to a fresh one, and recurse on the product
    first, rest = sums[0], sums[1:]
    (dummy, lo, hi), *more = first.limits
    if more:
        raise DerivationError("multi-limit sums are not expected here")
    new = _fresh(dummy, taken | {dummy})
    taken = taken | {new}
    body = first.function.subs(dummy, new)
    remainder = coef * sp.Mul(*(_activation_expr(f) for f in factors)) * sp.Mul(*rest)
    result = []
    for mono in _monomials_with(body * remainder, taken):
        result.append(_Monomial(mono.coef, mono.factors, (new, *mono.dummies)))
    return result


def _monomials_with(expr: sp.Expr, taken: set[sp.Symbol]) -> list[_Monomial]:
    out: list[_Monomial] = []
    for term in sp.Add.make_args(sp.expand(expr)):
        out.extend(_split_product(term, taken | set(term.free_symbols)))
    return out


def _activation_expr(factor: tuple[sp.Expr, int]) -> sp.Expr:
    """Inverse of :func:`_activation_factor`: ``(a, m)`` -> the m-th derivative of ``g(u[a])``."""
    unit, order = factor
    expr = g(u[unit])
    return expr if order == 0 else sp.Derivative(expr, (u[unit], order))


def _activation_factor(expr: sp.Expr) -> tuple[sp.Expr, int] | None:
    """``g(u[a])`` -> ``(a, 0)``; ``Derivative(g(u[a]), (u[a], m))`` -> ``(a, m)``."""
    if isinstance(expr, sp.Derivative) and isinstance(expr.expr, sp.Function) and expr.expr.func == g:
        (var, order), *more = expr.variable_count
        if more or var != expr.expr.args[0]:
            raise DerivationError(f"unexpected derivative {expr}")
        return expr.expr.args[0].indices[0], int(order)
    if isinstance(expr, sp.Function) and expr.func == g:
        return expr.args[0].indices[0], 0
    return None


def _eliminate_deltas(mono: _Monomial) -> _Monomial:
    """Sum over a dummy of KroneckerDelta(dummy, e) * f(dummy) -> f(e)."""
    coef, factors, dummies = mono.coef, list(mono.factors), list(mono.dummies)
    changed = True
    while changed:
        changed = False
        for delta in coef.atoms(sp.KroneckerDelta):
            a, b = delta.args
            dummy, other = (a, b) if a in dummies else (b, a) if b in dummies else (None, None)
            if dummy is None:
                continue
            coef = coef.subs(dummy, other)
            factors = [(other if f == dummy else f, o) for f, o in factors]
            dummies.remove(dummy)
            changed = True
            break
    return _Monomial(coef, tuple(factors), tuple(dummies))


def gaussian_average(expr: sp.Expr) -> sp.Expr:
    """Average an index expression over the Gaussian units (and the output noise).

    Each monomial's activation factors become one kernel application; the noise ``nu``
    averages to 0 (odd powers) or ``s2`` (square).  Returns a sum of terms
    ``Sum(coef * kernel(units...), dummies)``.
    """
    total = sp.Integer(0)
    for mono in _monomials(expr):
        mono = _eliminate_deltas(mono)
        coef = sp.expand(mono.coef)
        noise_power = sp.degree(coef, nu) if coef.has(nu) else 0
        if noise_power % 2:
            continue
        coef = coef.subs(nu, 1) * (s2 ** (noise_power // 2))
        if not mono.factors:
            term = coef
        else:
            spec, perm = kernel_for_orders(tuple(o for _, o in mono.factors))
            units = tuple(mono.factors[p][0] for p in perm)
            term = coef * KERNEL_FUNCTIONS[spec.name](*units)
        for dummy in reversed(mono.dummies):
            term = sp.Sum(term, (dummy, 0, INDEX_RANGE[dummy] - 1))
        total += term
    return total


def stein(expr: sp.Expr, field_cov: sp.Expr, unit: sp.Symbol = x) -> sp.Expr:
    """Stein's lemma :math:`\\langle \\delta_i h\\rangle = \\sum_x \\mathrm{Cov}(h, u_x)\\langle\\partial_x \\delta_i\\rangle`.

    ``field_cov`` is the covariance of the auxiliary Gaussian field ``h`` with unit ``unit``.
    The derivative average :math:`G_{ix} = \\langle\\partial\\delta_i/\\partial u_x\\rangle` is kept
    as the array ``G[i, unit]`` (its expression is ``IndexSystem.G``), so the kernel sums are
    computed once per evaluation, not once per mode.
    """
    if not expr.has(g):
        raise DerivationError("stein: expected an expression in the activation g")
    return sp.Sum(field_cov * G[i, unit], (unit, 0, n_ - 1))


# ---- the system -------------------------------------------------------------------------
@dataclass(frozen=True)
class IndexSystem:
    """The committee-machine ODEs in index form (immutable SymPy expressions).

    Attributes
    ----------
    G : sympy.Expr
        :math:`G_{ix} = \\langle\\partial\\delta_i/\\partial u_x\\rangle` (free indices ``i, x``).
    W : sympy.Expr
        :math:`W_{ij} = \\langle\\delta_i\\delta_j\\rangle` (free ``i, j``); zero for small lr.
    drift : sympy.Expr
        First-order change of :math:`\\Omega^{(k)}_{iy}` per unit time (free ``k, i, y``),
        written with the arrays ``G`` and ``Omega``.
    dq_extra : sympy.Expr
        Second-order term of the student-student overlaps (free ``k, i, j``).
    eps_g : sympy.Expr
        Generalisation error :math:`\\tfrac12\\langle(\\sigma-\\zeta)^2\\rangle` without noise.
    cov : sympy.Expr
        Pre-activation covariance :math:`C_{xy} = \\sum_k\\lambda_k\\Omega^{(k)}_{xy}`.
    small_lr : bool
        Whether the :math:`O(\\eta^2)` term was dropped.
    decay : sympy.Expr
        Weight decay's change of :math:`\\Omega^{(k)}_{iy}` per unit time for student ``i``
        (free ``k, i, y``): :math:`-\\eta\\kappa\\Omega^{(k)}_{iy}`; the student-student overlaps get
        it from both students (:math:`-2\\eta\\kappa q`).  :attr:`decay_rate` is its factor.
    readout_drift : sympy.Expr or None
        With per-student read-out weights (``per_unit_readout``): :math:`\\langle g(u_i)(\\zeta -
        \\sigma)\\rangle = \\sum_x w_x \\langle g(u_i) g(u_x)\\rangle` (free ``i``), the drift of
        :math:`v_i = -w_i` per unit time and unit read-out learning rate; ``None`` otherwise.
    """

    G: sp.Expr
    W: sp.Expr
    drift: sp.Expr
    dq_extra: sp.Expr
    eps_g: sp.Expr
    cov: sp.Expr
    small_lr: bool
    delta: sp.Expr
    decay: sp.Expr
    readout_drift: sp.Expr | None = None

    @property
    def decay_rate(self) -> sp.Expr:
        """The factor of :math:`\\Omega^{(k)}_{iy}` in :attr:`decay` (an expression in eta, kappa)."""
        return sp.simplify(self.decay / Om[k, i, y])

    def kernels_used(self) -> tuple[str, ...]:
        names = set()
        for expr in (self.G, self.W, self.eps_g, self.readout_drift):
            if expr is None:
                continue
            for func in expr.atoms(sp.Function):
                if func.func.__name__ in KERNELS:
                    names.add(func.func.__name__)
        return tuple(sorted(names))

    def latex(self) -> dict[str, str]:
        """LaTeX of every equation, in index form (valid for any K, M, L)."""
        return {
            "G_{ix}": sp.latex(self.G),
            "W_{ij}": sp.latex(self.W),
            r"\frac{d\Omega^{(k)}_{iy}}{d\alpha}": sp.latex(self.drift)
            + (r" \;(+\, i\leftrightarrow y \text{ for student } y)"),
            r"\eta^2\text{-term of } \frac{dq^{(k)}_{ij}}{d\alpha}": sp.latex(self.dq_extra),
            r"\text{weight decay in } \frac{d\Omega^{(k)}_{iy}}{d\alpha}": sp.latex(self.decay)
            + r" \;(\text{from each student of the pair})",
            r"\varepsilon_g": sp.latex(self.eps_g),
            "C_{xy}": sp.latex(self.cov),
            **(
                {}
                if self.readout_drift is None
                else {
                    r"\frac{dv_i}{d\alpha}": r"\eta_v \Big(" + sp.latex(self.readout_drift) + r"\Big)",
                    r"v_i": r"-w_i \;(\text{student } i\text{'s read-out weight})",
                }
            ),
        }


@cache
def derive_index_system(small_lr: bool = False, per_unit_readout: bool = False) -> IndexSystem:
    """Derive the index-form equations from the SGD update (see the module docstring).

    ``per_unit_readout``: student ``i`` has its own read-out weight :math:`v_i = -w_i` (given, or
    trained by :math:`v_i \\leftarrow v_i + (\\eta_v/N) g(a_i)(\\zeta - \\sigma)`), so
    :math:`\\delta_i = v_i g'(a_i)(\\zeta - \\sigma)` with ``-w[i]`` in place of ``c_K``; the
    system then also carries :attr:`IndexSystem.readout_drift`.
    """
    readout = sp.Sum(w[v] * g(u[v]), (v, 0, n_ - 1)) + nu  # zeta - sigma
    student_weight = -w[i] if per_unit_readout else c_K
    delta_i = student_weight * sp.Derivative(g(u[i]), u[i]) * readout
    delta_i = delta_i.doit()
    G_expr = gaussian_average(sp.diff(delta_i, u[x]))
    W_expr = sp.Integer(0) if small_lr else gaussian_average(delta_i * delta_i.subs(i, j))
    # Cov(h, u_x) = U_y P_k Sigma U_x / N = lambda_k Omega^(k)_yx (written in this order, the
    # contraction over x is one matrix product with Omega's last index).
    drift = eta * stein(delta_i, lam[k] * Om[k, y, x])
    dq_extra = sp.Integer(0) if small_lr else eta**2 * lam[k] * frac[k] * W[i, j]
    eps_g = gaussian_average(sp.Rational(1, 2) * (readout - nu) ** 2)
    cov = sp.Sum(lam[k] * Om[k, x, y], (k, 0, L_ - 1))
    # Weight decay J_i <- (1 - eta kappa / N) J_i (besides the gradient step) scales every overlap
    # of student i by that factor per step; N steps make a unit of alpha.  Its products with the
    # gradient step and its square are O(1/N^2) per step and vanish in the limit.
    per_step = (1 - eta * kappa / N_inputs) - 1
    decay = sp.limit(N_inputs * per_step, N_inputs, sp.oo) * Om[k, i, y]
    # the read-out's SGD step is O(1/N) per example: N steps give a drift, its fluctuations vanish
    readout_drift = gaussian_average(g(u[i]) * readout) if per_unit_readout else None
    return IndexSystem(G_expr, W_expr, drift, dq_extra, eps_g, cov, small_lr, delta_i, decay, readout_drift)
