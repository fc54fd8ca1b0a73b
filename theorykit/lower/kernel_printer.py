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


class _NumbaPrinter(PythonCodePrinter):
    """``math``-module printer; rationals as float literals (numba folds them)."""

    def _print_Rational(self, expr: sp.Rational) -> str:
        return f"({expr.p}.0/{expr.q}.0)"


class _NumpyPrinter(NumPyPrinter):
    def _print_Rational(self, expr: sp.Rational) -> str:
        return f"({expr.p}.0/{expr.q}.0)"


def printer_for(flavour: str) -> PythonCodePrinter:
    if flavour == "numpy":
        return _NumpyPrinter({"fully_qualified_modules": True})
    if flavour == "numba":
        return _NumbaPrinter({"fully_qualified_modules": True})
    if flavour == "mpmath":
        return MpmathPrinter({"fully_qualified_modules": True})
    raise ValueError(f"flavour must be one of {FLAVOURS}, not {flavour!r}")


def tangent_symbols(args: tuple[sp.Symbol, ...]) -> tuple[sp.Symbol, ...]:
    return tuple(sp.Symbol(f"d{a.name}", real=True) for a in args)


def kernel_function_source(
    name: str, expr: sp.Expr, args: tuple[sp.Symbol, ...], flavour: str, cse: bool = True
) -> str:
    """Source of ``def k_<name>(args)`` and ``def t_<name>(args, dargs)``."""
    printer = printer_for(flavour)
    dargs = tangent_symbols(args)
    tangent = sum((sp.diff(expr, a) * da for a, da in zip(args, dargs)), sp.Integer(0))
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
