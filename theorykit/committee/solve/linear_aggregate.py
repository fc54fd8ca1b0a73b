r"""The linear activation with K > 1 students, integrated through its aggregated student.

*Why.*  With :math:`g(z) = z` and one read-out weight :math:`c_K` for every student, each SGD
step moves every student by the *same* vector, :math:`\Delta J_i = \eta c_K\delta\,x/N`.  So the
differences :math:`u_i = J_i - S/K` from the mean (:math:`S = \sum_i J_i`) never change, and the
network's output, its error and every second moment that grows are those of the aggregated
student :math:`J' = c_K S` learning :math:`B' = c_M\sum_n B_n` as a K = M = 1 linear network with
learning rate :math:`\eta' = K c_K^2\eta` (the same SGD map, so the O(eta^2) terms and label noise
carry over exactly).  The students never approach a permutation of the teachers (only
:math:`\sum_i J_i` is learned), so the deviation coordinates of the exponential integrator
(:mod:`theorykit.committee.solve._deviation`) cannot switch on for the K-student system, and its
:math:`\varepsilon_g` -- a small difference of order-one overlaps -- was lost in the tail; for
K = M = 1 they do, and the tail is resolved.

*Reconstruction.*  Per mode k, with :math:`a_k = K c_K^2\eta\lambda_k`,

* :math:`\langle S, B_n\rangle_k` relaxes exactly to :math:`(c_M/c_K)\sum_m t_k[m, n]` at rate
  :math:`a_k` (first-order quantities have no O(eta^2) term), and
  :math:`r_k[i, n] = \langle u_i, B_n\rangle_k + \langle S, B_n\rangle_k / K`;
* :math:`\langle u_i, S\rangle_k` relaxes exactly to :math:`(c_M/c_K)\sum_m\langle u_i, B_m\rangle_k`
  at rate :math:`a_k`, and
  :math:`q_k[i, j] = \langle u_i, u_j\rangle_k + (\langle u_i, S\rangle_k + \langle u_j, S\rangle_k)/K
  + \langle S, S\rangle_k / K^2` with :math:`\langle S, S\rangle_k = q'_k / c_K^2` from the
  aggregated student's integration.

Checked against the K-student system integrated directly (tests/committee/solve/test_linear_aggregate.py).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..model import CommitteeModel
from .initial import Overlaps


def aggregable(model: CommitteeModel) -> bool:
    """Whether ``model`` is a linear committee of several students with one read-out weight and no
    weight decay (its students then move together; see the module docstring)."""
    return model.activation_name == "linear" and model.K > 1 and not model.per_unit_readout and not model.weight_decay


def aggregated(model: CommitteeModel, eta: float, init: Overlaps) -> tuple[CommitteeModel, float, Overlaps]:
    """The K = M = 1 linear network of the aggregated student: its model, learning rate and start."""
    c_K, c_M = model.c_K, model.c_M
    one = CommitteeModel(
        1, 1, model.spectrum, "linear", normalization="sqrt", noise=model.noise, small_lr=model.small_lr
    )
    r1 = c_K * c_M * init.r.sum(axis=(1, 2))[:, None, None]
    q1 = c_K**2 * init.q.sum(axis=(1, 2))[:, None, None]
    t1 = c_M**2 * init.t.sum(axis=(1, 2))[:, None, None]
    return one, model.K * c_K**2 * eta, Overlaps(r1, q1, t1)


def expand(model: CommitteeModel, eta: float, init: Overlaps, alpha: np.ndarray, q1: np.ndarray):
    """The K-student overlaps ``(r, q)`` at ``alpha`` from the aggregated student's ``q1`` (T, L, 1, 1)."""
    K, c_K, c_M = model.K, model.c_K, model.c_M
    lam = model.spectrum.lam
    r0, q0, t = init.r, init.q, init.t
    decay = np.exp(-K * c_K**2 * eta * lam[None, :] * np.asarray(alpha)[:, None])[:, :, None]  # (T, L, 1)
    SB0 = r0.sum(axis=1)  # <S, B_n>_k, (L, M)
    uB = r0 - SB0[:, None, :] / K  # <u_i, B_n>_k, constant
    SB = (c_M / c_K) * t.sum(axis=1)[None] + (SB0[None] - (c_M / c_K) * t.sum(axis=1)[None]) * decay
    r = uB[None] + SB[:, :, None, :] / K
    SS0 = q0.sum(axis=(1, 2))  # <S, S>_k
    uS0 = q0.sum(axis=2) - SS0[:, None] / K  # <u_i, S>_k, (L, K)
    uu = q0 - (uS0[:, :, None] + uS0[:, None, :]) / K - SS0[:, None, None] / K**2
    target = (c_M / c_K) * uB.sum(axis=2)  # (L, K)
    uS = target[None] + (uS0[None] - target[None]) * decay
    SS = q1[:, :, 0, 0] / c_K**2
    q = uu[None] + (uS[:, :, :, None] + uS[:, :, None, :]) / K + SS[:, :, None, None] / K**2
    return r, q


def solve_aggregated(model: CommitteeModel, eta: float, init: Overlaps, alpha, config, solve):
    """``solve(model, eta, init, alpha, config)`` through the aggregated student (``solve`` is
    :func:`theorykit.committee.solve.integrate.solve`, passed in to keep the import one-way)."""
    one, eta1, start = aggregated(model, eta, init)
    run = solve(one, eta1, start, alpha, config)
    r, q = expand(model, eta, init, run.alpha, run.q)
    stats = {**run.solver_stats, "aggregated": "linear students move together: the K = M = 1 network of their sum"}
    return replace(run, r=r, q=q, t=np.asarray(init.t), model=model, eta=eta, solver_stats=stats)
