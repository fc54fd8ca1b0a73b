r"""Symmetric plateaus: fixed point, heights, stability and escape time.

The plateau of a soft committee machine is the fixed point on the permutation-symmetric
subspace (every student the same mixture of the teachers).  This module finds it three ways
and cross-checks them:

1. in closed form, where SymPy can (:func:`theorykit.committee.derive.symmetric.closed_form_plateau`;
   small learning rate, fully symbolic activation);
2. numerically, from the *full* generated right-hand side restricted to the symmetric
   subspace (float flow to the plateau, Newton; :mod:`theorykit.committee.solve.fixed_point`);
3. polished by Newton at two working precisions (:func:`theorykit.core.precision.two_precisions`,
   each from the exact inputs), with the agreement of the two reported.

The escape rate :math:`\mu` is the largest real part of the eigenvalues of the Jacobian of the
full (not symmetry-reduced) system at the fixed point, per unit :math:`\alpha`, and
:math:`\alpha_{esc} = \mu^{-1}\ln(\Delta_{end}/\Delta_0)` is the time an asymmetry
:math:`\Delta_0` needs to grow to :math:`\Delta_{end}`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from ..core.errors import CaseError, NumericalFailure
from ..core.output import ReprAsHTML, labelled_dataset
from ..core.precision import check_dps, lift, two_precisions
from .compiled import compile_model
from .model import CommitteeModel
from .solve.eigenmode import EigenmodeSystem
from .solve.escape import SecularEquation, leading_eigenvalues
from .solve.fixed_point import AggregatedSystem, StudentSymmetric, newton
from .solve.initial import Overlaps
from .solve.integrate import check_eta
from .solve.per_mode_fixed_point import PerModeFixedPoint


@dataclass(frozen=True)
class PrecisePlateau:
    """High-precision plateau values (``mpf``) and the digits on which two precisions agree."""

    dps: int
    R: object
    Q: object
    C: object
    eps_g: object
    escape_rate: object
    agreement_digits: float
    evaluation: object = None  # the theorykit.core.precision.Precise behind the numbers


@dataclass(frozen=True)
class Plateau(ReprAsHTML):
    """A symmetric (or, with a finite-N teacher, student-symmetric) fixed point.

    Attributes
    ----------
    model : CommitteeModel
    eta : float
    R_matrix, Q_matrix : ndarray
        Aggregated overlaps :math:`R^{(1)}` (K, M) and :math:`Q^{(1)}` (K, K).
    state : ndarray
        The fixed point as a state of :class:`~theorykit.committee.solve.eigenmode.EigenmodeSystem`.
    eps_g : float
    heights_R, heights_Q, heights_C : ndarray
        :math:`R^{(l)}, Q^{(l)}, C^{(l)}` for ``l = 1..L`` (averaged over the symmetric
        entries; ``C`` is NaN-free only for K > 1 and is ``None`` for K = 1).
    eigenvalues : ndarray
        Leading eigenvalues (largest real part first) of the full Jacobian, per unit alpha.
    escape_rate : float
        Largest real part of :attr:`eigenvalues` (:math:`\\mu`).
    closed_form : dict or None
        SymPy strings of ``R``, ``Q``, ``C`` (and ``escape_rate`` for L = 1) plus ``latex``.
    precise : PrecisePlateau or None
    teacher_split : ndarray
        :math:`R^{(1)}_{in}` averaged over students ``i``: the M plateau heights (all equal for
        a diagonal teacher).
    readout : ndarray or None
        The students' read-out weights :math:`v_i` at the plateau (equal: a trained read-out
        settles there too), with per-unit read-out weights; None for the classic model.
    """

    model: CommitteeModel
    eta: float
    R_matrix: np.ndarray
    Q_matrix: np.ndarray
    state: np.ndarray
    eps_g: float
    heights_R: np.ndarray
    heights_Q: np.ndarray
    heights_C: np.ndarray | None
    eigenvalues: np.ndarray
    escape_rate: float
    closed_form: dict | None = None
    precise: PrecisePlateau | None = None
    teacher_split: np.ndarray = field(default=None)
    teacher_t: np.ndarray | None = field(default=None, repr=False)
    readout: np.ndarray | None = None

    @property
    def R(self) -> float:
        return float(np.mean(self.R_matrix))

    @property
    def Q(self) -> float:
        return float(np.mean(np.diag(self.Q_matrix)))

    @property
    def C(self) -> float | None:
        K = self.model.K
        if K == 1:
            return None
        return float((self.Q_matrix.sum() - np.trace(self.Q_matrix)) / (K * (K - 1)))

    @property
    def is_unstable(self) -> bool:
        r"""Whether the fixed point is a saddle (a plateau that is left), beyond rounding.

        A growth rate below ``1e-9`` of the fastest possible rate :math:`\eta\lambda_1` counts
        as zero (e.g. the linear network, whose symmetric fixed point is the solution).
        """
        return self.escape_rate > 1e-9 * self.eta * float(np.max(self.model.spectrum.lam))

    def __repr__(self) -> str:
        C = "" if self.C is None else f", C={self.C:.6g}"
        return (
            f"Plateau(K={self.model.K}, M={self.model.M}, L={self.model.spectrum.L}, eta={self.eta:g}: "
            f"R={self.R:.6g}, Q={self.Q:.6g}{C}, eps_g={self.eps_g:.6g}, escape_rate={self.escape_rate:.6g})"
        )

    def to_xarray(self):
        """The plateau as an :class:`xarray.Dataset`.

        Scalars ``R``, ``Q``, ``C`` (aggregated l = 1 heights; ``C`` NaN for K = 1), ``eps_g``,
        ``escape_rate``; per order ``l`` the heights ``R_l``, ``Q_l``, ``C_l`` (NaN beyond the float
        range); ``R_matrix`` (student, teacher), ``Q_matrix`` (student, student2), the leading
        Jacobian ``eigenvalues`` (real and imaginary parts, per unit alpha).  With ``dps``, the
        high-precision values as decimal strings (``*_decimal``) and their agreement digits.
        Attributes: the model, eta, the stability and the theorykit version.
        """
        import json

        nan = float("nan")
        C_l = np.full(len(self.heights_R), nan) if self.heights_C is None else self.heights_C
        data = {
            "R": ((), self.R, {"long_name": "student-teacher overlap R at the plateau (l = 1)"}),
            "Q": ((), self.Q, {"long_name": "student norm Q at the plateau (l = 1)"}),
            "C": ((), nan if self.C is None else self.C, {"long_name": "student-student overlap C (l = 1)"}),
            "eps_g": ((), self.eps_g, {"long_name": "generalisation error at the plateau"}),
            "escape_rate": (
                (),
                self.escape_rate,
                {"long_name": "largest real part of the full Jacobian's eigenvalues", "units": "per unit alpha"},
            ),
            "R_l": (("order",), self.heights_R, {"long_name": "R^(l) = sum_k lam_k^l r_k"}),
            "Q_l": (("order",), self.heights_Q, {"long_name": "Q^(l)"}),
            "C_l": (("order",), C_l, {"long_name": "C^(l)"}),
            "R_matrix": (("student", "teacher"), self.R_matrix, {"long_name": "aggregated R^(1) per unit pair"}),
            "Q_matrix": (("student", "student2"), self.Q_matrix, {"long_name": "aggregated Q^(1) per unit pair"}),
            "eigenvalue_real": (("eigenvalue",), self.eigenvalues.real, {"units": "per unit alpha"}),
            "eigenvalue_imag": (("eigenvalue",), self.eigenvalues.imag, {"units": "per unit alpha"}),
        }
        if self.readout is not None:
            data["readout"] = (("student",), self.readout, {"long_name": "student read-out weight v_i at the plateau"})
        attrs = {
            "eta": float(self.eta),
            "model": json.dumps(self.model.settings()),
            "stability": "saddle" if self.is_unstable else "not unstable",
        }
        if self.precise is not None:
            strings = self.precise.evaluation.strings()  # printed to the digits asked for, not float's 15
            for name, value in zip(("R", "Q", "C", "eps_g", "escape_rate"), strings):
                if value is not None:
                    data[f"{name}_decimal"] = ((), value, {"long_name": f"{name} to {self.precise.dps} digits"})
            attrs["agreement_digits"] = float(self.precise.agreement_digits)
        coords = {"order": ("order", np.arange(1, len(self.heights_R) + 1), {"long_name": "moment order l"})}
        return labelled_dataset(data, coords, attrs)

    def escape_time(self, delta0: float, delta_end: float = 1.0) -> float:
        r"""Plateau length :math:`\alpha_{esc} = \mu^{-1}\ln(\Delta_{end}/\Delta_0)`.

        Parameters
        ----------
        delta0 : float
            Size of the initial asymmetry along the unstable direction, e.g.
            :func:`initial_asymmetry`.
        delta_end : float
            Asymmetry at which the plateau counts as left (order one).
        """
        if not (0 < delta0 < delta_end):
            raise CaseError("delta0", f"must be in (0, delta_end = {delta_end}), got {delta0}")
        if not self.is_unstable:
            raise NumericalFailure(
                f"the fixed point is stable (largest real part {self.escape_rate:.3e}); there is no escape"
            )
        return math.log(delta_end / delta0) / self.escape_rate


def initial_asymmetry(sigma_J: float, N: int) -> float:
    r"""Initial asymmetry :math:`\Delta_0 = \sigma_J/\sqrt N` of random students.

    The student-teacher overlaps of i.i.d. :math:`N(0, \sigma_J^2)` students differ from one
    another by :math:`O(\sigma_J/\sqrt N)`; the plateau is left once this difference, amplified
    at rate :math:`\mu`, is of order one.  (SGD noise at finite N adds asymmetry of its own,
    so for very small :math:`\sigma_J` simulations leave earlier; see ``docs/physics.md``.)
    """
    if not (sigma_J > 0 and N >= 1):
        raise CaseError("init", f"need sigma_J > 0 and N >= 1, got sigma_J={sigma_J}, N={N}")
    return sigma_J / math.sqrt(N)


def _flow_to_plateau(sym: StudentSymmetric, x0: np.ndarray, alpha_max: float = 2e4) -> np.ndarray:
    r"""Integrate the symmetric dynamics until it stalls (the plateau) -- a start for Newton.

    Time is in units of :math:`\eta\alpha` (the residual is divided by eta).  A flow that has
    not stalled by ``alpha_max`` means there is no attracting symmetric fixed point to find.
    """
    from scipy.integrate import solve_ivp

    def stalled(_a, x):
        return np.linalg.norm(sym.residual(x)) - 1e-7

    stalled.terminal = True
    with np.errstate(all="ignore"):
        sol = solve_ivp(
            lambda _a, x: sym.residual(x), (0, alpha_max), x0, method="LSODA", rtol=1e-8, atol=1e-12, events=stalled
        )
    if sol.status == -1 or not np.all(np.isfinite(sol.y[:, -1])):
        raise NumericalFailure(f"no symmetric plateau: the flow inside the symmetric subspace failed ({sol.message})")
    if sol.status != 1:
        raise NumericalFailure(
            f"no symmetric plateau: the dynamics inside the symmetric subspace does not settle by eta*alpha = {alpha_max:g} "
            f"(|rhs| = {np.linalg.norm(sym.residual(sol.y[:, -1])):.2e})"
        )
    return sol.y[:, -1]


def _is_diagonal_isotropic(t: np.ndarray, model: CommitteeModel) -> bool:
    return bool(np.allclose(t, model.infinite_teacher(), rtol=0, atol=1e-13))


def find_plateau(
    model: CommitteeModel,
    eta: float,
    teacher: np.ndarray | None = None,
    dps: int | None = None,
    closed_form: bool = True,
    eigenvalue_count: int = 4,
    system: EigenmodeSystem | None = None,
) -> Plateau:
    r"""Symmetric plateau of ``model`` at learning rate ``eta``, its stability and heights.

    With weight decay or per-unit read-out weights (``model.weight_decay``,
    ``model.second_layer``) the fixed point is found per mode
    (:mod:`theorykit.committee.solve.per_mode_fixed_point`): a trained read-out settles too, at
    one weight for all students (:attr:`Plateau.readout`); fixed student weights must be equal
    (exchangeable students); the closed form exists for an O(eta) trained read-out without decay
    (:func:`~theorykit.committee.derive.symmetric.closed_form_trained_readout_plateau`), and
    there is no high precision (``dps``) for them.

    Parameters
    ----------
    model : CommitteeModel
        ``model.small_lr`` selects the :math:`O(\eta)` equations (the classic plateau).
    eta : float
        Learning rate (> 0).
    teacher : array (L, M, M), optional
        Per-mode teacher overlaps :math:`t^{(k)}`; default the infinite-N teacher
        :math:`t^{(k)} = f_k I`.  A finite-N (not diagonal) teacher splits the
        student-teacher overlaps into M distinct heights.
    dps : int, optional
        Also compute the plateau and the escape rate at ``dps`` digits by
        :func:`theorykit.core.precision.two_precisions` (diagonal teacher only) and report the
        agreement of its two evaluations.
    closed_form : bool
        Try the SymPy closed form (small lr, symbolic activation).
    eigenvalue_count : int
        Leading Jacobian eigenvalues reported.
    system : EigenmodeSystem, optional
        The float system of this model, ``eta`` and teacher, built once by the caller
        (:meth:`EigenmodeSystem.build`); default: built here.

    Raises
    ------
    CaseError
        Bad ``eta`` / ``dps`` / teacher shape.
    NumericalFailure
        No symmetric fixed point found (e.g. the flow leaves the subspace's basin or Newton
        fails), or a non-finite Jacobian.
    """
    eta = check_eta(eta)
    dps = check_dps(dps)
    L, M = model.spectrum.L, model.M
    diagonal = teacher is None
    t = model.infinite_teacher() if teacher is None else np.asarray(teacher, dtype=float)
    if t.shape != (L, M, M):
        raise CaseError("init.t", f"teacher overlaps must have shape {(L, M, M)}, got {t.shape}")
    diagonal = diagonal or _is_diagonal_isotropic(t, model)
    if dps is not None and not diagonal:
        raise CaseError(
            "dps", "high precision is available for the diagonal (infinite-N) teacher only; drop init or --dps"
        )
    system = EigenmodeSystem.reuse_or_build(system, model, eta, t)
    if model.weight_decay or model.per_unit_readout:
        if dps is not None:
            raise CaseError(
                "dps",
                "high precision is available for plateaus without weight decay and per-unit read-out weights; drop --dps",
            )
        return _per_mode_plateau(model, eta, teacher, diagonal, system, eigenvalue_count, closed_form)

    # Small lr: the plateau has identical students (C = Q, derived in
    # theorykit.committee.derive.symmetric) and is degenerate across them, so solve inside that subspace.
    identical = model.small_lr
    # 1. symmetric plateau of the averaged (diagonal) teacher: flow, then Newton
    if diagonal:
        sym_system = system
    else:
        averaged = model.infinite_teacher() * (np.trace(t.sum(0)) / (M * 1.0))
        sym_system = EigenmodeSystem(model, compile_model(model, system.flavour), eta, averaged)
    sym = StudentSymmetric(AggregatedSystem(sym_system), identical=identical)
    x0 = np.array([1e-2 / np.sqrt(M), 1e-3, 5e-4][: sym.size])  # a valid (positive) start near the origin
    x = newton(
        sym.residual,
        sym.jacobian,
        _flow_to_plateau(sym, x0),
        1e-14,
        what="no symmetric plateau: Newton from the stalled flow",
    )

    # 2. with the actual teacher, keep M separate heights (a finite-N teacher splits them)
    agg = AggregatedSystem(system)
    coords = StudentSymmetric(agg, split=not diagonal, identical=identical)
    if not diagonal:
        start = np.concatenate([np.full(M, x[0]), x[1:]])
        x = newton(coords.residual, coords.jacobian, start, 1e-14, what="finite-N teacher plateau")
    a = coords.embed(x)
    found = None
    if closed_form and diagonal and model.small_lr and isinstance(model.activation, str):
        found = _closed_form(model)
    plateau = _plateau_at(model, eta, system, agg, a, agg.full_state(a, coords), eigenvalue_count, found, teacher)
    if dps is not None:
        plateau = replace(plateau, precise=_precise(model, eta, x, plateau.escape_rate, dps))
    return plateau


def _plateau_at(
    model: CommitteeModel,
    eta: float,
    system: EigenmodeSystem,
    agg: AggregatedSystem,
    a: np.ndarray,
    state: np.ndarray,
    count: int,
    found: dict | None,
    teacher,
) -> Plateau:
    """The :class:`Plateau` at the fixed point ``a`` (aggregated) / ``state`` (full), checked: a
    valid covariance, a vanishing full right-hand side; then eps_g, heights and eigenvalues."""
    _check_fixed_point(agg, a)
    _check_full_residual(system, state, eta)
    R_mat, Q_mat = agg.unpack(a)
    system._use_readout(state)  # a trained read-out's weights, for eps_g
    eps = float(system.eps_of_covariance(agg.covariance(a)))
    ev = leading_eigenvalues(system, state, count)
    return Plateau(
        model,
        eta,
        R_mat,
        Q_mat,
        state,
        eps,
        *_heights(system, state),
        ev,
        float(ev[0].real),
        found,
        None,
        teacher_split=R_mat.mean(axis=0),
        teacher_t=None if teacher is None else system.t,
        readout=np.array(system.readout(state), dtype=float) if model.per_unit_readout else None,
    )


def _per_mode_plateau(
    model: CommitteeModel,
    eta: float,
    teacher,
    diagonal: bool,
    system: EigenmodeSystem,
    count: int,
    closed_form: bool,
) -> Plateau:
    """The plateau with weight decay and/or per-unit read-out weights
    (:mod:`theorykit.committee.solve.per_mode_fixed_point`); the closed form for an O(eta)
    trained read-out without decay; no high precision."""
    weights = None if model.second_layer is None else np.asarray(model.second_layer.teacher, dtype=float)
    equal_teachers = weights is None or bool(np.all(weights == weights[0]))
    found = None
    symbolic = model.small_lr and model.trains_readout and not model.weight_decay and isinstance(model.activation, str)
    if closed_form and symbolic and diagonal and equal_teachers:
        found = _trained_readout_closed_form(model)
    problem = PerModeFixedPoint(system, split=not (diagonal and equal_teachers), identical=model.small_lr)
    x = problem.solve()
    a = problem.coords.embed(x[: problem.coords.size])
    return _plateau_at(model, eta, system, problem.agg, a, problem.full_state(x), count, found, teacher)


def _trained_readout_closed_form(model: CommitteeModel) -> dict | None:
    """SymPy strings and LaTeX of R, Q, C and v of the O(eta) plateau with a trained read-out
    (:func:`~theorykit.committee.derive.symmetric.closed_form_trained_readout_plateau`), cached
    on disk as data under its recipe like :func:`_closed_form`."""
    import sympy as sp

    from ..core.code_cache import derived_lookup, derived_store
    from .derive.activations import get_activation
    from .derive.symmetric import closed_form_trained_readout_plateau

    if abs(float(np.dot(model.spectrum.lam, model.spectrum.f)) - 1) > 1e-12:
        return None  # derived for T^(1) = 1
    if not get_activation(model.activation).is_fully_symbolic(("dgdg", "d2g_g", "gg")):
        return None
    base = _closed_form_recipe(model)
    if base is None:
        return None
    vstar = str(model.second_layer.teacher[0])  # the decimal as written, read exactly
    recipe = f"{base}\ntrained read-out v1, teacher weight {vstar}"
    hit, value = derived_lookup(recipe)
    if hit:
        return value
    found = closed_form_trained_readout_plateau(model.activation_name, model.K, model.M, sp.Rational(vstar))
    out = None if found is None else {**found.as_strings(), "latex": found.latex()}
    derived_store(recipe, out)
    return out


def _check_full_residual(system: EigenmodeSystem, state: np.ndarray, eta: float) -> None:
    residual = np.max(np.abs(system.rhs(0.0, state)))
    if not np.isfinite(residual) or residual > 1e-9 * max(1.0, eta):
        raise NumericalFailure(
            f"plateau: the full right-hand side does not vanish at the fixed point (max |rhs| = {residual:.2e})"
        )


def _check_fixed_point(agg: AggregatedSystem, a: np.ndarray) -> None:
    # positive *semi*-definite: at the classic plateau all students coincide (Q = C), so the
    # covariance of the pre-activations is singular there
    C = agg.covariance(a)
    smallest = float(np.linalg.eigvalsh(C).min())
    if smallest < -1e-9 * float(np.abs(C).max()):
        raise NumericalFailure(
            f"plateau: the fixed point found is not a valid overlap matrix (covariance eigenvalue {smallest:.3e} < 0)"
        )


def _heights(system: EigenmodeSystem, state: np.ndarray):
    r""":math:`X^{(l)} = \sum_k\lambda_k^l x_k` for l = 1..L, summed in log space.

    For large ``L`` the top orders exceed the float range (:math:`\lambda_1^{L}`); they come
    out as ``inf`` rather than as an overflow warning.
    """
    r, q = system.unpack(state)
    K = system.K
    orders = np.arange(1, system.L + 1)[:, None]
    log_lam = np.log(system.lam)[None, :]
    diag = np.einsum("kii->k", q) / K
    per_mode = [r.mean(axis=(1, 2)), diag]
    if K > 1:
        per_mode.append((q.sum(axis=(1, 2)) - diag * K) / (K * (K - 1)))
    out = []
    for x in per_mode:
        with np.errstate(over="ignore", divide="ignore"):
            sign = np.sign(x)
            logs = orders * log_lam + np.log(np.abs(x))[None, :]
            top = logs.max(axis=1, keepdims=True)
            total = (sign[None, :] * np.exp(logs - top)).sum(axis=1)
            out.append(total * np.exp(top[:, 0]))
    return out[0], out[1], (out[2] if K > 1 else None)


def _closed_form(model: CommitteeModel) -> dict | None:
    """SymPy closed forms (strings and LaTeX) of R, Q, C and, for L = 1, the escape rate.

    The derivation (seconds of SymPy: the Gaussian kernels, then the symmetric system) depends only
    on the activation's definition, K, M, the normalisation and whether the escape rate is asked
    for; its strings are cached on disk under that recipe (:func:`~theorykit.core.code_cache.derived_lookup`:
    data, never evaluated), so that a sweep's worker processes and later commands do not derive
    it again.
    """
    from ..core.code_cache import derived_lookup, derived_store

    if abs(float(np.dot(model.spectrum.lam, model.spectrum.f)) - 1) > 1e-12:
        return None  # the closed form is derived for T^(1) = 1
    recipe = _closed_form_recipe(model)
    if recipe is not None:
        found, value = derived_lookup(recipe)
        if found:
            return value
    out = _derive_closed_form(model)
    if recipe is not None:
        derived_store(recipe, out)
    return out


def _closed_form_recipe(model: CommitteeModel) -> str | None:
    """What the closed forms are derived from, as text: the activation's SymPy definition (its
    given kernels, or g(z)), K, M, normalisation, escape rate or not; None for an activation
    without a symbolic definition of its own."""
    import sympy as sp

    from .derive.activations import ClosedFormActivation, SymbolicActivation, get_activation

    activation = get_activation(model.activation)
    if isinstance(activation, SymbolicActivation):
        definition = f"g = {sp.srepr(activation.g)}"
    elif isinstance(activation, ClosedFormActivation):
        definition = "; ".join(f"{k} = {sp.srepr(v)}" for k, v in sorted(activation.closed_forms.items()))
    else:
        return None
    escape = model.spectrum.L == 1 and model.K + model.M <= 8
    return (
        f"closed_form_plateau v1\nactivation {activation.name}: {definition}\n"
        f"K = {model.K}, M = {model.M}, normalization = {model.normalization}, escape_rate = {escape}"
    )


def _derive_closed_form(model: CommitteeModel) -> dict | None:
    from .derive.activations import get_activation
    from .derive.expanded import closed_form_escape_rate
    from .derive.symmetric import closed_form_plateau

    if not get_activation(model.activation).is_fully_symbolic(("dgdg", "d2g_g")):
        return None
    found = closed_form_plateau(model.activation_name, model.K, model.M, model.normalization)
    if found is None:
        return None
    out = found.as_strings()
    latex = found.latex()
    if model.spectrum.L == 1 and model.K + model.M <= 8:
        import sympy as sp

        mu = closed_form_escape_rate(model.activation_name, model.K, model.M, model.normalization)
        if mu is not None:
            out["escape_rate"] = f"eta*({mu})"
            latex["escape_rate"] = r"\eta\," + sp.latex(mu)
    out["latex"] = latex
    return out


def _precise(model: CommitteeModel, eta: float, x_float: np.ndarray, mu_float: float, dps: int) -> PrecisePlateau:
    """Newton on the symmetric subspace and the escape rate, at two precisions from the exact inputs.

    ``x_float`` and ``mu_float`` (the float solution) only start Newton and the root search;
    eta is lifted as written and the spectrum and teacher recomputed at each precision.
    """
    import mpmath

    compiled = compile_model(model, flavour="mpmath")

    def compute() -> list:
        t = model.infinite_teacher(high_precision=True)
        system = EigenmodeSystem(model, compiled, lift(eta), t, dtype=object)
        agg = AggregatedSystem(system)
        sym = StudentSymmetric(agg, identical=model.small_lr)
        x = np.array([mpmath.mpf(v) for v in x_float], dtype=object)  # a starting point, not an input
        x = newton(sym.residual, sym.jacobian, x, mpmath.mpf(10) ** (-mpmath.mp.dps + 2), what="high-precision plateau")
        a = sym.embed(x)
        eps = system.eps_of_covariance(agg.covariance(a))
        mu = SecularEquation(agg, a).root(mu_float)
        return [x[0], x[1], x[2] if sym.has_c else (x[1] if model.K > 1 else None), eps, mu]

    precise = two_precisions(compute, dps)
    R, Q, C, eps, mu = precise.value
    return PrecisePlateau(dps, R, Q, C, eps, mu, precise.agreement_digits, precise)


def _system_of(plateau: Plateau) -> EigenmodeSystem:
    """The (float, NumPy-flavour) system the plateau is a fixed point of."""
    model = plateau.model
    t = model.infinite_teacher() if plateau.teacher_t is None else plateau.teacher_t
    return EigenmodeSystem.build(model, plateau.eta, t, flavour="numpy")


def perturbed_overlaps(plateau: Plateau, size: float, seed: int = 0, spread: float = 1e-3):
    """Per-mode overlaps of students displaced from the plateau by ``size`` in random directions.

    The perturbation is applied to *weight vectors*, not to the overlaps, so the result is
    always a valid (positive semi-definite) set of overlaps: per mode
    :math:`\\Omega^{(k)} = V_kV_k^T`, every student row of :math:`V_k` moves by
    ``size`` times a Gaussian vector scaled by :math:`\\sqrt{f_k}`, the teacher rows stay.

    Returns
    -------
    Overlaps
        Suitable as ``init`` of :func:`theorykit.committee.solve.integrate.solve`.
    """
    model = plateau.model
    system = _system_of(plateau)
    t = system.t
    omega = system.overlaps(plateau.state)
    rng = np.random.default_rng(seed)
    K, n = model.K, model.n
    r, q = [], []
    for k, om in enumerate(omega):
        ev, vec = np.linalg.eigh(om)
        V = vec * np.sqrt(np.clip(ev, 0, None))[None, :]
        V[:K] += size * np.sqrt(model.spectrum.f[k]) * rng.standard_normal((K, n))
        fresh = np.zeros((n, K))
        fresh[:K] = spread * np.sqrt(model.spectrum.f[k]) * rng.standard_normal((K, K))
        V = np.concatenate([V, fresh], axis=1)
        om_new = V @ V.T
        r.append(om_new[:K, K:])
        q.append(om_new[:K, :K])
    return Overlaps(np.array(r), np.array(q), np.array(t))


def student_asymmetry(R: np.ndarray) -> np.ndarray:
    """Spread of the student-teacher overlaps across students, :math:`\\|R - \\bar R\\|_F`.

    ``R`` has shape (..., K, M); zero exactly on the symmetric subspace.
    """
    return np.linalg.norm(R - R.mean(axis=-2, keepdims=True), axis=(-2, -1))


def unstable_amplitude(plateau: Plateau, init) -> float:
    """Size of the part of ``init - plateau`` that lies in the unstable eigenspace.

    Measured as :func:`student_asymmetry` of that part's :math:`R^{(1)}`: the :math:`\\Delta_0`
    of :math:`\\alpha_{esc} = \\mu^{-1}\\ln(\\Delta_{end}/\\Delta_0)` for an ODE started at
    ``init`` (near the plateau).  The eigenspace is the set of eigenvalues within ``1e-6``
    (relative) of the escape rate -- it is (K - 1)-fold degenerate by the permutation symmetry.
    Uses the dense Jacobian, so it is meant for small systems (``L d`` up to a few thousand).
    """
    system = _system_of(plateau)
    ev, V = np.linalg.eig(system.jacobian(0.0, plateau.state))
    coeffs = np.linalg.solve(V, system.pack(init.r, init.q) - plateau.state)
    mu = plateau.escape_rate
    chosen = np.abs(ev - mu) <= 1e-6 * abs(mu)
    if not chosen.any():
        raise NumericalFailure("no eigenvalue of the dense Jacobian matches the escape rate")
    part = (V[:, chosen] @ coeffs[chosen]).real
    r, _ = system.unpack(part)
    return float(student_asymmetry(np.einsum("k,kim->im", system.lam, r)))
