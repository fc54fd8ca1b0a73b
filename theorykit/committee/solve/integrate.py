"""Integrate the order-parameter ODEs in alpha; results carry a status.

The integrators are SciPy's (explicit ``RK45``/``DOP853``, implicit ``BDF``/``Radau``/``LSODA``
with the generated Jacobian; ``DOP853`` runs as :mod:`theorykit.core.dop853`, SciPy's algorithm
step for step without SciPy's import).  Output is at the requested alphas (any spacing; use
:func:`log_alpha` for many decades).  After integration every output point is checked:
finite values, and a positive semi-definite covariance :math:`C`; the first violation ends
the result with a non-success status (the data before it are kept).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from ...core.errors import NumericalFailure
from ...core.output import ReprAsHTML, labelled_dataset
from ...core.progress import Progress
from ..compiled import compile_for_explicit_solve
from ..lower import PARALLEL_THRESHOLD
from ..model import CommitteeModel
from ..schema import COMMITTEE, SOLVER_METHODS
from .eigenmode import SMALL_FUSED, EigenmodeSystem, eps_resolution
from .initial import Overlaps, check_overlaps
from .linear_aggregate import aggregable, solve_aggregated

METHODS = SOLVER_METHODS
IMPLICIT = ("BDF", "Radau", "LSODA")
#: Methods that need only the right-hand side (no Jacobian).
EXPLICIT = ("RK45", "DOP853")

#: ``auto`` leaves DOP853 for a small system when its estimated work exceeds this share of ``solver.max_rhs``.
AUTO_EXPLICIT_SHARE = 0.1
#: Largest system ``auto`` treats as small (LSODA builds a dense Jacobian of this many unknowns).
AUTO_DENSE_LIMIT = 3000


def choose_method(model: CommitteeModel, eta: float, alpha_max: float, config: SolverConfig) -> tuple[str, str]:
    r"""What ``solver.method = "auto"`` runs, and why (one line for the output).

    On a stiff system an explicit method's step is bounded by stability: DOP853's interval on
    the negative real axis is about 6 relaxation times of the fastest mode,
    :math:`1/(\eta\lambda_{max})`, and it spends 12 right-hand sides a step, so it needs at
    least about :math:`2\,\eta\lambda_{max}\alpha_{max}` of them.

    * Small systems (up to :data:`AUTO_DENSE_LIMIT` unknowns): DOP853 within
      :data:`AUTO_EXPLICIT_SHARE` of the budget ``max_rhs``, else LSODA with the generated
      Jacobian (stiff).
    * Large systems: DOP853, within its budget ``max_rhs``; a stiff one spends it and stops
      with status ``"stiff"`` and a message naming the methods that fit.  Never the structured
      exponential integrator: it runs only when asked for by name (its error is within 10x
      ``rtol`` in the cases measured except erf K = 2, 4 deep in the tail; docs/performance.md).
    """
    estimate = 2.0 * eta * float(model.spectrum.lam.max()) * alpha_max
    size = f"{model.n_unknowns} unknowns"
    if model.n_unknowns <= AUTO_DENSE_LIMIT:
        budget = AUTO_EXPLICIT_SHARE * config.max_rhs
        if estimate <= budget:
            return "DOP853", f"{size}; explicit work estimate {estimate:.3g} right-hand sides is within {budget:.3g}"
        return "LSODA", f"{size}; explicit work estimate {estimate:.3g} exceeds {budget:.3g} (stiff): implicit"
    return (
        "DOP853",
        f"{size} (too many for a dense implicit method); explicit work estimate {estimate:.3g} right-hand sides, "
        f"budget {config.max_rhs} (the exponential integrator runs only when named)",
    )


@dataclass(frozen=True)
class SolverConfig:
    """Integrator settings.

    Attributes
    ----------
    method : str
        ``auto`` (the default: :func:`choose_method` picks by the estimated work), ``RK45``,
        ``DOP853`` (explicit), ``BDF``, ``Radau``, ``LSODA`` (implicit,
        given the generated Jacobian) or ``exponential`` (the structured integrator of
        :mod:`theorykit.committee.solve.exponential`: exact per-mode propagation, for many modes and many
        decades; ``G`` frozen at the self-consistent average of the covariance over each step,
        step doubling keeps its global error in :math:`\varepsilon_g` within 10x ``rtol`` through
        the tail in every case measured (docs/performance.md); never chosen by ``auto``).
    rtol, atol : float
        Local error tolerances.
    flavour : str
        Generated-code flavour (``auto``, ``numpy``, ``numba``).
    max_step : float
        Largest step in alpha (``inf`` by default).
    max_rhs : int
        Work budget of the SciPy methods in right-hand-side evaluations.  A run that spends it
        before the last alpha stops with status ``"stiff"`` and a message saying how far it got
        and which method to use instead: an explicit method on a stiff system (eigenvalues
        spanning many decades) would otherwise crawl on for hours.

    All ranges are in :data:`theorykit.committee.schema.COMMITTEE` (``solver.*``).
    """

    method: str = COMMITTEE.default("solver.method")
    rtol: float = COMMITTEE.default("solver.rtol")
    atol: float = COMMITTEE.default("solver.atol")
    flavour: str = COMMITTEE.default("solver.flavour")
    max_step: float = COMMITTEE.default("solver.max_step")
    max_rhs: int = COMMITTEE.default("solver.max_rhs")

    def __post_init__(self) -> None:
        for name in ("method", "rtol", "atol", "flavour", "max_step", "max_rhs"):
            object.__setattr__(self, name, COMMITTEE.check(f"solver.{name}", getattr(self, name)))


@dataclass(frozen=True)
class Solution(ReprAsHTML):
    """Learning curve and order parameters.

    Attributes
    ----------
    alpha : ndarray (T,)
    eps_g : ndarray (T,)
        NaN where it lies below ``eps_resolution`` (then ``message`` says from where).
    eps_resolution : ndarray (T,)
        The smallest eps_g the overlaps resolve in double precision at each alpha
        (:func:`~theorykit.committee.solve.eigenmode.eps_resolution`: eps_g near perfect learning is a
        small difference of order-one overlaps); where the exponential integrator held the
        deviations from the specialised fixed point instead, their round-off, and not below
        ``atol`` (:meth:`~theorykit.committee.solve.exponential.ModePropagator.eps_floor`).
    r, q : ndarray (T, L, K, M), (T, L, K, K)
        Per-mode overlaps at each output alpha.
    t : ndarray (L, M, M)
    status : str
        ``"success"``, ``"solver_failed"``, ``"nan"``, ``"not_psd"``, ``"diverged"`` (finite,
        but eps_g grew more than a million-fold) or ``"stiff"`` (the work budget
        ``SolverConfig.max_rhs`` was spent; only the first point is kept).
    message : str
    nfev : int
        Right-hand-side evaluations (for the exponential integrator: exact propagations of
        every mode, which cost about one right-hand side each).
    solver_stats : dict
        The integrator's work counters (for the exponential integrator the fields of
        :class:`~theorykit.committee.solve.exponential.ExponentialStats`).
    method, flavour : str
        What actually ran (``auto`` resolved; the generated-code flavour used).
    method_reason : str
        Why ``auto`` chose ``method`` (empty when the method was given).
    v : ndarray (T, K) or None
        The students' read-out weights at each output alpha when they are trained
        (``model.second_layer.eta > 0``), else ``None``.
    """

    alpha: np.ndarray
    eps_g: np.ndarray
    eps_resolution: np.ndarray
    r: np.ndarray
    q: np.ndarray
    t: np.ndarray
    status: str
    message: str
    nfev: int
    model: CommitteeModel = field(repr=False)
    eta: float = 0.0
    solver_stats: dict = field(default_factory=dict)
    method: str = ""
    flavour: str = ""
    method_reason: str = ""
    v: np.ndarray | None = None

    @property
    def success(self) -> bool:
        return self.status == "success"

    def __repr__(self) -> str:
        m = self.model
        span = (
            f"alpha in [{self.alpha[0]:g}, {self.alpha[-1]:g}] ({self.alpha.size} points)"
            if self.alpha.size
            else "no points"
        )
        last = f", eps_g(end) = {self.eps_g_text()}" if self.alpha.size else ""
        return (
            f"Solution(status={self.status!r}, method={self.method!r}, flavour={self.flavour!r}, "
            f"K={m.K}, M={m.M}, L={m.spectrum.L}, eta={self.eta:g}, {span}{last})"
        )

    def to_xarray(self):
        r"""The trajectory as an :class:`xarray.Dataset`.

        Dimensions ``alpha`` (output times, absolute: the initial state holds at 0), ``mode`` (the
        spectrum's distinct eigenvalues, largest first), ``student``/``student2`` (i, j < K) and
        ``teacher``/``teacher2`` (n, m < M).  Variables: ``eps_g`` and ``eps_resolution``; the
        blocks ``R``, ``Q``, ``T`` of the pre-activation covariance
        :math:`C = \sum_k\lambda_k\Omega^{(k)}`; the per-mode ``r``, ``q``, ``t``; the spectrum
        ``lam`` and ``f``.  Attributes: status, message, method, flavour,
        the model, eta, work counters and the theorykit version.
        """
        import json

        lam, f = self.model.spectrum.lam, self.model.spectrum.f
        R, Q, T = self.R(), self.Q(), self.T()
        data = {
            "eps_g": (
                ("alpha",),
                self.eps_g,
                {"long_name": "generalisation error", "note": "NaN below eps_resolution"},
            ),
            "eps_resolution": (
                ("alpha",),
                self.eps_resolution,
                {"long_name": "smallest eps_g resolved in double precision"},
            ),
            "R": (
                ("alpha", "student", "teacher"),
                R,
                {"long_name": "student-teacher block of C = sum_k lam_k Omega_k"},
            ),
            "Q": (("alpha", "student", "student2"), Q, {"long_name": "student-student block of C"}),
            "T": (("teacher", "teacher2"), T, {"long_name": "teacher-teacher block of C"}),
            "r": (("alpha", "mode", "student", "teacher"), self.r, {"long_name": "per-mode student-teacher overlaps"}),
            "q": (("alpha", "mode", "student", "student2"), self.q, {"long_name": "per-mode student-student overlaps"}),
            "t": (("mode", "teacher", "teacher2"), self.t, {"long_name": "per-mode teacher-teacher overlaps"}),
            "lam": (("mode",), lam, {"long_name": "eigenvalue lambda_k of the input covariance"}),
            "f": (("mode",), f, {"long_name": "fraction f_k of input directions with eigenvalue lambda_k"}),
        }
        if self.v is not None:
            data["v"] = (("alpha", "student"), self.v, {"long_name": "read-out weight v_i of each student"})
        m = self.model
        attrs = {
            "status": self.status,
            "message": self.message,
            "method": self.method,
            "method_reason": self.method_reason,
            "flavour": self.flavour,
            "eta": float(self.eta),
            "nfev": int(self.nfev),
            "model": json.dumps(m.settings()),
            "solver_stats": json.dumps(self.solver_stats, default=float),
            "time_origin": "alpha is absolute: the initial state holds at alpha = 0",
        }
        coords = {"alpha": ("alpha", self.alpha, {"long_name": "alpha = SGD steps / N"})}
        return labelled_dataset(data, coords, attrs)

    def eps_g_json(self) -> list[float | None]:
        """``eps_g`` as JSON values: ``null`` where it lies below ``eps_resolution``."""
        return [None if np.isnan(e) else float(e) for e in self.eps_g]

    def eps_g_text(self, index: int = -1) -> str:
        """One value of ``eps_g`` for a message, or what is known of it when it is unresolved."""
        e = self.eps_g[index]
        return f"< {self.eps_resolution[index]:.2g} (unresolved)" if np.isnan(e) else f"{e:.6g}"

    def raise_for_status(self) -> Solution:
        """Raise :class:`~theorykit.core.errors.NumericalFailure` unless the run succeeded."""
        if not self.success:
            raise NumericalFailure(f"ODE integration {self.status}: {self.message}")
        return self

    def R(self, order: int = 1) -> np.ndarray:
        """Moment-basis overlaps :math:`R^{(l)} = \\sum_k \\lambda_k^l r^{(k)}`, shape (T, K, M)."""
        return np.einsum("k,akim->aim", self.model.spectrum.lam**order, self.r)

    def Q(self, order: int = 1) -> np.ndarray:
        """:math:`Q^{(l)} = \\sum_k \\lambda_k^l q^{(k)}`, shape (T, K, K)."""
        return np.einsum("k,akij->aij", self.model.spectrum.lam**order, self.q)

    def T(self, order: int = 1) -> np.ndarray:
        """:math:`T^{(l)} = \\sum_k \\lambda_k^l t^{(k)}`, shape (M, M) (the teachers do not move)."""
        return np.einsum("k,knm->nm", self.model.spectrum.lam**order, self.t)


def log_alpha(alpha_max: float, points: int = 200, alpha_min: float = 1e-2, include_zero: bool = True) -> np.ndarray:
    """Log-spaced output times ``alpha_min .. alpha_max`` (plus 0)."""
    grid = np.geomspace(alpha_min, alpha_max, points)
    return np.concatenate([[0.0], grid]) if include_zero else grid


def check_alpha(alpha) -> np.ndarray:
    """Output times: a non-empty, strictly increasing list of finite numbers >= 0."""
    return COMMITTEE.check("alpha", alpha)


def check_eta(eta) -> float:
    """Learning rate: a finite number in (0, 1e6]."""
    return COMMITTEE.check("eta", eta)


def solve(
    model: CommitteeModel,
    eta: float,
    init: Overlaps,
    alpha,
    config: SolverConfig | None = None,
    progress: bool | None = None,
    system: EigenmodeSystem | None = None,
) -> Solution:
    """Integrate the eigenmode ODEs from ``init`` and report at the alphas in ``alpha``.

    Parameters
    ----------
    model : CommitteeModel
    eta : float
        Learning rate (> 0).
    init : Overlaps
        Initial per-mode overlaps (validated: shapes and positive semi-definiteness).
    alpha : sequence of float
        Strictly increasing output times >= 0 on the absolute axis: ``init`` holds at
        :math:`\alpha = 0` and the list need not start there (the same axis as
        :func:`theorykit.committee.simulate.sgd`; see :data:`theorykit.core.schema.TIME_ORIGIN`).
    config : SolverConfig, optional
    progress : bool, optional
        False: no progress; default a bar on a terminal or in a notebook, log lines elsewhere
        (:mod:`theorykit.core.progress`).
    system : EigenmodeSystem, optional
        The system of this ``model``, ``eta`` and teacher, built once
        (:meth:`EigenmodeSystem.build`) and reused across calls; its flavour replaces
        ``config.flavour``.  Default: built here.  A linear committee with K > 1 under
        ``exponential`` runs on its aggregated student (:mod:`theorykit.committee.solve.linear_aggregate`),
        which has a system of its own: a given one is checked and not used.

    Returns
    -------
    Solution
        With ``status`` -- check ``solution.success`` or call ``raise_for_status()``.
    """
    config = config or SolverConfig()
    eta = check_eta(eta)
    alpha = check_alpha(alpha)
    init = check_overlaps(model, init)
    reason = ""
    if config.method == "auto":
        method, reason = choose_method(model, eta, float(alpha[-1]), config)
        config = replace(config, method=method)
    if system is not None and (
        system.model != model or system.eta != eta or system.dtype is not float or not np.array_equal(system.t, init.t)
    ):
        raise ValueError("system was built for another model, learning rate or teacher than this solve")
    if config.method == "exponential" and aggregable(model):
        # linear students move together: the K = M = 1 network of their sum has the tail resolved
        # (it has its own system: a given one is checked above and not used)
        return solve_aggregated(model, eta, init, alpha, config, solve)
    if system is None:
        if config.method in EXPLICIT and _c_sized(model):
            # an explicit method needs only the right-hand side: "auto" may run it from C
            compiled = compile_for_explicit_solve(model, config.flavour)
            system = EigenmodeSystem(model, compiled, eta, init.t)
        else:
            system = EigenmodeSystem.build(model, eta, init.t, config.flavour)
    y0 = system.pack(init.r, init.q)
    ran = {"method": config.method, "flavour": system.flavour, "method_reason": reason}
    # init holds at alpha = 0 whatever the first output time is (one time axis for every command)
    grid = alpha if alpha[0] == 0 else np.concatenate([[0.0], alpha])
    dropped = grid.size - alpha.size
    bar = Progress(total=float(grid[-1]), label="solve", enabled=progress)

    def fun(a, y):
        bar.update(a)
        if system.nfev >= config.max_rhs:
            raise _BudgetSpent(a)
        return system.rhs(a, y)

    if config.method == "exponential":
        from .exponential import ExponentialConfig, integrate_exponential

        model.require_classic("the exponential integrator")
        with bar:
            run = integrate_exponential(
                system,
                y0,
                grid,
                ExponentialConfig(rtol=config.rtol, atol=config.atol),
                progress=bar.update,
            )
        ys = run.ys[:, dropped:]
        system.nfev = run.stats.propagations  # one propagation costs about one right-hand side
        tail = (run.eps_g[dropped:], run.eps_floor[dropped:])
        tolerance = psd_tolerance(config.rtol)
        solution = _collect(model, system, alpha, ys, run.status, run.message, eta, tolerance, asdict(run.stats), tail)
        return _explain_failure(replace(solution, **ran))
    kwargs = {}
    if config.method in IMPLICIT:
        kwargs["jac"] = system.jacobian
    with bar:
        if grid.size == 1:
            ys = y0[:, None]
            status, message = "success", "single output point"
        else:
            try:
                with np.errstate(all="ignore"):
                    result = _integrate(fun, grid, y0, config, kwargs)
                ys = result.y[:, dropped:]
                status = "success" if result.success else "solver_failed"
                message = result.message
            except _BudgetSpent as spent:
                # solve_ivp hands out the t_eval points only when it returns: keep the start
                # (when it is an output time)
                ys = y0[:, None][:, dropped:]
                status, message = "stiff", _stiffness_message(model, config, spent.alpha, alpha)
    solution = _collect(model, system, alpha, ys, status, message, eta, psd_tolerance(config.rtol))
    return _explain_failure(replace(solution, **ran))


def _c_sized(model: CommitteeModel) -> bool:
    """Small enough for the c flavour's serial loops to beat numba's start-up: below the generated
    code's own threshold for threaded W loops (``K^2 n^2``) and the one-call form's (``SMALL_FUSED``)."""
    K, n = model.K, model.n
    return K * K * n * n <= PARALLEL_THRESHOLD and model.spectrum.L * K * n * n <= SMALL_FUSED


def _integrate(fun, grid: np.ndarray, y0: np.ndarray, config: SolverConfig, kwargs: dict):
    """One SciPy-method integration over ``grid``: DOP853 by :mod:`theorykit.core.dop853` (the
    same steps and numbers as SciPy's, without importing :mod:`scipy.integrate`, which is most
    of a small solve's process), the others by ``scipy.integrate.solve_ivp``."""
    span = (0.0, grid[-1])
    if config.method == "DOP853":
        from ...core.dop853 import dop853

        return dop853(fun, span, y0, grid, rtol=config.rtol, atol=config.atol, max_step=config.max_step)
    from scipy.integrate import solve_ivp

    return solve_ivp(
        fun,
        span,
        y0,
        method=config.method,
        t_eval=grid,
        rtol=config.rtol,
        atol=config.atol,
        max_step=config.max_step,
        **kwargs,
    )


class _BudgetSpent(Exception):
    """Raised inside the right-hand side when ``SolverConfig.max_rhs`` evaluations are spent."""

    def __init__(self, alpha: float) -> None:
        super().__init__(alpha)
        self.alpha = float(alpha)


def _stiffness_message(model: CommitteeModel, config: SolverConfig, stopped: float, alpha: np.ndarray) -> str:
    lam = model.spectrum.lam
    spread = float(lam.max() / lam.min())
    advice = (
        "use method 'exponential' (exact per-mode propagation, made for many modes and decades) or an implicit "
        f"method ({', '.join(repr(m) for m in IMPLICIT)})"
        if config.method not in IMPLICIT  # the budget applies to the SciPy methods only
        else "use method 'exponential' for many modes over many decades"
    )
    return (
        f"{config.method} spent its budget of {config.max_rhs} right-hand sides at alpha = {stopped:.6g} of "
        f"{alpha[-1]:.6g}: the system is too stiff for it (eigenvalues span a factor {spread:.3g}); {advice}, "
        "or raise solver.max_rhs"
    )


#: A run whose eps_g rises above this multiple of its initial value is reported as diverged.
DIVERGENCE_GROWTH = 1e6


def _explain_failure(solution: Solution) -> Solution:
    """Add to a failed run's message what the numbers say about the cause.

    A finite run whose eps_g grew by more than :data:`DIVERGENCE_GROWTH` gets the status
    ``"diverged"`` (its numbers are not a learning curve).

    A learning curve that rose by more than 10x before the failure is reported as a divergence;
    for the linear network (full learning-rate order) the message also gives the derived
    stability bound on eta, :func:`theorykit.committee.linear_network.linear_eta_bound` -- computed only here, on
    the failure path, because it needs the (cached) symbolic coefficients.
    """
    eps = solution.eps_g
    if solution.success and eps.size >= 2 and eps.max() > DIVERGENCE_GROWTH * eps[0] > 0:
        # finite all the way, but no learning curve grows a million-fold: a blow-up caught early
        solution = replace(solution, status="diverged", message="the order parameters blow up")
    if solution.success:
        return solution
    notes = []
    if eps.size >= 2 and eps.max() > 10 * eps[0]:
        peak = int(eps.argmax())
        notes.append(
            f"eps_g grew from {eps[0]:.3g} to {eps[peak]:.3g} by alpha = {solution.alpha[peak]:.6g}: the dynamics diverge"
        )
    elif solution.status == "solver_failed" and "step size" in solution.message.lower():
        notes.append(
            "the step size collapsed without eps_g growing: extreme stiffness (try method 'exponential' or 'Radau') "
            "or a singular right-hand side"
        )
    model = solution.model
    if model.activation_name == "linear" and not model.small_lr:
        from ..linear_network import linear_eta_bound

        bound = linear_eta_bound(model)
        side = "above" if solution.eta > bound else "below"
        notes.append(f"eta = {solution.eta:g} is {side} the linear network's stability bound eta_max = {bound:.6g}")
    if not notes:
        return solution
    return replace(solution, message=f"{solution.message}; " + "; ".join(notes))


def psd_tolerance(rtol: float) -> float:
    """How far below zero the covariance's smallest eigenvalue may go (relative to its scale).

    Plateaus and the fully learned state have a *singular* covariance (students in the
    teachers' span), so an accurate integration hovers at eigenvalue 0 and its accumulated
    error -- a few hundred times ``rtol`` over a long run -- decides the sign.  A genuine loss
    of positive definiteness (divergence) is far larger than this.
    """
    return max(1e-8, 1e3 * rtol)


def _collect(
    model, system, alpha, ys, status, message, eta, tolerance: float = 1e-8, stats=None, tail=None
) -> Solution:
    """The :class:`Solution` of packed states ``ys``; ``tail``: eps_g and its resolution where the
    integrator evaluated them without cancellation (NaN elsewhere: evaluated here from the overlaps)."""
    rs, qs, vs, eps, floors = [], [], [], [], []
    for col in range(ys.shape[1]):
        y = ys[:, col]
        if not np.all(np.isfinite(y)):
            status, message = (
                "nan",
                f"non-finite order parameters at alpha = {alpha[col]:.6g} (diverged; try a smaller eta)",
            )
            break
        C = system.covariance(y)
        lowest = np.linalg.eigvalsh(C).min()
        if lowest < -tolerance * max(1.0, np.abs(C).max()):
            status = "not_psd"
            message = f"pre-activation covariance lost positive definiteness at alpha = {alpha[col]:.6g} (eigenvalue {lowest:.3g})"
            break
        r, q = system.unpack(y)
        given = tail is not None and np.isfinite(tail[0][col])
        e = float(tail[0][col]) if given else float(system.eps_g(y))
        if not np.isfinite(e):
            status, message = "nan", f"eps_g is not finite at alpha = {alpha[col]:.6g}"
            break
        floor = float(tail[1][col]) if given else eps_resolution(C)
        rs.append(r)
        qs.append(q)
        vs.append(system.readout(y))
        eps.append(e if e >= floor else np.nan)  # below its resolution: not even its sign is known
        floors.append(floor)
    T = len(eps)
    unresolved = np.isnan(np.asarray(eps, dtype=float))
    if unresolved.any() and status == "success":
        first = int(np.argmax(unresolved))
        message = (
            f"{message}; eps_g fell below its resolution "
            f"({floors[first]:.2g}) at alpha = {alpha[first]:.6g}: reported as NaN there"
        )
    L, K, M = model.spectrum.L, model.K, model.M
    return Solution(
        alpha=alpha[:T],
        eps_g=np.asarray(eps),
        eps_resolution=np.asarray(floors),
        r=np.asarray(rs).reshape(T, L, K, M),
        q=np.asarray(qs).reshape(T, L, K, K),
        t=np.asarray(system.t),
        status=status,
        message=message,
        nfev=system.nfev,
        model=model,
        eta=eta,
        solver_stats=stats if stats is not None else {"nfev": system.nfev},
        v=np.asarray(vs).reshape(T, K) if system.trains_readout else None,
    )
