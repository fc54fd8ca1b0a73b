r"""The Jacobian of the per-mode overlap equations in ball arithmetic (for certified eigenvalues).

Per eigenmode ``k`` the state is :math:`r_k` (K x M) and the upper triangle of :math:`q_k`
(K x K); with :math:`\Omega^{(k)}` their covariance block and
:math:`C = \sum_l\lambda_l\Omega^{(l)}`,

.. math::

    \dot r_k = \eta\lambda_k\,[G\,\Omega^{(k)}]_{:,K:},\qquad
    \dot q_k = \eta\lambda_k\,([G\,\Omega^{(k)}]_{:,:K} + [G\,\Omega^{(k)}]_{:,:K}^T) + \eta^2\lambda_k f_k W,

so a change of the variable ``y`` of mode ``l`` (covariance entries :math:`E_y`, symmetric)
moves mode ``k`` by

.. math::

    \eta\lambda_k\big(\delta_{kl}\,G E_y + \lambda_l\,\partial_y G\;\Omega^{(k)}\big)
    \;+\; \eta^2\lambda_k f_k\lambda_l\,\partial_y W .

``G`` and ``W`` are the written-out Stein coefficients
(:func:`~theorykit.committee.derive.expanded.stein_matrix`,
:func:`~theorykit.committee.derive.expanded.noise_matrix`), differentiated by SymPy and evaluated
by Arb at the covariance, so every entry is an enclosure.  This is a second route to the
Jacobian, independent of the generated tangents the float solvers use
(:meth:`~theorykit.committee.solve.eigenmode.EigenmodeSystem.jvp`); the tests compare the two.
"""

from __future__ import annotations

from functools import cache

from ..core.balls import arb_of_expr, ball, flint_module
from .model import CommitteeModel


@cache
def _derivatives(activation_name: str, K: int, M: int, normalization: str, small_lr: bool):
    """``G``, ``W`` and their derivatives along every per-mode variable's covariance symbol."""
    from .derive.expanded import covariance_symbol, noise_matrix, stein_matrix

    G = stein_matrix(activation_name, K, M, normalization)
    W = None if small_lr else noise_matrix(activation_name, K, M, normalization)
    variables = per_mode_variables(K, M)
    symbols = [covariance_symbol(a, b, K) for _, a, b in variables]
    dG = [G.diff(s) for s in symbols]
    dW = None if W is None else [W.diff(s) for s in symbols]
    return G, W, dG, dW


def per_mode_variables(K: int, M: int) -> list[tuple[str, int, int]]:
    """The variables of one mode: ``("r", i, K + m)`` row-major, then ``("q", i, j)`` for ``i <= j``
    (the order of :meth:`~theorykit.committee.solve.eigenmode.EigenmodeSystem.pack` within a mode)."""
    return [("r", i, K + m) for i in range(K) for m in range(M)] + [("q", i, j) for i in range(K) for j in range(i, K)]


class BallJacobian:
    """The full Jacobian (``L d x L d``, ``d = KM + K(K+1)/2``, mode-major) at per-mode overlaps given as balls.

    Parameters
    ----------
    model : CommitteeModel
        Any K, M, spectrum, normalisation and ``small_lr``; an activation whose kernels have
        closed forms (``erf``, ``linear``).
    """

    def __init__(self, model: CommitteeModel) -> None:
        self.model = model
        self.K, self.M, self.n = model.K, model.M, model.K + model.M
        self.variables = per_mode_variables(self.K, self.M)
        self.G, self.W, self.dG, self.dW = _derivatives(
            model.activation_name, model.K, model.M, model.normalization, model.small_lr
        )

    @property
    def size(self) -> int:
        return self.model.spectrum.L * len(self.variables)

    def at(self, eta, lam: list, f: list, omegas: list) -> list[list]:
        """The Jacobian as rows of arb, for per-mode covariance blocks ``omegas`` (``L`` lists of
        ``n x n`` arb, symmetric) and eigenvalues ``lam``, fractions ``f`` (balls); ``eta`` as written."""
        from .derive.expanded import covariance_symbol
        from .derive.odes import s2

        flint = flint_module()
        arb = flint.arb
        K, n, L = self.K, self.n, len(lam)
        C = [[sum((lk * om[a][b] for lk, om in zip(lam, omegas)), arb(0)) for b in range(n)] for a in range(n)]
        values = {covariance_symbol(a, b, K): C[a][b] for a in range(n) for b in range(a, n)}
        values[s2] = ball(self.model.noise) ** 2
        memo: dict = {}

        def matrix(m) -> list[list]:
            return [[arb_of_expr(m[a, b], values, memo) for b in range(m.cols)] for a in range(m.rows)]

        G = matrix(self.G)
        dG = [matrix(m) for m in self.dG]
        dW = None if self.dW is None else [matrix(m) for m in self.dW]
        e = ball(eta)
        d = len(self.variables)

        def component(kind: str, i: int, j: int, A) -> object:
            """The variable ``(kind, i, j)`` of ``A`` (K x n): ``A[i, j]`` for r, ``A[i, j] + A[j, i]`` for q."""
            return A(i, j) if kind == "r" else A(i, j) + A(j, i)

        rows = [[arb(0)] * (L * d) for _ in range(L * d)]
        for y, (_, a, b) in enumerate(self.variables):
            # G E_y: E_y has ones at (a, b) and (b, a)
            def g_e(i, c, a=a, b=b):
                out = arb(0)
                if c == b:
                    out += G[i][a]
                if c == a and a != b:
                    out += G[i][b]
                return out

            for k in range(L):
                om = omegas[k]

                def dg_om(i, c, y=y, om=om):
                    return sum((dG[y][i][x] * om[x][c] for x in range(n)), arb(0))

                for x, (kind, i, j) in enumerate(self.variables):
                    coupling = component(kind, i, j, dg_om)
                    if dW is not None and kind == "q":
                        coupling += e * f[k] * dW[y][i][j]
                    for l_ in range(L):
                        value = e * lam[k] * lam[l_] * coupling
                        if l_ == k:
                            value += e * lam[k] * component(kind, i, j, g_e)
                        rows[k * d + x][l_ * d + y] = value
        return rows
