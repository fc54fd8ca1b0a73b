"""The moment basis :math:`R^{(l)}, Q^{(l)}, T^{(l)}` (the paper's) with Cayley--Hamilton closure.

Moments of the per-mode overlaps, :math:`\\Omega^{(l)} = \\sum_k \\lambda_k^l \\Omega^{(k)}`
for ``l = 0 .. L-1``.  Summing the eigenmode equations with :math:`\\lambda_k^l` gives

.. math::

    \\frac{d\\Omega^{(l)}_{iy}}{d\\alpha} = \\eta \\sum_x G_{ix}\\,\\Omega^{(l+1)}_{xy}
    \\;(+\\,i\\leftrightarrow y) + \\eta^2 m_{l+1} W_{ij},
    \\qquad m_p = \\sum_k f_k \\lambda_k^p ,

so order ``l`` needs order ``l + 1``.  The minimal polynomial of Sigma,
:math:`\\prod_k(\\Sigma - \\lambda_k) = \\Sigma^L - \\sum_{l<L} c_l \\Sigma^l = 0`, closes the
hierarchy: :math:`\\Omega^{(L)} = \\sum_{l<L} c_l \\Omega^{(l)}`.  The map to the eigenmode
basis is the Vandermonde matrix :math:`V_{lk} = \\lambda_k^l`, badly conditioned for
power-law eigenvalues: use this basis at high precision (``dtype=object`` with the mpmath
flavour, inside ``mpmath.workdps``) or as a check.  :meth:`MomentSystem.condition_number`
reports how many digits the conversion loses.

Weight decay and a trained read-out carry over: decay scales each moment as it scales each mode,
and the read-out drift depends on :math:`C = \\Omega^{(1)}` only (the state ends with ``v``, as
in the eigenmode basis).

Written once for both float and mpmath numbers (object arrays).
"""

from __future__ import annotations

import numpy as np

from ...core.errors import NumericalFailure
from ...core.precision import lift
from ..compiled import CompiledSystem
from ..model import CommitteeModel
from .eigenmode import EigenmodeSystem


def _num(dtype):
    if dtype is float:
        return float
    return lift  # a float given here is a user's number: read as the decimal written


