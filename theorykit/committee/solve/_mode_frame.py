r"""Coordinates of the exponential integrator's per-mode state.

*Teacher frame.*  Per eigenmode the student-teacher overlaps evolve as
:math:`\dot r_k = a_k(G_s r_k + G_t t_k)`: the rows of :math:`r_k` stay in the span of the rows
of :math:`r_k(0)` and of :math:`t_k`.  When an eigenvalue has fewer input directions than the
teacher has units (:math:`N_k < M`; at L = N every eigenvalue has one), :math:`t_k = B_kB_k^T/N`
has rank :math:`N_k` and :math:`r_k = J_kB_k^T/N` lies in its range.  With an orthonormal
:math:`F_k` (``M x rho``) spanning both,

.. math::

    r_k = x_k F_k^T,\qquad t_k = F_k\tilde t_k F_k^T,\qquad \tilde t_k = F_k^T t_k F_k,

exactly for all times, and only :math:`x_k` (``K x rho``) is propagated: the teacher drive
:math:`G_t t_k` becomes :math:`(G_tF_k)\tilde t_k F_k^T` and every ``K x M x M`` product per mode a
``K x M x rho`` one.  :class:`TeacherFrame` finds :math:`F_k` from the initial overlaps; when
:math:`\rho` would exceed ``M / 2`` it is the identity (``F = None``) and nothing changes.

Components below :data:`TOLERANCE` relative (round-off of the overlaps' own computation) are
not kept; the frame reports the largest it dropped, and the integrator's tests compare the
framed against the identity frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Relative size below which a direction of t_k, or a row component of r_k outside them, is round-off.
TOLERANCE = 1e-13


class TeacherFrame:
    """Orthonormal frames :math:`F_k` (``M x rho``) for the rows of every mode's ``r`` and ``t``.

    Parameters
    ----------
    F : ndarray (L, M, rho) or None
        ``None`` is the identity frame (``rho = M``): coordinates are the overlaps themselves.
    t : ndarray (L, M, M)
        Teacher-teacher overlaps per mode.
    dropped : float
        Largest relative component left out when the frame was found (0 for the identity).
    """

    def __init__(self, F: np.ndarray | None, t: np.ndarray, dropped: float = 0.0) -> None:
        self.F = F
        self.M = t.shape[-1]
        self.rho = self.M if F is None else F.shape[2]
        self.dropped = dropped
        if F is None:
            self.t_reduced = t
            self._F_rows = None
        else:
            self.t_reduced = np.einsum("kmr,kmn,kns->krs", F, t, F)
            # (L, rho, M), contiguous: for slices of modes, (l rho, M) is a view
            self._F_rows = np.ascontiguousarray(F.transpose(0, 2, 1))

    @classmethod
    def identity(cls, t: np.ndarray) -> TeacherFrame:
        """The frame that keeps every teacher direction: coordinates are the overlaps themselves."""
        return cls(None, t)

    @classmethod
    def for_overlaps(cls, r: np.ndarray, t: np.ndarray) -> TeacherFrame:
        """The smallest common frame of the rows of ``r`` (L, K, M) and ``t`` (L, M, M).

        Per mode: the eigenvectors of ``t_k`` above :data:`TOLERANCE` of its largest eigenvalue,
        then the right singular vectors of the part of ``r_k`` outside them above
        :data:`TOLERANCE` of ``|r_k|``; all modes are padded to the largest rank ``rho`` with
        orthonormal complements.  The identity when ``2 rho > M`` (no gain).
        """
        L, _K, M = r.shape
        evals, evecs = np.linalg.eigh(t)
        tops = np.maximum(evals[:, -1], 0.0)
        if 2 * int((evals > TOLERANCE * tops[:, None]).sum(axis=1).max()) > M:
            return cls.identity(t)  # the teacher side alone already needs more than M / 2
        frames, dropped = [], 0.0
        for k in range(L):
            top = max(float(evals[k, -1]), 0.0)
            keep = evals[k] > TOLERANCE * top
            if top > 0:
                dropped = max(dropped, float(np.abs(evals[k, ~keep]).max(initial=0.0)) / top)
            Fk = evecs[k][:, keep]
            outside = r[k] - (r[k] @ Fk) @ Fk.T
            size = float(np.linalg.norm(r[k]))
            if size > 0:
                _u, s, vt = np.linalg.svd(outside, full_matrices=False)
                more = s > TOLERANCE * size
                dropped = max(dropped, float(s[~more].max(initial=0.0)) / size)
                if np.any(more):
                    Fk = np.linalg.qr(np.concatenate([Fk, vt[more].T], axis=1))[0]
            frames.append(Fk)
        rho = max(1, max(Fk.shape[1] for Fk in frames))
        if 2 * rho > M:
            return cls.identity(t)
        F = np.empty((L, M, rho))
        for k, Fk in enumerate(frames):
            F[k] = _complete(Fk, rho)
        return cls(F, t, dropped)

    def subset(self, modes) -> TeacherFrame:
        """The frame of some modes (``modes``: slice or index array)."""
        if self.F is None:
            return TeacherFrame(None, self.t_reduced[modes])
        frame = object.__new__(TeacherFrame)
        frame.F, frame.M, frame.rho, frame.dropped = self.F[modes], self.M, self.rho, self.dropped
        frame.t_reduced, frame._F_rows = self.t_reduced[modes], self._F_rows[modes]
        return frame

    def coordinates(self, r: np.ndarray) -> np.ndarray:
        """:math:`x_k = r_k F_k` (a copy)."""
        return r.copy() if self.F is None else r @ self.F

    def project(self, H: np.ndarray) -> np.ndarray:
        """:math:`H F_k` for every mode (``l x K x rho``), or ``H[None]`` for the identity frame."""
        if self.F is None:
            return H[None]
        return np.ascontiguousarray(np.tensordot(self.F, H, axes=([1], [1])).transpose(0, 2, 1))

    def rows(self, x: np.ndarray, out: np.ndarray, part: slice = slice(None)) -> np.ndarray:
        """:math:`r_k = x_k F_k^T` into ``out`` (l, K, M) for the modes ``part`` of the frame."""
        if self.F is None:
            out[...] = x
        else:
            np.matmul(x, self._F_rows[part], out=out)
        return out

    def weighted_rows(self, w: np.ndarray, x: np.ndarray) -> np.ndarray:
        r""":math:`\sum_k w_{pk} x_k F_k^T` for every row ``p`` of ``w`` (P, l) -> (P, K, M).

        ``x`` holds the first ``l`` modes of the frame.
        """
        P, count = w.shape
        K = x.shape[1]
        if self.F is None:
            return (w @ x.reshape(count, -1)).reshape(P, K, self.M)
        wx = (w[:, :, None, None] * x[None]).transpose(0, 2, 1, 3).reshape(P * K, count * self.rho)
        return (wx @ self._F_rows[:count].reshape(count * self.rho, self.M)).reshape(P, K, self.M)


@dataclass(frozen=True)
class ModeState:
    r"""Every mode's state in the integrator's coordinates.

    :math:`r_k = P x_k F_k^T` and :math:`q_k = P y_k P^T`, with ``P`` the eigenbasis of an
    earlier step's :math:`G_s` (``None``: the identity) and :math:`F_k` the
    :class:`~theorykit.committee.solve._mode_frame.TeacherFrame`.  Keeping the state in the last step's
    eigenbasis turns the rotation out of one basis and into the next into one rotation by
    :math:`U_{n+1}^T P`; the original coordinates are made only at output times.

    Attributes
    ----------
    x : ndarray (L, K, rho)
    y : ndarray (L, K, K), symmetric
    basis : ndarray (K, K) or None
    """

    x: np.ndarray
    y: np.ndarray
    basis: np.ndarray | None = None

    def subset(self, modes) -> ModeState:
        return ModeState(self.x[modes], self.y[modes], self.basis)


def _complete(F: np.ndarray, rho: int) -> np.ndarray:
    """``F`` (M x r, orthonormal columns) extended by orthonormal columns to ``M x rho``."""
    M, r = F.shape
    if r == rho:
        return F
    # QR of [F | I] keeps F's columns (up to sign) first and completes them
    Q = np.linalg.qr(np.concatenate([F, np.eye(M)], axis=1))[0][:, :rho]
    Q[:, :r] = F
    return Q
