r"""Enclosures of the eigenvalues of a ball matrix: an exact similarity, then Gershgorin's discs.

For any invertible ``V`` the matrix :math:`D = V^{-1} J V` has the eigenvalues of ``J``; Arb
computes ``D`` with rigorous radii, so every eigenvalue of every matrix in the ball ``J`` lies
in the union of the discs :math:`|z - D_{ii}| \le \sum_{j\ne i}|D_{ij}|`, and a connected
union of ``k`` discs that meets no other disc holds exactly ``k`` of them (Gershgorin).
``V`` starts as NumPy's eigenvectors and is refined by first-order perturbation steps,
:math:`V \leftarrow V(I + X)` with :math:`X_{ij} = D_{ij}/(D_{jj} - D_{ii})` between distinct
eigenvalues, each of which squares the off-diagonal part; only the choice of ``V`` is
approximate, the similarity and the discs are exact.

Degenerate eigenvalues (the escape eigenvalue of a plateau is (K - 1)-fold degenerate by the
permutation symmetry) stay one cluster of overlapping discs, whose enclosure is as wide as the
double-precision eigenvectors left it (about 1e-15 relative); simple eigenvalues end as tight
as the working precision.  Arb's own ``acb_mat.eig`` needs every cluster isolated and fails on
the plateau Jacobians, which is why this module exists.
"""

from __future__ import annotations

from .balls import flint_module
from .errors import NumericalFailure

#: Refinement steps of the eigenvectors (each squares the off-diagonal part).
REFINEMENTS = 12
#: Eigenvalues closer than this (relative to the largest) are one cluster: not separated by ``X``.
CLUSTER = 1e-9


def _to_acb(matrix):
    """A NumPy complex matrix as an exact (zero-radius) acb_mat."""
    flint = flint_module()
    return flint.acb_mat([[flint.acb(complex(v)) for v in row] for row in matrix])


def similar_diagonal(rows: list, what: str):
    """``D = V^{-1} J V`` (acb_mat, enclosed) for the ball matrix ``rows``, nearly diagonal."""
    import numpy as np

    flint = flint_module()
    acb_mat, acb = flint.acb_mat, flint.acb
    J = acb_mat(flint.arb_mat(rows))
    n = J.nrows()
    mid = np.array([[float(v.mid()) for v in row] for row in rows])
    if not np.all(np.isfinite(mid)):
        raise NumericalFailure(f"{what}: the Jacobian is not finite")
    _, V = np.linalg.eig(mid)
    try:
        D = _to_acb(V).solve(J * _to_acb(V))
    except ZeroDivisionError:
        raise NumericalFailure(f"{what}: the eigenvector matrix is singular (a defective eigenvalue)") from None
    target = 2.0 ** (16 - flint.ctx.prec)
    for _ in range(REFINEMENTS):
        d = [complex(D[i, i].mid()) for i in range(n)]
        scale = max(abs(v) for v in d) or 1.0
        X = np.zeros((n, n), dtype=complex)
        worst = 0.0
        for i in range(n):
            for j in range(n):
                gap = d[j] - d[i]
                if i != j and abs(gap) > CLUSTER * scale:
                    X[i, j] = complex(D[i, j].mid()) / gap
                    worst = max(worst, abs(complex(D[i, j].mid())) / scale)
        if worst <= target:
            break
        # X in exact binary numbers: (I + X) is an exact matrix, its solve enclosed
        P = acb_mat([[acb(1 if i == j else 0) + acb(complex(X[i, j])) for j in range(n)] for i in range(n)])
        try:
            D = P.solve(D * P)
        except ZeroDivisionError:
            raise NumericalFailure(f"{what}: eigenvector refinement became singular") from None
    return D


def discs(D) -> list[tuple]:
    """Gershgorin discs of ``D`` as ``(centre, radius)``: complex centre, float radius bounding the disc."""
    n = D.nrows()
    out = []
    for i in range(n):
        centre = D[i, i]
        radius = sum((abs(D[i, j]) for j in range(n) if j != i), abs(centre - centre.mid()))
        out.append((centre.mid(), radius.upper()))
    return out


def max_real_part(rows: list, what: str):
    """An arb enclosure of the largest real part among the eigenvalues of the ball matrix ``rows``.

    The largest real part is at most :math:`\\max_i(\\mathrm{Re}\\,c_i + \\rho_i)` over all
    discs, and at least :math:`\\min_i(\\mathrm{Re}\\,c_i - \\rho_i)` over the connected component
    of discs that reaches furthest right (a component holds at least one eigenvalue).
    """
    flint = flint_module()
    D = similar_diagonal(rows, what)
    found = discs(D)
    n = len(found)
    component = list(range(n))  # union-find over discs that are not provably disjoint

    def root(i: int) -> int:
        while component[i] != i:
            component[i] = component[component[i]]
            i = component[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            gap = abs(found[i][0] - found[j][0])
            if not (gap > found[i][1] + found[j][1]):
                component[root(i)] = root(j)
    right = [c.real + r for c, r in found]
    top = max(range(n), key=lambda i: float(right[i].upper()))
    members = [i for i in range(n) if root(i) == root(top)]
    upper = max((right[i].upper() for i in range(n)), key=float)
    lower = min(((found[i][0].real - found[i][1]).lower() for i in members), key=float)
    return flint.arb(lower).union(flint.arb(upper))
