"""Symbolic Gaussian averages of products of an activation and its derivatives.

Every average the committee-machine equations need has the form

.. math::

    \\Big\\langle \\prod_a g^{(d_a)}(u_a) \\Big\\rangle, \\qquad u \\sim \\mathcal N(0, C),

with derivative orders :math:`d_a \\in \\{0, 1, 2\\}` and at most four factors.  This module
derives such averages from three general facts, never from a table of results:

1. **Gaussian reweighting.**  If :math:`g'(z) = \\kappa e^{-\\gamma z^2/2}` (the erf family),
   a product of derivatives is a Gaussian weight, and for a set :math:`S` of units

   .. math:: \\Big\\langle e^{-\\frac{\\gamma}{2}\\sum_{s\\in S} u_s^2} F(u)\\Big\\rangle_C
             = \\det(1 + \\gamma C_{SS})^{-1/2}\\, \\langle F(u)\\rangle_{C'},\\quad
             C' = C - \\gamma C_{\\cdot S}(1 + \\gamma C_{SS})^{-1} C_{S\\cdot}.

2. **Stein's lemma.**  :math:`\\langle u_a F(u)\\rangle = \\sum_b C_{ab}\\langle\\partial_b F\\rangle`
   removes every polynomial factor (this also gives Isserlis' theorem for polynomial
   activations).
3. **Price's theorem.**  For an odd activation,
   :math:`\\partial_{C_{cd}}\\langle g(u_c) g(u_d)\\rangle = \\langle g'(u_c) g'(u_d)\\rangle` and the
   average vanishes at :math:`C_{cd} = 0`, so the two-point function is an integral of the
   (already derived) derivative average.

Everything is exact SymPy arithmetic: rationals and ``pi`` stay symbolic.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from ...core.errors import DerivationError

#: The real variable in which activations are written.
z = sp.Symbol("z", real=True)


def cov_pairs(n_slots: int) -> tuple[tuple[int, int], ...]:
    """Canonical order of the independent covariance entries of ``n_slots`` units.

    Diagonal entries first, then the upper triangle row by row:
    ``(0,0), (1,1), ..., (0,1), (0,2), ..., (1,2), ...``.
    """
    diag = tuple((a, a) for a in range(n_slots))
    off = tuple((a, b) for a in range(n_slots) for b in range(a + 1, n_slots))
    return diag + off


def cov_symbols(n_slots: int) -> tuple[sp.Symbol, ...]:
    """Symbols ``c00, c11, ..., c01, ...`` for the entries in :func:`cov_pairs` order.

    Diagonal entries are declared positive (they are variances); off-diagonal ones real.
    """
    out = []
    for a, b in cov_pairs(n_slots):
        out.append(sp.Symbol(f"c{a}{b}", positive=True) if a == b else sp.Symbol(f"c{a}{b}", real=True))
    return tuple(out)


def cov_matrix(n_slots: int) -> sp.Matrix:
    """Symmetric covariance matrix built from :func:`cov_symbols`."""
    syms = dict(zip(cov_pairs(n_slots), cov_symbols(n_slots)))
    return sp.Matrix(n_slots, n_slots, lambda a, b: syms[(min(a, b), max(a, b))])


@dataclass(frozen=True)
class _Term:
    """One product ``coef * prod(u_p for p in poly) * prod(g^(d)(u_a))`` under covariance ``cov``.

    ``derivs`` maps the derivative order to the tuple of units carrying it.
    """

    coef: sp.Expr
    poly: tuple[int, ...]
    d1: tuple[int, ...]
    d0: tuple[int, ...]


class GaussianAverager:
    """Derives :math:`\\langle\\prod_a g^{(d_a)}(u_a)\\rangle` for one activation ``g(z)``.

    Parameters
    ----------
    g : sympy.Expr
        The activation as an expression in :data:`z`.  Supported families: polynomials in
        ``z`` (all averages by Stein/Isserlis) and odd functions whose derivative is
        :math:`\\kappa e^{-\\gamma z^2/2}` (all averages by reweighting, Stein and Price).
    """

    def __init__(self, g: sp.Expr) -> None:
        self.g = sp.sympify(g)
        self.dg = sp.diff(self.g, z)
        self.is_polynomial = self.g.is_polynomial(z)
        self.kappa: sp.Expr | None = None
        self.gamma: sp.Expr | None = None
        if not self.is_polynomial:
            kappa = sp.simplify(self.dg.subs(z, 0))
            ratio = sp.simplify(sp.expand_log(sp.log(sp.simplify(self.dg / kappa)), force=True))
            gamma = sp.simplify(-2 * ratio / z**2)
            if kappa == 0 or gamma.free_symbols or not gamma.is_positive:
                raise DerivationError(
                    "activation: no symbolic Gaussian averages for this g(z); its derivative is "
                    "not kappa*exp(-gamma z^2/2) and it is not a polynomial (use a numeric activation)"
                )
            if sp.simplify(self.g.subs(z, -z) + self.g) != 0:
                raise DerivationError("activation: the Gaussian-derivative family must be odd in z")
            # g'' = -gamma z g' is what lets derivative factors become polynomial ones.
            if sp.simplify(sp.diff(self.g, z, 2) + gamma * z * self.dg) != 0:
                raise DerivationError("activation: g'' != -gamma z g'")
            self.kappa, self.gamma = kappa, gamma

    # -- public -------------------------------------------------------------------------
    def average(self, orders: tuple[int | None, ...], poly: tuple[int, ...] = ()) -> sp.Expr:
        """Average of ``prod_a g^(orders[a])(u_a) * prod_{p in poly} u_p``.

        The result is an expression in :func:`cov_symbols` of ``len(orders)`` units.
        ``orders`` has one entry (0, 1, 2, or ``None`` for no activation factor) per unit;
        ``poly`` lists units that carry a linear factor (Saad & Solla's
        :math:`I_3 = \\langle g'(u_0)\\, u_1\\, g(u_2)\\rangle` is
        ``orders=(1, None, 0), poly=(1,)``).
        """
        n = len(orders)
        cov = cov_matrix(n)
        if self.is_polynomial:
            return sp.expand(self._avg_polynomial(cov, orders, poly))
        poly = list(poly)
        d1: list[int] = []
        d0: list[int] = []
        coef = sp.Integer(1)
        for unit, order in enumerate(orders):
            if order is None:
                continue
            if order == 0:
                d0.append(unit)
            elif order == 1:
                d1.append(unit)
            elif order == 2:  # g''(u) = -gamma u g'(u)
                coef *= -self.gamma
                poly.append(unit)
                d1.append(unit)
            else:
                raise DerivationError(f"orders: derivative order {order} is not supported (0, 1, 2)")
        return self._avg(cov, _Term(coef, tuple(poly), tuple(d1), tuple(d0)))

    # -- polynomial activations: everything is a Gaussian moment ------------------------
    def _avg_polynomial(self, cov: sp.Matrix, orders: tuple[int | None, ...], poly: tuple[int, ...]) -> sp.Expr:
        n = len(orders)
        u = sp.symbols(f"u0:{n}", real=True)
        product = sp.Mul(*(u[p] for p in poly))
        for unit, order in enumerate(orders):
            if order is not None:
                product *= sp.diff(self.g, z, order).subs(z, u[unit])
        product = sp.Poly(sp.expand(product), *u)
        total = sp.Integer(0)
        for monom, coeff in product.terms():
            units = tuple(a for a, power in enumerate(monom) for _ in range(power))
            total += coeff * _isserlis(cov, units)
        return total

    # -- Gaussian-derivative family ------------------------------------------------------
    def _avg(self, cov: sp.Matrix, term: _Term) -> sp.Expr:
        if term.coef == 0:
            return sp.Integer(0)
        if term.d1:
            return self._reweight(cov, term)
        if term.poly:
            return self._stein(cov, term)
        if len(term.d0) == 0:
            return term.coef
        if len(term.d0) == 1:
            return sp.Integer(0)  # odd activation, zero-mean Gaussian
        if len(term.d0) == 2:
            c, d = term.d0
            return term.coef * self._two_point(cov[c, c], cov[d, d], cov[c, d])
        raise DerivationError("average: more than two undifferentiated factors are not supported")

    def _reweight(self, cov: sp.Matrix, term: _Term) -> sp.Expr:
        units = list(term.d1)
        gamma = self.gamma
        css = sp.Matrix(len(units), len(units), lambda a, b: cov[units[a], units[b]])
        shift = sp.eye(len(units)) + gamma * css
        det = sp.factor(shift.det())
        c_s = cov[:, units]
        new_cov = cov - gamma * c_s * shift.inv() * c_s.T
        new_cov = new_cov.applyfunc(sp.cancel)
        prefactor = self.kappa ** len(units) / sp.sqrt(det)
        inner = _Term(term.coef * prefactor, term.poly, (), term.d0)
        return self._avg(new_cov, inner)

    def _stein(self, cov: sp.Matrix, term: _Term) -> sp.Expr:
        first, rest = term.poly[0], term.poly[1:]
        total = sp.Integer(0)
        # derivative hits another polynomial factor
        for pos, other in enumerate(rest):
            remaining = rest[:pos] + rest[pos + 1 :]
            total += self._avg(cov, _Term(term.coef * cov[first, other], remaining, (), term.d0))
        # derivative hits g(u_c): it becomes g'(u_c)
        for pos, c in enumerate(term.d0):
            remaining = term.d0[:pos] + term.d0[pos + 1 :]
            total += self._avg(cov, _Term(term.coef * cov[first, c], rest, (c,), remaining))
        return total

    def _two_point(self, caa: sp.Expr, cbb: sp.Expr, cab: sp.Expr) -> sp.Expr:
        """<g(u_a) g(u_b)> by Price's theorem: integrate <g' g'> in the covariance from 0."""
        return _price_two_point(self.g)(caa, cbb, cab)


