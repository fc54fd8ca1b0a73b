r"""Closed forms of one exponential step with frozen ``G`` and ``W`` (NumPy; no numba needed).

Per mode, in the eigenbasis of :math:`G_s` (rates :math:`\nu_a = a_k g_a h`), the student-teacher
block grows as :math:`e^{\nu_a}` and is driven through :math:`\varphi_1`; the student-student
block grows as :math:`e^{\nu_a + \nu_b}` and is driven through the second divided difference of
``exp``.  :mod:`theorykit.committee.solve._numba_kernels` computes the same in one compiled loop.
"""

from __future__ import annotations

import math

import numpy as np


def phi1(z: np.ndarray) -> np.ndarray:
    """:math:`(e^z - 1)/z`, accurate near 0."""
    z = np.asarray(z, dtype=float)
    out = np.ones_like(z)
    nz = np.abs(z) > 1e-8
    out[nz] = np.expm1(z[nz]) / z[nz]
    out[~nz] = 1 + z[~nz] / 2
    return out


def phi2(z: np.ndarray) -> np.ndarray:
    """:math:`(e^z - 1 - z)/z^2`, accurate near 0."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    small = np.abs(z) < 1e-4
    zs = z[small]
    out[small] = 0.5 + zs / 6 + zs * zs / 24
    zb = z[~small]
    out[~small] = (np.expm1(zb) - zb) / (zb * zb)
    return out


def phis(z: np.ndarray, order: int = 3) -> list[np.ndarray]:
    r""":math:`[\varphi_1, \dots, \varphi_{order}]` of ``z``, :math:`\varphi_p(z) = \sum_{j\ge0} z^j/(j + p)!`.

    Taylor series (14 terms, remainder below 1e-17 relative) for :math:`|z| < 1/2`; elsewhere the
    recursion :math:`\varphi_{p+1} = (\varphi_p - 1/p!)/z` from ``expm1``, which loses at most
    one digit per order at :math:`|z| = 1/2` and none as :math:`|z|` grows.
    """
    z = np.asarray(z, dtype=float)
    small = np.abs(z) < 0.5
    zb = np.where(small, 1.0, z)
    out = [np.expm1(zb) / zb]
    for p in range(1, order):
        out.append((out[-1] - 1.0 / math.factorial(p)) / zb)
    if small.any():
        zs = z[small]
        for p, values in enumerate(out, start=1):
            coefficients = [1.0 / math.factorial(j + p) for j in range(14)]
            acc = np.full(zs.shape, coefficients[-1])
            for c in coefficients[-2::-1]:
                acc = acc * zs + c
            values[small] = acc
    return out


def divided_difference2(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""Second divided difference of ``exp`` at ``(x, y, 0)``: :math:`\int_0^1\!\int_0^s e^{\ldots}`.

    Three algebraically equal formulas divide by ``x - y``, ``x`` or ``y``; each element uses
    the one with the largest divisor, and the Taylor series :math:`\sum_p h_p(x, y)/(p + 2)!` to
    order 11 when all three are below :data:`TAYLOR_BELOW` (first omitted term below ``1e-18``
    relative).  The formulas then lose at most a digit to cancellation (a threshold of ``1e-3``
    with a third-order series, until December 2026, lost three and a half just above it).
    """
    return _with_zeros(x, y, 3, phi1, _dd1)


