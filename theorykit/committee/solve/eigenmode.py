"""Right-hand side of the order-parameter ODEs in the eigenmode basis (numbers only).

State: per eigenmode ``k`` the student-teacher overlaps ``r[k]`` (K x M) and the upper
triangle of the student-student overlaps ``q[k]`` (K x K); the teacher overlaps ``t[k]``
(M x M) are constants.  Packed as one flat vector ``[r.ravel(), q_upper.ravel()]`` with
``L (K M + K (K+1)/2)`` entries.

One evaluation: build :math:`\\Omega^{(k)} = [[q, r], [r^T, t]]`, the covariance
:math:`C = \\sum_k \\lambda_k \\Omega^{(k)}`, the Stein coefficients ``G`` (and ``W``) from the
generated kernels, then :math:`Y^{(k)} = \\eta\\lambda_k G\\,\\Omega^{(k)}`:
``dr = Y[:, :, K:]``, ``dq = Y[:, :, :K] + Y[:, :, :K]^T + eta^2 lambda_k f_k W``.

Works on float arrays and, with the ``mpmath`` flavour, on object arrays of ``mpf``.
"""

from __future__ import annotations

import numpy as np

from ...core.precision import lift, lift_array
from ..compiled import CompiledSystem, compile_model
from ..model import CommitteeModel

#: Largest ``L K n^2`` for which the whole right-hand side is one njit call with plain loops;
#: beyond, the drift is one batched BLAS product (see theorykit.committee.lower.module).
SMALL_FUSED = 200_000

#: Round-off of eps_g evaluated from the overlaps, per unit of ``n * max|C|``.  Near perfect
#: learning eps_g is a small difference of order-one overlaps (``Q - 2R + T`` at the linear
#: activation), each a sum over the modes carrying its own round-off; below this it is not
#: known even in sign, and is reported as NaN (:func:`eps_resolution`).
EPS_ROUNDOFF = 16 * float(np.finfo(float).eps)


def eps_resolution(C: np.ndarray) -> float:
    """Smallest eps_g that the covariance ``C`` (``n x n``) resolves in double precision."""
    return EPS_ROUNDOFF * C.shape[0] * float(np.abs(C).max())


