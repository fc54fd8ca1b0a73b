r"""Compiled step of the exponential integrator (numba; tested against its NumPy twin).

:func:`advance` -- the closed forms of :mod:`theorykit.committee.solve._closed_forms`, fused into one
parallel loop.  Every exponential of a pair is a product of per-index ones,
:math:`e^{\mu} = E_aE_b` with :math:`\mu = \nu_a + \nu_b`, so the K (K + 1) / 2 pairs of a
mode need no transcendental call: ``expm1`` and ``exp`` run K times per mode and each pair is
divisions.  ``expm1(mu) = em_a + em_b + em_a em_b`` keeps full relative accuracy when
:math:`\nu_a` and :math:`\nu_b` share a sign (no cancellation); a pair of opposite signs calls
``expm1`` itself.  The divided differences :math:`f[\mu, \nu_b, 0]` take, like
:func:`~theorykit.committee.solve._closed_forms.divided_difference2`, the formula with the largest
divisor: with :math:`f[\mu, \nu_b] = E_b\,\varphi_1(\nu_a)` every candidate is built from
per-index values and :math:`\varphi_1(\mu)`.

The kernel also forms the drives :math:`U^TG_t r_k^TU` and :math:`U^TG_t t_kG_t^TU` itself from
the teacher frame's factors when those are small (outer products at L = N), per mode in a
buffer that stays in cache.  It lives at module level so that numba's on-disk cache finds it
again in the next process (functions made inside a function are compiled afresh every time:
2.5 s per run).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._closed_forms import TAYLOR_BELOW, dd_taylor


@numba.njit(cache=True)
def _phi1_of(z, em):
    """phi1(z) from em = expm1(z)."""
    if abs(z) < 1e-8:
        return 1.0 + 0.5 * z
    return em / z


taylor = numba.njit(cache=True)(dd_taylor)  # the NumPy twin's Taylor branch, compiled


@numba.njit(cache=True)
def _with_zeros(mu, nu_b, nu_a, pair, single_mu, single_b, nodes):
    """f[mu, nu_b, 0, ...] on ``nodes`` nodes, with mu - nu_b = nu_a, from the differences on one
    node fewer: ``pair`` = f[mu, nu_b, 0, ...] (one zero fewer), ``single_mu``, ``single_b`` =
    f[mu, 0, ...], f[nu_b, 0, ...]; the rule of the NumPy twin ``_closed_forms._with_zeros``."""
    d_xy, d_x, d_y = abs(nu_a), abs(mu), abs(nu_b)
    big = max(d_xy, d_x, d_y)
    if big < TAYLOR_BELOW:
        return taylor(mu, nu_b, nodes)
    if d_xy == big:
        return (single_mu - single_b) / nu_a
    if d_x == big:
        return (pair - single_b) / mu
    return (pair - single_mu) / nu_b


@numba.njit(cache=True)
def _dd2(mu, nu_b, nu_a, p_mu, p_b, dd1):
    """f[mu, nu_b, 0] with mu - nu_b = nu_a, p_mu = phi1(mu), p_b = phi1(nu_b), dd1 = f[mu, nu_b]."""
    return _with_zeros(mu, nu_b, nu_a, dd1, p_mu, p_b, 3)


@numba.njit(cache=True)
def _drives(k, x0, b, Hx, Hb, hf, rank):
    """Mode k's drives H x0^T and H b^T (K x K): as stored (rank 0), or the outer products of the
    teacher frame's factors, formed in a mode-sized buffer."""
    if rank == 0:
        return Hx[k], Hb[k]
    K = x0.shape[1]
    hx, hb = np.empty((K, K)), np.empty((K, K))
    for i in range(K):
        for j in range(K):
            sx = 0.0
            sb = 0.0
            for m in range(rank):
                sx += hf[k, i, m] * x0[k, j, m]
                sb += hf[k, i, m] * b[k, j, m]
            hx[i, j] = sx
            hb[i, j] = sb
    return hx, hb