def divided_difference3(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""Third divided difference of ``exp`` at ``(x, y, 0, 0)``, :math:`f[x, y, 0, 0]`.

    Like :func:`divided_difference2`: of three algebraically equal formulas,
    :math:`(\varphi_2(x) - \varphi_2(y))/(x - y)`, :math:`(f[x, y, 0] - \varphi_2(y))/x` and
    :math:`(f[x, y, 0] - \varphi_2(x))/y`, each element takes the one with the largest divisor,
    and the Taylor series :math:`\sum_p h_p(x, y)/(p + 3)!` to order 11 where all three are below
    :data:`TAYLOR_BELOW` (first omitted term below ``1e-19`` relative).  :math:`\varphi_2` comes from
    :func:`phis` (its Taylor series below 1/2), so the formulas lose at most a digit or two near
    that threshold (measured against mpmath at 60 digits: below ``4e-14`` relative).
    """
    return _with_zeros(x, y, 4, lambda v: phis(v, 2)[1], divided_difference2)


def _with_zeros(x, y, nodes: int, single, pair) -> np.ndarray:
    r""":math:`f[x, y, 0, \ldots]` on ``nodes`` nodes from the differences on one node fewer:
    ``single(v)`` = :math:`f[v, 0, \ldots]` and ``pair(x, y)`` = :math:`f[x, y, 0, \ldots]` (one
    zero fewer).  Per element the formula with the largest divisor --
    ``(single(x) - single(y)) / (x - y)``, ``(pair - single(y)) / x`` or ``(pair - single(x)) / y``
    -- or the Taylor series :func:`dd_taylor` where all three divisors are below :data:`TAYLOR_BELOW`."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    out = np.empty(x.shape)
    d_xy, d_x, d_y = np.abs(x - y), np.abs(x), np.abs(y)
    big = np.maximum(np.maximum(d_xy, d_x), d_y)
    taylor = big < TAYLOR_BELOW
    out[taylor] = dd_taylor(x[taylor], y[taylor], nodes)
    use_xy = ~taylor & (d_xy == big)
    use_x = ~taylor & ~use_xy & (d_x == big)
    use_y = ~taylor & ~use_xy & ~use_x
    xs, ys = x[use_xy], y[use_xy]
    out[use_xy] = (single(xs) - single(ys)) / (xs - ys)
    xs, ys = x[use_x], y[use_x]
    out[use_x] = (pair(xs, ys) - single(ys)) / xs
    xs, ys = x[use_y], y[use_y]
    out[use_y] = (pair(xs, ys) - single(xs)) / ys
    return out


#: Below this largest node distance the divided differences f[x, y, 0] and f[x, y, 0, 0] are summed as Taylor series.
TAYLOR_BELOW = 0.2


def dd_taylor(x, y, nodes: int):
    r""":math:`f[x, y, 0, \ldots] = \sum_{p \le 11} h_p(x, y)/(p + \text{nodes} - 1)!` for ``nodes`` = 3 or 4
    (``x``, ``y`` and one or two zeros), with the complete symmetric polynomials
    :math:`h_{p+1}(x, y) = x h_p(x, y) + y^{p+1}`.  Scalars or arrays (compiled by numba as it is)."""
    total = 0.0 * x
    hp = 1.0 + 0.0 * x  # h_0
    yp = 1.0 + 0.0 * y  # y^p
    inverse = 0.5 if nodes == 3 else 1.0 / 6.0  # 1 / (p + nodes - 1)!
    for p in range(12):
        total = total + hp * inverse
        inverse /= p + nodes
        yp = yp * y
        hp = hp * x + yp
    return total


def _dd1(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """First divided difference of exp, ``(e^x - e^y)/(x - y)``, as ``e^max phi1(min - max)``."""
    hi, lo = np.maximum(x, y), np.minimum(x, y)
    return np.exp(hi) * phi1(lo - hi)


def advance_numpy(nu, a, h, x0, b, y0, Hx, Hb, Wt, noise_weight, out=None, hf=None):
    """Closed-form per-mode solution over one step (see the module docstring).

    The drives enter as :math:`H x_0^T` and :math:`H b^T` (``Hx``, ``Hb``, each L x K x K) or,
    when those are None, through the factor ``hf`` (:math:`H F_k`, L x K x rho): in a teacher
    frame of small rank they are outer products, cheaper to form per pair than to store.
    """
    if Hx is None:
        Hx, Hb = hf @ x0.transpose(0, 2, 1), hf @ b.transpose(0, 2, 1)
    E = np.exp(nu)
    p1 = phi1(nu)
    x1 = E[:, :, None] * x0 + (h * a[:, None] * p1)[:, :, None] * b
    mu = nu[:, :, None] + nu[:, None, :]  # (nu_a + nu_b) h
    # I1_ab = int_0^h e^{mu (h-s)} e^{nu_b s} ds = h e^{nu_b h} phi1(nu_a h)
    I1 = h * E[:, None, :] * p1[:, :, None]
    # I2_ab = int_0^h e^{mu (h-s)} s phi1(nu_b s) ds = h^2 f[mu h, nu_b h, 0]
    I2 = h * h * divided_difference2(mu, np.broadcast_to(nu[:, None, :], mu.shape))
    S = Hx * I1 + a[:, None, None] * Hb * I2
    y1 = np.exp(mu) * y0 + a[:, None, None] * (S + S.transpose(0, 2, 1))
    if Wt is not None:
        y1 = y1 + noise_weight[:, None, None] * h * phi1(mu) * Wt[None]
    if out is not None:
        out[0][...], out[1][...] = x1, y1
        return out
    return x1, y1


def average_numpy(nu, a, h, x0, b, y0, Hx, Hb, Wt, noise_weight, out=None, hf=None):
    r"""The average over the step of the per-mode solution of :func:`advance_numpy` (same arguments).

    Integrating the closed forms once more over the step adds a node at 0 to every divided
    difference: :math:`\bar x = \varphi_1(\nu)x_0 + h a\varphi_2(\nu)b` and, per pair,
    :math:`\bar y = \varphi_1(\mu)y_0 + a(\bar S + \bar S^T) + w h\varphi_2(\mu)W` with
    :math:`\bar S = h f[\mu, \nu_b, 0]\,H x_0^T + a h^2 f[\mu, \nu_b, 0, 0]\,H b^T`.
    """
    if Hx is None:
        Hx, Hb = hf @ x0.transpose(0, 2, 1), hf @ b.transpose(0, 2, 1)
    p1, p2 = phis(nu, 2)
    x1 = p1[:, :, None] * x0 + (h * a[:, None] * p2)[:, :, None] * b
    mu = nu[:, :, None] + nu[:, None, :]
    nu_b = np.broadcast_to(nu[:, None, :], mu.shape)
    S = Hx * (h * divided_difference2(mu, nu_b)) + a[:, None, None] * Hb * (h * h * divided_difference3(mu, nu_b))
    q1, q2 = phis(mu, 2)
    y1 = q1 * y0 + a[:, None, None] * (S + S.transpose(0, 2, 1))
    if Wt is not None:
        y1 = y1 + noise_weight[:, None, None] * h * q2 * Wt[None]
    if out is not None:
        out[0][...], out[1][...] = x1, y1
        return out
    return x1, y1


def hold_response_numpy(nu, h, w, lam, D0, D1, D2, y=None):
    r"""The noise hold's contribution over one step, per mode and pair (NumPy twin of the kernel).

    ``response_k = w_k [phi1(mu) D0 + phi2(mu) D1 + h^2 (2 phi3(mu) - phi2(mu)) D2]`` with
    :math:`\mu = \nu_a + \nu_b` (``nu``: L x K rates times ``h``), ``w`` (L,) the noise weights
    times ``h``, ``D0, D1, D2`` (K x K) in the step's eigenbasis.  Added to ``y`` when given.
    Returns :math:`\sum_k\lambda_k\,\mathrm{response}_k` and the error weight
    :math:`\sum_k\lambda_k w_k h^2 (2\varphi_3 - \varphi_2)(\mu)` (both K x K).
    """
    mu = nu[:, :, None] + nu[:, None, :]
    p1, p2, p3 = phis(mu, 3)
    curvature = h * h * (2 * p3 - p2)
    response = w[:, None, None] * (p1 * D0 + p2 * D1 + curvature * D2)
    if y is not None:
        y += response
    return np.tensordot(lam, response, axes=1), np.tensordot(lam * w, curvature, axes=1)


def kernels():
    """The per-mode kernels ``(advance, hold_response, average)``: compiled by numba where it is
    installed, else the NumPy forms of this module (the same closed forms, tested against each other)."""
    from ...core.optional import numba_available

    if numba_available():
        from ._numba_kernels import advance, average, hold_response

        return advance, hold_response, average
    return advance_numpy, hold_response_numpy, average_numpy
