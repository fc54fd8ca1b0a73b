r"""Reduction of the committee-machine equations to the permutation-symmetric subspace.

The plateau of a soft committee machine lives on the subspace where every student relates to
the teachers in the same way:

.. math::

    r^{(k)}_{in} = r_k,\qquad q^{(k)}_{ii} = q_k,\qquad q^{(k)}_{ij} = c_k\ (i\ne j),\qquad
    t^{(k)}_{nm} = t_k\,\delta_{nm},

and likewise for the aggregated covariance :math:`C = \sum_k\lambda_k\Omega^{(k)}` with entries
``Q``, ``C``, ``R``, ``T`` (diagonal teacher).  The subspace is invariant under the dynamics
because permuting students (or teachers) maps the equations onto themselves.

*How the reduction is derived.*  The index-form system of :mod:`theorykit.committee.derive.odes` is
evaluated with its free indices bound to *representative units* (student 0, student 1,
teacher 0, ...).  A sum over a unit index is split into its orbits under the symmetry: the
dummy either coincides with one of the units already in play, or it is a *new* student (there
are ``K - #students in play`` of them) or a new teacher (``M - #teachers in play``).  Each
kernel application then only sees the class of every pair of its slots, i.e. one of ``Q``,
``C``, ``R``, ``T`` or ``0``, and the multiplicities stay symbolic in ``K`` and ``M``.  The
result is exact for every ``K`` and ``M`` at once, and tiny: no sum is ever expanded over the
actual units.

*Fixed points.*  Per mode the drift is linear in the per-mode overlaps with coefficients that
depend on the aggregated covariance only, so at a fixed point every per-mode overlap is
proportional to the teacher's, :math:`r_k = R\,t_k/T` (this is derived in
:func:`per_mode_fixed_point`, not assumed).  The fixed-point conditions therefore reduce to
three equations in ``R, Q, C`` -- the same for every spectrum -- and the higher-order heights
follow as :math:`R^{(l)} = R\,T^{(l)}/T^{(1)}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from ...core.errors import DerivationError
from .activations import get_activation
from .kernels import KERNELS
from .odes import (
    INDEX_RANGE,
    K_,
    KERNEL_FUNCTIONS,
    L_,
    G,
    Om,
    W,
    c_K,
    derive_index_system,
    eta,
    exact_readout,
    frac,
    lam,
    n_,
    s2,
    w,
)
from .odes import i as idx_i
from .odes import j as idx_j
from .odes import y as idx_y

# ---- symbols of the reduced system ---------------------------------------------------------
K, M = sp.symbols("K M", integer=True, positive=True)
c_M = sp.Symbol("c_M", positive=True)
R, Q, C, T = sp.symbols("R Q C T", real=True)
#: Per-mode overlaps of one eigenmode (its eigenvalue and fraction are ``lam_k``, ``f_k``).
r_k, q_k, c_k, t_k = sp.symbols("r_k q_k c_k t_k", real=True)
lam_k, f_k = sp.symbols("lambda_k f_k", positive=True)
#: Symmetric values of the Stein coefficients G_ix (x = i, x another student, x a teacher)
#: and of W_ij (i = j, i != j).
G_d, G_o, G_t, W_d, W_o = sp.symbols("G_d G_o G_t W_d W_o", real=True)

STUDENT, TEACHER = "s", "t"


@dataclass(frozen=True, order=True)
class _Unit:
    """A representative unit: student or teacher number ``index`` (distinct numbers are distinct units)."""

    kind: str
    index: int


def _pair_class(a: _Unit, b: _Unit, values: dict[str, sp.Expr]) -> sp.Expr:
    """The symmetric value of a pairwise quantity for the units ``a``, ``b``."""
    if a.kind == STUDENT and b.kind == STUDENT:
        return values["Q"] if a == b else values["C"]
    if a.kind == TEACHER and b.kind == TEACHER:
        return values["T"] if a == b else values["T_off"]
    return values["R"]


_AGGREGATE = {"Q": Q, "C": C, "R": R, "T": T, "T_off": sp.Integer(0)}
_PER_MODE = {"Q": q_k, "C": c_k, "R": r_k, "T": t_k, "T_off": sp.Integer(0)}


class _Reducer:
    """Evaluate an index expression on representative units, summing over orbits."""

    def __init__(self, kernels: dict[str, sp.Expr]):
        self.kernels = kernels

    def reduce(self, expr: sp.Expr, env: dict[sp.Symbol, _Unit]) -> sp.Expr:
        if isinstance(expr, sp.Sum):
            return self._sum(expr.function, list(expr.limits), env)
        if isinstance(expr, sp.Indexed):
            return self._indexed(expr, env)
        if isinstance(expr, sp.KroneckerDelta):
            a, b = (self._unit(arg, env) for arg in expr.args)
            return sp.Integer(1 if a == b else 0)
        if isinstance(expr, sp.Function) and type(expr).__name__ in KERNEL_FUNCTIONS:
            return self._kernel(expr, env)
        if isinstance(expr, (sp.Add, sp.Mul, sp.Pow)):
            return expr.func(*(self.reduce(a, env) for a in expr.args))
        if expr.free_symbols & set(env):
            raise DerivationError(f"unbound index in {expr}")
        return expr

    @staticmethod
    def _unit(arg: sp.Expr, env: dict[sp.Symbol, _Unit]) -> _Unit:
        if arg not in env:
            raise DerivationError(f"index {arg} is not bound to a unit")
        return env[arg]

    def _sum(self, body: sp.Expr, limits: list, env: dict[sp.Symbol, _Unit]) -> sp.Expr:
        if not limits:
            return self.reduce(body, env)
        (dummy, lo, hi), rest = limits[-1], limits[:-1]
        if lo != 0:
            raise DerivationError(f"unexpected lower limit {lo}")
        kinds = {n_ - 1: (STUDENT, TEACHER), K_ - 1: (STUDENT,)}.get(hi)
        if kinds is None:
            raise DerivationError(f"cannot reduce a sum over {dummy} up to {hi}")
        in_play = sorted(set(env.values()))
        total = sp.Integer(0)
        for unit in in_play:  # the dummy coincides with a unit already in play
            if unit.kind in kinds:
                total += self._sum(body, rest, {**env, dummy: unit})
        for kind in kinds:  # ... or is one of the remaining, all equivalent, units
            used = [u for u in in_play if u.kind == kind]
            count = (K if kind == STUDENT else M) - len(used)
            new = _Unit(kind, len(used))
            total += count * self._sum(body, rest, {**env, dummy: new})
        return total

    def _indexed(self, expr: sp.Indexed, env: dict[sp.Symbol, _Unit]) -> sp.Expr:
        base = expr.base
        if base == w:
            unit = self._unit(expr.indices[0], env)
            return -c_K if unit.kind == STUDENT else c_M
        if base in (lam, frac):
            return lam_k if base == lam else f_k
        if base == Om:
            a, b = (self._unit(arg, env) for arg in expr.indices[1:])
            return _pair_class(a, b, _PER_MODE)
        if base == G:
            a, b = (self._unit(arg, env) for arg in expr.indices)
            if b.kind == TEACHER:
                return G_t
            return G_d if a == b else G_o
        if base == W:
            a, b = (self._unit(arg, env) for arg in expr.indices)
            return W_d if a == b else W_o
        raise DerivationError(f"unknown array {base}")

    def _kernel(self, expr: sp.Function, env: dict[sp.Symbol, _Unit]) -> sp.Expr:
        spec = KERNELS[type(expr).__name__]
        units = [self._unit(a, env) for a in expr.args]
        body = self.kernels[spec.name]
        values = {sym: _pair_class(units[a], units[b], _AGGREGATE) for sym, (a, b) in zip(spec.args, spec.arg_pairs)}
        return body.xreplace(values)


@dataclass(frozen=True)
class SymmetricSystem:
    r"""The committee-machine equations on the symmetric subspace (immutable SymPy expressions).

    All expressions are exact for symbolic ``K`` and ``M``; ``c_K``, ``c_M`` are the read-out
    weights (substitute the normalisation with :meth:`for_model`).

    Attributes
    ----------
    G_d, G_o, G_t : sympy.Expr
        :math:`\langle\partial\delta_i/\partial u_x\rangle` for ``x = i``, ``x`` another
        student and ``x`` a teacher, in the aggregated ``R, Q, C, T``.
    W_d, W_o : sympy.Expr
        :math:`\langle\delta_i\delta_j\rangle` for ``i = j`` and ``i != j`` (zero for small lr).
    eps_g : sympy.Expr
        Generalisation error on the subspace.
    dr, dq, dc : sympy.Expr
        Per-mode right-hand sides :math:`d r_k/d\alpha` etc., in the per-mode overlaps
        ``r_k, q_k, c_k, t_k``, the mode's ``lambda_k, f_k`` and the symbols ``G_*``, ``W_*``.
    small_lr : bool
    """

    G_d: sp.Expr
    G_o: sp.Expr
    G_t: sp.Expr
    W_d: sp.Expr
    W_o: sp.Expr
    eps_g: sp.Expr
    dr: sp.Expr
    dq: sp.Expr
    dc: sp.Expr
    small_lr: bool

    def coefficients(self) -> dict[sp.Symbol, sp.Expr]:
        """Substitution of the ``G_*`` and ``W_*`` symbols by their expressions."""
        return {G_d: self.G_d, G_o: self.G_o, G_t: self.G_t, W_d: self.W_d, W_o: self.W_o}

    def for_model(self, K_value: int, M_value: int, normalization: str, noise: float = 0) -> SymmetricSystem:
        """Substitute K, M, the normalisation's read-out weights and the noise variance."""
        cK, cM = exact_readout(K_value, M_value, normalization)
        subs = {K: K_value, M: M_value, c_K: cK, c_M: cM, s2: sp.nsimplify(noise) ** 2}
        return SymmetricSystem(*(sp.sympify(getattr(self, f)).xreplace(subs) for f in _EXPR_FIELDS), self.small_lr)

    def fixed_point_equations(self) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
        r"""Plateau conditions in the aggregated ``R, Q, C`` (with ``T``, ``eta``).

        From :func:`per_mode_fixed_point`: at a fixed point every per-mode overlap equals
        ``t_k / T`` times its aggregate, so the per-mode right-hand sides divided by
        :math:`\eta\lambda_k t_k / T` give three mode-independent conditions.  The
        :math:`\eta^2` term carries :math:`\lambda_k f_k` with :math:`f_k = t_k` (unit-variance
        teacher weights).
        """
        scale = {r_k: R * t_k / T, q_k: Q * t_k / T, c_k: C * t_k / T, f_k: t_k}
        out = []
        for rhs in (self.dr, self.dq, self.dc):
            reduced = sp.expand(rhs.xreplace(scale) * T / (eta * lam_k * t_k))
            if reduced.has(t_k) or reduced.has(lam_k):
                raise DerivationError("per-mode fixed point is not mode independent")
            out.append(reduced.xreplace(self.coefficients()))
        return tuple(out)


