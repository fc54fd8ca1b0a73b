r"""Proof that a box holds exactly one root of :math:`F(x) = 0`: the Krawczyk test in ball arithmetic.

For a box :math:`X` (a vector of Arb balls) with midpoint :math:`\tilde x`, any matrix ``Y``
(here the inverse of the Jacobian at :math:`\tilde x`, rounded) and an enclosure
:math:`J(X)` of the Jacobian over the whole box,

.. math::

    \mathcal K(X) = \tilde x - Y F(\tilde x) + (I - Y J(X))(X - \tilde x).

If :math:`\mathcal K(X)` lies in the interior of :math:`X`, then ``F`` has exactly one root in
``X`` and it lies in :math:`\mathcal K(X)\cap X` (Krawczyk 1969; Moore 1977).  Arb evaluates
:math:`F` and :math:`J` with rigorous radii, so the conclusion is a proof, not evidence.  The
box is built around a Newton iterate at the working precision, so it is tight: its radius is
set by the residual there, a few units of the last bit.

Model-free: the callers supply ``F`` and ``J`` (:mod:`theorykit.committee.certify`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .balls import flint_module
from .errors import NumericalFailure

#: Radii tried around the Newton point, as multiples of the first guess (each try costs one J(X)).
INFLATIONS = (1, 2**10, 2**30, 2**60)


def certify_root(
    F: Callable[[list], list],
    J: Callable[[list], list],
    start: Sequence,
    what: str,
    newton_steps: int = 60,
) -> list:
    """Enclosures of the unique root of ``F`` near ``start``, proven by the Krawczyk test.

    Parameters
    ----------
    F : callable
        ``F(x)`` for a list of arb balls, a list of arb (the residuals).
    J : callable
        ``J(x)``, the Jacobian as a list of rows of arb, valid for balls (an enclosure of the
        Jacobian over them: Arb's interval evaluation gives one).
    start : sequence of float or arb
        A point near the root (Newton polishes it at the context's precision first).
    what : str
        Named in the error when no box can be proven.

    Returns
    -------
    list of arb
        :math:`\\mathcal K(X)\\cap X` per unknown: each holds the root's coordinate.

    Raises
    ------
    NumericalFailure
        Newton does not settle or no box passes the test (a singular Jacobian, a root too close
        to another, or a start outside Newton's basin).
    """
    flint = flint_module()
    arb, arb_mat = flint.arb, flint.arb_mat
    n = len(start)
    x = [arb(v).mid() if isinstance(v, arb) else arb(float(v)) for v in start]
    bits = flint.ctx.prec
    # every size below is an arb: at thousands of bits 2^-bits is far below the float range
    ulp = arb(2) ** (-bits)

    def size(v: list):
        return sum((abs(a) for a in v), arb(0)).upper()

    for _ in range(newton_steps):
        step = arb_mat(J(x)).solve(arb_mat([[v] for v in F(x)]))
        x = [(xi - step[i, 0]).mid() for i, xi in enumerate(x)]
        if size([step[i, 0].mid() for i in range(n)]) <= size(x) * 2**8 * ulp + ulp:
            break
    else:
        raise NumericalFailure(f"{what}: Newton did not settle at {bits} bits")
    Y = arb_mat([[v.mid() for v in row] for row in arb_mat(J(x)).inv().tolist()])
    correction = Y * arb_mat([[v] for v in F(x)])
    reach = max((abs(correction[i, 0].mid()) + correction[i, 0].rad()).upper() for i in range(n))
    base = max((4 * reach).upper(), (size(x) * 2**16 * ulp).upper(), ulp)
    eye = arb_mat([[1 if i == j else 0 for j in range(n)] for i in range(n)])
    for inflation in INFLATIONS:
        radius = (base * inflation).upper()
        X = [arb(xi, radius) for xi in x]
        spread = arb_mat([[Xi - xi] for Xi, xi in zip(X, x)])
        image = (eye - Y * arb_mat(J(X))) * spread
        K = [x[i] - correction[i, 0] + image[i, 0] for i in range(n)]
        if all(X[i].contains_interior(K[i]) for i in range(n)):
            return [K[i].intersection(X[i]) for i in range(n)]
    raise NumericalFailure(f"{what}: the Krawczyk test proves no box around the root at {bits} bits")