@numba.njit(cache=True, parallel=True)
def _advance(nu, a, h, x0, b, y0, Hx, Hb, hf, rank, Wt, has_w, noise_weight, x1, y1):
    L, K, M = x0.shape
    for k in numba.prange(L):
        ak = a[k]
        E = np.empty(K)  # exp, expm1 and phi1 of each nu once per mode, not once per pair
        Em = np.empty(K)
        P = np.empty(K)
        for i in range(K):
            E[i] = math.exp(nu[k, i])
            Em[i] = math.expm1(nu[k, i])
            P[i] = _phi1_of(nu[k, i], Em[i])
            p = h * ak * P[i]
            for m in range(M):
                x1[k, i, m] = E[i] * x0[k, i, m] + p * b[k, i, m]
        hx, hb = _drives(k, x0, b, Hx, Hb, hf, rank)
        for i in range(K):
            for j in range(i, K):
                mu = nu[k, i] + nu[k, j]
                if nu[k, i] * nu[k, j] >= 0.0:
                    em_mu = Em[i] + Em[j] + Em[i] * Em[j]
                else:  # opposite signs: the product formula would cancel
                    em_mu = math.expm1(mu)
                p_mu = _phi1_of(mu, em_mu)
                # f[mu, nu_j] = E_j phi1(nu_i): the step from nu_j to mu is nu_i
                s_ij = hx[i, j] * h * E[j] * P[i]
                s_ij += ak * hb[i, j] * h * h * _dd2(mu, nu[k, j], nu[k, i], p_mu, P[j], E[j] * P[i])
                s_ji = hx[j, i] * h * E[i] * P[j]
                s_ji += ak * hb[j, i] * h * h * _dd2(mu, nu[k, i], nu[k, j], p_mu, P[i], E[i] * P[j])
                v = E[i] * E[j] * y0[k, i, j] + ak * (s_ij + s_ji)
                if has_w:
                    v += noise_weight[k] * h * p_mu * Wt[i, j]
                y1[k, i, j] = v
                y1[k, j, i] = v


@numba.njit(cache=True)
def _dd3(mu, nu_b, nu_a, dd2, q_mu, q_b):
    """f[mu, nu_b, 0, 0] with mu - nu_b = nu_a, dd2 = f[mu, nu_b, 0], q_mu, q_b = phi2 of mu, nu_b."""
    return _with_zeros(mu, nu_b, nu_a, dd2, q_mu, q_b, 4)


@numba.njit(cache=True, parallel=True)
def _average(nu, a, h, x0, b, y0, Hx, Hb, hf, rank, Wt, has_w, noise_weight, x1, y1):
    L, K, M = x0.shape
    for k in numba.prange(L):
        ak = a[k]
        E = np.empty(K)
        P = np.empty(K)  # phi1 of each nu
        Q = np.empty(K)  # phi2 of each nu
        for i in range(K):
            E[i] = math.exp(nu[k, i])
            P[i], Q[i], _ = _phi123(nu[k, i])
            p = h * ak * Q[i]
            for m in range(M):
                x1[k, i, m] = P[i] * x0[k, i, m] + p * b[k, i, m]
        hx, hb = _drives(k, x0, b, Hx, Hb, hf, rank)
        for i in range(K):
            for j in range(i, K):
                mu = nu[k, i] + nu[k, j]
                p_mu, q_mu, _ = _phi123(mu)
                d2_ij = _dd2(mu, nu[k, j], nu[k, i], p_mu, P[j], E[j] * P[i])
                d2_ji = _dd2(mu, nu[k, i], nu[k, j], p_mu, P[i], E[i] * P[j])
                s_ij = hx[i, j] * h * d2_ij + ak * hb[i, j] * h * h * _dd3(mu, nu[k, j], nu[k, i], d2_ij, q_mu, Q[j])
                s_ji = hx[j, i] * h * d2_ji + ak * hb[j, i] * h * h * _dd3(mu, nu[k, i], nu[k, j], d2_ji, q_mu, Q[i])
                v = p_mu * y0[k, i, j] + ak * (s_ij + s_ji)
                if has_w:
                    v += noise_weight[k] * h * q_mu * Wt[i, j]
                y1[k, i, j] = v
                y1[k, j, i] = v