_EXPR_FIELDS = ("G_d", "G_o", "G_t", "W_d", "W_o", "eps_g", "dr", "dq", "dc")


def _closed_kernels(activation_name: str, system) -> dict[str, sp.Expr]:
    """The closed forms of the kernels ``system`` uses (DerivationError for one without)."""
    activation = get_activation(activation_name)
    kernels = {}
    for name in system.kernels_used():
        expr = activation.kernel_expr(KERNELS[name])
        if expr is None:
            raise DerivationError(f"activation {activation_name!r} has no closed form for kernel {name!r}")
        kernels[name] = expr
    return kernels


@cache
def derive_symmetric_system(activation_name: str, small_lr: bool) -> SymmetricSystem:
    r"""Reduce the index system of :func:`~theorykit.committee.derive.odes.derive_index_system`.

    Parameters
    ----------
    activation_name : str
        A registry activation whose kernels have closed forms (``erf``, ``linear``).
    small_lr : bool
        Drop the :math:`O(\eta^2)` term.
    """
    system = derive_index_system(small_lr)
    red = _Reducer(_closed_kernels(activation_name, system))
    s0, s1, t0 = _Unit(STUDENT, 0), _Unit(STUDENT, 1), _Unit(TEACHER, 0)
    (x_,) = (a for a in system.G.free_symbols if a.name == "x")
    coeff = {
        "G_d": red.reduce(system.G, {idx_i: s0, x_: s0}),
        "G_o": red.reduce(system.G, {idx_i: s0, x_: s1}),
        "G_t": red.reduce(system.G, {idx_i: s0, x_: t0}),
        "W_d": red.reduce(system.W, {idx_i: s0, idx_j: s0}),
        "W_o": red.reduce(system.W, {idx_i: s0, idx_j: s1}),
    }
    k_ = next(iter(system.drift.free_symbols & {a for a in INDEX_RANGE if INDEX_RANGE[a] == L_}))

    def drift(a: _Unit, b: _Unit) -> sp.Expr:
        return red.reduce(system.drift.subs(k_, 0), {idx_i: a, idx_y: b})

    def extra(a: _Unit, b: _Unit) -> sp.Expr:
        return red.reduce(system.dq_extra.subs(k_, 0), {idx_i: a, idx_j: b})

    dr = drift(s0, t0)
    dq = drift(s0, s0) * 2 + extra(s0, s0)
    dc = drift(s0, s1) + drift(s1, s0) + extra(s0, s1)
    eps = red.reduce(system.eps_g, {})
    simplified = {name: sp.simplify(e) for name, e in coeff.items()}
    return SymmetricSystem(
        **simplified, eps_g=sp.simplify(eps), dr=sp.expand(dr), dq=sp.expand(dq), dc=sp.expand(dc), small_lr=small_lr
    )


