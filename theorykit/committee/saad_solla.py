"""Saad & Solla (1995): the erf averages I3, I4 and the isotropic ODEs, as published.

Written once against a math backend (``"sympy"``, ``"mpmath"`` or ``"numpy"``), so the same
text serves symbolic identities, 40-digit comparisons and the benchmark baseline.  ``C`` is
the covariance of the pre-activations; g(z) = erf(z / sqrt 2); normalisation ``"sum"``.
"""

from __future__ import annotations

import numpy as np


def _backend(name: str):
    if name == "sympy":
        import sympy as sp

        return sp.sqrt, sp.asin, sp.pi
    if name == "mpmath":
        import mpmath

        return mpmath.sqrt, mpmath.asin, mpmath.pi
    if name == "numpy":
        return np.sqrt, np.arcsin, np.pi
    raise ValueError(f"backend must be sympy, mpmath or numpy, not {name!r}")


def i3(C, a, b, c, backend: str = "mpmath"):
    """:math:`I_3 = \\langle g'(u_a)\\, u_b\\, g(u_c)\\rangle`."""
    sqrt, _, pi = _backend(backend)
    lam3 = (1 + C[a, a]) * (1 + C[c, c]) - C[a, c] ** 2
    return 2 / pi / sqrt(lam3) * (C[b, c] * (1 + C[a, a]) - C[a, b] * C[a, c]) / (1 + C[a, a])


def i4(C, a, b, c, d, backend: str = "mpmath"):
    """:math:`I_4 = \\langle g'(u_a) g'(u_b) g(u_c) g(u_d)\\rangle`."""
    sqrt, asin, pi = _backend(backend)
    lam4 = (1 + C[a, a]) * (1 + C[b, b]) - C[a, b] ** 2
    lam0 = (
        lam4 * C[c, d]
        - C[b, c] * C[b, d] * (1 + C[a, a])
        - C[a, c] * C[a, d] * (1 + C[b, b])
        + C[a, b] * C[a, c] * C[b, d]
        + C[a, b] * C[a, d] * C[b, c]
    )
    lam1 = (
        lam4 * (1 + C[c, c])
        - C[b, c] ** 2 * (1 + C[a, a])
        - C[a, c] ** 2 * (1 + C[b, b])
        + 2 * C[a, b] * C[a, c] * C[b, c]
    )
    lam2 = (
        lam4 * (1 + C[d, d])
        - C[b, d] ** 2 * (1 + C[a, a])
        - C[a, d] ** 2 * (1 + C[b, b])
        + 2 * C[a, b] * C[a, d] * C[b, d]
    )
    return 4 / pi**2 / sqrt(lam4) * asin(lam0 / sqrt(lam1 * lam2))


def isotropic_rhs(Q, R, T, eta, backend: str = "mpmath", small_lr: bool = False):
    """dR/dalpha and dQ/dalpha of Saad & Solla for isotropic inputs (loops over units)."""
    K, M = R.shape
    C = np.block([[Q, R], [R.T, T]])
    stu, tea = range(K), range(K, K + M)
    dtype = float if backend == "numpy" else object
    dR = np.empty((K, M), dtype=dtype)
    dQ = np.empty((K, K), dtype=dtype)

    def drive(i, v):  # <delta_i u_v> with delta_i = g'(u_i) (sum_n g(b_n) - sum_j g(a_j))
        return sum(i3(C, i, v, p, backend) for p in tea) - sum(i3(C, i, v, j, backend) for j in stu)

    for i in stu:
        for n in range(M):
            dR[i, n] = eta * drive(i, K + n)
        for k in stu:
            dQ[i, k] = eta * (drive(i, k) + drive(k, i))
            if not small_lr:
                second = sum(i4(C, i, k, p, m, backend) for p in tea for m in tea)
                second -= 2 * sum(i4(C, i, k, j, p, backend) for j in stu for p in tea)
                second += sum(i4(C, i, k, j, l, backend) for j in stu for l in stu)
                dQ[i, k] += eta**2 * second
    return dR, dQ