@cache
def _price_two_point(g: sp.Expr):
    """Return a function ``(caa, cbb, cab) -> <g g>`` derived once per activation by Price."""
    averager = GaussianAverager(g)
    c00, c11, c01 = cov_symbols(2)
    dgdg = averager._reweight(cov_matrix(2), _Term(sp.Integer(1), (), (0, 1), ()))
    # <g'g'> depends on c00 only through det(1 + gamma C) = kappa_ab - gamma^2 c01^2.
    # Writing c00 in terms of a positive symbol kappa_ab lets SymPy return the
    # principal-branch antiderivative (an arcsine) instead of a piecewise mess.
    det_free = sp.Symbol("kappa_ab", positive=True)
    base = sp.factor(((sp.eye(2) + averager.gamma * cov_matrix(2)).det()).subs(c01, 0))
    (c00_of_kappa,) = sp.solve(sp.Eq(base, det_free), c00)
    integrand = sp.simplify(dgdg.subs(c00, c00_of_kappa))
    antiderivative = sp.integrate(integrand, c01)
    if antiderivative.has(sp.Integral):
        raise DerivationError("activation: Price integration of <g'g'> did not close")
    two_point = sp.simplify(antiderivative - antiderivative.subs(c01, 0)).subs(det_free, base)
    # sanity: Price's theorem must hold for the result
    if sp.simplify(sp.diff(two_point, c01) - dgdg) != 0:
        raise DerivationError("activation: Price integration failed its own check")

    def evaluate(caa: sp.Expr, cbb: sp.Expr, cab: sp.Expr) -> sp.Expr:
        return two_point.subs({c00: caa, c11: cbb, c01: cab}, simultaneous=True)

    return evaluate


def _isserlis(cov: sp.Matrix, units: tuple[int, ...]) -> sp.Expr:
    """Gaussian moment <u_{a1} ... u_{an}> by Isserlis' theorem (Stein applied repeatedly)."""
    if not units:
        return sp.Integer(1)
    if len(units) % 2:
        return sp.Integer(0)
    first, rest = units[0], units[1:]
    return sum(
        (cov[first, other] * _isserlis(cov, rest[:k] + rest[k + 1 :]) for k, other in enumerate(rest)),
        sp.Integer(0),
    )