def average(nu, a, h, x0, b, y0, Hx, Hb, Wt, noise_weight, out=None, hf=None):
    """Same arguments and result as :func:`~theorykit.committee.solve._closed_forms.average_numpy`."""
    return _run(_average, nu, a, h, x0, b, y0, Hx, Hb, Wt, noise_weight, out, hf)


def _run(kernel, nu, a, h, x0, b, y0, Hx, Hb, Wt, noise_weight, out, hf):
    has_w = Wt is not None
    W = np.ascontiguousarray(Wt) if has_w else np.zeros((1, 1))
    x1, y1 = (np.empty_like(x0), np.empty_like(y0)) if out is None else out
    unused = np.zeros((1, 1, 1))
    if Hx is None:
        args = (unused, unused, np.ascontiguousarray(hf), hf.shape[2])
    else:
        args = (Hx, Hb, unused, 0)
    kernel(nu, a, float(h), x0, b, y0, *args, W, has_w, noise_weight, x1, y1)
    return x1, y1


def advance(nu, a, h, x0, b, y0, Hx, Hb, Wt, noise_weight, out=None, hf=None):
    """Same arguments and result as :func:`~theorykit.committee.solve._closed_forms.advance_numpy`."""
    return _run(_advance, nu, a, h, x0, b, y0, Hx, Hb, Wt, noise_weight, out, hf)


@numba.njit(cache=True)
def _phi123(z):
    """phi1, phi2, phi3 of z: Taylor series below |z| = 1/2 (up to 14 terms, stopped once z^j is
    below 1e-17: the rest is below round-off of the leading 1/p!), else the recursion from expm1."""
    if abs(z) < 0.5:
        p1, p2, p3 = 0.0, 0.0, 0.0
        t1, t2, t3 = 1.0, 0.5, 1.0 / 6.0  # 1/(j + p)! for j = 0, updated as j grows
        zj = 1.0
        for j in range(14):
            p1 += zj * t1
            p2 += zj * t2
            p3 += zj * t3
            zj *= z
            if abs(zj) < 1e-17:  # slow modes: a handful of terms
                break
            t1 /= j + 2
            t2 /= j + 3
            t3 /= j + 4
        return p1, p2, p3
    p1 = math.expm1(z) / z
    p2 = (p1 - 1.0) / z
    return p1, p2, (p2 - 0.5) / z


@numba.njit(cache=True, parallel=True)
def _hold_response(nu, h, w, lam, D0, D1, D2, y, apply, agg, err_weight, first, second):
    L = nu.shape[0]
    # one pair (i, j >= i) per iteration: each thread owns its pairs, so no race on the sums, and
    # the threads' shares are even (split by rows i, the first of 2 threads had three quarters)
    for p in numba.prange(first.size):
        i, j = first[p], second[p]
        s_resp = 0.0
        s_err = 0.0
        for k in range(L):
            p1, p2, p3 = _phi123(nu[k, i] + nu[k, j])
            curvature = h * h * (2.0 * p3 - p2)
            r = w[k] * (p1 * D0[i, j] + p2 * D1[i, j] + curvature * D2[i, j])
            if apply:
                y[k, i, j] += r
                if j != i:
                    y[k, j, i] += r
            s_resp += lam[k] * r
            s_err += lam[k] * w[k] * curvature
        agg[i, j] = s_resp
        agg[j, i] = s_resp
        err_weight[i, j] = s_err
        err_weight[j, i] = s_err


def hold_response(nu, h, w, lam, D0, D1, D2, y=None):
    """Same arguments and result as :func:`~theorykit.committee.solve._closed_forms.hold_response_numpy` (symmetric D's)."""
    K = nu.shape[1]
    agg, err_weight = np.empty((K, K)), np.empty((K, K))
    target = y if y is not None else np.zeros((1, 1, 1))
    args = [np.ascontiguousarray(0.5 * (D + D.T)) for D in (D0, D1, D2)]
    first, second = np.triu_indices(K)
    _hold_response(
        np.ascontiguousarray(nu),
        float(h),
        np.ascontiguousarray(w),
        np.ascontiguousarray(lam),
        *args,
        target,
        y is not None,
        agg,
        err_weight,
        first,
        second,
    )
    return agg, err_weight
