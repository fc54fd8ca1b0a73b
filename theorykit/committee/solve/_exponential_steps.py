r"""One step of the structured exponential integrator, and its error.

*The step.*  :func:`midpoint_step` freezes ``G`` at the self-consistent *average* of the
covariance over the step, :math:`\bar C = \frac1h\int_0^h C(s; G(\bar C))\,ds` (Anderson
acceleration on the ``n x n`` covariance, :class:`StepAverage` answering each trial exactly from
the slow-mode series and the few fast modes), and the noise term ``W`` at an extrapolated value
that :class:`NoiseHold` replaces by the exact response to its parabola afterwards.  Both are
second order.

*Why the average, not the mean of the ends.*  For slow modes the two agree to :math:`O(h^2)`.
Fast modes (:math:`|a_k g h| \gg 1`) follow ``G`` quasi-statically; at the end of a step with
``G`` frozen at :math:`G_{n+1/2}` they sit at the response to :math:`G_{n+1/2}`, half a step
behind the true one, so :math:`\tfrac12(C_n + C_{n+1})` -- what the iteration used until December
2026 -- held their share at the response to :math:`G_n`: the feedback through them lagged by
half a step, an error first order in ``h`` that the slow modes integrated.  The exact average
over the step holds their share at the response to :math:`G_{n+1/2}` itself, plus the
relaxation from the step's start, which is the first-order adiabatic lag of the true solution.
Measured (``benchmarks/exponential_accuracy.py``: erf, K = M = 2, L = 64, rtol 1e-6, against
LSODA at 1e-11): the error of :math:`\varepsilon_g` at alpha = 1e5 fell from 3.0e-5 to 6.9e-8,
and the run took 4004 steps instead of 5166.

*Its error: step doubling.*  :func:`doubled_step` takes each step twice -- as one step of size
``h`` and as two of ``h/2`` -- and returns the Richardson extrapolation
:math:`(4y_{h/2} - y_h)/3` of every mode.  The difference of the two answers is the error
estimate: local errors :math:`c h^3` and :math:`2c(h/2)^3` leave :math:`(y_{h/2} - y_h)/3` as
the error of the half steps, which the extrapolated answer improves on.  It replaces an
estimate that compared the midpoint rule with the trapezoidal rule for ``G``: both freeze ``G``
once over the step, so they share the error of the frozen ``G``'s rotation and of the drive
that moves with it (the commutator terms of the Magnus expansion), and that estimate saw a
twentieth of the true local error at the escape of a K = 2 committee (measured: 0.7 of the
tolerance at a step whose true error was about 15 times it) -- the run's error was then 1000x
its rtol after the escape and 50x in the tail of a K = 1 run.  Doubling sees every error of the
step, the noise hold's included, and the extrapolation makes the returned answer third order.

*Measured against what.*  :class:`~theorykit.committee.solve._error_scale.ErrorScale`: relative
to ``max|C|``, the part that breaks the students' symmetry relative to itself (the seed of the
escape), and in deviation coordinates each block relative to its own size; and
:math:`\varepsilon_g` relative to itself down to its resolution.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ...core.threads import in_parallel
from ._closed_forms import kernels
from ._error_scale import ErrorScale
from ._mode_frame import ModeState
from ._slow_series import SlowModeSeries, lyapunov_bound, split_modes

if TYPE_CHECKING:
    from .exponential import ExponentialConfig, ExponentialStats, ModePropagator

_hold_response = kernels()[1]


class StepBuffers:
    """Result buffers of the full propagations, so that none is allocated per step.

    ``state`` holds the accepted state; a doubled step writes its first half into ``half``, its
    second half into ``step`` (where the extrapolated result is formed) and the single step over
    the whole into ``big``; trials that propagate every mode write into ``scratch``.  Accepting
    swaps ``step`` and ``state``, so no propagation overwrites the state it starts from or a
    result still being combined.
    """

    def __init__(self, L: int, K: int, rho: int) -> None:
        self.state, self.step, self.half, self.big, self.scratch = (
            (np.empty((L, K, rho)), np.empty((L, K, K))) for _ in range(5)
        )

    def accept(self) -> None:
        self.state, self.step = self.step, self.state


class Anderson:
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


class NoiseHold:
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
    step of the line through the last two ends); :meth:`complete` then takes
    :math:`W_{n+1} = W(C_{n+1})` and adds the difference between the hold and the frozen value
    exactly, per mode (the kernel ``hold_response``, built on
    :func:`~theorykit.committee.solve._closed_forms.phis`).  The hold is the parabola through
    :math:`\alpha_{n-1}, \alpha_n, \alpha_{n+1}` (the line at the first step).  The correction
    moves :math:`C_{n+1}` by :math:`O(\eta^2 h)` times the extrapolation error; where that exceeds
    :data:`REEVALUATE_ABOVE` of the local tolerance, ``W`` is evaluated again at the corrected
    end.  The hold's error is part of what the step doubling measures (:func:`doubled_step`).
    """

    #: The end is evaluated again where the correction moves C by more than this share of the local tolerance.
    REEVALUATE_ABOVE = 0.01

    def __init__(self, prop: ModePropagator, alpha0: float, C0: np.ndarray, stats) -> None:
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

    def complete(self, moved, C1: np.ndarray, W_used, step: float, scale: ErrorScale, W_end=None):
        """Put the hold into the propagated modes (in place); return ``C_{n+1}`` and ``W_{n+1}``.

        ``scale`` measures changes of ``C`` against the local tolerance; ``W_end``, when given,
        is the value of ``W`` the hold ends at (known from a finer computation of the same
        step: no evaluation).
        """
        prop, h, K = self.prop, step, self.prop.K
        a_n, W_n = self.history[-1]
        U = moved.U
        rotate = lambda X: U.T @ X @ U  # noqa: E731
        w = prop.noise_weight[moved.modes] * h
        curved = len(self.history) >= 2  # a parabola needs one end before W_n

        def hold(W_1, y):
            """The hold ending at ``W_1``, into ``y``: the aggregated correction of ``C``'s student block."""
            coefficients = newton_coefficients([*self.history, (a_n + h, W_1)][-3:])
            d2 = coefficients[2] if curved else np.zeros_like(W_1)
            # the line W_n + s (W_1 - W_n)/h less the frozen W_used, plus the parabola's d2 s (s - h)
            D0, D1, D2 = rotate(W_n - W_used), rotate(W_1 - W_n), rotate(d2)
            aggregated, _weight = _hold_response(moved.nu, h, w, moved.lam, D0, D1, D2, y)
            return U @ aggregated @ U.T

        C_end = C1.copy()
        if W_end is not None:
            C_end[:K, :K] = C1[:K, :K] + hold(W_end, moved.y)
            return C_end, W_end
        # W_1 should be W at the *corrected* end: the correction moves C_{n+1} by eta^2 m_2 h times
        # the extrapolation error.  Where that move is far below the local tolerance (most steps)
        # W(C1) serves; otherwise W is evaluated again at the corrected end.
        W_1 = self._evaluate(C1)
        y_before = moved.y.copy()  # 2 ms at Fig. 6 size: cheaper than a second pass of the kernel
        correction = hold(W_1, moved.y)
        if scale.measure(correction) > self.REEVALUATE_ABOVE:
            self.stats.w_reevaluations += 1
            C_end[:K, :K] = C1[:K, :K] + correction
            W_1 = self._evaluate(C_end)
            moved.y[...] = y_before
            correction = hold(W_1, moved.y)
        C_end[:K, :K] = C1[:K, :K] + correction
        return C_end, W_1

    def restart(self, C) -> None:
        """Forget the ends (after a change of coordinates): ``W`` at ``C`` only."""
        if self.history:
            self.history = [(self.history[-1][0], self._evaluate(C))]

    def accept(self, alpha: float, W: np.ndarray | None) -> None:
        if W is not None:
            self.history = [*self.history, (alpha, W)][-2:]


