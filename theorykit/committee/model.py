"""Model specifications: the committee machine and the input spectrum (immutable).

Conventions (see ``docs/physics.md``):

* Input ``x ~ N(0, Sigma)``; Sigma has ``L`` distinct eigenvalues ``lambda_k`` with
  multiplicity fractions ``f_k`` (summing to 1).
* Power-law spectrum: ``lambda_k = lambda_+ k^{-(1+beta)}`` with ``lambda_+`` fixed by
  ``sum_k f_k lambda_k = 1`` (``tr Sigma / N = 1``), ``f_k = 1/L`` unless given.
* Read-out: ``sigma = c_K sum_i g(a_i)``, ``zeta = c_M sum_n g(b_n) + noise``;
  normalisation ``"sqrt"``: ``c_K = 1/sqrt(K)``, ``c_M = 1/sqrt(M)``; ``"sum"``: both 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.errors import CaseError
from ..core.precision import lift
from .schema import COMMITTEE

NORMALIZATIONS = COMMITTEE["model.normalization"].rule.options


@dataclass(frozen=True)
class Spectrum:
    """Distinct eigenvalues of the input covariance and their multiplicity fractions.

    Use :meth:`power_law` or :meth:`explicit` rather than the constructor.
    """

    eigenvalues: tuple[float, ...]
    fractions: tuple[float, ...]
    kind: str = "explicit"
    beta: float | None = None

    @property
    def L(self) -> int:
        return len(self.eigenvalues)

    @property
    def lam(self) -> np.ndarray:
        return np.asarray(self.eigenvalues, dtype=float)

    @property
    def f(self) -> np.ndarray:
        return np.asarray(self.fractions, dtype=float)

    def high_precision(self) -> tuple[list, list]:
        """Eigenvalues and fractions as ``mpf`` at the caller's ``mpmath`` precision.

        Recomputed, not converted from the stored floats: equal fractions are exactly
        ``1/L``, the power law is re-normalised at the working precision, and numbers the
        user gave (explicit eigenvalues, fractions, ``beta``) are read as the decimals they
        were written as (``0.1`` is one tenth, not its binary neighbour).
        """
        import mpmath

        L = self.L
        if len(set(self.fractions)) == 1:
            f = [mpmath.mpf(1) / L] * L
        else:
            f = [lift(v) for v in self.fractions]
        if self.kind == "power_law":
            exponent = -(1 + lift(self.beta))
            raw = [mpmath.mpf(k) ** exponent for k in range(1, L + 1)]
            norm = mpmath.fsum(fk * rk for fk, rk in zip(f, raw))
            lam = [rk / norm for rk in raw]
        else:
            lam = [lift(v) for v in self.eigenvalues]
        return lam, f

    @staticmethod
    def power_law(L: int, beta: float, fractions: list[float] | None = None) -> Spectrum:
        """:math:`\\lambda_k = \\lambda_+ k^{-(1+\\beta)}`, normalised so :math:`\\sum_k f_k\\lambda_k = 1`.

        Examples
        --------
        >>> s = Spectrum.power_law(4, 1.0)
        >>> round(sum(f * l for f, l in zip(s.fractions, s.eigenvalues)), 12)
        1.0
        """
        L = COMMITTEE.check("spectrum.L", L)
        beta = COMMITTEE.check("spectrum.beta", beta)
        f = _check_fractions(fractions, L)
        raw = np.arange(1, L + 1, dtype=float) ** (-(1.0 + beta))
        lam = raw / float(np.dot(f, raw))
        return Spectrum(tuple(lam.tolist()), tuple(f.tolist()), "power_law", beta)

    @staticmethod
    def explicit(eigenvalues: list[float], fractions: list[float] | None = None) -> Spectrum:
        """Eigenvalues used as given (no normalisation); ``fractions`` default to ``1/L``."""
        lam = COMMITTEE.check("spectrum.eigenvalues", eigenvalues)
        f = _check_fractions(fractions, len(lam))
        return Spectrum(tuple(lam.tolist()), tuple(f.tolist()), "explicit", None)


def _check_fractions(fractions: list[float] | None, L: int) -> np.ndarray:
    if fractions is None:
        return np.full(L, 1.0 / L)
    f = COMMITTEE.check("spectrum.fractions", fractions)
    if f.size != L:
        raise CaseError("spectrum.fractions", f"must be a list of {L} numbers (one per eigenvalue), got {f.size}")
    if abs(f.sum() - 1.0) > 1e-9:
        raise CaseError("spectrum.fractions", f"must sum to 1 (within 1e-9), got {f.sum():.12g}")
    return f


@dataclass(frozen=True)
class SecondLayer:
    """Read-out weights of one unit each, and the students' read-out learning rate.

    Parameters
    ----------
    student : sequence of float
        :math:`v_i` of the K students (their start when trained).
    teacher : sequence of float
        :math:`v^*_n` of the M teachers (fixed).
    eta : float
        :math:`\\eta_v \\ge 0`: after each example :math:`v_i \\leftarrow v_i + (\\eta_v/N)
        g(a_i)(\\zeta - \\sigma)`; 0 keeps the given weights fixed.
    """

    student: tuple
    teacher: tuple
    eta: float = COMMITTEE.default("model.second_layer.eta")

    def __post_init__(self) -> None:
        for name in ("student", "teacher"):
            values = COMMITTEE.check(f"model.second_layer.{name}", getattr(self, name))
            object.__setattr__(self, name, tuple(float(v) for v in values))
        object.__setattr__(self, "eta", COMMITTEE.check("model.second_layer.eta", self.eta))

    def as_dict(self) -> dict:
        return {"student": list(self.student), "teacher": list(self.teacher), "eta": self.eta}


@dataclass(frozen=True)
class CommitteeModel:
    """Soft committee machine learning from a teacher of the same kind.

    Parameters
    ----------
    K, M : int
        Hidden units of the student and the teacher.
    activation : str
        Registry name (``"erf"``, ``"linear"``, ``"relu"``) -- see
        :mod:`theorykit.committee.derive.activations` -- or an :class:`~theorykit.committee.derive.activations.Activation`.
    normalization : {"sqrt", "sum"}
        Second-layer weights ``1/sqrt(K)`` (soft committee) or 1 (Saad & Solla).
    spectrum : Spectrum
        Input covariance.
    noise : float
        Standard deviation ``s`` of the output noise added to the teacher's label.
    small_lr : bool
        Keep only the O(eta) terms of the equations.
    weight_decay : float
        :math:`\\kappa \\ge 0`: each SGD step also moves every student vector by
        :math:`-(\\eta\\kappa/N) J_i`, which adds :math:`-\\eta\\kappa\\,r_k` and
        :math:`-2\\eta\\kappa\\,q_k` to the per-mode equations (derived in
        :mod:`theorykit.committee.derive.odes`).
    second_layer : SecondLayer, optional
        Read-out weights per unit (and their learning rate) instead of ``normalization``'s
        :math:`c_K, c_M`; ``None`` (default) keeps the classic fixed read-out.
    """

    K: int
    M: int
    spectrum: Spectrum
    activation: object = COMMITTEE.default("model.activation")
    normalization: str = COMMITTEE.default("model.normalization")
    noise: float = COMMITTEE.default("model.noise")
    small_lr: bool = COMMITTEE.default("small_lr")
    weight_decay: float = COMMITTEE.default("model.weight_decay")
    second_layer: SecondLayer | None = None

    def __post_init__(self) -> None:
        for name, key in (("K", "model.K"), ("M", "model.M"), ("normalization", "model.normalization")):
            object.__setattr__(self, name, COMMITTEE.check(key, getattr(self, name)))
        object.__setattr__(self, "noise", COMMITTEE.check("model.noise", self.noise))
        object.__setattr__(self, "weight_decay", COMMITTEE.check("model.weight_decay", self.weight_decay))
        if self.second_layer is not None:
            if not isinstance(self.second_layer, SecondLayer):
                raise CaseError("model.second_layer", "must be a SecondLayer (student, teacher, eta)")
            for name, size in (("student", self.K), ("teacher", self.M)):
                if len(getattr(self.second_layer, name)) != size:
                    raise CaseError(
                        f"model.second_layer.{name}",
                        f"must hold {size} weights (one per {name}), got {len(getattr(self.second_layer, name))}",
                    )
        object.__setattr__(self, "small_lr", COMMITTEE.check("small_lr", self.small_lr))
        if isinstance(self.activation, str):  # a registry name, checked without loading SymPy
            COMMITTEE.check("model.activation", self.activation)
        else:
            from .derive.activations import get_activation

            get_activation(self.activation)  # an Activation object passes; anything else is a CaseError

    @property
    def activation_name(self) -> str:
        return self.activation if isinstance(self.activation, str) else self.activation.name

    @property
    def n(self) -> int:
        return self.K + self.M

    @property
    def c_K(self) -> float:
        return 1.0 / math.sqrt(self.K) if self.normalization == "sqrt" else 1.0

    @property
    def c_M(self) -> float:
        return 1.0 / math.sqrt(self.M) if self.normalization == "sqrt" else 1.0

    def infinite_teacher(self, high_precision: bool = False) -> np.ndarray:
        """Teacher overlaps :math:`t_k = f_k 1` (L, M, M) of unit-variance i.i.d. teacher weights as N -> infinity.

        With ``high_precision`` an object array of ``mpf`` at the caller's ``mpmath`` precision,
        the fractions recomputed (:meth:`Spectrum.high_precision`), not converted from floats.
        """
        if not high_precision:
            return self.spectrum.f[:, None, None] * np.eye(self.M)[None]
        import mpmath

        f = self.spectrum.high_precision()[1]
        M, zero = self.M, mpmath.mpf(0)
        return np.array([[[fk if a == b else zero for b in range(M)] for a in range(M)] for fk in f], dtype=object)

    def readout_high_precision(self) -> tuple:
        """``(c_K, c_M)`` as ``mpf`` at the caller's ``mpmath`` precision (``1/sqrt(K)`` recomputed)."""
        import mpmath

        if self.normalization == "sqrt":
            return 1 / mpmath.sqrt(self.K), 1 / mpmath.sqrt(self.M)
        return mpmath.mpf(1), mpmath.mpf(1)

    def settings(self) -> dict:
        """The model's scalar settings (K, M, activation, normalisation, noise, small_lr, and the
        weight decay when there is one) for provenance."""
        settings = {
            "K": self.K,
            "M": self.M,
            "activation": self.activation_name,
            "normalization": self.normalization,
            "noise": self.noise,
            "small_lr": self.small_lr,
        }
        if self.weight_decay:
            settings["weight_decay"] = self.weight_decay
        if self.second_layer is not None:
            del settings["normalization"]
            settings["second_layer"] = self.second_layer.as_dict()
        return settings

    def readout_exact(self) -> tuple:
        """``(c_K, c_M)`` as exact SymPy numbers (``1/sqrt(K)`` a radical, not a float)."""
        from .derive.odes import exact_readout

        return exact_readout(self.K, self.M, self.normalization)

    @property
    def readout_weights(self) -> np.ndarray:
        """Signed read-out weights ``w``: ``-c_K`` for students, ``+c_M`` for teachers (with a
        :class:`SecondLayer`: ``-v_i`` and ``+v*_n``, the students' at their start)."""
        if self.second_layer is not None:
            return np.concatenate([-np.asarray(self.second_layer.student), np.asarray(self.second_layer.teacher)])
        return np.concatenate([np.full(self.K, -self.c_K), np.full(self.M, self.c_M)])

    @property
    def per_unit_readout(self) -> bool:
        """Whether each unit has its own read-out weight (a :class:`SecondLayer`)."""
        return self.second_layer is not None

    @property
    def trains_readout(self) -> bool:
        """Whether the students' read-out weights learn (``second_layer.eta > 0``)."""
        return self.second_layer is not None and self.second_layer.eta > 0

    def require_classic(self, what: str) -> None:
        """Raise the one-line CaseError of a result that includes neither weight decay nor
        per-unit read-out weights yet (both enter ``solve``, ``simulate`` and ``plateau``)."""
        where = "'theorykit solve' (every method but 'exponential'), 'theorykit simulate' and 'theorykit plateau'"
        if self.weight_decay:
            raise CaseError(
                "model.weight_decay",
                f"{what} does not include weight decay (kappa = {self.weight_decay:g}); it enters {where}",
            )
        if self.second_layer is not None:
            raise CaseError(
                "model.second_layer", f"{what} does not include per-unit read-out weights; they enter {where}"
            )

    @property
    def n_unknowns(self) -> int:
        return self.spectrum.L * (self.K * self.M + self.K * (self.K + 1) // 2)
