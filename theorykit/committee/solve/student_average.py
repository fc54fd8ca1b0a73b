"""The average over permutations of the students: one rule for every place that needs it.

Students are exchangeable: the equations are equivariant under permuting them, so the student
overlaps averaged over all ``K!`` permutations take three kinds of value -- per teacher the mean
student-teacher overlap, the mean self-overlap on the diagonal of ``Q`` and the mean
cross-overlap off it.  The fixed-point solvers project onto that subspace and the exponential
integrator measures errors against it (:mod:`theorykit.committee.solve._error_scale`).
"""

from __future__ import annotations

import numpy as np


def student_means(r: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Means over the students of ``r`` (``... x K x M``) and ``q`` (``... x K x K``).

    Returns ``(rows, diagonal, off)``: the student-teacher overlap per teacher averaged over the
    students (``... x M``), :math:`\frac1K\sum_i q_{ii}` and
    :math:`\frac1{K(K-1)}\sum_{i\ne j}q_{ij}` (the diagonal mean again for K = 1).  Leading axes
    are batch axes (modes); float and ``mpf`` (object) arrays alike.
    """
    K = q.shape[-1]
    rows = r.sum(axis=-2) / K
    diagonal = np.trace(q, axis1=-2, axis2=-1) / K
    off = (q.sum(axis=(-2, -1)) - K * diagonal) / (K * (K - 1)) if K > 1 else diagonal
    return rows, diagonal, off