class MomentSystem:
    """Right-hand side in the moment basis; state ``[R^(0..L-1), upper(Q^(0..L-1))]``.

    Parameters
    ----------
    model, compiled, eta, t, dtype
        As for :class:`~theorykit.committee.solve.eigenmode.EigenmodeSystem` (``t`` per eigenmode).
    eigenvalues : sequence, optional
        Exact eigenvalues at the working precision (e.g. ``mpf`` values recomputed from the
        power law); default: :meth:`Spectrum.high_precision` (or the floats, for ``dtype=float``).
    min_digits : float
        Refuse (:class:`~theorykit.core.errors.NumericalFailure`) a basis whose Vandermonde map
        leaves fewer correct digits than this at the working precision: the moments of a
        power-law spectrum differ by many orders of magnitude, and the answer would be noise.
        The message says how many digits are lost and what to do (the eigenmode basis, or
        ``dtype=object`` inside ``mpmath.workdps`` with enough digits).
    """

    def __init__(
        self,
        model: CommitteeModel,
        compiled: CompiledSystem,
        eta,
        t: np.ndarray,
        dtype=float,
        eigenvalues=None,
        min_digits: float = 6,
    ) -> None:
        self.eigen = EigenmodeSystem(model, compiled, eta, t, dtype=dtype)
        num = _num(dtype)
        if eigenvalues is None:
            eigenvalues = self.eigen.lam
        lam = [num(v) for v in eigenvalues]
        L = len(lam)
        self.L, self.K, self.M, self.n = L, model.K, model.M, model.n
        self.dtype = dtype
        self.mod = compiled.module
        self.model = model
        # Vandermonde V[l, k] = lam_k^l for l = 0..L (one extra row for the closure check)
        if dtype is float:  # lambda_1^L can exceed the float range: inf, refused by the precision check
            with np.errstate(over="ignore"):
                self.V = np.asarray(lam)[None, :] ** np.arange(L + 1)[:, None]
        else:
            self.V = np.array([[lk**power for lk in lam] for power in range(L + 1)], dtype=dtype)
        self._check_precision(min_digits)
        self.closure = self._closure_coefficients(lam, num)
        f = list(self.eigen.f)
        self.m = np.array([sum(fk * lk**p for fk, lk in zip(f, lam)) for p in range(L + 1)], dtype=dtype)
        self.eta = self.eigen.eta
        om_t = np.zeros((L, self.n, self.n), dtype=dtype) if dtype is float else _zeros_obj((L, self.n, self.n))
        om_t[:, self.K :, self.K :] = self.eigen.t
        self.T_moments = np.einsum("lk,kxy->lxy", self.V, om_t)  # (L+1, n, n) teacher moments
        self.ones = np.array([num(1)] * L, dtype=dtype)
        self.iu = self.eigen.iu
        self.size = self.eigen.size
        self.nfev = 0

    @staticmethod
    def _closure_coefficients(lam, num) -> list:
        """``c_l`` with ``x^L = sum_{l<L} c_l x^l`` on the spectrum (from prod_k (x - lam_k))."""
        poly = [num(1)]  # coefficients, lowest degree first
        for root in lam:
            shifted = [num(0)] + poly  # x * poly
            for d in range(len(poly)):
                shifted[d] -= root * poly[d]
            poly = shifted
        return [-c for c in poly[:-1]]

    def condition_number(self) -> float:
        """2-norm condition number of the L x L Vandermonde map (digits lost ~ log10 of it)."""
        V = self.V[:-1]
        if self.dtype is float or self.L <= 60:
            V = np.array(V, dtype=float)
            return float(np.linalg.cond(V)) if np.all(np.isfinite(V)) else np.inf
        # beyond float range of cond: mpmath at enough digits to see it
        import mpmath

        with mpmath.workdps(30 + 3 * self.L):
            A = mpmath.matrix(V.tolist())
            return float(mpmath.mnorm(A, 1) * mpmath.mnorm(mpmath.inverse(A), 1))

    def working_digits(self) -> float:
        """Decimal digits the arithmetic carries (float64: 15.95; mpmath: the current ``mp.dps``)."""
        if self.dtype is float:
            return float(-np.log10(np.finfo(float).eps))
        import mpmath

        return float(mpmath.mp.dps)

    def digits_lost(self) -> float:
        """Decimal digits the moment <-> eigenmode conversion loses, ``log10 cond(V)``."""
        return float(np.log10(self.condition_number()))

    def _check_precision(self, min_digits: float) -> None:
        lost, have = self.digits_lost(), self.working_digits()
        if have - lost < min_digits:
            # cond itself can exceed the float range (large L): speak in digits only
            digits = f"{lost:.1f}" if np.isfinite(lost) else "all"
            cond = f"10^{lost:.1f}" if np.isfinite(lost) else "beyond the float range"
            precision = (
                f"mpmath.workdps({int(np.ceil(lost + min_digits + 5))})"
                if np.isfinite(lost)
                else "mpmath.workdps with more digits than double precision can measure"
            )
            raise NumericalFailure(
                f"moment basis: the Vandermonde map of these {self.L} eigenvalues loses {digits} of the "
                f"{have:.1f} digits the arithmetic carries (cond = {cond}), leaving fewer than {min_digits:g}; "
                f"integrate in the eigenmode basis (theorykit.solve / EigenmodeSystem), or use dtype=object inside "
                f"{precision}"
            )

    # -- basis change -----------------------------------------------------------------------
    def from_eigenmodes(self, state: np.ndarray) -> np.ndarray:
        """Moment state from an eigenmode state (same packing; a trained read-out's v as it is)."""
        r, q = self.eigen.unpack(state)
        V = self.V[:-1]
        v = self.eigen.readout(state) if self.eigen.trains_readout else None
        return self.eigen.pack(np.einsum("lk,kim->lim", V, r), np.einsum("lk,kij->lij", V, q), v)

    def to_eigenmodes(self, state: np.ndarray) -> np.ndarray:
        """Eigenmode state from a moment state (solves the Vandermonde system)."""
        R, Q = self.eigen.unpack(state)
        V = self.V[:-1]
        if self.dtype is float:
            inv = np.linalg.inv(V)
        else:
            import mpmath

            inv = np.array(mpmath.inverse(mpmath.matrix(V.tolist())).tolist(), dtype=object)
        v = self.eigen.readout(state) if self.eigen.trains_readout else None
        return self.eigen.pack(np.einsum("kl,lim->kim", inv, R), np.einsum("kl,lij->kij", inv, Q), v)

    # -- dynamics ---------------------------------------------------------------------------
    def moments_all(self, state: np.ndarray) -> np.ndarray:
        """Omega^(l) for l = 0..L (the last one by the closure), shape (L+1, n, n)."""
        om = self.eigen.overlaps(state, teacher=False)
        om = om + self.T_moments[:-1]
        closed = sum((c * om[l] for l, c in enumerate(self.closure)), start=0 * om[0])
        closed[self.K :, self.K :] = self.T_moments[-1][self.K :, self.K :]
        return np.concatenate([om, closed[None]], axis=0)

    def rhs(self, alpha, state: np.ndarray) -> np.ndarray:
        """The moments' derivatives; weight decay scales every moment as it scales every mode
        (``-eta kappa`` on R^(l), twice that on Q^(l)), and a trained read-out's drift depends on
        the covariance C = Omega^(1) only."""
        self.nfev += 1
        om = self.moments_all(state)
        C = om[1]
        eigen = self.eigen
        eigen._use_readout(state)
        G = self.mod.G_fn(C, eigen.w, self.K, self.n, eigen.c_K)
        Y = self.mod.drift_fn(G, om[1:], self.ones, self.eta)
        K = self.K
        A = Y[:, :, :K]
        dq = A + A.transpose(0, 2, 1)
        if not self.model.small_lr:
            W = self.mod.W_fn(C, eigen.w, K, self.n, eigen.c_K, eigen.s2)
            dq = dq + (self.eta**2 * self.m[1:])[:, None, None] * W[None, :, :]
        dv = eigen.eta_v * self.mod.readout_fn(C, eigen.w, K, self.n) if eigen.trains_readout else None
        derivative = eigen.pack(Y[:, :, K:], dq, dv)
        return derivative if eigen._decay is None else derivative + eigen._decay * state

    __call__ = rhs

    def eps_g(self, state: np.ndarray):
        C = self.moments_all(state)[1]
        self.eigen._use_readout(state)
        return self.mod.eps_fn(C, self.eigen.w, self.K, self.n)


def _zeros_obj(shape) -> np.ndarray:
    import mpmath

    out = np.empty(shape, dtype=object)
    out[...] = mpmath.mpf(0)
    return out