def per_mode_fixed_point(system: SymmetricSystem) -> dict[sp.Symbol, sp.Expr]:
    r"""Solve the per-mode fixed-point conditions for ``r_k, q_k, c_k`` given ``G_*``, ``W_*``.

    The per-mode equations are linear in the per-mode overlaps with mode-independent
    coefficients, so the solution is ``t_k`` (and, through the :math:`\eta^2` term, ``f_k``)
    times a mode-independent factor; this is what makes the plateau heights of every mode
    proportional to the teacher's.
    """
    equations = [sp.expand(e / lam_k) for e in (system.dr, system.dq, system.dc)]
    solution = sp.solve(equations, [r_k, q_k, c_k], dict=True)
    if len(solution) != 1:
        raise DerivationError("per-mode fixed-point equations are not uniquely solvable")
    return solution[0]


def _ratio_relation(expr: sp.Expr) -> sp.Expr | None:
    """``expr`` simplified if it no longer involves the Stein coefficients, else ``None``."""
    out = sp.simplify(expr)
    return None if out.free_symbols & {G_d, G_o, G_t, W_d, W_o} else out


@dataclass(frozen=True)
class ClosedFormPlateau:
    """A symmetric fixed point found in closed form, with how it was found.

    Attributes
    ----------
    R, Q, C : sympy.Expr
        Aggregated plateau values (teacher ``T = 1``); in terms of the symbol ``K`` when the
        solve was done for symbolic ``K = M``.
    relations : tuple of sympy.Eq
        The algebraic relations read off the per-mode solution (e.g. ``C = Q``, ``Q = M R^2/T``).
    equation : sympy.Expr
        The single remaining equation in ``R`` that SymPy solved.
    v : sympy.Expr or None
        The students' common read-out weight, for a plateau with a trained read-out.
    """

    R: sp.Expr
    Q: sp.Expr
    C: sp.Expr
    relations: tuple
    equation: sp.Expr
    v: sp.Expr | None = None

    def _values(self) -> dict[str, sp.Expr]:
        values = {"R": self.R, "Q": self.Q, "C": self.C}
        return values if self.v is None else {**values, "v": self.v}

    def as_strings(self) -> dict[str, str]:
        return {name: str(value) for name, value in self._values().items()}

    def latex(self) -> dict[str, str]:
        return {name: sp.latex(value) for name, value in self._values().items()}


