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
Each step therefore freezes ``G`` at the *self-consistent average covariance of the step*
:math:`\bar C = \frac1h\int_0^h C(s; G(\bar C))\,ds` (exact per mode: one more node at 0 in
every divided difference), found by Anderson acceleration on the ``n x n`` covariance (a small
space: its size does not grow with the number of modes).  The average, rather than the mean of
the step's ends, holds the fast modes' share at their response to the ``G`` of the step itself
(:mod:`theorykit.committee.solve._exponential_steps` says why that matters).
``W`` (the :math:`O(\eta^2)` noise term; weak feedback) enters additively, so it needs no
iteration: the step runs with it frozen at an extrapolated value, and the exact response to the
parabola through its values at the step ends replaces that afterwards
(:class:`~theorykit.committee.solve._exponential_steps.NoiseHold`).

*Cheap trials.*  Each trial needs only the *sum* :math:`\bar C` over the modes, not
the modes.  The slow modes (:math:`a_k h\,2\|\mathcal G\|_2 \le 3`, most of a power-law
spectrum) enter it through a Taylor series in their moments, :mod:`theorykit.committee.solve._slow_series`
(:math:`O(P n^3)` per trial, exact to round-off); only the few fast modes are propagated per
trial.  Every accepted step then propagates all modes exactly once, and that propagation
cross-checks the series' own end value (``ExponentialStats.series_mismatch``).  The mode rotations run on
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

