r"""Symmetric fixed points with weight decay and per-unit (or trained) read-out weights.

Without either, the per-mode fixed-point conditions :math:`\mathcal B v_k + F_k = 0` sum with
weights :math:`\lambda_k` to equations of the aggregated overlaps alone
(:class:`~theorykit.committee.solve.fixed_point.AggregatedSystem`).  Weight decay breaks that
sum: per mode

.. math::

    \frac{dv_k}{d\alpha} = \eta\lambda_k\,[\,\mathcal B(G)\,v_k + F_k(G, W)\,] + \rho\,\mathcal E\,v_k,
    \qquad \rho = -\eta\kappa ,

with :math:`\mathcal E` = 1 on the student-teacher and 2 on the student-student entries: the
decay does not scale with :math:`\lambda_k`, so a slow mode is held further from its
undecayed height than a fast one.  ``G`` and ``W`` still depend on the aggregated covariance
(and on the read-out weights) only, so the fixed point is found in aggregated unknowns ``a``
(plus the common read-out weight ``v`` of the students when it is trained) by solving each mode
for its height,

.. math::

    v_k(a) = -(\eta\lambda_k\mathcal B + \rho\,\mathcal E)^{-1}\,\eta\lambda_k F_k ,

and requiring consistency, :math:`a = \sum_k\lambda_k v_k(a)`, and a vanishing read-out drift,
:math:`\langle g(a_i)(\zeta - \sigma)\rangle = 0`.  Without decay this is the aggregated system's
fixed point again.  All of it lives on the student-symmetric subspace
(:class:`~theorykit.committee.solve.fixed_point.StudentSymmetric`): every student the same
mixture of the teachers with the same read-out weight.

The start for Newton is the full right-hand side's own flow from a symmetric start, kept on the
symmetric subspace (averaged over the students at every evaluation: round-off would otherwise
seed the asymmetry the saddle amplifies) and stopped when it stalls; the Jacobian of the small reduced system (at most M + 3 unknowns) is a central
difference (it only steers Newton; the fixed point is then checked on the full right-hand side).
"""

from __future__ import annotations

import numpy as np

from ...core.errors import CaseError, NumericalFailure
from .eigenmode import EigenmodeSystem
from .fixed_point import AggregatedSystem, StudentSymmetric, _unit_vectors, newton
from .student_average import student_means