def newton_coefficients(points: list[tuple[float, np.ndarray]]) -> list[np.ndarray]:
    """Divided differences of ``(alpha, W)`` points, newest last: ``[W_last, W[last two], W[last three], ...]``."""
    table = [W for _, W in points]
    alphas = [a for a, _ in points]
    out = [table[-1]]
    for order in range(1, len(points)):
        table = [(table[i + 1] - table[i]) / (alphas[i + order] - alphas[i]) for i in range(len(table) - 1)]
        out.append(table[-1])
    return out


def polynomial_through(points: list[tuple[float, np.ndarray]], at: float) -> np.ndarray:
    """The line through two ``(alpha, value)`` points, or the parabola through three, at ``at``."""
    if len(points) == 2:
        (a0, V0), (a1, V1) = points
        return V1 + (at - a1) / (a1 - a0) * (V1 - V0)
    (a0, V0), (a1, V1), (a2, V2) = points
    l0 = (at - a1) * (at - a2) / ((a0 - a1) * (a0 - a2))
    l1 = (at - a0) * (at - a2) / ((a1 - a0) * (a1 - a2))
    l2 = (at - a0) * (at - a1) / ((a2 - a0) * (a2 - a1))
    return l0 * V0 + l1 * V1 + l2 * V2


class StepAverage:
    r""":math:`\bar C(G) = \frac1h\int_0^h C(s)\,ds` for one state, step and frozen ``W``: the
    covariance the midpoint iteration freezes ``G`` at, cheap enough to iterate on.

    Slow modes (:math:`a_k h\,2\|\mathcal G\|_2 \le 3` for the ``G`` at the start of the step)
    are summed by :class:`~theorykit.committee.solve._slow_series.SlowModeSeries`, the rest are
    propagated exactly (:meth:`ModePropagator.propagate` with ``average``); a trial ``G`` too
    large for the series gets the exact average of every mode.
    """

    def __init__(self, prop: ModePropagator, state: ModeState, W, h: float, G_start, stats, scratch) -> None:
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
        C = None if self.series is None else self.series.covariance(G, average=True)
        if C is None:  # no slow modes, or G left the range the series was built for
            stats.propagations += 1
            return p.propagate(self.state, G, self.W, self.h, out=self.scratch, average=True).covariance()
        stats.series_evaluations += 1
        if self.fast.size:
            stats.fast_mode_steps += self.fast.size
            C = C + p.propagate(self.fast_state, G, self.W, self.h, modes=self.fast, average=True).covariance()
        return 0.5 * (C + C.T)

    def series_mismatch(self, G: np.ndarray, moved, C_end: np.ndarray) -> float:
        """The series' slow-mode share of :math:`C_{n+1}` against the exact propagation ``moved`` of
        every mode with the same ``G`` (its covariance ``C_end``; relative to ``max|C_end|``, 0
        without series): a cross-check."""
        if self.series is None:
            return 0.0
        slow = self.series.covariance(G)
        if slow is None:
            return 0.0
        exact_slow = C_end - moved.covariance(self.fast) if self.fast.size else C_end
        return float(np.abs(exact_slow - 0.5 * (slow + slow.T)).max() / np.abs(C_end).max())