*Accuracy control.*  Every step is taken twice, as one step and as two half steps, and the
Richardson extrapolation of the two is kept (:mod:`theorykit.committee.solve._exponential_steps`):
their difference measures every error of the step -- the frozen ``G``'s, the noise hold's, and
the lag of fast modes behind a moving ``G`` -- where the earlier companion (the trapezoidal
rule for ``G``) shared most of them and saw a twentieth of the error at an escape.  It is
measured in ``C`` (:mod:`theorykit.committee.solve._error_scale`: the students' symmetric part
against ``max|C|``, the part that breaks their symmetry against itself, in deviation
coordinates ``E`` against itself) and in :math:`\varepsilon_g` (relative, down to its round-off
resolution :func:`~theorykit.committee.solve.eigenmode.eps_resolution`) and sets the step size;
a step after a rejection does not grow.  The global error of :math:`\varepsilon_g` is then
within 10x ``rtol`` (tested against DOP853 and LSODA at tight tolerance and the exact linear
solution; tables from ``benchmarks/exponential_accuracy.py`` in docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from threadpoolctl import threadpool_limits

from ...core.threads import in_parallel
from ._closed_forms import advance_numpy, divided_difference2, hold_response_numpy, kernels, phi1, phi2  # noqa: F401  (public here)
from ._deviation import Specialised
from ._error_scale import ErrorScale, error_scale
from ._exponential_steps import Anderson, NoiseHold, StepBuffers, doubled_step
from ._mode_frame import ModeState, TeacherFrame
from .eigenmode import EPS_ROUNDOFF, EigenmodeSystem, eps_resolution


@dataclass(frozen=True)
class ExponentialConfig:
    """Settings of :func:`integrate_exponential`.

    Attributes
    ----------
    rtol, atol : float
        Local tolerances on the aggregated covariance ``C`` and on :math:`\\varepsilon_g`; the
        step doubling keeps the global error of :math:`\\varepsilon_g` within about 10x ``rtol``.
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
    mode propagations; ``series_mismatch`` is the largest relative difference between the series'
    slow-mode share of the step's end and the exact propagation of a converged midpoint step (a
    built-in cross-check: round-off, ~1e-13).
    ``w_evaluations`` counts evaluations of the noise matrix ``W`` (at the end of each half
    step, :class:`~theorykit.committee.solve._exponential_steps.NoiseHold`), ``w_reevaluations``
    those repeated at the corrected end because the correction was not small.  ``steps``
    counts accepted doubled steps (each three midpoint steps: two halves and the whole).  ``frame_rank`` is the number of teacher-side coordinates
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

    def error_scale(self, C: np.ndarray, rtol: float, atol: float, floor: float = 0.0) -> ErrorScale:
        """Differences of ``C`` as multiples of ``atol + (rtol + floor) * scale``
        (:mod:`theorykit.committee.solve._error_scale`).

        The scale is ``max|C|`` in the overlaps' coordinates, and the part of a difference that
        breaks the students' permutation symmetry is measured against the broken part of ``C``
        (small on a plateau, and the seed of the escape); in deviation coordinates ``E`` against
        ``max|E|`` (so that :math:`\varepsilon_g`, of the order of ``E``, stays controlled) and
        ``d`` against the overlaps' scale ``max|T|``.
        """
        return error_scale(C, self.K, rtol, atol, floor, deviations=self.reference is not None)

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
        self, state: ModeState, G: np.ndarray, W, h: float, modes=None, out: tuple | None = None, average: bool = False
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
        kernel = _average if average else _advance
        x1, y1 = kernel(nu, a, h, x0, b, y0, *products, Wt, self.noise_weight[every], out=result, hf=HF)
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


class _Propagated:
    """Per-mode state after a step, in the eigenbasis ``U`` of the frozen :math:`G_s`."""

    def __init__(self, prop: ModePropagator, U, x, y, lam, frame: TeacherFrame, teacher, nu, modes) -> None:
        self.prop, self.U, self.x, self.y = prop, U, x, y
        self.lam, self.frame, self.teacher = lam, frame, teacher
        self.nu, self.modes = nu, modes  # the rates a_k g_a h of the step, and which modes it moved

    def state(self) -> ModeState:
        return ModeState(self.x, self.y, self.U)

    def covariance(self, modes: np.ndarray | None = None) -> np.ndarray:
        r""":math:`\sum_k\lambda_k\Omega^{(k)}` over the propagated modes (``n x n``), or over
        some of them (``modes``: indices into the propagated ones)."""
        U, prop = self.U, self.prop
        if modes is None:
            lam, x, y, frame, teacher = self.lam, self.x, self.y, self.frame, self.teacher
        else:
            lam, x, y, frame = self.lam[modes], self.x[modes], self.y[modes], self.frame.subset(modes)
            teacher = np.tensordot(lam, prop.t[self.modes][modes], axes=1)
        R = U @ frame.weighted_rows(lam[None], x)[0]
        Q = U @ np.tensordot(lam, y, axes=1) @ U.T
        C = prop.assemble(R, Q)
        C[prop.K :, prop.K :] = teacher
        return C


_advance, _, _average = kernels()


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
    buffers = StepBuffers(prop.L, prop.K, frame.rho)
    in_original = (np.empty(r.shape), np.empty(q.shape))  # the overlaps at output times
    anderson = Anderson(config.anderson_memory)
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
    previous = None
    noise = NoiseHold(prop, a_now, C, stats)
    just_rejected = False

    def failed(col: int, why: str) -> ExponentialRun:
        return ExponentialRun(out[:col].T, "solver_failed", f"{why} at alpha = {a_now:.6g}", stats, eps, floors)

    for col in range(1, alpha.size):
        target = float(alpha[col])
        while a_now < target:
            step = min(h, target - a_now)
            done = doubled_step(prop, state, C, G_now, noise, a_now, step, previous, config, stats, buffers, anderson)
            if done is None or not np.isfinite(done.error):
                # an iteration that did not settle, or a state outside the covariances G is defined on
                h = step / (2 if done is None else 4)
                stats.rejected += 1
                if h < 1e-12 * max(1.0, a_now):
                    return failed(col, "step size underflow" if done is None else "non-finite state")
                continue
            # the half steps' local error is O(h^3) (lower where fast modes lag a moving G: measured
            # h^1 to h^3 at the escape, so growth is also capped and held after a rejection)
            factor = min(config.max_growth, max(0.2, 0.9 * max(done.error, 1e-12) ** (-1 / 3)))
            if done.error > 1.0:
                h = step * factor
                stats.rejected += 1
                just_rejected = True
                continue
            if just_rejected:  # no growth straight after a rejection (damps the accept/reject cycle)
                factor, just_rejected = min(factor, 1.0), False
            stats.steps += 1
            state = done.state
            buffers.accept()
            noise.accept(a_now + step / 2, done.W_half)
            noise.accept(a_now + step, done.W_end)
            if step == h:  # a step cut short by an output point does not set the next size
                h = step * factor
            previous = (a_now, C)
            C = done.C
            G_now = prop.coefficients(C)
            stats.g_evaluations += 1
            a_now += step
            if switchable and prop.reference is None:
                reference = Specialised.near(C, prop.K)
                if reference is not None:  # the tail: hold the deviations from the fixed point instead
                    state, C = prop.to_deviations(state, reference, in_original)
                    G_now = prop.coefficients(C)
                    previous = None
                    anderson.restart(keep=False)
                    stats.deviation_alpha = a_now
            if progress is not None:
                progress(a_now)
        out[col] = system.pack(*prop.original_overlaps(state, in_original))
        if prop.reference is not None:
            eps[col], floors[col] = prop.eps(C), prop.eps_floor(C, config.atol)
    return ExponentialRun(out.T, "success", "integration finished", stats, eps, floors)
