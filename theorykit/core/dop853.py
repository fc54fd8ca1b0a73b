r"""Dormand--Prince 8(5,3) with dense output, in NumPy alone: SciPy's ``DOP853``, step for step.

Why a second copy of an integrator SciPy has: importing :mod:`scipy.integrate` loads
``scipy.optimize``, ``scipy.sparse.linalg`` and ``scipy.special`` (about 0.5-0.9 s), which is
most of what a small ``theorykit solve`` process spends before its first step, while the
integration itself takes a tenth of that.  This module is the same algorithm as
``solve_ivp(fun, t_span, y0, method="DOP853", t_eval=...)`` in SciPy 1.x -- the same tableau
(:mod:`._dop853_coefficients`), initial step, error norm (the 5th- and 3rd-order estimates
combined), step-size rule (safety 0.9, factors 0.2-10, no growth right after a rejection),
minimum step and 7th-order interpolant at the output times -- written as the same NumPy
operations in the same order, so the numbers are SciPy's bit for bit (tested against SciPy on
several systems, failures included).  Everything else in theorykit that integrates with SciPy
still does.

The method: with stages :math:`k_s = f(t + c_s h, y + h\sum_{j<s} a_{sj} k_j)`,
:math:`y_{new} = y + h\sum_s b_s k_s`; the error is
:math:`\|h\,e_5\|^2/\sqrt{(\|e_5\|^2 + 0.01\|e_3\|^2)\,n}` with
:math:`e_{5,3} = \sum_s E_{5,3,s} k_s / (atol + rtol\max(|y|, |y_{new}|))`, a step is accepted
when it is below 1, and the next step is :math:`h\min(10, \max(0.2, 0.9\,err^{-1/8}))`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import _dop853_coefficients as tableau

N_STAGES = tableau.N_STAGES
A = tableau.A[:N_STAGES, :N_STAGES]
B = tableau.B
C = tableau.C[:N_STAGES]
E3, E5 = tableau.E3, tableau.E5
D = tableau.D
A_EXTRA = tableau.A[N_STAGES + 1 :]
C_EXTRA = tableau.C[N_STAGES + 1 :]

SAFETY = 0.9
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0
ERROR_EXPONENT = -1 / 8  # -1 / (error estimator order 7 + 1)
EPS = np.finfo(float).eps

#: The messages of SciPy's ``solve_ivp`` for the same outcomes.
SUCCESS = "The solver successfully reached the end of the integration interval."
TOO_SMALL_STEP = "Required step size is less than spacing between numbers."


@dataclass(frozen=True)
class Run:
    """What :func:`dop853` returns (the fields of SciPy's ``OdeResult`` that theorykit reads).

    Attributes
    ----------
    t : ndarray
        The output times reached (all of ``t_eval`` on success).
    y : ndarray, shape (n, len(t))
    success : bool
    message : str
    nfev : int
        Right-hand sides evaluated.
    """

    t: np.ndarray
    y: np.ndarray
    success: bool
    message: str
    nfev: int


def _rms(x: np.ndarray) -> float:
    return np.linalg.norm(x) / x.size**0.5


def dop853(
    fun: Callable[[float, np.ndarray], np.ndarray],
    t_span: tuple[float, float],
    y0: np.ndarray,
    t_eval: np.ndarray,
    rtol: float = 1e-3,
    atol: float = 1e-6,
    max_step: float = np.inf,
) -> Run:
    """Integrate ``dy/dt = fun(t, y)`` forward over ``t_span``; ``y`` at the times ``t_eval``.

    Parameters
    ----------
    fun : callable
        ``fun(t, y)`` returns dy/dt (shape of ``y``).
    t_span : (t0, t_end)
        ``t_end > t0``.
    y0 : ndarray
        Real initial state (1-D, finite).
    t_eval : ndarray
        Increasing output times within ``t_span``.
    rtol, atol : float
        Local error tolerances, as SciPy's (``rtol`` raised to ``100 eps`` if below it).
    max_step : float
        Largest step (> 0).

    Returns
    -------
    Run
        ``success`` False with SciPy's message when the step size underflows; the output
        times reached until then are kept.  Exceptions raised by ``fun`` propagate.
    """
    t0, t_bound = map(float, t_span)
    if not t_bound > t0:
        raise ValueError("t_span must increase")
    if max_step <= 0:
        raise ValueError("max_step must be positive")
    y = np.asarray(y0).astype(float, copy=False)
    if y.ndim != 1 or not np.isfinite(y).all():
        raise ValueError("y0 must be a 1-D array of finite numbers")
    t_eval = np.asarray(t_eval, dtype=float)
    if t_eval.ndim != 1 or np.any(np.diff(t_eval) <= 0) or t_eval[0] < t0 or t_eval[-1] > t_bound:
        raise ValueError("t_eval must increase within t_span")
    rtol = max(rtol, 100 * EPS)
    atol = np.asarray(atol)
    n = y.size
    nfev = 0

    def f_of(t: float, state: np.ndarray) -> np.ndarray:
        nonlocal nfev
        nfev += 1
        return np.asarray(fun(t, state), dtype=float)

    f = f_of(t0, y)
    h_abs = _initial_step(f_of, t0, y, t_bound, max_step, f, rtol, atol)
    K_extended = np.empty((tableau.N_STAGES_EXTENDED, n))
    K = K_extended[: N_STAGES + 1]
    t = t0
    ts: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    next_output = 0
    while True:
        # one accepted step (SciPy's RungeKutta._step_impl)
        min_step = 10 * np.abs(np.nextafter(t, np.inf) - t)
        if h_abs > max_step:
            h_abs = max_step
        elif h_abs < min_step:
            h_abs = min_step
        accepted = rejected = False
        while not accepted:
            if h_abs < min_step:
                return _run(ts, ys, n, False, TOO_SMALL_STEP, nfev)
            h = h_abs
            t_new = t + h
            if t_new - t_bound > 0:
                t_new = t_bound
            h = t_new - t
            h_abs = np.abs(h)
            y_new, f_new = _rk_step(f_of, t, y, f, h, K)
            scale = atol + np.maximum(np.abs(y), np.abs(y_new)) * rtol
            error_norm = _error_norm(K, h, scale)
            if error_norm < 1:
                factor = MAX_FACTOR if error_norm == 0 else min(MAX_FACTOR, SAFETY * error_norm**ERROR_EXPONENT)
                if rejected:
                    factor = min(1, factor)
                h_abs *= factor
                accepted = True
            else:
                h_abs *= max(MIN_FACTOR, SAFETY * error_norm**ERROR_EXPONENT)
                rejected = True
        t_old, y_old = t, y
        t, y, f = t_new, y_new, f_new
        # the output times in (t_old, t] from the step's interpolant (solve_ivp's t_eval loop)
        last = np.searchsorted(t_eval, t, side="right")
        if last > next_output:
            F = _interpolant(f_of, K_extended, h, t_old, y_old, y, f)
            ts.append(t_eval[next_output:last])
            ys.append(_interpolate(F, t_old, t, y_old, t_eval[next_output:last]))
            next_output = last
        if t - t_bound >= 0:
            return _run(ts, ys, n, True, SUCCESS, nfev)


def _run(ts: list, ys: list, n: int, success: bool, message: str, nfev: int) -> Run:
    t = np.hstack(ts) if ts else np.empty(0)
    y = np.hstack(ys) if ys else np.empty((n, 0))
    return Run(t, y, success, message, nfev)


def _initial_step(fun, t0: float, y0: np.ndarray, t_bound: float, max_step: float, f0, rtol, atol) -> float:
    """Hairer, Norsett & Wanner's starting step (SciPy's ``select_initial_step``, order 7)."""
    interval_length = abs(t_bound - t0)
    scale = atol + np.abs(y0) * rtol
    d0 = _rms(y0 / scale)
    d1 = _rms(f0 / scale)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    h0 = min(h0, interval_length)
    y1 = y0 + h0 * 1.0 * f0
    f1 = fun(t0 + h0 * 1.0, y1)
    d2 = _rms((f1 - f0) / scale) / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1 / 8)
    return min(100 * h0, h1, interval_length, max_step)


def _rk_step(fun, t: float, y: np.ndarray, f: np.ndarray, h: float, K: np.ndarray):
    K[0] = f
    for s, (a, c) in enumerate(zip(A[1:], C[1:]), start=1):
        dy = np.dot(K[:s].T, a[:s]) * h
        K[s] = fun(t + c * h, y + dy)
    y_new = y + h * np.dot(K[:-1].T, B)
    f_new = fun(t + h, y_new)
    K[-1] = f_new
    return y_new, f_new


def _error_norm(K: np.ndarray, h: float, scale: np.ndarray) -> float:
    err5 = np.dot(K.T, E5) / scale
    err3 = np.dot(K.T, E3) / scale
    err5_norm_2 = np.linalg.norm(err5) ** 2
    err3_norm_2 = np.linalg.norm(err3) ** 2
    if err5_norm_2 == 0 and err3_norm_2 == 0:
        return 0.0
    denom = err5_norm_2 + 0.01 * err3_norm_2
    return np.abs(h) * err5_norm_2 / np.sqrt(denom * len(scale))


def _interpolant(fun, K: np.ndarray, h: float, t_old: float, y_old, y, f) -> np.ndarray:
    """The coefficients of the 7th-order interpolant over the last step (three extra stages)."""
    for s, (a, c) in enumerate(zip(A_EXTRA, C_EXTRA), start=N_STAGES + 1):
        dy = np.dot(K[:s].T, a[:s]) * h
        K[s] = fun(t_old + c * h, y_old + dy)
    F = np.empty((tableau.INTERPOLATOR_POWER, y_old.size))
    f_old = K[0]
    delta_y = y - y_old
    F[0] = delta_y
    F[1] = h * f_old - delta_y
    F[2] = 2 * delta_y - h * (f + f_old)
    F[3:] = h * np.dot(D, K)
    return F


def _interpolate(F: np.ndarray, t_old: float, t: float, y_old: np.ndarray, times: np.ndarray) -> np.ndarray:
    x = ((times - t_old) / (t - t_old))[:, None]
    out = np.zeros((len(x), len(y_old)))
    for i, coefficient in enumerate(reversed(F)):
        out += coefficient
        if i % 2 == 0:
            out *= x
        else:
            out *= 1 - x
    out += y_old
    return out.T
