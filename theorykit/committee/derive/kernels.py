"""The Gaussian kernels the order-parameter equations are built from.

A kernel is the Gaussian average of a product of activation factors of a few *slots*
(pre-activations), written as a SymPy expression in the covariance entries of those slots
(:func:`~theorykit.committee.derive.gaussian.cov_symbols` order).  The committee-machine equations need
four of them:

=============  ==========================================  =====================
name           average                                     used for
=============  ==========================================  =====================
``gg``         :math:`\\langle g(u_0) g(u_1)\\rangle`          :math:`\\varepsilon_g`
``dgdg``       :math:`\\langle g'(u_0) g'(u_1)\\rangle`        D, E (Stein), noise in W
``d2g_g``      :math:`\\langle g''(u_0) g(u_1)\\rangle`        diagonal of D
``dgdg_gg``    :math:`\\langle g'(u_0)g'(u_1)g(u_2)g(u_3)\\rangle`  W (the :math:`\\eta^2` term)
=============  ==========================================  =====================
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .gaussian import cov_pairs, cov_symbols


@dataclass(frozen=True)
class KernelSpec:
    """Static description of one kernel: derivative order per slot and slot symmetries.

    Attributes
    ----------
    name : str
        Identifier used in the index-form equations and in generated code.
    orders : tuple of int
        Derivative order of the activation in each slot.
    symmetries : tuple of tuple of int
        Slot permutations that leave the average invariant (e.g. ``(1, 0)`` for ``gg``);
        code generation uses them to skip duplicate evaluations, and the tests check them.
    """

    name: str
    orders: tuple[int, ...]
    symmetries: tuple[tuple[int, ...], ...] = ()

    @property
    def n_slots(self) -> int:
        return len(self.orders)

    @property
    def args(self) -> tuple[sp.Symbol, ...]:
        """Covariance-entry symbols the kernel expression is written in."""
        return cov_symbols(self.n_slots)

    @property
    def arg_pairs(self) -> tuple[tuple[int, int], ...]:
        """Slot pairs ``(a, b)`` of :attr:`args`, in the same order."""
        return cov_pairs(self.n_slots)

    def latex(self, units: tuple[str, ...]) -> str:
        """LaTeX of the average with the slots filled by ``units`` (e.g. ``('i', 'x')``)."""
        primes = {0: "", 1: "'", 2: "''"}
        body = r"\,".join(f"g{primes[o]}(u_{{{s}}})" for o, s in zip(self.orders, units))
        return rf"\left\langle {body} \right\rangle"


GG = KernelSpec("gg", (0, 0), ((1, 0),))
DGDG = KernelSpec("dgdg", (1, 1), ((1, 0),))
D2G_G = KernelSpec("d2g_g", (2, 0))
DGDG_GG = KernelSpec("dgdg_gg", (1, 1, 0, 0), ((1, 0, 2, 3), (0, 1, 3, 2)))

#: All kernels by name.
KERNELS: dict[str, KernelSpec] = {k.name: k for k in (GG, DGDG, D2G_G, DGDG_GG)}


def kernel_for_orders(orders: tuple[int, ...]) -> tuple[KernelSpec, tuple[int, ...]]:
    """Find the kernel for a multiset of derivative orders.

    Returns the kernel and the permutation ``perm`` such that slot ``s`` of the kernel
    takes factor ``perm[s]`` of the input.
    """
    ranked = sorted(range(len(orders)), key=lambda p: -orders[p])
    wanted = tuple(orders[p] for p in ranked)
    for spec in KERNELS.values():
        if spec.orders == wanted:
            return spec, tuple(ranked)
    raise KeyError(f"no kernel for derivative orders {orders}")


def permuted_args(spec: KernelSpec, perm: tuple[int, ...]) -> dict[sp.Symbol, sp.Symbol]:
    """Substitution mapping the kernel's covariance symbols under a slot permutation."""
    index = dict(zip(spec.arg_pairs, spec.args))
    mapping = {}
    for (a, b), symbol in zip(spec.arg_pairs, spec.args):
        pa, pb = perm[a], perm[b]
        mapping[symbol] = index[(min(pa, pb), max(pa, pb))]
    return mapping