def midpoint_step(
    prop: ModePropagator,
    state: ModeState,
    C,
    G_start,
    W,
    h,
    config,
    stats,
    guess,
    buffers: StepBuffers,
    acc: Anderson,
    out,
):
    r"""One exponential step with ``G`` frozen at the self-consistent average covariance.

    The iteration :math:`\bar C = \frac1h\int_0^h C(s; G(\bar C))\,ds` runs on
    :class:`StepAverage`; the accepted ``G`` then propagates every mode exactly once, into
    ``out``.  Returns the propagated modes and the covariance at the end of the step, or
    ``None`` when the Anderson iteration does not settle within ``max_iterations`` or leaves the
    covariances ``G`` is defined on.
    """
    step_average = StepAverage(prop, state, W, h, G_start, stats, buffers.scratch)
    x = (C if guess is None else guess).ravel()
    acc.restart()
    # the covariance is iterated to iteration_tolerance of the local tolerance (down to round-off,
    # 1e-15 relative), block by block in deviation coordinates; Anderson runs on the scaled entries
    scale = prop.error_scale(
        C, config.iteration_tolerance * config.rtol, config.iteration_tolerance * config.atol, 1e-15
    )
    shape = C.shape
    for _ in range(config.max_iterations):
        Cm = x.reshape(C.shape)
        G = prop.coefficients(0.5 * (Cm + Cm.T))
        stats.g_evaluations += 1
        if not np.all(np.isfinite(G)):  # an iterate outside the covariances G is defined on: a shorter step
            acc.restart(keep=False)
            return None
        gx = step_average(G).ravel()
        if not np.all(np.isfinite(gx)):
            acc.restart(keep=False)
            return None
        if np.abs(scale((gx - x).reshape(shape))).max() <= 1.0:
            moved = prop.propagate(state, G, W, h, out=out)
            stats.propagations += 1
            C_end = moved.covariance()
            stats.series_mismatch = max(stats.series_mismatch, step_average.series_mismatch(G, moved, C_end))
            return moved, C_end
        x = scale.inverse(
            acc.step(scale(x.reshape(shape)).ravel(), scale(gx.reshape(shape)).ravel()).reshape(shape)
        ).ravel()
    acc.restart(keep=False)
    return None


