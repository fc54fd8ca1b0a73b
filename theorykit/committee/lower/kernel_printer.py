"""Print kernel expressions as Python source in three flavours.

* ``numpy``  -- array functions (``numpy.arcsin`` ...), broadcast over any shapes;
* ``numba``  -- scalar functions over ``math`` (decorated ``@numba.njit`` by the module
  builder), called from generated loops;
* ``mpmath`` -- scalar functions over ``mpmath`` (exact constants printed as ``mpf``
  rationals, so the precision is whatever context the caller sets).

Each kernel is printed twice: its value and its *tangent* (directional derivative in the
covariance entries, :math:`\\sum_e \\partial_e K\\, dc_e`), which the Jacobian is built from.
Common-subexpression elimination is optional (on by default) and shared between value and
tangent.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.pycode import MpmathPrinter, PythonCodePrinter

FLAVOURS = ("numpy", "numba", "mpmath")


class ClipUnit(sp.Function):
    """``min(1, max(-1, u))``: printed only; keeps arcsine/arccosine real under round-off."""

    nargs = 1


class ClipPositive(sp.Function):
    """``max(0, u)``: printed only; keeps square roots of vanishing variances real."""

    nargs = 1


def safe_rewrite(expr: sp.Expr) -> sp.Expr:
    """Numerically safer form of a kernel expression (applied at printing, never symbolically).

    At coincident units (a student equal to a teacher, a unit paired with itself) the exact
    correlation is 1 and the exact conditional variance 0, but rounding can push them to
    1 + 1e-16 or -1e-17, where ``asin``/``acos``/``sqrt`` return NaN.  The rewrite clamps
    those arguments to their domain; for arguments inside it nothing changes (tested).
    """
    expr = expr.replace(lambda e: isinstance(e, (sp.asin, sp.acos)), lambda e: e.func(ClipUnit(e.args[0])))
    half_powers = {sp.Rational(1, 2), sp.Rational(-1, 2), sp.Rational(3, 2), sp.Rational(-3, 2)}
    return expr.replace(
        lambda e: e.is_Pow and e.exp in half_powers and not e.base.is_number,
        lambda e: sp.Pow(ClipPositive(e.base), e.exp),
    )


class _ClipMixin:
    _min = "min"
    _max = "max"

    def _print_ClipUnit(self, expr) -> str:
        return f"{self._min}(1.0, {self._max}(-1.0, {self._print(expr.args[0])}))"

    def _print_ClipPositive(self, expr) -> str:
        return f"{self._max}(0.0, {self._print(expr.args[0])})"


class _NumbaPrinter(_ClipMixin, PythonCodePrinter):
    """``math``-module printer; rationals as float literals (numba folds them)."""

    def _print_Rational(self, expr: sp.Rational) -> str:
        return f"({expr.p}.0/{expr.q}.0)"


class _NumpyPrinter(_ClipMixin, NumPyPrinter):
    _min = "numpy.minimum"
    _max = "numpy.maximum"

    def _print_Rational(self, expr: sp.Rational) -> str:
        return f"({expr.p}.0/{expr.q}.0)"


class _MpmathPrinter(_ClipMixin, MpmathPrinter):
    pass


def printer_for(flavour: str) -> PythonCodePrinter:
    if flavour == "numpy":
        return _NumpyPrinter({"fully_qualified_modules": True})
    if flavour == "numba":
        return _NumbaPrinter({"fully_qualified_modules": True})
    if flavour == "mpmath":
        return _MpmathPrinter({"fully_qualified_modules": True})
    raise ValueError(f"flavour must be one of {FLAVOURS}, not {flavour!r}")


def tangent_symbols(args: tuple[sp.Symbol, ...]) -> tuple[sp.Symbol, ...]:
    return tuple(sp.Symbol(f"d{a.name}", real=True) for a in args)


def kernel_function_source(
    name: str, expr: sp.Expr, args: tuple[sp.Symbol, ...], flavour: str, cse: bool = True
) -> str:
    """Source of ``def k_<name>(args)`` and ``def t_<name>(args, dargs)``."""
    printer = printer_for(flavour)
    dargs = tangent_symbols(args)
    tangent = safe_rewrite(sum((sp.diff(expr, a) * da for a, da in zip(args, dargs)), sp.Integer(0)))
    expr = safe_rewrite(expr)
    arglist = ", ".join(a.name for a in args)
    dlist = ", ".join(d.name for d in dargs)
    blocks = []
    for fname, outputs, signature in (
        (f"k_{name}", [expr], arglist),
        (f"t_{name}", [tangent], f"{arglist}, {dlist}"),
    ):
        if cse:
            replacements, reduced = sp.cse(outputs, symbols=sp.numbered_symbols("_x"), optimizations="basic")
        else:
            replacements, reduced = [], outputs
        lines = [f"def {fname}({signature}):"]
        for sym, sub in replacements:
            lines.append(f"    {sym} = {printer.doprint(sub)}")
        lines.append(f"    return {printer.doprint(reduced[0])}")
        blocks.append("\n".join(lines))
    return "\n\n\n".join(blocks)
