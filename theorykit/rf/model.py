r"""The random-feature (kernel) regression model: spectrum, teacher, training regime.

Conventions (every one is a field, defaults first):

* ``N`` feature modes with kernel eigenvalues :math:`\eta_k = c\,k^{-(1+a)}`, normalised so
  that :math:`\sum_k \eta_k = 1` (``normalization="sum"``) or :math:`\eta_1 = 1`
  (``"first"``); or an explicit list ``eigenvalues``.
* ``P`` samples, features :math:`\Psi_{\mu k} = \sqrt{\eta_k}\, z_{\mu k}`, :math:`z` i.i.d.
  standard normal (Gaussian equivalence).
* Teacher :math:`w^*_k \sim \mathcal N(0, d_k)` with :math:`d_k = k^{-b}`
  (``teacher_exponent`` :math:`b`, default 0: a target drawn from the GP prior); labels
  :math:`y = \Psi w^* + s\,\epsilon` (``noise`` :math:`s`).
* Loss :math:`\tfrac12|y-\Psi w|^2 + \tfrac\gamma2|w|^2` summed over samples
  (``loss="sum"``); ``loss="mean"`` divides the data term by ``P``.  Internally every
  computation uses the summed convention; :meth:`RandomFeatureModel.summed` maps a mean-loss
  model onto it (time :math:`t \to t/P`, :math:`\gamma \to P\gamma`, :math:`T \to PT`).
* Dynamics :math:`dw = -\nabla L\,dt + \sqrt{2T}\,dW`, :math:`w(0)=0`: gradient flow
  (``T = gamma = 0``), weight decay (``gamma > 0``), Langevin (``T > 0``); the Bayesian
  posterior is the :math:`t\to\infty` state with ``T > 0`` and ``gamma > 0``.
* Test error :math:`\varepsilon_g = \tfrac12\sum_k \eta_k \langle (w_k - w^*_k)^2\rangle`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.errors import CaseError
from .schema import RANDOM_FEATURES, RF_LOSSES, RF_NORMALIZATIONS

NORMALIZATIONS = RF_NORMALIZATIONS
LOSSES = RF_LOSSES
MAX_MODES = 10**7


@dataclass(frozen=True)
class RandomFeatureModel:
    """Random-feature regression with a power-law (or explicit) kernel spectrum.

    Parameters
    ----------
    N : int
        Number of feature modes (``>= 1``).
    P : int
        Number of training samples (``>= 1``).
    a : float
        Spectral exponent, :math:`\\eta_k \\propto k^{-(1+a)}` (``> 0``).
    gamma : float
        Weight decay :math:`\\gamma \\ge 0`.
    T : float
        Langevin temperature :math:`T \\ge 0`.
    noise : float
        Label-noise standard deviation :math:`s \\ge 0`.
    teacher_exponent : float
        :math:`b`, teacher variances :math:`d_k = k^{-b}` (``>= 0``; 0 is the GP-prior teacher).
    normalization : {"sum", "first"}
    loss : {"sum", "mean"}
    eigenvalues : sequence of float, optional
        Explicit spectrum (positive, length ``N``) instead of the power law; ``a`` is then
        used only by the asymptotic formulas.

    Examples
    --------
    >>> m = RandomFeatureModel(N=4, P=2, a=1.0)
    >>> round(float(m.eta.sum()), 12)
    1.0
    >>> RandomFeatureModel(N=4, P=2, a=0.0)
    Traceback (most recent call last):
    ...
    theorykit.core.errors.CaseError: a: must be a number in (0, 1000] (kernel spectrum exponent, eta_k ~ k^-(1+a)), got 0.0
    """

    N: int
    P: int
    a: float = RANDOM_FEATURES.default("a")
    gamma: float = RANDOM_FEATURES.default("gamma")
    T: float = RANDOM_FEATURES.default("T")
    noise: float = RANDOM_FEATURES.default("noise")
    teacher_exponent: float = RANDOM_FEATURES.default("teacher_exponent")
    normalization: str = RANDOM_FEATURES.default("normalization")
    loss: str = RANDOM_FEATURES.default("loss")
    eigenvalues: tuple[float, ...] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in ("N", "P", "a", "gamma", "T", "noise", "teacher_exponent", "normalization", "loss"):
            object.__setattr__(self, name, RANDOM_FEATURES.check(name, getattr(self, name)))
        if self.eigenvalues is not None:
            values = RANDOM_FEATURES.check("eigenvalues", self.eigenvalues)
            if values.size != self.N:
                raise CaseError("eigenvalues", f"must be a list of N = {self.N} numbers, got {values.size}")
            object.__setattr__(self, "eigenvalues", tuple(float(v) for v in values))

    @property
    def eta(self) -> np.ndarray:
        r"""Kernel eigenvalues :math:`\eta_k`, ``shape (N,)``."""
        if self.eigenvalues is not None:
            return np.asarray(self.eigenvalues)
        raw = np.arange(1, self.N + 1, dtype=float) ** (-(1.0 + self.a))
        return raw / raw.sum() if self.normalization == "sum" else raw

    @property
    def teacher_variances(self) -> np.ndarray:
        r""":math:`d_k = \langle w^{*2}_k\rangle = k^{-b}`, ``shape (N,)``."""
        return np.arange(1, self.N + 1, dtype=float) ** (-self.teacher_exponent)

    @property
    def isotropic_teacher(self) -> bool:
        return self.teacher_exponent == 0.0

    @property
    def time_scale(self) -> float:
        """Summed-loss time per unit of the model's own time (1, or ``1/P`` for ``loss="mean"``)."""
        return 1.0 if self.loss == "sum" else 1.0 / self.P

    def summed(self) -> RandomFeatureModel:
        """The same dynamics in the summed-loss convention (times scale by :attr:`time_scale`)."""
        if self.loss == "sum":
            return self
        return RandomFeatureModel(
            self.N,
            self.P,
            self.a,
            self.gamma * self.P,
            self.T * self.P,
            self.noise,
            self.teacher_exponent,
            self.normalization,
            "sum",
            self.eigenvalues,
        )

    def with_(self, **changes) -> RandomFeatureModel:
        """A copy with some fields changed (validated again)."""
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values.update(changes)
        return RandomFeatureModel(**values)

    def as_dict(self) -> dict:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "eigenvalues"}
        if self.eigenvalues is not None:
            out["eigenvalues"] = list(self.eigenvalues)
        return out


def check_times(times, name: str = "times") -> np.ndarray:
    """Times: a non-empty, strictly increasing list of finite numbers in [0, 1e15] (at most 100 000)."""
    return RANDOM_FEATURES["times"].rule.check(times, name)