class Doubled(NamedTuple):
    """An extrapolated step (:func:`doubled_step`).

    Attributes
    ----------
    state : ModeState
        Every mode after the step (in ``buffers.step``).
    C : ndarray (n, n)
        Their aggregated covariance.
    W_half, W_end : ndarray or None
        ``W`` at the middle and at the end of the step (None without the noise term).
    error : float
        The estimated error of the half steps as a multiple of the tolerance (> 1: reject;
        NaN or inf: the step left the covariances the equations are defined on).
    """

    state: ModeState
    C: np.ndarray
    W_half: np.ndarray | None
    W_end: np.ndarray | None
    error: float


def plain_step(prop, state, C, G_start, noise: NoiseHold, h, config, stats, guess, buffers, acc, out, W_end=None):
    """One :func:`midpoint_step` with the noise hold put in: ``(moved, C_end, W_end)`` or None."""
    W = noise.frozen(h)
    result = midpoint_step(prop, state, C, G_start, W, h, config, stats, guess, buffers, acc, out)
    if result is None:
        return None
    moved, C_end = result
    if W is None:
        return moved, C_end, None
    C_end, W_end = noise.complete(moved, C_end, W, h, prop.error_scale(C_end, config.rtol, config.atol), W_end)
    return moved, C_end, W_end


def doubled_step(
    prop: ModePropagator,
    state: ModeState,
    C: np.ndarray,
    G_start: np.ndarray,
    noise: NoiseHold,
    alpha: float,
    h: float,
    previous: tuple[float, np.ndarray] | None,
    config: ExponentialConfig,
    stats: ExponentialStats,
    buffers: StepBuffers,
    acc: Anderson,
) -> Doubled | None:
    """The step from ``alpha`` to ``alpha + h`` as two half steps and as one, extrapolated.

    The half steps go first, so that the whole step's noise hold can end at the second half's
    ``W`` (no evaluation of its own; the two ends differ by the step's error).  ``previous`` is
    the accepted ``(alpha, C)`` before this one (None: none), for the first guesses of the midpoint
    covariances.  Returns None where an iteration did not settle; the noise hold's ends are left
    as they were.
    """
    history = noise.history
    known = [(alpha, C)] if previous is None else [previous, (alpha, C)]

    def guess(points, at):
        return None if len(points) < 2 else polynomial_through(points[-3:], at)

    try:
        first = plain_step(
            prop,
            state,
            C,
            G_start,
            noise,
            h / 2,
            config,
            stats,
            guess(known, alpha + h / 4),
            buffers,
            acc,
            buffers.half,
        )
        if first is None:
            return None
        moved_half, C_half, W_half = first
        noise.accept(alpha + h / 2, W_half)
        known.append((alpha + h / 2, C_half))
        G_half = prop.coefficients(C_half)
        stats.g_evaluations += 1
        second = plain_step(
            prop,
            moved_half.state(),
            C_half,
            G_half,
            noise,
            h / 2,
            config,
            stats,
            guess(known, alpha + 3 * h / 4),
            buffers,
            acc,
            buffers.step,
        )
        if second is None:
            return None
        moved_end, C_end, W_end = second
        noise.history = history
        whole = plain_step(
            prop, state, C, G_start, noise, h, config, stats, 0.5 * (C + C_end), buffers, acc, buffers.big, W_end
        )
        if whole is None:
            return None
    finally:
        noise.history = history
    moved_big, C_big, _ = whole
    difference = C_end - C_big
    combined = _extrapolate(moved_end, moved_big)
    C1 = C_end + difference / 3
    C1 = 0.5 * (C1 + C1.T)
    # the half steps' error, (y_{h/2} - y_h) / 3, in C and in eps_g (relative, down to its resolution)
    error_C = prop.error_scale(C1, config.rtol, config.atol).measure(difference) / 3
    e_end, e_big = prop.eps(C_end), prop.eps(C_big)
    error_eps = abs(e_end - e_big) / 3 / (config.atol + config.rtol * abs(e_end) + prop.eps_floor(C1))
    return Doubled(combined, C1, W_half, W_end, max(error_C, error_eps))


def _extrapolate(fine, coarse) -> ModeState:
    """:math:`(4 y_{h/2} - y_h) / 3` of every mode, in the eigenbasis of ``fine`` (in its buffers)."""
    V = fine.U.T @ coarse.U  # from the coarse step's eigenbasis to the fine one's
    x, y = fine.x, fine.y

    def combine(part: slice) -> None:
        xc = np.matmul(V[None], coarse.x[part])
        yc = np.matmul(np.matmul(V[None], coarse.y[part]), V.T[None])
        x[part] *= 4.0 / 3.0
        x[part] -= xc / 3.0
        y[part] *= 4.0 / 3.0
        y[part] -= yc / 3.0

    in_parallel(combine, x.shape[0])
    return ModeState(x, y, fine.U)