def closed_form_plateau(
    activation_name: str, K_value: int | None, M_value: int | None, normalization: str
) -> ClosedFormPlateau | None:
    r"""Solve the small-learning-rate plateau equations in closed form, if SymPy can.

    The route: (1) the per-mode fixed point (:func:`per_mode_fixed_point`) is solved in the
    Stein coefficients; ratios of its components that no longer contain them are exact
    algebraic relations between ``R, Q, C`` (for erf: ``C = Q`` and ``Q = M R^2 / T``);
    (2) they are substituted into the remaining condition, which leaves one equation in
    ``R``; (3) SymPy solves it and every root is checked against *all three* fixed-point
    equations at 50 digits and for a positive-definite covariance.  Nothing about the answer is
    assumed.

    Parameters
    ----------
    K_value, M_value : int or None
        Sizes; ``None`` for both solves for symbolic ``K = M``.
    normalization : {"sqrt", "sum"}

    Returns
    -------
    ClosedFormPlateau or None
        ``None`` when no relation eliminates the Stein coefficients or SymPy finds no root.
    """
    if K_value is None:
        Kv = Mv = K
    else:
        Kv, Mv = sp.Integer(K_value), sp.Integer(M_value)
    cK, cM = exact_readout(Kv, Mv, normalization)
    subs = {K: Kv, M: Mv, c_K: cK, c_M: cM, T: sp.Integer(1)}
    return _solve_with_relations(activation_name, subs, symbolic_K=K_value is None)