class EigenmodeSystem:
    """Callable right-hand side, Jacobian and observables for one model and learning rate.

    Parameters
    ----------
    model : CommitteeModel
    compiled : CompiledSystem
        From :func:`theorykit.committee.compiled.compile_model` (its ``small_lr`` must match the model).
    eta : float
        Learning rate.
    t : array (L, M, M)
        Teacher-teacher overlaps per eigenmode.
    dtype : {float, object}
        ``object`` for high-precision evaluation with the ``mpmath`` flavour; the numbers
        passed in must then already be ``mpf`` at the caller's working precision.
    rhs_layout : {"auto", "loops", "batched"}
        How the numba flavour's one-call right-hand side is arranged: plain loops in one njit
        call, or njit around one batched BLAS product; ``"auto"``: loops while
        ``L K n^2 <= SMALL_FUSED``.  Same numbers to round-off; other flavours ignore it (the
        c flavour has the loops only).
    """

    RHS_LAYOUTS = ("auto", "loops", "batched")

    def __init__(
        self, model: CommitteeModel, compiled: CompiledSystem, eta, t: np.ndarray, dtype=float, rhs_layout: str = "auto"
    ) -> None:
        if rhs_layout not in self.RHS_LAYOUTS:
            raise ValueError(f"rhs_layout must be one of {self.RHS_LAYOUTS}, got {rhs_layout!r}")
        if compiled.small_lr != model.small_lr:
            raise ValueError("compiled system and model disagree on small_lr")
        self.model = model
        self.flavour = compiled.flavour
        # the mpmath flavour in a float system: reference kernels, results back to floats
        self.mod = (
            _FloatResults(compiled.module) if dtype is float and compiled.flavour == "mpmath" else compiled.module
        )
        self.K, self.M, self.L, self.n = model.K, model.M, model.spectrum.L, model.n
        self.dtype = dtype
        conv = _converter(dtype)
        self.eta = conv(eta)
        if dtype is float:
            self.lam, self.f = conv(model.spectrum.lam), conv(model.spectrum.f)
        else:  # recomputed at the working precision, not the stored floats
            self.lam, self.f = (np.array(v, dtype=object) for v in model.spectrum.high_precision())
        self.w = conv(model.readout_weights) if dtype is float else _weights_obj(model)
        self.c_K = self.w[0] * -1
        self.s2 = conv(model.noise) ** 2
        t = np.asarray(t, dtype=float) if dtype is float else conv(np.asarray(t, dtype=object))
        if t.shape != (self.L, self.M, self.M):
            raise ValueError(f"t must have shape {(self.L, self.M, self.M)}, got {t.shape}")
        self.t = t
        self.iu = np.triu_indices(self.K)
        self.size_r = self.L * self.K * self.M
        self.size_overlaps = self.size_r + self.L * len(self.iu[0])
        # a trained read-out: the students' weights v_i ride at the end of the state
        self.trains_readout = model.trains_readout
        self.eta_v = conv(model.second_layer.eta) if self.trains_readout else None
        self.size = self.size_overlaps + (self.K if self.trains_readout else 0)
        self._eta2_lam_f = (self.eta**2) * self.lam * self.f
        # weight decay: the derived rate on every student-teacher entry, twice it on the
        # student-student ones (both students decay); None without decay, so nothing changes
        self._decay = None
        if model.weight_decay:
            rate = self.mod.decay_rate_fn(self.eta, conv(model.weight_decay))
            per_entry = np.concatenate(
                [
                    np.full(self.size_r, 1),
                    np.full(self.size_overlaps - self.size_r, 2),
                    np.zeros(self.size - self.size_overlaps),
                ]
            )
            self._decay = per_entry * rate if dtype is float else np.array([c * rate for c in per_entry], dtype=object)
        self.nfev = 0
        # numba flavour: the right-hand side in one (small systems) or three compiled calls;
        # c flavour: one call of the C library, everything but the state bound once
        # (not with per-unit read-out weights: the fused code takes one c_K for all students)
        fusable = dtype is float and not model.per_unit_readout
        self._c_rhs = None
        self._fused = None
        if fusable and self.flavour == "c":
            self._c_rhs = self._fused = self.mod.bind_rhs(
                t, self.lam, self._eta2_lam_f, self.w, self.K, self.M, self.eta, self.c_K, self.s2
            )
        elif fusable:
            self._fused = getattr(self.mod, "fused_prep", None)
        if self._c_rhs is None and self._fused is not None:
            L, K, n = self.L, self.K, self.n
            self._t_contiguous = np.ascontiguousarray(t, dtype=float)
            self._Om = np.empty((L, n, n))
            self._Y = np.empty((L, K, n))
            self._small = L * K * n * n <= SMALL_FUSED if rhs_layout == "auto" else rhs_layout == "loops"

    @property
    def fused(self) -> bool:
        """Whether the right-hand side is a compiled one-call form (numba flavour, or the c flavour's library)."""
        return self._fused is not None

    @classmethod
    def build(cls, model: CommitteeModel, eta, t: np.ndarray, flavour: str = "auto", dtype=float) -> EigenmodeSystem:
        """The system of ``model`` at learning rate ``eta`` with teacher overlaps ``t``, its code from
        :func:`~theorykit.committee.compiled.compile_model` (compiled once per process)."""
        return cls(model, compile_model(model, flavour), eta, t, dtype)

    @classmethod
    def reuse_or_build(
        cls, system: EigenmodeSystem | None, model: CommitteeModel, eta, t: np.ndarray, flavour: str = "auto"
    ) -> EigenmodeSystem:
        """``system`` when it was built for ``model``, ``eta`` and teacher ``t`` (float), else a
        ValueError; without one, :meth:`build` it.  How solve, the plateau and the late phase take
        a System built by the caller."""
        if system is None:
            return cls.build(model, eta, t, flavour)
        if system.model != model or system.eta != eta or system.dtype is not float or not np.array_equal(system.t, t):
            raise ValueError("system was built for another model, learning rate or teacher than this computation")
        return system

    # -- the generated kernel blocks, by name ---------------------------------------------
    def G(self, C: np.ndarray) -> np.ndarray:
        r""":math:`G = [G_s\,|\,G_t]` (K x n), the O(eta) Stein coefficients at covariance ``C``."""
        return self.mod.G_fn(C, self.w, self.K, self.n, self.c_K)

    def W(self, C: np.ndarray) -> np.ndarray | None:
        """The O(eta^2) noise matrix (K x K) at ``C``; None with ``small_lr``."""
        if self.model.small_lr:
            return None
        return self.mod.W_fn(C, self.w, self.K, self.n, self.c_K, self.s2)

    def G_tangent(self, C: np.ndarray, dC: np.ndarray) -> np.ndarray:
        """Directional derivative of :meth:`G` at ``C`` along ``dC``."""
        return self.mod.G_tan(C, dC, self.w, self.K, self.n, self.c_K)

    def W_tangent(self, C: np.ndarray, dC: np.ndarray) -> np.ndarray | None:
        """Directional derivative of :meth:`W` at ``C`` along ``dC`` (None with ``small_lr``)."""
        if self.model.small_lr:
            return None
        return self.mod.W_tan(C, dC, self.w, self.K, self.n, self.c_K, self.s2)

    def eps_of_covariance(self, C: np.ndarray):
        r""":math:`\varepsilon_g` as a function of the covariance ``C`` (n x n)."""
        return self.mod.eps_fn(C, self.w, self.K, self.n)

    # -- packing ------------------------------------------------------------------------
    def pack(self, r: np.ndarray, q: np.ndarray, v=None) -> np.ndarray:
        """The state: ``r``, the upper triangle of ``q`` and, with a trained read-out, the
        students' read-out weights ``v`` (default: the model's starting ones)."""
        overlaps = self._pack_overlaps(r, q)
        if not self.trains_readout:
            return overlaps
        if v is None:  # the model's starting weights: a user's numbers, read as the decimals written
            start = self.model.second_layer.student
            v = start if self.dtype is float else [lift(x) for x in start]
        dtype = overlaps.dtype if self.dtype is float else object
        return np.concatenate([overlaps.astype(dtype), np.asarray(v, dtype=dtype)])

    def _pack_overlaps(self, r: np.ndarray, q: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(r).reshape(-1), np.asarray(q)[:, self.iu[0], self.iu[1]].reshape(-1)])

    def readout(self, state: np.ndarray) -> np.ndarray:
        """The students' read-out weights ``v`` (K) in ``state``: trained, or the model's fixed ones."""
        if self.trains_readout:
            return state[self.size_overlaps :]
        return -self.w[: self.K]

    def _use_readout(self, state: np.ndarray) -> None:
        """Take the students' read-out weights of ``state`` into ``w`` (a trained read-out; ``w``
        is this system's own array, written in place on every right-hand side)."""
        if self.trains_readout:
            self.w[: self.K] = -state[self.size_overlaps :]

    def unpack(self, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = state[: self.size_r].reshape(self.L, self.K, self.M)
        upper = state[self.size_r : self.size_overlaps].reshape(self.L, -1)
        q = np.zeros((self.L, self.K, self.K), dtype=state.dtype)
        q[:, self.iu[0], self.iu[1]] = upper
        q[:, self.iu[1], self.iu[0]] = upper
        return r, q

    def overlaps(self, state: np.ndarray, teacher: bool = True) -> np.ndarray:
        """Per-mode overlap matrices :math:`\\Omega^{(k)}`, shape (L, n, n)."""
        r, q = self.unpack(state)
        om = np.zeros((self.L, self.n, self.n), dtype=state.dtype)
        K = self.K
        om[:, :K, :K] = q
        om[:, :K, K:] = r
        om[:, K:, :K] = r.transpose(0, 2, 1)
        if teacher:
            om[:, K:, K:] = self.t
        return om

    def covariance(self, state: np.ndarray) -> np.ndarray:
        """Pre-activation covariance :math:`C = \\sum_k \\lambda_k \\Omega^{(k)}` (n x n)."""
        return self.mod.cov_fn(self.overlaps(state), self.lam)

    # -- dynamics -----------------------------------------------------------------------
    def _derivative(self, om: np.ndarray, G: np.ndarray, W) -> np.ndarray:
        Y = self.mod.drift_fn(G, om, self.lam, self.eta)
        K = self.K
        dr = Y[:, :, K:]
        A = Y[:, :, :K]
        dq = A + A.transpose(0, 2, 1)
        if W is not None:
            dq = dq + self._eta2_lam_f[:, None, None] * W[None, :, :]
        return self._pack_overlaps(dr, dq)

    def rhs(self, alpha, state: np.ndarray) -> np.ndarray:
        """:math:`d(\\text{state})/d\\alpha`."""
        derivative = self._rhs(state)
        return derivative if self._decay is None else derivative + self._decay * state

    def _rhs(self, state: np.ndarray) -> np.ndarray:
        self.nfev += 1
        if self._fused is not None:
            state = np.ascontiguousarray(state, dtype=float)
            if self._c_rhs is not None:  # C-contiguous float64: the buffer C reads
                return self._c_rhs(state)
            args = (self._t_contiguous, self.lam, self._eta2_lam_f, self.w, self.K, self.M, self.eta, self.c_K, self.s2)
            if self._small:
                return self.mod.rhs_small(state, *args, self._Om, self._Y)
            G, W = self.mod.fused_prep(
                state, self._t_contiguous, self.lam, self.w, self.K, self.M, self.c_K, self.s2, self._Om
            )
            np.matmul(G, self._Om, out=self._Y)  # one batched BLAS product over the modes
            return self.mod.fused_pack(
                self._Y, self.lam, self._eta2_lam_f, W, self.K, self.M, self.eta, np.empty_like(state)
            )
        om = self.overlaps(state)
        C = self.mod.cov_fn(om, self.lam)
        self._use_readout(state)
        G, W = self.G(C), self.W(C)
        derivative = self._derivative(om, G, W)
        if not self.trains_readout:
            return derivative
        # dv_i/dalpha = eta_v <g(a_i)(zeta - sigma)> (derived: IndexSystem.readout_drift)
        dv = self.eta_v * self.mod.readout_fn(C, self.w, self.K, self.n)
        return np.concatenate([derivative, dv])

    __call__ = rhs

    def jvp(self, state: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """Jacobian-vector product, from the generated kernel tangents (chain rule).

        With a trained read-out the state's last K entries are the students' weights v; the
        right-hand side is a polynomial of degree at most 4 in them (G is quadratic in the
        read-out weights, the noise matrix W quartic, the read-out drift linear), so its
        derivative along ``dv`` is exact from the five values at ``v + s dv/|dv|``,
        ``s = -2..2``: :math:`p'(0) = [p(-2) - 8p(-1) + 8p(1) - p(2)]/12` holds for every
        polynomial of degree <= 4 (round-off only, no truncation error).
        """
        self._use_readout(state)
        om = self.overlaps(state)
        dom = self.overlaps(direction, teacher=False)
        C = self.mod.cov_fn(om, self.lam)
        dC = self.mod.cov_fn(dom, self.lam)
        args = (self.w, self.K, self.n, self.c_K)
        G = self.mod.G_fn(C, *args)
        dG = self.mod.G_tan(C, dC, *args)
        dY = self.mod.drift_fn(dG, om, self.lam, self.eta) + self.mod.drift_fn(G, dom, self.lam, self.eta)
        K = self.K
        dA = dY[:, :, :K]
        dq = dA + dA.transpose(0, 2, 1)
        if not self.model.small_lr:
            dW = self.mod.W_tan(C, dC, *args, self.s2)
            dq = dq + self._eta2_lam_f[:, None, None] * dW[None, :, :]
        tangent = self._pack_overlaps(dY[:, :, K:], dq)
        if self.trains_readout:
            dv = self.eta_v * self.mod.readout_tan(C, dC, self.w, self.K, self.n)
            tangent = np.concatenate([tangent, dv]) + self._readout_tangent(state, direction[self.size_overlaps :])
        return tangent if self._decay is None else tangent + self._decay * direction

    def _readout_tangent(self, state: np.ndarray, dv: np.ndarray) -> np.ndarray:
        """Derivative of the right-hand side along the read-out weights ``dv`` (see :meth:`jvp`)."""
        scale = max(abs(d) for d in dv)
        if scale == 0:
            return np.zeros_like(state)
        unit = dv / scale
        nfev = self.nfev  # evaluations for a derivative are not steps of an integrator

        def at(s):
            shifted = state.copy()
            shifted[self.size_overlaps :] = state[self.size_overlaps :] + s * unit
            return self._rhs(shifted)

        derivative = (at(-2) - 8 * at(-1) + 8 * at(1) - at(2)) / 12
        self.nfev = nfev
        self._use_readout(state)
        return scale * derivative

    def jacobian(self, alpha, state: np.ndarray) -> np.ndarray:
        """Dense Jacobian (columns are :meth:`jvp` along unit vectors); for small systems."""
        eye = np.eye(self.size, dtype=state.dtype) if self.dtype is float else _obj_eye(self.size)
        return np.stack([self.jvp(state, eye[:, c]) for c in range(self.size)], axis=1)

    def eps_g(self, state: np.ndarray):
        """Generalisation error :math:`\\varepsilon_g = \\tfrac12\\sum_{xy} w_x w_y \\langle g(u_x) g(u_y)\\rangle`."""
        C = self.covariance(state)
        self._use_readout(state)
        return self.eps_of_covariance(C)


class _FloatResults:
    """A generated mpmath-flavour module whose functions return floats (for double-precision solvers).

    Lets ``solver.flavour = "mpmath"`` run through SciPy's integrators: every kernel is
    evaluated by the generated mpmath code (a check on the NumPy/numba lowering) and handed
    back as float arrays.
    """

    def __init__(self, module) -> None:
        self._module = module

    def __getattr__(self, name: str):
        target = getattr(self._module, name)
        if not callable(target):
            return target

        def call(*args):
            out = target(*args)
            return np.asarray(out, dtype=float) if isinstance(out, np.ndarray) else float(out)

        return call


def _converter(dtype):
    if dtype is float:
        return lambda v: np.asarray(v, dtype=float) if np.ndim(v) else float(v)
    # floats given to a high-precision system are user inputs: read as the decimals written
    return lambda v: lift_array(v) if np.ndim(v) else lift(v)


def _weights_obj(model: CommitteeModel) -> np.ndarray:
    """Read-out weights at the working precision (1/sqrt(K) recomputed, not rounded floats; given
    per-unit weights read as the decimals written)."""
    if model.second_layer is not None:
        layer = model.second_layer
        return np.array([-lift(v) for v in layer.student] + [lift(v) for v in layer.teacher], dtype=object)
    cK, cM = model.readout_high_precision()
    return np.array([-cK] * model.K + [cM] * model.M, dtype=object)


def _obj_eye(size: int) -> np.ndarray:
    import mpmath

    out = np.empty((size, size), dtype=object)
    out[...] = mpmath.mpf(0)
    for d in range(size):
        out[d, d] = mpmath.mpf(1)
    return out
