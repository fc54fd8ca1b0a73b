"""Activation functions and their Gaussian kernels.

Activations are looked up by name in :data:`REGISTRY`; no user string is ever evaluated.
Three kinds exist:

* :class:`SymbolicActivation` -- ``g(z)`` as a SymPy expression; every kernel is *derived*
  by :class:`~theorykit.committee.derive.gaussian.GaussianAverager` (``erf``, ``linear``).
* :class:`ClosedFormActivation` -- kernels given as known closed forms and *verified* in the
  tests (Price's theorem, Monte Carlo); kernels without a closed form fall back to
  quadrature (``relu``: the arc-cosine kernels; the four-point average is numeric).
* :class:`NumericActivation` -- any vectorised Python callable; every kernel by
  Gauss--Hermite quadrature (see :mod:`theorykit.committee.derive.quadrature`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import sympy as sp

from ...core.errors import CaseError
from ...core.schema import shown
from .gaussian import GaussianAverager, cov_symbols, z
from .kernels import KERNELS, KernelSpec


class Activation:
    """Common interface: a name and a symbolic expression (or ``None``) per kernel."""

    name: str

    def kernel_expr(self, spec: KernelSpec) -> sp.Expr | None:
        """SymPy expression of ``spec`` in ``spec.args``, or ``None`` if only numeric."""
        raise NotImplementedError

    def numeric(self) -> NumericActivation:
        """Numeric (quadrature) view of the same activation, for missing closed forms."""
        raise NotImplementedError

    def is_fully_symbolic(self, names: tuple[str, ...]) -> bool:
        return all(self.kernel_expr(KERNELS[n]) is not None for n in names)


@dataclass(frozen=True, eq=False)
class SymbolicActivation(Activation):
    """Activation ``g(z)`` given as a SymPy expression in :data:`~theorykit.committee.derive.gaussian.z`."""

    name: str
    g: sp.Expr

    @cached_property
    def _averager(self) -> GaussianAverager:
        return GaussianAverager(self.g)

    @cached_property
    def _kernels(self) -> dict[str, sp.Expr]:
        return {}

    def kernel_expr(self, spec: KernelSpec) -> sp.Expr:
        if spec.name not in self._kernels:
            self._kernels[spec.name] = self._averager.average(spec.orders)
        return self._kernels[spec.name]

    def numeric(self) -> NumericActivation:
        fn = sp.lambdify(z, self.g, ["scipy", "numpy"])
        dfn = sp.lambdify(z, sp.diff(self.g, z), ["scipy", "numpy"])
        d2fn = sp.lambdify(z, sp.diff(self.g, z, 2), ["scipy", "numpy"])
        return NumericActivation(self.name, fn, dfn, d2fn)


@dataclass(frozen=True, eq=False)
class ClosedFormActivation(Activation):
    """Kernels given in closed form (verified by the tests); the rest numeric."""

    name: str
    closed_forms: dict[str, sp.Expr]
    fallback: NumericActivation

    def kernel_expr(self, spec: KernelSpec) -> sp.Expr | None:
        return self.closed_forms.get(spec.name)

    def numeric(self) -> NumericActivation:
        return self.fallback


@dataclass(frozen=True, eq=False)
class NumericActivation(Activation):
    """Any activation given as vectorised NumPy callables.

    Parameters
    ----------
    name : str
        Label recorded in outputs.
    fn : callable
        ``g(z)`` on arrays.
    dfn, d2fn : callable, optional
        ``g'(z)`` and ``g''(z)``.  When omitted they are taken by central finite differences
        (step ``1e-4`` and ``1e-3``: truncation and round-off balance near 1e-8 relative).
    """

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    dfn: Callable[[np.ndarray], np.ndarray] | None = None
    d2fn: Callable[[np.ndarray], np.ndarray] | None = None
    quadrature_points: dict[int, int] = field(default_factory=lambda: {2: 48, 4: 14})

    def kernel_expr(self, spec: KernelSpec) -> None:
        return None

    def numeric(self) -> NumericActivation:
        return self

    def derivative(self, order: int) -> Callable[[np.ndarray], np.ndarray]:
        if order == 0:
            return self.fn
        if order == 1:
            if self.dfn is not None:
                return self.dfn
            h = 1e-4
            return lambda x: (self.fn(x + h) - self.fn(x - h)) / (2 * h)
        if order == 2:
            if self.d2fn is not None:
                return self.d2fn
            h = 1e-3
            return lambda x: (self.fn(x + h) - 2 * self.fn(x) + self.fn(x - h)) / h**2
        raise ValueError(f"derivative order {order} not supported")


def _relu() -> ClosedFormActivation:
    """ReLU: arc-cosine kernels of degree 1 and 0 (Cho & Saul 2009) and <delta(u0) relu(u1)>."""
    c00, c11, c01 = cov_symbols(2)
    root = sp.sqrt(c00 * c11 - c01**2)
    theta = sp.acos(c01 / sp.sqrt(c00 * c11))
    closed = {
        "gg": (root + c01 * (sp.pi - theta)) / (2 * sp.pi),
        "dgdg": (sp.pi - theta) / (2 * sp.pi),
        # g'' = delta: density of u0 at 0 times E[relu(u1) | u0 = 0]
        "d2g_g": root / (2 * sp.pi * c00),
    }
    # written with operators only, so the same callables serve NumPy arrays and PyTorch tensors
    numeric = NumericActivation(
        "relu",
        lambda x: x * (x > 0),
        lambda x: 0.0 * x + (x > 0),
        lambda x: 0.0 * x,
    )
    return ClosedFormActivation("relu", closed, numeric)


#: Named activations.  ``erf`` is :math:`g(z) = \mathrm{erf}(z/\sqrt 2)`.
REGISTRY: dict[str, Callable[[], Activation]] = {
    "erf": lambda: SymbolicActivation("erf", sp.erf(z / sp.sqrt(2))),
    "linear": lambda: SymbolicActivation("linear", z),
    "relu": _relu,
}

_INSTANCES: dict[str, Activation] = {}


def get_activation(name: str | Activation) -> Activation:
    """Look an activation up by name (or pass an :class:`Activation` through)."""
    if isinstance(name, Activation):
        return name
    if not isinstance(name, str) or name not in REGISTRY:
        raise CaseError("model.activation", f"unknown activation {shown(name)}; accepted: {sorted(REGISTRY)}")
    if name not in _INSTANCES:
        _INSTANCES[name] = REGISTRY[name]()
    return _INSTANCES[name]