def _solve_with_relations(
    activation_name: str, subs: dict, symbolic_K: bool, drift: sp.Expr | None = None, v: sp.Expr | None = None
) -> ClosedFormPlateau | None:
    """Steps (1)-(3) of :func:`closed_form_plateau` with the sizes and read-out weights ``subs``;
    ``drift`` (a read-out drift that must vanish too) and ``v`` (the read-out weight put in)
    for :func:`closed_form_trained_readout_plateau`."""
    system = derive_symmetric_system(activation_name, True)
    per_mode = per_mode_fixed_point(system)
    ratio_c = _ratio_relation(per_mode[c_k] / per_mode[q_k])
    ratio_q = _ratio_relation(per_mode[q_k] * t_k / per_mode[r_k] ** 2)
    if ratio_c is None or ratio_q is None:
        return None
    equations = [e.xreplace(subs) for e in system.fixed_point_equations()]
    relations = (sp.Eq(C, ratio_c * Q), sp.Eq(Q, ratio_q * R**2 / T))
    if drift is not None:
        equations.append(drift.xreplace(subs))
        relations += (sp.Eq(K * sp.Symbol("v"), M * c_M),)
    Q_of_R = ratio_q.xreplace(subs) * R**2
    C_of_R = ratio_c.xreplace(subs) * Q_of_R
    remaining = sp.simplify(equations[0].xreplace({C: C_of_R}).xreplace({Q: Q_of_R}))
    try:
        roots = sp.solve(remaining, R)
    except NotImplementedError:
        return None
    for root in roots:
        values = {R: root, Q: sp.simplify(Q_of_R.subs(R, root)), C: sp.simplify(C_of_R.subs(R, root))}
        if _is_plateau(equations, values, symbolic_K=symbolic_K):
            return ClosedFormPlateau(values[R], values[Q], values[C], relations, remaining, v)
    return None


@cache
def symmetric_readout_drift(activation_name: str) -> sp.Expr:
    r"""The read-out drift :math:`\langle g(u_i)(\zeta - \sigma)\rangle` of a student on the
    symmetric subspace, with every student's weight ``c_K`` and every teacher's ``c_M`` (reduced
    from the per-unit index system like the rest; for erf
    :math:`\tfrac{2}{\pi}[M c_M \arcsin\frac{R}{\sqrt{(1+Q)(1+T)}} - c_K\arcsin\frac{Q}{1+Q} - (K-1)c_K\arcsin\frac{C}{1+Q}]`)."""
    system = derive_index_system(True, per_unit_readout=True)
    return sp.simplify(
        _Reducer(_closed_kernels(activation_name, system)).reduce(system.readout_drift, {idx_i: _Unit(STUDENT, 0)})
    )


def closed_form_trained_readout_plateau(
    activation_name: str, K_value: int, M_value: int, teacher_weight: sp.Expr
) -> ClosedFormPlateau | None:
    r"""The O(eta) plateau with a trained read-out (no weight decay), in closed form if SymPy can.

    The students share one read-out weight ``v`` at the plateau; the teachers all have
    ``teacher_weight`` (exact, e.g. ``sp.Rational("0.8")``).  The per-mode relations are those
    of :func:`closed_form_plateau` (the read-out weights do not enter them).  The read-out
    drift adds an equation that is transcendental in ``R`` and ``v`` together (for erf an
    arcsine against a rational function), which SymPy does not solve; it is solved by the
    candidate **K v = M v*** -- the students' total read-out weight equal to the teachers' --
    that makes the remaining condition one equation in ``R`` again.  The candidate is not
    assumed: every root is checked against all three fixed-point equations *and* the read-out
    drift at 50 digits, and a covariance that is not valid is refused.  Returns ``None`` when
    no root passes.
    """
    Kv, Mv, vstar = sp.Integer(K_value), sp.Integer(M_value), sp.sympify(teacher_weight)
    v = Mv * vstar / Kv
    subs = {K: Kv, M: Mv, c_K: v, c_M: vstar, T: sp.Integer(1)}
    return _solve_with_relations(
        activation_name, subs, symbolic_K=False, drift=symmetric_readout_drift(activation_name), v=v
    )


def _is_plateau(equations, values: dict, symbolic_K: bool) -> bool:
    """All fixed-point equations vanish (to 50 digits) and the covariance is positive definite."""
    samples = [{K: k} for k in (1, 2, 3, 7)] if symbolic_K else [{}]
    for extra in samples:
        point = {s: v.xreplace(extra) for s, v in values.items()}
        if not all(abs(sp.N(e.xreplace(extra).xreplace(point), 50)) < sp.Float(10) ** -45 for e in equations):
            return False
        Rv, Qv, Cv = (sp.N(point[s], 30) for s in (R, Q, C))
        if not (Qv > 0 and abs(Cv) <= Qv and Rv.is_real):
            return False
    return True
