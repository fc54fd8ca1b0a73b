r"""Structured exponential integrator for large eigenmode systems (many modes, many decades).

*Why a special integrator.*  Per eigenmode the equations are linear once the Stein
coefficients are fixed:

.. math::

    \frac{dr_k}{d\alpha} = a_k\,(G_s r_k + G_t t_k),\qquad
    \frac{dq_k}{d\alpha} = a_k\,(G_s q_k + q_k G_s + G_t r_k^T + r_k G_t^T) + \eta a_k f_k W,

with :math:`a_k = \eta\lambda_k` and :math:`G = [G_s\,|\,G_t]`, ``W`` functions of the
aggregated covariance :math:`C = \sum_k\lambda_k\Omega^{(k)}` only.  :math:`G_s` is symmetric
(:math:`\partial\delta_i/\partial a_j = -\partial^2\varepsilon/\partial a_i\partial a_j`), so in
its eigenbasis :math:`G_s = U\,\mathrm{diag}(g)\,U^T` every mode decouples into scalar linear
equations with rates :math:`a_k g_a` and :math:`a_k(g_a + g_b)`, solved *exactly* over a step
(closed forms with :math:`\varphi_1(z) = (e^z - 1)/z` and the second divided difference of
``exp``).  The stiffness -- the ratio of the largest to the smallest eigenvalue -- therefore
costs nothing: the step is limited only by how fast ``C`` changes.

*The stiff feedback.*  ``C`` is itself a weighted sum of the modes, and freezing ``G`` at the
start of a step is unstable once the fast modes follow ``G`` quasi-statically (the loop gain
:math:`m_1\|G_s^{-1}\mathcal D\|` exceeds one at the specialised fixed point for every K >= 2).
Each step therefore freezes ``G`` at the *self-consistent midpoint covariance*
:math:`\hat C = \tfrac12(C_n + C_{n+1}(\hat C))`, found by Anderson acceleration on the
``n x n`` covariance (a small space: its size does not grow with the number of modes).
``W`` (the :math:`O(\eta^2)` noise term; weak feedback) enters additively, so it needs no
iteration: the step runs with it frozen at an extrapolated value, and the exact response to the
parabola through its values at the step ends replaces that afterwards (:class:`_NoiseHold`).

*Cheap trials.*  Each trial midpoint needs only the *sum* :math:`C_{n+1}` over the modes, not
the modes.  The slow modes (:math:`a_k h\,2\|\mathcal G\|_2 \le 3`, most of a power-law
spectrum) enter it through a Taylor series in their moments, :mod:`theorykit.committee.solve._slow_series`
(:math:`O(P n^3)` per trial, exact to round-off); only the few fast modes are propagated per
trial.  Every accepted step then propagates all modes exactly once, and that propagation
cross-checks the series (``ExponentialStats.series_mismatch``).  The mode rotations run on
threads over the mode axis with BLAS pinned to one thread, into reused buffers.

*Coordinates.*  The state stays in the eigenbasis of the last step's :math:`G_s`
(:class:`ModeState`): the next step rotates once, by :math:`U_{n+1}^TU_n`, and the original
coordinates are made only at output times.  The student-teacher overlaps are held in a
per-mode teacher frame (:mod:`theorykit.committee.solve._mode_frame`): when an eigenvalue has fewer input
directions than the teacher has units (one each at L = N), their rows span only that many
dimensions for all times, and the per-mode products shrink accordingly.

*The tail.*  Once a K = M committee with analytic kernels is within
:data:`~theorykit.committee.solve._deviation.SWITCH` of a specialised fixed point, the state moves
to deviation coordinates about it (:mod:`theorykit.committee.solve._deviation`:
:math:`d_k = r_k - Pt_k` and the Gram matrix :math:`E_k` of the weight deviations, which obey
equations of the same form with :math:`G_t \to S = G_sP + G_t`), and :math:`\varepsilon_g`,
``W`` and ``S`` are evaluated there without cancellation; the error weights become blockwise
(``E`` relative to ``E``).  The tolerance stays what the user asked for: with an absolute
``atol`` above the tail's values it is absolute there.

*Accuracy control.*  The companion step freezes ``G`` at the average of its values at the two
ends of the step (trapezoidal rule instead of midpoint rule; one more propagation, no
iteration).  Both are second order and differ by :math:`O(h^3)`.  The noise hold's error is
estimated by the response to its parabola's curvature term (:class:`_NoiseHold`).  Both
estimates are measured in ``C`` and in :math:`\varepsilon_g` (relative, down to its round-off
resolution :func:`~theorykit.committee.solve.eigenmode.eps_resolution`) and set the step size; a step
after a rejection does not grow.  Accuracy against the exact linear solution and LSODA at tight
tolerance is tested on reduced cases and measured in ``benchmarks/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from threadpoolctl import threadpool_limits

from ...core.threads import in_parallel
from ._closed_forms import advance_numpy, divided_difference2, hold_response_numpy, phi1, phi2  # noqa: F401  (public here)
from ._deviation import FIT_ACCURACY, Specialised
from ._mode_frame import TeacherFrame
from ._slow_series import SlowModeSeries, lyapunov_bound, split_modes
from .eigenmode import EPS_ROUNDOFF, EigenmodeSystem, eps_resolution


@dataclass(frozen=True)
class ExponentialConfig:
    """Settings of :func:`integrate_exponential`.

    Attributes
    ----------
    rtol, atol : float
        Local tolerances on the aggregated covariance ``C`` and on :math:`\\varepsilon_g`.
    first_step : float
        Initial step in alpha.
    max_growth : float
        Largest factor between consecutive steps.
    anderson_memory : int
        History length of the Anderson acceleration of the midpoint covariance.
    max_iterations : int
        Anderson iterations per step before the step is halved.
    iteration_tolerance : float
        The midpoint covariance is iterated until it moves by less than this fraction of the
        local error tolerance ``atol + rtol * max|C|``: its residual then stays below the
        truncation error that the step-size control admits.
    """

    rtol: float = 1e-4
    atol: float = 1e-10
    first_step: float = 1e-2
    max_growth: float = 2.0
    anderson_memory: int = 6
    max_iterations: int = 40
    iteration_tolerance: float = 0.1


@dataclass
class ExponentialStats:
    """Work counters of one integration.

    ``propagations`` counts exact propagations of every mode; ``series_evaluations`` the
    trials answered by the slow-mode series, whose fast modes add ``fast_mode_steps`` single
    mode propagations; ``series_mismatch`` is the largest relative difference between the series
    and the exact propagation at an accepted step (a built-in cross-check: round-off, ~1e-13).
    ``w_evaluations`` counts evaluations of the noise matrix ``W`` (at the end of every step
    that passes the ``G`` error test, :class:`_NoiseHold`), ``w_reevaluations`` those repeated
    at the corrected end because the correction was not small.  ``frame_rank`` is the number of teacher-side coordinates
    kept per mode (:class:`~theorykit.committee.solve._mode_frame.TeacherFrame`; ``M`` when none could
    be saved) and ``frame_dropped`` the largest relative component the frame left out.
    ``deviation_alpha`` is where the state was moved into deviation coordinates about the
    specialised fixed point (:mod:`theorykit.committee.solve._deviation`; None: never).
    """

    steps: int = 0
    rejected: int = 0
    g_evaluations: int = 0
    w_evaluations: int = 0
    w_reevaluations: int = 0
    propagations: int = 0
    series_evaluations: int = 0
    fast_mode_steps: int = 0
    series_mismatch: float = 0.0
    deviation_alpha: float | None = None
    frame_rank: int = 0
    frame_dropped: float = 0.0


class ExponentialRun(NamedTuple):
    """What :func:`integrate_exponential` returns.

    Attributes
    ----------
    ys : ndarray (size, T)
        Packed states at the output times; fewer columns than requested when the integration
        failed part way.
    status : str
        ``"success"`` or ``"solver_failed"``.
    message : str
    stats : ExponentialStats
    eps_g, eps_floor : ndarray (len(alpha),)
        :math:`\varepsilon_g` and its resolution (:meth:`ModePropagator.eps_floor`: round-off,
        not below ``atol``) at the outputs reached in deviation coordinates, evaluated there
        without cancellation; NaN at the others (evaluate those from the overlaps).
    """

    ys: np.ndarray
    status: str
    message: str
    stats: ExponentialStats
    eps_g: np.ndarray
    eps_floor: np.ndarray


@dataclass(frozen=True)
class ModeState:
    r"""Every mode's state in the integrator's coordinates.

    :math:`r_k = P x_k F_k^T` and :math:`q_k = P y_k P^T`, with ``P`` the eigenbasis of an
    earlier step's :math:`G_s` (``None``: the identity) and :math:`F_k` the
    :class:`~theorykit.committee.solve._mode_frame.TeacherFrame`.  Keeping the state in the last step's
    eigenbasis turns the rotation out of one basis and into the next into one rotation by
    :math:`U_{n+1}^T P`; the original coordinates are made only at output times.

    Attributes
    ----------
    x : ndarray (L, K, rho)
    y : ndarray (L, K, K), symmetric
    basis : ndarray (K, K) or None
    """

    x: np.ndarray
    y: np.ndarray
    basis: np.ndarray | None = None

    def subset(self, modes) -> ModeState:
        return ModeState(self.x[modes], self.y[modes], self.basis)


class ModePropagator:
    """Exact solution of every mode's linear equations with frozen ``G`` and ``W`` (numpy, float).

    Parameters
    ----------
    system : EigenmodeSystem
        Float system (any flavour); supplies ``G``, ``W`` and :math:`\\varepsilon_g(C)`.
    frame : TeacherFrame, optional
        Coordinates of the student-teacher overlaps (default: the identity frame).
    """

    def __init__(self, system: EigenmodeSystem, frame: TeacherFrame | None = None) -> None:
        if system.dtype is not float:
            raise ValueError("the exponential integrator works in double precision")
        self.sys = system
        self.K, self.M, self.n, self.L = system.K, system.M, system.n, system.L
        self.a = system.eta * system.lam  # eta lambda_k
        self.noise_weight = system.eta * self.a * system.f  # eta^2 lambda_k f_k
        self.t = np.asarray(system.t, dtype=float)
        self.frame = TeacherFrame.identity(self.t) if frame is None else frame
        self.lam = system.lam
        self.T = np.tensordot(self.lam, self.t, axes=1)  # teacher block of C: constant
        # Reused buffers for the full propagations: fresh multi-megabyte arrays cost more in
        # page faults than the products that fill them (~20 ms of 45 at K = M = 40, L = 512).
        self._workspace = _Workspace(self.L, self.K, self.frame.rho)
        self.by_rate = np.argsort(-self.a, kind="stable")
        self.rate_ordered = bool(np.all(np.diff(self.a) <= 0))  # power-law spectra come sorted
        #: The specialised fixed point once the state is held in deviation coordinates about it
        #: (:mod:`theorykit.committee.solve._deviation`); None: the overlaps themselves.
        self.reference: Specialised | None = None

    def assemble(self, R: np.ndarray, Q: np.ndarray) -> np.ndarray:
        """Covariance ``[[Q, R], [R^T, T]]`` from the aggregated student blocks."""
        K = self.K
        C = np.empty((self.n, self.n))
        C[:K, :K] = 0.5 * (Q + Q.T)
        C[:K, K:] = R
        C[K:, :K] = R.T
        C[K:, K:] = self.T
        return C

    # -- functions of the aggregated covariance: in deviation coordinates once ``reference`` is set
    def coefficients(self, C: np.ndarray) -> np.ndarray:
        r"""``G`` (``K x n``) at the aggregated covariance; :math:`[G_s\,|\,S]` in deviation coordinates."""
        if self.reference is None:
            return self.sys.G(C)
        return self.reference.coefficients(self.sys.G, C)

    def noise(self, C: np.ndarray) -> np.ndarray | None:
        if self.reference is None or self.sys.model.small_lr:
            return self.sys.W(C)
        return self.reference.evaluate(self.sys.W, C, order=2)

    def eps(self, C: np.ndarray) -> float:
        """:math:`\varepsilon_g` at the aggregated covariance (without cancellation in deviation coordinates)."""
        if self.reference is None:
            return float(self.sys.eps_of_covariance(C))
        return float(self.reference.evaluate(self.sys.eps_of_covariance, C, order=2))

    def eps_floor(self, C: np.ndarray, atol: float = 0.0) -> float:
        r"""Resolution of :meth:`eps`: :func:`eps_resolution` of the covariance (its round-off), or,
        in deviation coordinates, the same rule with the deviations' scale :math:`\sigma^2` for
        ``max|C|`` -- and not below ``atol``, to which ``E`` (and so :math:`\varepsilon_g`) is
        controlled only absolutely there."""
        if self.reference is None:
            return eps_resolution(C)
        return max(EPS_ROUNDOFF * self.n * self.reference.scale(C) ** 2, atol)

    def noise_accuracy(self, C: np.ndarray, W: np.ndarray) -> float:
        """How far an evaluation of ``W`` at ``C`` may be off (round-off; in deviation coordinates
        the fit's accuracy, :data:`~theorykit.committee.solve._deviation.FIT_ACCURACY` of ``max|W|``)."""
        if self.reference is None:
            return eps_resolution(C)
        return FIT_ACCURACY * float(np.abs(W).max()) + self.eps_floor(C)

    def error_weights(self, C: np.ndarray, rtol: float, atol: float, floor: float = 0.0) -> np.ndarray:
        """``1 / (atol + rtol * scale + floor * scale)`` per entry of ``C`` (``n x n``).

        The scale is ``max|C|`` in the overlaps' coordinates; in deviation coordinates each block
        has its own (``max|E|``, ``max|d|``, ``max|T|``): ``E`` is the square of ``d``, and a
        tolerance relative to ``d`` would leave ``E``, and so :math:`\varepsilon_g`, uncontrolled.
        """
        if self.reference is None:
            scale = np.full(C.shape, float(np.abs(C).max()))
        else:
            K = self.K
            scale = np.full(C.shape, float(np.abs(C[K:, K:]).max()))
            scale[:K, :K] = np.abs(C[:K, :K]).max()
            scale[:K, K:] = scale[K:, :K] = np.abs(C[:K, K:]).max()
        return 1.0 / (atol + (rtol + floor) * scale + 1e-300)

    def to_deviations(self, state: ModeState, reference: Specialised, buffers) -> tuple[ModeState, np.ndarray]:
        """Switch to deviation coordinates about ``reference``: the same modes as (d, E), and their
        aggregated covariance ``[[E, d], [d^T, T]]``."""
        r, q = self.overlaps(state, buffers)
        d, E = reference.deviations(r, q, self.t)
        self.reference = reference
        return self.state_of(d, E), self.aggregate(d, E)

    def original_overlaps(self, state: ModeState, out: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Every mode's ``r`` and ``q`` in the original coordinates, whichever coordinates the state is in."""
        r, q = self.overlaps(state, out)
        if self.reference is None:
            return r, q
        return self.reference.overlaps(r, q, self.t)

    def aggregate(self, r: np.ndarray, q: np.ndarray) -> np.ndarray:
        """:math:`C = \\sum_k\\lambda_k\\Omega^{(k)}` from per-mode ``r`` (L,K,M) and ``q`` (L,K,K)."""
        return self.assemble(np.tensordot(self.lam, r, axes=1), np.tensordot(self.lam, q, axes=1))

    def state_of(self, r: np.ndarray, q: np.ndarray) -> ModeState:
        """The :class:`ModeState` of overlaps ``r`` (L,K,M), ``q`` (L,K,K) (copies)."""
        return ModeState(self.frame.coordinates(r), np.array(q, dtype=float))

    def propagate(
        self, state: ModeState, G: np.ndarray, W, h: float, modes=None, out: tuple | None = None
    ) -> _Propagated:
        """Advance the modes by ``h`` with ``G`` (K, n) and ``W`` (K, K or None) frozen.

        ``modes`` (an index array or slice) restricts the step to those modes; ``state`` is then
        already restricted.  The result is in the eigenbasis ``U`` of :math:`G_s`
        (:meth:`_Propagated.state`); :meth:`_Propagated.covariance` sums over the modes there.
        ``out`` receives the result's ``x`` and ``y`` (default: new arrays); it must not hold
        ``state``.
        """
        K = self.K
        every = slice(None) if modes is None else modes
        a, lam = self.a[every], self.lam[every]
        frame = self.frame if modes is None else self.frame.subset(every)
        Gs = 0.5 * (G[:, :K] + G[:, :K].T)
        g, U = np.linalg.eigh(Gs)
        nu = a[:, None] * g[None, :] * h  # (L, K): nu_a h
        H = U.T @ G[:, K:]  # (K, M)
        HF = frame.project(H)  # U^T G_t F_k: the teacher drive in the frame
        t = frame.t_reduced
        V = U.T if state.basis is None else U.T @ state.basis  # from the state's basis to U's
        x, y = state.x, state.y
        L = x.shape[0]
        work = self._workspace if modes is None else _Workspace(L, K, frame.rho)
        x0, b, y0, Hx, Hb, tmp = work.x0, work.b, work.y0, work.Hx, work.Hb, work.tmp

        framed = frame.F is not None

        def rotate_in(part: slice) -> None:
            np.matmul(V[None], y[part], out=tmp[part])
            np.matmul(tmp[part], V.T[None], out=y0[part])  # U^T q_k U
            if framed:  # x0 and b are small: made below in one product each
                return
            np.matmul(V[None], x[part], out=x0[part])  # U^T r_k
            np.matmul(HF, t[part], out=b[part])  # U^T G_t t_k (times a_k below)
            np.matmul(HF, x0[part].transpose(0, 2, 1), out=Hx[part])  # U^T G_t r_k^T U
            np.matmul(HF, b[part].transpose(0, 2, 1), out=Hb[part])  # U^T G_t t_k G_t^T U / a_k

        in_parallel(rotate_in, L)
        products = (Hx, Hb)
        if framed:
            # U^T r_k F_k and U^T G_t t_k F_k; the K x K drives are outer products of these
            # with HF, formed per pair inside the step rather than stored (rank-one at L = N)
            x0[...] = np.tensordot(x, V, axes=([1], [1])).transpose(0, 2, 1)
            np.einsum("kar,krs->kas", HF, t, out=b)
            products = (None, None)
        Wt = None if W is None else U.T @ W @ U
        result = (np.empty(x.shape), np.empty(y.shape)) if out is None else out
        x1, y1 = _advance(nu, a, h, x0, b, y0, *products, Wt, self.noise_weight[every], out=result, hf=HF)
        teacher = self.T if modes is None else np.tensordot(lam, self.t[every], axes=1)
        return _Propagated(self, U, x1, y1, lam, frame, teacher, nu, every)

    def overlaps(self, state: ModeState, out: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Every mode in the original coordinates: ``r`` (L, K, M) and the symmetric ``q`` (L, K, K) into ``out``."""
        P, x, y = state.basis, state.x, state.y
        r, q = out
        px, tmp = self._workspace.x0, self._workspace.tmp  # free between propagations

        def rotate_out(part: slice) -> None:
            if P is None:
                self.frame.rows(x[part], r[part], part)
                q[part] = y[part]
                return
            np.matmul(P[None], x[part], out=px[part])
            self.frame.rows(px[part], r[part], part)
            np.matmul(P[None], y[part], out=tmp[part])
            np.matmul(tmp[part], P.T[None], out=q[part])
            q[part] += q[part].transpose(0, 2, 1).copy()
            q[part] *= 0.5

        in_parallel(rotate_out, x.shape[0])
        return r, q


class _Workspace:
    """Buffers for the inputs of one propagation (rotated state, drives), reused from step to step."""

    def __init__(self, L: int, K: int, rho: int) -> None:
        self.x0, self.b = np.empty((L, K, rho)), np.empty((L, K, rho))
        self.y0, self.Hx, self.Hb, self.tmp = (np.empty((L, K, K)) for _ in range(4))


class _Results:
    """The three result buffers of the full propagations: the state, the step being tried, scratch.

    A tried step writes into ``step``; trials that propagate every mode write into ``scratch``;
    accepting the step swaps ``step`` and ``state``, so no propagation ever overwrites the state
    it starts from or the step still being judged.
    """

    def __init__(self, L: int, K: int, rho: int) -> None:
        self.state, self.step, self.scratch = ((np.empty((L, K, rho)), np.empty((L, K, K))) for _ in range(3))

    def accept(self) -> None:
        self.state, self.step = self.step, self.state


class _Propagated:
    """Per-mode state after a step, in the eigenbasis ``U`` of the frozen :math:`G_s`."""

    def __init__(self, prop: ModePropagator, U, x, y, lam, frame: TeacherFrame, teacher, nu, modes) -> None:
        self.prop, self.U, self.x, self.y = prop, U, x, y
        self.lam, self.frame, self.teacher = lam, frame, teacher
        self.nu, self.modes = nu, modes  # the rates a_k g_a h of the step, and which modes it moved

    def state(self) -> ModeState:
        return ModeState(self.x, self.y, self.U)

    def covariance(self) -> np.ndarray:
        r""":math:`\sum_k\lambda_k\Omega^{(k)}` over the propagated modes (``n x n``)."""
        U = self.U
        R = U @ self.frame.weighted_rows(self.lam[None], self.x)[0]
        Q = U @ np.tensordot(self.lam, self.y, axes=1) @ U.T
        C = self.prop.assemble(R, Q)
        C[self.prop.K :, self.prop.K :] = self.teacher
        return C


def _pick_kernels():
    from ...core.optional import numba_available

    if numba_available():
        from ._numba_kernels import advance, hold_response

        return advance, hold_response
    return advance_numpy, hold_response_numpy


_advance, _hold_response = _pick_kernels()


class _Anderson:
    """Anderson acceleration (type II) for ``x = g(x)`` on flat vectors.

    One instance serves the whole integration: :meth:`restart` begins the next step's
    iteration but keeps the secant pairs of the previous steps, whose maps differ from the new
    one only through the small change of state and step (measured at Fig. 6 size: a fifth fewer
    trials).  They only shape the next iterate; convergence is still judged on the new map's
    own residual, and an iteration that fails clears them.
    """

    def __init__(self, memory: int) -> None:
        self.memory = memory
        self.dx: list[np.ndarray] = []
        self.df: list[np.ndarray] = []
        self.prev: tuple[np.ndarray, np.ndarray] | None = None

    def restart(self, keep: bool = True) -> None:
        self.prev = None
        if not keep:
            self.dx, self.df = [], []

    def step(self, x: np.ndarray, gx: np.ndarray) -> np.ndarray:
        f = gx - x
        if self.prev is not None:
            px, pf = self.prev
            self.dx.append(x - px)
            self.df.append(f - pf)
            if len(self.dx) > self.memory:
                self.dx.pop(0)
                self.df.pop(0)
        self.prev = (x, f)
        if not self.df:
            return gx
        F = np.stack(self.df, axis=1)
        X = np.stack(self.dx, axis=1)
        gamma, *_ = np.linalg.lstsq(F, f, rcond=None)
        return x + f - (X + F) @ gamma


def integrate_exponential(
    system: EigenmodeSystem,
    y0: np.ndarray,
    alpha: np.ndarray,
    config: ExponentialConfig | None = None,
    progress=None,
) -> tuple[np.ndarray, str, str, ExponentialStats]:
    """Integrate from ``alpha[0]`` and return the states at every ``alpha`` (columns).

    Parameters
    ----------
    system : EigenmodeSystem
        Float system.
    y0 : ndarray
        Packed initial state (:meth:`EigenmodeSystem.pack`).
    alpha : ndarray
        Strictly increasing output times.
    config : ExponentialConfig, optional
    progress : callable, optional
        Called with the current alpha after every accepted step.

    Returns
    -------
    ys : ndarray (size, T)
        Fewer columns than ``alpha`` when the integration failed part way.
    status : str
        ``"success"`` or ``"solver_failed"``.
    message : str
    stats : ExponentialStats
    """
    # Each propagation is thousands of small (K x K) products: OpenBLAS's threads gain nothing
    # there and fight numba's for the cores (measured on 2 cores: a full propagation 50 -> 29 ms,
    # a 13-mode one 8.3 -> 2.9 ms with BLAS on one thread).
    with threadpool_limits(limits=1, user_api="blas"):
        return _integrate(system, y0, alpha, config or ExponentialConfig(), progress)


def _integrate(system, y0, alpha, config: ExponentialConfig, progress):
    r, q = system.unpack(np.asarray(y0, dtype=float))
    frame = TeacherFrame.for_overlaps(r, system.t)
    prop = ModePropagator(system, frame)
    stats = ExponentialStats(frame_rank=frame.rho, frame_dropped=frame.dropped)
    state = prop.state_of(r, q)
    results = _Results(prop.L, prop.K, frame.rho)
    in_original = (np.empty(r.shape), np.empty(q.shape))  # the overlaps at output times
    anderson = _Anderson(config.anderson_memory)
    # one row per output alpha: each write is contiguous (columns of a (size, T) array would
    # touch every page of it at every output -- 600 MB and a tenth of the run at Fig. 6 size)
    out = np.empty((alpha.size, y0.size))
    out[0] = system.pack(r, q)
    # eps_g and its resolution at the outputs reached in deviation coordinates (NaN: from the overlaps)
    eps, floors = np.full(alpha.size, np.nan), np.full(alpha.size, np.nan)
    switchable = Specialised.applies_to(system.model)
    a_now = float(alpha[0])
    h = config.first_step
    C = prop.aggregate(r, q)
    G_now = prop.coefficients(C)
    guess = previous = None
    noise = _NoiseHold(prop, a_now, C, stats)
    just_rejected = False
    for col in range(1, alpha.size):
        target = float(alpha[col])
        while a_now < target:
            step = min(h, target - a_now)
            W = noise.frozen(step)
            result = _midpoint_step(prop, state, C, G_now, W, step, config, stats, guess, results, anderson)
            guess = None
            if result is None:  # the covariance iteration did not settle: shorten the step
                h = step / 2
                stats.rejected += 1
                if h < 1e-12 * max(1.0, a_now):
                    return ExponentialRun(
                        out[:col].T, "solver_failed", f"step size underflow at alpha = {a_now:.6g}", stats, eps, floors
                    )
                continue
            moved, C1, G1, end_covariance = result
            err = err_G = _trapezoid_error(prop, end_covariance, C1, G_now, G1, config)
            W1, err_W = None, 0.0
            if np.isfinite(err) and err <= 1.0 and W is not None:
                # the local tolerance of the student block (in deviation coordinates that of E, far
                # below max|C|: W is then evaluated again at the corrected end, or the stored ends
                # would jump by W' x correction and the hold's curvature estimate would stall)
                tolerance = 1.0 / prop.error_weights(C1, config.rtol, config.atol)[: prop.K, : prop.K].min()
                C1, W1, hold_error = noise.complete(moved, C1, W, step, tolerance)
                G1 = prop.coefficients(C1)
                stats.g_evaluations += 1
                err_W = _scaled_error(prop, C1, hold_error, config)
                err = max(err, err_W)
            if not np.isfinite(err):
                h = step / 4
                stats.rejected += 1
                if h < 1e-12 * max(1.0, a_now):
                    return ExponentialRun(
                        out[:col].T, "solver_failed", f"non-finite state at alpha = {a_now:.6g}", stats, eps, floors
                    )
                continue
            # midpoint and trapezoid rules differ by O(h^3); the noise hold's estimate is O(h^3) in the
            # slow modes and lower in the fast ones (quasi-static: h / mu^2; measured h^2 to h^3)
            factor = min(
                config.max_growth, max(0.2, 0.9 * min(max(err_G, 1e-12) ** (-1 / 3), max(err_W, 1e-12) ** -0.5))
            )
            if err > 1.0:
                h = step * factor
                stats.rejected += 1
                just_rejected = True
                continue
            if just_rejected:  # no growth straight after a rejection (damps the accept/reject cycle)
                factor, just_rejected = min(factor, 1.0), False
            stats.steps += 1
            state = moved.state()
            results.accept()
            noise.accept(a_now + step, W1)
            if step == h:  # a step cut short by an output point does not set the next size
                h = step * factor
            nxt = min(h, target - a_now - step) if target > a_now + step else h
            guess = _extrapolate_midpoint(previous, (a_now, C), (a_now + step, C1), a_now + step + 0.5 * nxt)
            previous = (a_now, C)
            C, G_now = C1, G1
            a_now += step
            if switchable and prop.reference is None:
                reference = Specialised.near(C, prop.K)
                if reference is not None:  # the tail: hold the deviations from the fixed point instead
                    state, C = prop.to_deviations(state, reference, in_original)
                    G_now = prop.coefficients(C)
                    guess = previous = None
                    anderson.restart(keep=False)
                    stats.deviation_alpha = a_now
            if progress is not None:
                progress(a_now)
        out[col] = system.pack(*prop.original_overlaps(state, in_original))
        if prop.reference is not None:
            eps[col], floors[col] = prop.eps(C), prop.eps_floor(C, config.atol)
    return ExponentialRun(out.T, "success", "integration finished", stats, eps, floors)


class _NoiseHold:
    r"""The noise term ``W`` over a step: the parabola through its values at the last step ends.

    ``W(C)`` enters only additively, :math:`\dot q_k \ni \eta a_k f_k W`, so per mode and pair
    (rate :math:`\mu = a_k(g_a + g_b)`, :math:`z = \mu h`) a polynomial ``W(s)`` over the step
    contributes exactly :math:`\eta a_k f_k h\sum_j j!\,\varphi_{j+1}(z)\,h^j c_j` for
    :math:`W(s) = \sum_j c_j s^j` (:math:`\int_0^1 e^{z(1-u)}u^j du = j!\,\varphi_{j+1}(z)`).
    Freezing ``W`` instead is first order for the fast modes, which follow ``W``
    quasi-statically (:math:`q_k \approx -\eta f_k W/(g_a + g_b)`): at the linear activation,
    where ``G`` is constant and ``W`` the modes' only coupling, that made the error 100x the
    tolerance at alpha = 10 and unbounded in the tail.

    The step's midpoint iteration runs with ``W`` frozen at :meth:`frozen` (the average over the
    step of the line through the last two ends); :meth:`complete` then evaluates
    :math:`W_{n+1} = W(C_{n+1})` and adds the difference between the hold and the frozen value
    exactly, per mode (the kernel ``hold_response``, built on
    :func:`~theorykit.committee.solve._closed_forms.phis`).  The hold is the parabola through
    :math:`\alpha_{n-1}, \alpha_n, \alpha_{n+1}` (the line at the first step).  Its error is
    estimated by the parabola's own term, :math:`W[\alpha_{n-1},\alpha_n,\alpha_{n+1}]\,s(s - h)`,
    whose response is :math:`h^3(2\varphi_3 - \varphi_2)(z)` times it: what a line would have
    missed, so an over-estimate of the parabola's error -- third order for slow modes and
    :math:`O(h/\mu^2)` for fast ones (measured h^2 to h^3 overall; the step-size control takes the
    square root).  The correction moves :math:`C_{n+1}` by :math:`O(\eta^2 h)` times the
    extrapolation error; where that exceeds :data:`REEVALUATE_ABOVE` of the local tolerance,
    ``W`` is evaluated again at the corrected end.
    """

    #: The end is evaluated again where the correction moves C by more than this share of the local tolerance.
    REEVALUATE_ABOVE = 0.01

    def __init__(self, prop: ModePropagator, alpha0: float, C0: np.ndarray, stats: ExponentialStats) -> None:
        self.prop, self.stats = prop, stats
        self.history: list[tuple[float, np.ndarray]] = []  # (alpha, W) at the last accepted step ends
        if not prop.sys.model.small_lr:
            self.history.append((alpha0, self._evaluate(C0)))

    def _evaluate(self, C: np.ndarray) -> np.ndarray:
        self.stats.w_evaluations += 1
        return self.prop.noise(0.5 * (C + C.T))

    def frozen(self, step: float) -> np.ndarray | None:
        """``W`` to freeze during the step's iteration: the line through the last two ends, at mid-step."""
        if not self.history:
            return None
        a_n, W_n = self.history[-1]
        if len(self.history) == 1:
            return W_n
        a_p, W_p = self.history[-2]
        return W_n + 0.5 * step / (a_n - a_p) * (W_n - W_p)

    def complete(self, moved: _Propagated, C1: np.ndarray, W_used, step: float, tolerance: float):
        """Put the hold into the propagated modes (in place); return ``C_{n+1}``, ``W_{n+1}`` and the
        hold's estimated error in the student block of ``C`` (``K x K``; None at the first step)."""
        prop, h, K = self.prop, step, self.prop.K
        a_n, W_n = self.history[-1]
        U = moved.U
        rotate = lambda X: U.T @ X @ U  # noqa: E731
        w = prop.noise_weight[moved.modes] * h

        curved = len(self.history) >= 2  # a parabola needs one end before W_n

        def hold(W_1, y=None):
            """The hold ending at ``W_1`` (into ``y`` when given): the aggregated correction, the
            error weight and the parabola's divided difference in the eigenbasis (zero without one)."""
            coefficients = _newton_coefficients([*self.history, (a_n + h, W_1)][-3:])
            d2 = coefficients[2] if curved else np.zeros_like(W_1)
            # the line W_n + s (W_1 - W_n)/h less the frozen W_used, plus the parabola's d2 s (s - h)
            D0, D1, D2 = rotate(W_n - W_used), rotate(W_1 - W_n), rotate(d2)
            aggregated, weight = _hold_response(moved.nu, h, w, moved.lam, D0, D1, D2, y)
            return U @ aggregated @ U.T, weight, d2

        # W_1 should be W at the *corrected* end: the correction moves C_{n+1} by eta^2 m_2 h times
        # the extrapolation error.  Where that move is far below the local tolerance (most steps)
        # W(C1) serves; otherwise W is evaluated again at the corrected end.
        C_end = C1.copy()
        W_1 = self._evaluate(C1)
        y_before = moved.y.copy()  # 2 ms at Fig. 6 size: cheaper than a second pass of the kernel
        correction, weight, d2 = hold(W_1, moved.y)
        if np.abs(correction).max() > self.REEVALUATE_ABOVE * tolerance:
            self.stats.w_reevaluations += 1
            C_end[:K, :K] = C1[:K, :K] + correction
            W_1 = self._evaluate(C_end)
            moved.y[...] = y_before
            correction, weight, d2 = hold(W_1, moved.y)
        C_end[:K, :K] = C1[:K, :K] + correction
        if not curved:
            return C_end, W_1, None
        # the parabola's own term, what a line would have missed: the hold's error estimate -- of
        # the curvature that W's evaluation resolves: values each within delta of W move the
        # divided difference by up to delta sum_i 1 / prod_j |a_i - a_j|, which is noise, not
        # curvature (left in, it grows as the step shrinks and stalls the step-size control)
        points = [*self.history, (a_n + h, W_1)][-3:]
        noise = prop.noise_accuracy(C_end, W_1) * _noise_gain(points)
        resolved = np.sign(d2) * np.maximum(np.abs(d2) - noise, 0.0)
        return C_end, W_1, U @ (weight * rotate(resolved)) @ U.T

    def accept(self, alpha: float, W: np.ndarray | None) -> None:
        if W is not None:
            self.history = [*self.history, (alpha, W)][-2:]


def _noise_gain(points: list[tuple[float, np.ndarray]]) -> float:
    """Largest change of the highest divided difference of ``points`` per unit change of each value."""
    alphas = [a for a, _ in points]
    return sum(1.0 / abs(np.prod([a - b for j, b in enumerate(alphas) if j != i])) for i, a in enumerate(alphas))


def _newton_coefficients(points: list[tuple[float, np.ndarray]]) -> list[np.ndarray]:
    """Divided differences of ``(alpha, W)`` points, newest last: ``[W_last, W[last two], W[last three], ...]``."""
    table = [W for _, W in points]
    alphas = [a for a, _ in points]
    out = [table[-1]]
    for order in range(1, len(points)):
        table = [(table[i + 1] - table[i]) / (alphas[i + order] - alphas[i]) for i in range(len(table) - 1)]
        out.append(table[-1])
    return out


def _polynomial_through(points: list[tuple[float, np.ndarray]], at: float) -> np.ndarray:
    """The line through two ``(alpha, value)`` points, or the parabola through three, at ``at``."""
    if len(points) == 2:
        (a0, V0), (a1, V1) = points
        return V1 + (at - a1) / (a1 - a0) * (V1 - V0)
    (a0, V0), (a1, V1), (a2, V2) = points
    l0 = (at - a1) * (at - a2) / ((a0 - a1) * (a0 - a2))
    l1 = (at - a0) * (at - a2) / ((a1 - a0) * (a1 - a2))
    l2 = (at - a0) * (at - a1) / ((a2 - a0) * (a2 - a1))
    return l0 * V0 + l1 * V1 + l2 * V2


def _extrapolate_midpoint(previous, start, end, at: float) -> np.ndarray:
    """First guess of the next midpoint covariance: the parabola through the last three
    accepted covariances (the line through the last two at the start), evaluated at ``at``."""
    return _polynomial_through([start, end] if previous is None else [previous, start, end], at)


class _EndCovariance:
    r""":math:`C_{n+1}(G)` for one state, step and frozen ``W``, cheap enough to iterate on.

    Slow modes (:math:`a_k h\,2\|\mathcal G\|_2 \le 3` for the ``G`` at the start of the step)
    are summed by :class:`~theorykit.committee.solve._slow_series.SlowModeSeries`, the rest are
    propagated exactly; a trial ``G`` too large for the series gets the exact propagation of
    every mode.
    """

    def __init__(
        self, prop: ModePropagator, state: ModeState, W, h: float, G_start, stats: ExponentialStats, scratch
    ) -> None:
        bound = lyapunov_bound(G_start, prop.n)
        fast, slow = split_modes(prop.a, prop.by_rate, prop.rate_ordered, h, bound)
        self.prop, self.state, self.W, self.h, self.stats, self.scratch = prop, state, W, h, stats, scratch
        self.fast = np.arange(prop.L)[fast]
        self.fast_state = state.subset(fast)
        has_slow = self.fast.size < prop.L
        self.series = None
        if has_slow:
            frame = prop.frame.subset(slow)
            self.series = SlowModeSeries(prop.a, prop.lam, prop.noise_weight, state, frame, prop.t, W, h, slow, bound)

    def __call__(self, G: np.ndarray) -> np.ndarray:
        p, stats = self.prop, self.stats
        C = None if self.series is None else self.series.covariance(G)
        if C is None:  # no slow modes, or G left the range the series was built for
            stats.propagations += 1
            return p.propagate(self.state, G, self.W, self.h, out=self.scratch).covariance()
        stats.series_evaluations += 1
        if self.fast.size:
            stats.fast_mode_steps += self.fast.size
            C = C + p.propagate(self.fast_state, G, self.W, self.h, modes=self.fast).covariance()
        return 0.5 * (C + C.T)


def _midpoint_step(
    prop: ModePropagator,
    state: ModeState,
    C,
    G_start,
    W,
    h,
    config: ExponentialConfig,
    stats,
    guess,
    results: _Results,
    acc: _Anderson,
):
    """One exponential step with ``G`` frozen at the self-consistent midpoint covariance.

    The iteration runs on :class:`_EndCovariance`; the accepted ``G`` then propagates every
    mode exactly once.  Returns the propagated modes, the covariance at the end of the step,
    ``G`` there and the covariance evaluator (reused by the error estimate), or ``None`` when
    the Anderson iteration does not settle within ``max_iterations``.
    """
    end_covariance = _EndCovariance(prop, state, W, h, G_start, stats, results.scratch)
    x = (C if guess is None else guess).ravel()
    acc.restart()
    # the covariance is iterated to iteration_tolerance of the local tolerance (down to round-off,
    # 1e-15 relative), block by block in deviation coordinates; Anderson runs on the scaled entries
    weights = prop.error_weights(
        C, config.iteration_tolerance * config.rtol, config.iteration_tolerance * config.atol, 1e-15
    ).ravel()
    for _ in range(config.max_iterations):
        Cm = x.reshape(C.shape)
        G = prop.coefficients(0.5 * (Cm + Cm.T))
        stats.g_evaluations += 1
        if not np.all(np.isfinite(G)):  # an iterate outside the covariances G is defined on: a shorter step
            acc.restart(keep=False)
            return None
        C_trial = end_covariance(G)
        gx = (0.5 * (C + C_trial)).ravel()
        if not np.all(np.isfinite(gx)):
            acc.restart(keep=False)
            return None
        if np.abs((gx - x) * weights).max() <= 1.0:
            moved = prop.propagate(state, G, W, h, out=results.step)
            stats.propagations += 1
            C_end = moved.covariance()
            # the series and the exact propagation answer the same question: a cross-check
            stats.series_mismatch = max(
                stats.series_mismatch, float(np.abs(C_end - C_trial).max() / np.abs(C_end).max())
            )
            G_end = prop.coefficients(C_end)
            stats.g_evaluations += 1
            return moved, C_end, G_end, end_covariance
        x = acc.step(x * weights, gx * weights) / weights
    acc.restart(keep=False)
    return None


def _trapezoid_error(prop, end_covariance, C1, G0, G1, config: ExponentialConfig) -> float:
    """Scaled difference between the midpoint step and a trapezoidal-``G`` step (both 2nd order)."""
    C_trap = end_covariance(0.5 * (G0 + G1))
    return _scaled_error(prop, C1, C_trap - C1, config)


def _scaled_error(prop, C1, difference, config: ExponentialConfig) -> float:
    """An error estimate ``difference`` of ``C1`` (``n x n``, or its ``K x K`` student block; None: 0)
    as a multiple of the tolerance, on ``C`` and on :math:`\varepsilon_g`."""
    if difference is None:
        return 0.0
    E = np.zeros_like(C1)
    k = difference.shape[0]
    E[:k, :k] = difference
    err_C = np.abs(E * prop.error_weights(C1, config.rtol, config.atol)).max()
    e1, e_other = prop.eps(C1), prop.eps(C1 + E)
    # relative to eps_g down to the round-off its evaluation allows, not below
    err_e = abs(e1 - e_other) / (config.atol + config.rtol * abs(e1) + prop.eps_floor(C1))
    return max(err_C, err_e)
