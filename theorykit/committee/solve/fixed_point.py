r"""Fixed points of the order-parameter ODEs and the linearisation around them (numbers only).

*Why the fixed point lives in aggregated variables.*  Per eigenmode the right-hand side is

.. math::

    \frac{dv_k}{d\alpha} = \eta\lambda_k\,[\,\mathcal B(G)\,v_k + F_k(G, W)\,],

with :math:`v_k = (r^{(k)}, q^{(k)})`, the linear map
:math:`\mathcal B(G): (r, q) \mapsto (G_s r,\; \mathrm{sym}(G_s q + G_t r^T))`
(:math:`G_s`, :math:`G_t` the student and teacher columns of the Stein coefficients) and the
forcing :math:`F_k = (G_t t^{(k)},\; \eta f_k W)`.  ``G`` and ``W`` depend on the aggregated
covariance :math:`C = \sum_k\lambda_k\Omega^{(k)}` only.  Summing the fixed-point conditions
with weights :math:`\lambda_k` gives the same equations for the aggregated overlaps
:math:`(R, Q) = \sum_k\lambda_k v_k`, with teacher :math:`T = \sum_k\lambda_k t^{(k)}` and
:math:`m_1 = \sum_k\lambda_k f_k` -- a system of ``KM + K(K+1)/2`` unknowns whatever ``L``;
the per-mode heights then follow from one linear solve per mode,
:math:`v_k = -\mathcal B^{-1}F_k`.

*Linearisation.*  Around a fixed point the Jacobian of the full system acts as

.. math::

    (J\,\delta v)_k = \eta\lambda_k\,[\,\mathcal B\,\delta v_k + \mathcal D_k\, s\,],\qquad
    s = \sum_j\lambda_j\,\delta v_j,

with :math:`\mathcal D_k s = \mathrm{pack}(\delta G(s)\,\Omega^{(k)}) + \eta f_k\,\delta W(s)`.
For a diagonal teacher :math:`\Omega^{(k)} = (f_k/m_1)\bar\Omega` and
:math:`\mathcal D_k = (f_k/m_1)\bar{\mathcal D}`, so an eigenvalue :math:`\mu` of ``J`` solves
the *secular equation*

.. math::

    \det\Big[I - P\,\mathrm{diag}_j\Big(\sum_k \frac{\eta\lambda_k^2 f_k/m_1}{\mu - \eta\lambda_k\beta_j}\Big)P^{-1}\bar{\mathcal D}\Big] = 0,

(:math:`\mathcal B = P\,\mathrm{diag}(\beta)\,P^{-1}`), a scalar equation of size ``d`` instead
of an eigenproblem of size ``L d``: that is what makes the escape rate cheap at high
precision for ``L = 512``.

Everything here works on float arrays and, through the ``mpmath`` flavour of the generated
code, on object arrays of ``mpf`` (precision set by the caller's ``mpmath.workdps``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core.errors import NumericalFailure
from .eigenmode import EigenmodeSystem
from .student_average import student_means


@dataclass(frozen=True)
class AggregatedPoint:
    """Aggregated overlaps ``R`` (K, M) and ``Q`` (K, K) with the Stein coefficients there."""

    R: np.ndarray
    Q: np.ndarray
    G: np.ndarray
    W: np.ndarray | None


class AggregatedSystem:
    """Fixed-point residual of the aggregated overlaps, its Jacobian and the per-mode solve.

    Parameters
    ----------
    system : EigenmodeSystem
        Supplies the model, the generated functions, the teacher ``t`` and the working
        number type (float or ``mpf`` objects).
    """

    def __init__(self, system: EigenmodeSystem) -> None:
        self.sys = system
        s = system
        self.K, self.M, self.n = s.K, s.M, s.n
        self.T = np.einsum("k,kab->ab", s.lam, s.t) if s.dtype is float else _obj_sum(s.lam, s.t)
        self.m1 = sum(s.lam * s.f)
        self.iu = np.triu_indices(self.K)
        self.d = self.K * self.M + len(self.iu[0])

    # -- packing of one mode (or of the aggregate) ---------------------------------------
    def pack(self, r: np.ndarray, q: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(r).reshape(-1), np.asarray(q)[self.iu].reshape(-1)])

    def unpack(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        KM = self.K * self.M
        r = a[:KM].reshape(self.K, self.M)
        q = np.zeros((self.K, self.K), dtype=a.dtype)
        q[self.iu] = a[KM:]
        q.T[self.iu] = a[KM:]
        return r, q

    def covariance(self, a: np.ndarray) -> np.ndarray:
        r, q = self.unpack(a)
        return np.block([[q, r], [r.T, self.T]])

    def _coefficients(self, C: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        s = self.sys
        G = s.G(C)
        W = s.W(C)
        return G, W

    # -- the per-mode linear structure ---------------------------------------------------
    def linear_map(self, G: np.ndarray, r: np.ndarray, q: np.ndarray) -> np.ndarray:
        """:math:`\\mathcal B(G)(r, q)` packed."""
        K = self.K
        Gs, Gt = G[:, :K], G[:, K:]
        A = Gs.dot(q) + Gt.dot(r.T)
        return self.pack(Gs.dot(r), A + A.T)

    def forcing(self, G: np.ndarray, W, t: np.ndarray, f) -> np.ndarray:
        """:math:`F = (G_t t,\\ \\eta f W)` packed (``W`` is ``None`` for small lr)."""
        Gt = G[:, self.K :]
        q = np.zeros((self.K, self.K), dtype=G.dtype) if W is None else self.sys.eta * f * W
        return self.pack(Gt.dot(t), q)

    def residual(self, a: np.ndarray) -> np.ndarray:
        """:math:`\\mathcal B a + F(T, m_1)`: zero exactly at fixed points (divided by eta)."""
        G, W = self._coefficients(self.covariance(a))
        r, q = self.unpack(a)
        return self.linear_map(G, r, q) + self.forcing(G, W, self.T, self.m1)

    def residual_jvp(self, a: np.ndarray, da: np.ndarray) -> np.ndarray:
        """Directional derivative of :meth:`residual` (generated kernel tangents)."""
        s = self.sys
        C = self.covariance(a)
        G, W = self._coefficients(C)
        r, q = self.unpack(a)
        dr, dq = self.unpack(da)
        dC = np.block([[dq, dr], [dr.T, _zeros((self.M, self.M), a.dtype)]])
        dG = s.G_tangent(C, dC)
        dW = None if W is None else s.W_tangent(C, dC)
        return self.linear_map(dG, r, q) + self.linear_map(G, dr, dq) + self.forcing(dG, dW, self.T, self.m1)

    def residual_jacobian(self, a: np.ndarray) -> np.ndarray:
        """Dense ``d x d`` Jacobian of :meth:`residual`."""
        return np.stack([self.residual_jvp(a, e) for e in _unit_vectors(self.d, a.dtype)], axis=1)

    # -- per-mode solution ---------------------------------------------------------------
    def point(self, a: np.ndarray) -> AggregatedPoint:
        G, W = self._coefficients(self.covariance(a))
        r, q = self.unpack(a)
        return AggregatedPoint(r, q, G, W)

    def map_matrix(self, G: np.ndarray) -> np.ndarray:
        """:math:`\\mathcal B(G)` as a dense ``d x d`` matrix."""
        cols = [self.linear_map(G, *self.unpack(e)) for e in _unit_vectors(self.d, G.dtype)]
        return np.stack(cols, axis=1)

    def per_mode(self, a: np.ndarray, coords: StudentSymmetric | None = None) -> np.ndarray:
        r"""Per-mode overlaps :math:`v_k = -\mathcal B^{-1}F_k` at the fixed point ``a``, shape (L, d).

        With ``coords`` the solve is done inside that invariant subspace.  This matters at the
        small-learning-rate plateau, where :math:`G_s` has rank one (all students coincide)
        and :math:`\mathcal B` is singular on the full space: the per-mode heights are then
        fixed only within the subspace the dynamics actually stays in.
        """
        p = self.point(a)
        L = self.sys.L
        F = [self.forcing(p.G, p.W, self.sys.t[k], self.sys.f[k]) for k in range(L)]
        if coords is None:
            return -_solve(self.map_matrix(p.G), np.stack(F, axis=1)).T
        cols = [
            coords.project(self.linear_map(p.G, *self.unpack(coords.embed(e))))
            for e in _unit_vectors(coords.size, a.dtype)
        ]
        B = np.stack(cols, axis=1)
        rhs = np.stack([coords.project(f) for f in F], axis=1)
        x = -_solve(B, rhs)
        return np.stack([coords.embed(x[:, k]) for k in range(L)])

    def full_state(self, a: np.ndarray, coords: StudentSymmetric | None = None) -> np.ndarray:
        """The fixed point as a state vector of the full :class:`EigenmodeSystem`."""
        v = self.per_mode(a, coords)
        KM = self.K * self.M
        r = v[:, :KM].reshape(-1)
        q = v[:, KM:].reshape(-1)
        return np.concatenate([r, q])

    # -- linearisation -------------------------------------------------------------------
    def coupling_matrix(self, a: np.ndarray) -> np.ndarray:
        """:math:`\\bar{\\mathcal D}` of the module docstring (diagonal-teacher case), ``d x d``."""
        s = self.sys
        C = self.covariance(a)
        G, W = self._coefficients(C)
        cols = []
        for e in _unit_vectors(self.d, a.dtype):
            dr, dq = self.unpack(e)
            dC = np.block([[dq, dr], [dr.T, _zeros((self.M, self.M), a.dtype)]])
            dG = s.G_tangent(C, dC)
            Y = dG.dot(C)
            A = Y[:, : self.K]
            dqcol = A + A.T
            if W is not None:
                dqcol = dqcol + s.eta * self.m1 * s.W_tangent(C, dC)
            cols.append(self.pack(Y[:, self.K :], dqcol))
        return np.stack(cols, axis=1)


class StudentSymmetric:
    r"""Linear coordinates on a permutation-invariant subspace of the aggregated overlaps.

    Students are exchangeable: :math:`R_{in} = R_n`, :math:`Q_{ii} = Q`,
    :math:`Q_{ij} = C` (:math:`i\ne j`).  Options:

    * ``split=False`` -- one :math:`R` for all teachers (a diagonal, isotropic teacher);
      ``True`` keeps the M heights :math:`R_n` (a finite-N teacher);
    * ``identical=True`` -- additionally :math:`C = Q`: all students coincide.  This subspace
      is invariant under the dynamics for any activation (identical students receive
      identical updates) and holds the small-learning-rate plateau; there the Jacobian in the
      :math:`Q - C` direction is singular (:math:`G_d = G_o`), so Newton must work inside it.

    Coordinates: ``[R (1 or M), Q, C (unless identical or K = 1)]``.
    """

    def __init__(self, agg: AggregatedSystem, split: bool = False, identical: bool = False) -> None:
        self.agg, self.K, self.M = agg, agg.K, agg.M
        self.n_r = self.M if split else 1
        self.has_c = self.K > 1 and not identical
        self.identical = identical
        self.size = self.n_r + 1 + int(self.has_c)

    def embed(self, x: np.ndarray) -> np.ndarray:
        K, M = self.K, self.M
        row = [x[n if self.n_r > 1 else 0] for n in range(M)]
        r = np.array([row] * K, dtype=x.dtype)
        Qv = x[self.n_r]
        Cv = x[self.n_r + 1] if self.has_c else Qv
        q = np.array([[Qv if a == b else Cv for b in range(K)] for a in range(K)], dtype=x.dtype)
        return self.agg.pack(r, q)

    def project(self, a: np.ndarray) -> np.ndarray:
        """Average over the entries that the coordinates tie together (a left inverse of :meth:`embed`)."""
        K = self.K
        r, q = self.agg.unpack(a)
        cols, diag, off = student_means(r, q)
        out = list(cols) if self.n_r > 1 else [sum(cols) / self.M]
        if self.has_c:
            out += [diag, off]
        else:  # identical students: Q and C are one coordinate
            out += [(diag + (K - 1) * off) / K]
        return np.array(out, dtype=a.dtype)

    def residual(self, x: np.ndarray) -> np.ndarray:
        return self.project(self.agg.residual(self.embed(x)))

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        a = self.embed(x)
        return np.stack(
            [self.project(self.agg.residual_jvp(a, self.embed(e))) for e in _unit_vectors(self.size, x.dtype)], axis=1
        )


def newton(fun, jac, x0: np.ndarray, tol, max_iter: int = 60, what: str = "fixed point") -> np.ndarray:
    """Plain Newton iteration on float or ``mpf`` arrays; raises :class:`NumericalFailure`.

    Converged when the step is below ``tol`` times ``max(1, |x|)``.  A failure says why, from
    the history of step sizes: a singular Jacobian, a non-finite iterate, steps that stall at
    the working precision's noise floor (``tol`` asks for more digits than the arithmetic
    carries), or steps that do not shrink at all (no fixed point near the start).
    """
    x = x0.copy()
    steps = []
    for _ in range(max_iter):
        try:
            step = _solve(jac(x), fun(x))
        except NumericalFailure as exc:
            raise NumericalFailure(
                f"{what}: {exc} at |x| = {float(max(abs(v) for v in x)):.3g} (a degenerate fixed point, or a start "
                "on a symmetry line; start elsewhere)"
            ) from None
        x = x - step
        size = max(abs(v) for v in step)
        scale = max(1, max(abs(v) for v in x))
        if not all(_finite(v) for v in x):
            raise NumericalFailure(
                f"{what}: Newton iteration produced a non-finite value after {len(steps) + 1} steps (it left every "
                "basin: no fixed point near the start; try a smaller eta or a start from a solved trajectory)"
            )
        if size <= tol * scale:
            return x
        steps.append(float(size / scale))
    raise NumericalFailure(f"{what}: Newton iteration did not converge in {max_iter} steps; {_diagnose(steps, tol, x)}")


def _diagnose(steps: list[float], tol, x: np.ndarray) -> str:
    """Why a Newton iteration failed, read off its relative step sizes."""
    last = steps[-1]
    best = min(steps)
    working = _epsilon(x)
    if best < 1e-6 and last < 100 * best:  # converged to many digits, then went no further
        return (
            f"the steps shrank to {best:.1e} and then stalled at {last:.1e}, the noise floor of the arithmetic "
            f"(machine epsilon {working:.1e}) -- tol = {float(tol):.1e} asks for more digits than it carries: "
            "raise the working precision (dps) or loosen tol"
        )
    if last > 0.1 * steps[0]:
        return (
            f"the steps did not shrink (first {steps[0]:.1e}, last {last:.1e}): no fixed point near the start -- "
            "try a smaller eta, or start from a point on a solved trajectory"
        )
    return f"the steps shrank only slowly (first {steps[0]:.1e}, last {last:.1e}): a nearly singular Jacobian"


def _epsilon(x: np.ndarray) -> float:
    """Unit round-off of the numbers in ``x`` (float64 or the current mpmath precision)."""
    if x.dtype != object:
        return float(np.finfo(x.dtype).eps)
    import mpmath

    return float(mpmath.mpf(2) ** (-mpmath.mp.prec))


def _finite(v) -> bool:
    import math

    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    if A.dtype != object:
        try:
            return np.linalg.solve(A, b)
        except np.linalg.LinAlgError as exc:
            raise NumericalFailure(f"singular linear system ({exc})") from None
    import mpmath

    mA = mpmath.matrix(A.tolist())
    cols = b.reshape(b.shape[0], -1)
    out = np.empty(cols.shape, dtype=object)
    try:
        for c in range(cols.shape[1]):
            sol = mpmath.lu_solve(mA, mpmath.matrix(list(cols[:, c])))
            out[:, c] = [sol[i] for i in range(cols.shape[0])]
    except ZeroDivisionError:
        raise NumericalFailure("singular linear system at high precision") from None
    return out.reshape(b.shape)


def _unit_vectors(d: int, dtype) -> list[np.ndarray]:
    out = []
    for c in range(d):
        e = _zeros((d,), dtype)
        e[c] = e[c] + 1
        out.append(e)
    return out


def _zeros(shape, dtype) -> np.ndarray:
    if np.dtype(dtype) != np.dtype(object):
        return np.zeros(shape, dtype=dtype)
    import mpmath

    z = np.empty(shape, dtype=object)
    z[...] = mpmath.mpf(0)
    return z


def _obj_sum(lam: np.ndarray, t: np.ndarray) -> np.ndarray:
    out = _zeros(t.shape[1:], object)
    for k in range(len(lam)):
        out = out + lam[k] * t[k]
    return out