class PerModeFixedPoint:
    """The reduced fixed-point problem of a model with weight decay and/or per-unit read-out.

    Parameters
    ----------
    system : EigenmodeSystem
    split : bool
        Keep the M student-teacher heights apart (a finite-N teacher, or unequal teacher
        read-out weights).
    identical : bool
        All students coincide (the O(eta) plateau, as for the classic model).

    Notes
    -----
    The unknowns ``x`` are the :class:`StudentSymmetric` coordinates, then ``v`` when the
    read-out is trained.
    """

    def __init__(self, system: EigenmodeSystem, split: bool = False, identical: bool = False) -> None:
        model = system.model
        if model.per_unit_readout and not model.trains_readout:
            student = np.asarray(model.second_layer.student, dtype=float)
            if not np.all(student == student[0]):
                raise CaseError(
                    "model.second_layer.student",
                    "a symmetric plateau needs exchangeable students: give them equal fixed read-out weights "
                    f"(got {list(student)}), or train them (second_layer.eta > 0)",
                )
        self.sys = system
        self.agg = AggregatedSystem(system)
        self.coords = StudentSymmetric(self.agg, split=split, identical=identical)
        self.trains = system.trains_readout
        self.size = self.coords.size + int(self.trains)
        KM, d = system.K * system.M, self.agg.d
        rate = system.mod.decay_rate_fn(system.eta, float(model.weight_decay)) if model.weight_decay else 0.0
        per_entry = np.concatenate([np.full(KM, rate), np.full(d - KM, 2 * rate)])
        unit = _unit_vectors(self.coords.size, float)
        self._decay = np.stack([self.coords.project(per_entry * self.coords.embed(e)) for e in unit], axis=1)

    # -- the reduced problem -----------------------------------------------------------
    def _use(self, x: np.ndarray) -> np.ndarray:
        """The aggregated overlaps of ``x``; its read-out weight written into the system."""
        if self.trains:
            self.sys.w[: self.sys.K] = -x[-1]
        return self.coords.embed(x[: self.coords.size])

    def modes(self, x: np.ndarray) -> np.ndarray:
        """Per-mode heights :math:`v_k(a)` in the symmetric coordinates, shape (L, coords.size)."""
        s, coords, agg = self.sys, self.coords, self.agg
        G, W = agg._coefficients(agg.covariance(self._use(x)))
        unit = _unit_vectors(coords.size, float)
        B = np.stack([coords.project(agg.linear_map(G, *agg.unpack(coords.embed(e)))) for e in unit], axis=1)
        heights = []
        for k in range(s.L):
            scale = s.eta * s.lam[k]
            forcing = coords.project(agg.forcing(G, W, s.t[k], s.f[k]))
            heights.append(np.linalg.solve(scale * B + self._decay, -scale * forcing))
        return np.array(heights)

    def residual(self, x: np.ndarray) -> np.ndarray:
        """``x - sum_k lam_k v_k(x)`` and, trained, the students' mean read-out drift."""
        consistency = x[: self.coords.size] - self.sys.lam @ self.modes(x)
        if not self.trains:
            return consistency
        C = self.agg.covariance(self._use(x))
        drift = self.sys.mod.readout_fn(C, self.sys.w, self.sys.K, self.sys.n)
        return np.append(consistency, np.mean(drift))

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        columns = []
        for i in range(self.size):
            h = 1e-7 * max(1.0, abs(x[i]))
            step = np.zeros(self.size)
            step[i] = h
            columns.append((self.residual(x + step) - self.residual(x - step)) / (2 * h))
        return np.stack(columns, axis=1)

    def full_state(self, x: np.ndarray) -> np.ndarray:
        """The fixed point as a state of the full :class:`EigenmodeSystem`."""
        per_mode = np.array([self.coords.embed(v) for v in self.modes(x)])
        KM = self.sys.K * self.sys.M
        r = per_mode[:, :KM].reshape(self.sys.L, self.sys.K, self.sys.M)
        q = np.array([self.agg.unpack(v)[1] for v in per_mode])
        v = np.full(self.sys.K, x[-1]) if self.trains else None
        return self.sys.pack(r, q, v)

    def project(self, state: np.ndarray) -> np.ndarray:
        """Reduced unknowns of a full state (aggregated, symmetrised; the mean read-out weight)."""
        r, q = self.sys.unpack(state)
        a = self.agg.pack(np.einsum("k,kim->im", self.sys.lam, r), np.einsum("k,kij->ij", self.sys.lam, q))
        x = self.coords.project(a)
        return np.append(x, np.mean(self.sys.readout(state))) if self.trains else x

    def symmetrize(self, state: np.ndarray) -> np.ndarray:
        """``state`` averaged onto the student-symmetric subspace (every student the mean one; a
        trained read-out's weights their mean): the flow below stays there exactly, where round-off
        would otherwise seed the very asymmetry that makes the plateau a saddle."""
        s = self.sys
        r, q = s.unpack(state)
        K = s.K
        rows, diag, off = student_means(r, q)
        r = np.broadcast_to(rows[:, None, :], r.shape)
        if self.coords.identical:  # Q = C: one value for every entry
            diag = off = (diag + (K - 1) * off) / K if K > 1 else diag
        q = off[:, None, None] * np.ones((K, K)) + (diag - off)[:, None, None] * np.eye(K)
        v = np.full(K, np.mean(s.readout(state))) if self.trains else None
        return s.pack(r, q, v)

    # -- the search ----------------------------------------------------------------------
    def symmetric_start(self) -> np.ndarray:
        """A full state on the symmetric subspace near the origin: every student the same small
        mixture of the teachers, with the students' mean read-out weight."""
        s = self.sys
        r = np.array([np.full((s.K, s.M), 1e-2 / np.sqrt(s.M)) @ s.t[k] for k in range(s.L)])
        off = 0.0 if self.coords.identical else 5e-4  # identical students: Q = C from the start
        q = np.array([np.full((s.K, s.K), 1e-3 - off) + off * np.eye(s.K) for _ in range(s.L)]) * s.f[:, None, None]
        v = np.full(s.K, np.mean(s.model.second_layer.student)) if self.trains else None
        return s.pack(r, q, v)

    def solve(self, alpha_max: float = 2e4) -> np.ndarray:
        """Flow the full system from :meth:`symmetric_start` until it stalls (or to ``alpha_max``),
        then Newton on the reduced unknowns; returns ``x``.  Raises NumericalFailure when the
        flow fails or Newton does not converge (the caller checks the full right-hand side)."""
        from scipy.integrate import solve_ivp

        s = self.sys
        scale = s.eta * float(np.max(s.lam))

        def flow_rhs(_a, y):
            return self.symmetrize(s.rhs(0.0, self.symmetrize(y)))

        def stalled(_a, y):
            return np.max(np.abs(flow_rhs(0.0, y))) - 1e-7 * scale

        stalled.terminal = True
        with np.errstate(all="ignore"):
            flow = solve_ivp(
                flow_rhs,
                (0, alpha_max / s.eta),
                self.symmetric_start(),
                method="LSODA",
                jac=lambda _a, y: s.jacobian(0.0, self.symmetrize(y)),  # an approximation suffices here
                rtol=1e-8,
                atol=1e-12,
                events=stalled,
            )
        end = flow.y[:, -1]
        if flow.status == -1 or not np.all(np.isfinite(end)):
            raise NumericalFailure(f"no symmetric plateau: the flow from a symmetric start failed ({flow.message})")
        what = "no symmetric plateau: Newton"
        if flow.status != 1:  # slow to settle (the O(eta) plateau's near-neutral directions): Newton may still
            what += (
                f" from where the flow of the full equations stood at eta*alpha = {alpha_max:g} "
                f"(max |rhs| = {np.max(np.abs(flow_rhs(0.0, end))):.2e}, not settled)"
            )
        return newton(self.residual, self.jacobian, self.project(end), 1e-12, what=what)
