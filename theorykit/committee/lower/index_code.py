"""Lower index-form expressions to array code.

An index expression (see :mod:`theorykit.committee.derive.odes`) is a sum of terms
``coef * Sum(factor_1 * ... * factor_p, dummies)``.  A factor is a parameter, an array
entry (``w[x]``, ``Omega[k, x, y]``), a Kronecker delta, or one kernel application such as
``dgdg_gg(i, j, x, y)``.  Lowering never expands over K, M or L: each term becomes

1. a *kernel contraction* -- the kernel evaluated over its index grid and summed over
   those dummies that appear only in the kernel and in one-index weight arrays; emitted as
   a broadcast-and-``einsum`` block (``numpy``/``mpmath`` flavours, chunked over the first
   free index to bound memory) or as nested loops (``numba`` flavour, parallel over the
   first free index, with duplicate evaluations skipped where a slot symmetry of the
   kernel makes two summation dummies or two free indices interchangeable);
2. an ``einsum`` over what remains (Kronecker deltas become identity matrices).

Cost: one evaluation of ``W`` is O(K^2 n^2) kernel calls, of ``G`` O(K n), independent of L.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..derive.kernels import KERNELS
from ..derive.odes import INDEX_RANGE
from . import PARALLEL_THRESHOLD
from .kernel_printer import printer_for, safe_rewrite

#: Python names for IndexedBase labels that are not valid identifiers.
ARRAY_NAMES = {"lambda": "lam", "Omega": "Om", "f": "frac"}
_LETTERS = "abcdefghopqrstuvwxyz"


def array_name(base: sp.IndexedBase) -> str:
    label = str(base.label)
    return ARRAY_NAMES.get(label, label)


@dataclass(frozen=True)
class Operand:
    name: str  # array name, or "__delta__"
    indices: tuple[sp.Symbol, ...]


@dataclass(frozen=True)
class KernelApp:
    name: str
    units: tuple[sp.Symbol, ...]


@dataclass(frozen=True)
class Term:
    coef: sp.Expr
    operands: tuple[Operand, ...]
    kernel: KernelApp | None
    dummies: tuple[sp.Symbol, ...]


def _flatten(expr: sp.Expr, dummies: tuple[sp.Symbol, ...] = ()) -> list[tuple[sp.Expr, tuple[sp.Symbol, ...]]]:
    """Pull every Sum out of products: a list of (sum-free product, summation dummies)."""
    out = []
    for term in sp.Add.make_args(sp.expand(expr)):
        factors = sp.Mul.make_args(term)
        sums = [f for f in factors if isinstance(f, sp.Sum)]
        if not sums:
            out.append((term, dummies))
            continue
        first = sums[0]
        rest = sp.Mul(*(f for f in factors if f is not first))
        inner = tuple(limit[0] for limit in first.limits)
        out.extend(_flatten(first.function * rest, dummies + inner))
    return out


def parse_terms(expr: sp.Expr) -> list[Term]:
    """Split an index expression into :class:`Term` objects."""
    terms = []
    for product, dummies in _flatten(expr):
        coef = sp.Integer(1)
        operands: list[Operand] = []
        kernel = None
        for factor in sp.Mul.make_args(product):
            if isinstance(factor, sp.Indexed):
                operands.append(Operand(array_name(factor.base), tuple(factor.indices)))
            elif isinstance(factor, sp.KroneckerDelta):
                operands.append(Operand("__delta__", tuple(factor.args)))
            elif isinstance(factor, sp.Function) and factor.func.__name__ in KERNELS:
                if kernel is not None:
                    raise ValueError("a term may hold one kernel application")
                kernel = KernelApp(factor.func.__name__, tuple(factor.args))
            elif factor.free_symbols & set(INDEX_RANGE):
                raise ValueError(f"unsupported indexed factor {factor}")
            else:
                coef *= factor
        terms.append(Term(coef, tuple(operands), kernel, tuple(dummies)))
    return terms


def _range(symbol: sp.Symbol) -> str:
    return str(INDEX_RANGE[symbol])  # 'K', 'n' or 'L' -- variables in the generated code


def _einsum_statement(coef: str, operands, free: tuple[sp.Symbol, ...]) -> str:
    """``_out = _out + coef * einsum(...)`` over ``operands`` (Kronecker deltas as identities)."""
    if not operands:
        return f"    _out = _out + ({coef})"
    letters: dict[sp.Symbol, str] = {}
    for s in [s for op in operands for s in op.indices] + list(free):
        letters.setdefault(s, _LETTERS[len(letters)])
    in_specs = ",".join("".join(letters[s] for s in op.indices) for op in operands)
    out_spec = "".join(letters[s] for s in free)
    arrays = [
        f"_eye({_range(op.indices[0])}, {_range(op.indices[1])})" if op.name == "__delta__" else _array(op)
        for op in operands
    ]
    return f"    _out = _out + ({coef}) * _einsum('{in_specs}->{out_spec}', {', '.join(arrays)})"


def _array(op: Operand) -> str:
    """The array an operand reads: the read-out weights ``w`` (length n, students first) indexed
    by a student index are its first K entries (a per-student read-out weight ``w[i]``)."""
    if op.name == "w" and len(op.indices) == 1 and _range(op.indices[0]) == "K":
        return "w[:K]"
    return op.name


def _split_contraction(
    term: Term,
) -> tuple[tuple[sp.Symbol, ...], tuple[sp.Symbol, ...], tuple[Operand, ...], tuple[Operand, ...]]:
    """Kernel free indices, kernel-summed dummies, their weights, and the other operands."""
    assert term.kernel is not None
    units = tuple(dict.fromkeys(term.kernel.units))
    others = [op for op in term.operands]
    summed = []
    weights = []
    for d in term.dummies:
        if d not in units:
            continue
        users = [op for op in others if d in op.indices]
        if all(len(op.indices) == 1 and op.name != "__delta__" for op in users):
            summed.append(d)
            weights.extend(users)
            others = [op for op in others if op not in users]
    free = tuple(s for s in units if s not in summed)
    return free, tuple(summed), tuple(weights), tuple(others)


def _kernel_symmetric_under(term_kernel: KernelApp, a: sp.Symbol, b: sp.Symbol) -> bool:
    """Does swapping index symbols a <-> b leave the kernel application invariant?"""
    spec = KERNELS[term_kernel.name]
    swapped = tuple(b if s == a else a if s == b else s for s in term_kernel.units)
    if swapped == term_kernel.units:
        return True
    for perm in spec.symmetries:
        if tuple(term_kernel.units[p] for p in perm) == swapped:
            return True
    return False


# ---- vectorised (numpy / mpmath) ------------------------------------------------------------
def _grid_args(kernel: KernelApp, grid: tuple[sp.Symbol, ...], index_vars: dict[sp.Symbol, str], c: str) -> list[str]:
    spec = KERNELS[kernel.name]
    args = []
    for a, b in spec.arg_pairs:
        args.append(f"{c}[{index_vars[kernel.units[a]]}, {index_vars[kernel.units[b]]}]")
    return args


def vectorised_function(
    name: str, expr: sp.Expr, free: tuple[sp.Symbol, ...], params: tuple[str, ...], tangent: bool
) -> str:
    """Source of a function computing ``expr`` as an array over ``free`` (vectorised)."""
    terms = parse_terms(expr)
    sig = ["C"] + (["dC"] if tangent else []) + ["w", "K", "n"] + list(params)
    lines = [f"def {name}({', '.join(sig)}):", "    _out = 0"]
    for t_no, term in enumerate(terms):
        coef = sp.pycode(term.coef) if term.coef != 1 else "1"
        if term.kernel is None:
            if tangent:
                continue  # constant terms have zero tangent
            operands = term.operands
            kernel_block = None
        else:
            kfree, ksummed, weights, operands = _split_contraction(term)
            kernel_block = (kfree, ksummed, weights)
        if kernel_block is not None:
            kfree, ksummed, weights = kernel_block
            grid = kfree + ksummed
            lines.append(f"    # term {t_no}: {term.kernel.name}{term.kernel.units} over {ksummed}")
            lines.append(
                f"    _k{t_no} = _zeros(({', '.join(_range(s) for s in kfree)}{',' if len(kfree) == 1 else ''}))"
            )
            chunk = kfree[0] if (kfree and len(grid) >= 3) else None
            idx_vars = {}
            for pos, s in enumerate(grid):
                shape = ["1"] * len(grid)
                shape[pos] = "-1"
                idx_vars[s] = f"_i{t_no}_{s}"
                lines.append(f"    _i{t_no}_{s} = _arange({_range(s)}).reshape({', '.join(shape)})")
            indent = "    "
            if chunk is not None:
                lines.append(f"    for _c in range({_range(chunk)}):")
                indent = "        "
                idx_vars[chunk] = f"_i{t_no}_{chunk}[_c:_c + 1]"
            args = _grid_args(term.kernel, grid, idx_vars, "C")
            call = f"k_{term.kernel.name}({', '.join(args)})"
            if tangent:
                dargs = _grid_args(term.kernel, grid, idx_vars, "dC")
                call = f"t_{term.kernel.name}({', '.join(args + dargs)})"
            letters = {s: _LETTERS[p] for p, s in enumerate(grid)}
            spec_in = "".join(letters[s] for s in grid)
            w_specs = ",".join(letters[op.indices[0]] for op in weights)
            out_spec = "".join(letters[s] for s in kfree)
            w_args = "".join(f", {_array(op)}" for op in weights)
            einsum_spec = f"{spec_in}{',' if weights else ''}{w_specs}->{out_spec}"
            target = f"_k{t_no}[_c:_c + 1]" if chunk is not None else f"_k{t_no}"
            grid_vars = ", ".join(idx_vars[s] for s in grid)
            lines.append(f"{indent}{target} = _einsum('{einsum_spec}', _bcast({call}, {grid_vars}){w_args})")
            operands = (Operand(f"_k{t_no}", kfree),) + tuple(operands)
        lines.append(_einsum_statement(coef, operands, free))
    lines.append("    return _out")
    return "\n".join(lines)


# ---- loops (numba) --------------------------------------------------------------------------
def _hoisted_kernel(
    kernel: KernelApp, levels: tuple[sp.Symbol, ...], expr: sp.Expr, tangent: bool
) -> tuple[dict[int, list[str]], str]:
    """Inline a kernel into a loop nest with loop-invariant code motion.

    Each covariance entry the kernel reads depends on (at most) two loop indices.  After CSE
    every subexpression is placed at the outermost loop level where all its inputs exist, so
    e.g. the (i, j) block of the four-point kernel is computed once per (i, j), not once per
    (i, j, x, y).  Returns the statements per level (level d = inside the d-th loop) and the
    innermost expression.
    """
    spec = KERNELS[kernel.name]
    depth = {s: d + 1 for d, s in enumerate(levels)}
    statements: dict[int, list[str]] = {d: [] for d in range(len(levels) + 1)}
    level_of: dict[sp.Symbol, int] = {}
    local_args, local_dargs = [], []
    for pos, (a, b) in enumerate(spec.arg_pairs):
        ua, ub = kernel.units[a], kernel.units[b]
        lvl = max(depth[ua], depth[ub])
        for array, prefix, bucket in (("C", "_a", local_args), ("dC", "_d", local_dargs)):
            if array == "dC" and not tangent:
                continue
            sym = sp.Symbol(f"{prefix}{pos}", real=True)
            bucket.append(sym)
            level_of[sym] = lvl
            statements[lvl].append(f"{sym} = {array}[{ua}, {ub}]")
    body = expr.xreplace(dict(zip(spec.args, local_args)))
    if tangent:
        grads = [sp.diff(expr, a) for a in spec.args]
        body = sum(
            (gr.xreplace(dict(zip(spec.args, local_args))) * d for gr, d in zip(grads, local_dargs)), sp.Integer(0)
        )
    body = safe_rewrite(body)
    printer = printer_for("numba")
    names = sp.numbered_symbols("_h")

    def level(e: sp.Expr) -> int:
        return max((level_of.get(f, 0) for f in e.free_symbols), default=0)

    def hoist(e: sp.Expr, target: int) -> sp.Expr:
        """Name every non-trivial subtree that depends on fewer loops than ``target``."""
        if e.is_Atom:
            return e
        own = level(e)
        args = [hoist(a, own) for a in e.args]
        if e.is_Add or e.is_Mul:
            # the part of a sum/product that depends on fewer loops is one hoistable subtree
            outer = [a for a in args if level(a) < own]
            if len(outer) >= 2:
                args = [a for a in args if level(a) == own] + [hoist(e.func(*outer), own)]
        e = e.func(*args)
        if own < target and not (e.is_Mul and len(e.args) == 2 and e.args[0] == -1):
            sym = next(names)
            level_of[sym] = own
            statements[own].append(f"{sym} = {printer.doprint(e)}")
            return sym
        return e

    replacements, (reduced,) = sp.cse([body], symbols=names, optimizations="basic")
    for sym, sub in replacements:
        lvl = level(sub)
        sub = hoist(sub, lvl)
        level_of[sym] = lvl
        statements[lvl].append(f"{sym} = {printer.doprint(sub)}")
    return statements, printer.doprint(hoist(reduced, len(levels)))


def loop_contraction(
    name: str, term: Term, tangent: bool, kernel_expr: sp.Expr
) -> tuple[list[str], tuple[sp.Symbol, ...], tuple[Operand, ...]]:
    """Sources of njit functions evaluating one term's kernel contraction with loops.

    Two variants are emitted, ``<name>_par`` (``prange`` over the first free index) and
    ``<name>_ser``: thread start-up costs more than the whole contraction on small grids.
    Returns the sources, the free indices of the result, and the operands left for einsum.
    """
    kfree, ksummed, weights, others = _split_contraction(term)
    kernel = term.kernel
    # symmetric pair of summed dummies with the same weight array -> half the loop
    sym_dummies = None
    if len(ksummed) == 2:
        a, b = ksummed
        wa = [op.name for op in weights if op.indices == (a,)]
        wb = [op.name for op in weights if op.indices == (b,)]
        if sorted(wa) == sorted(wb) and _kernel_symmetric_under(kernel, a, b):
            sym_dummies = (a, b)
    sym_free = None
    if len(kfree) == 2 and _range(kfree[0]) == _range(kfree[1]) and _kernel_symmetric_under(kernel, *kfree):
        sym_free = kfree
    levels = tuple(kfree) + tuple(ksummed)
    statements, inner = _hoisted_kernel(kernel, levels, kernel_expr, tangent)
    weight = " * ".join(f"{op.name}[{op.indices[0]}]" for op in weights) or "1.0"
    multiplicity = f"(1.0 if {sym_dummies[0]} == {sym_dummies[1]} else 2.0) * " if sym_dummies else ""
    sig = ["C"] + (["dC"] if tangent else []) + ["w", "K", "n", "_out"]
    sources = []
    for variant, parallel in (("par", bool(kfree)), ("ser", False)):
        decorator = f'@numba.njit(cache=True, parallel={parallel}, error_model="numpy", fastmath=_FASTMATH)'
        lines = [decorator, f"def {name}_{variant}({', '.join(sig)}):"]
        if not kfree:
            lines.append("    _acc = 0.0")

        def emit(level: int, indent: str, lines: list[str] = lines, variant: str = variant) -> None:
            for stmt in statements[level]:
                lines.append(indent + stmt)
            if kfree and level == len(kfree):
                lines.append(indent + "_acc = 0.0")
            if level < len(levels):
                s = levels[level]
                loop = "numba.prange" if (level == 0 and variant == "par") else "range"
                sym_start = (sym_free and level == 1) or (sym_dummies and level == len(kfree) + 1)
                start = f"{levels[level - 1]}, " if sym_start else ""
                if level == 0 and variant == "par" and sym_free:
                    # triangular work (row s has range - s entries): visit rows in the order
                    # 0, last, 1, last - 1, ... so each thread's contiguous chunk is balanced
                    lines.append(f"{indent}for _q in numba.prange({_range(s)}):")
                    lines.append(f"{indent}    {s} = _q // 2 if _q % 2 == 0 else {_range(s)} - 1 - _q // 2")
                else:
                    lines.append(f"{indent}for {s} in {loop}({start}{_range(s)}):")
                emit(level + 1, indent + "    ")
            else:
                lines.append(f"{indent}_acc += {multiplicity}{weight} * ({inner})")
            if level == len(kfree):
                target = ", ".join(str(s) for s in kfree) if kfree else "0"
                lines.append(f"{indent}_out[{target}] = _acc")
                if sym_free:
                    lines.append(f"{indent}_out[{kfree[1]}, {kfree[0]}] = _acc")

        emit(0, "    ")
        sources.append("\n".join(lines))
    return sources, kfree, others


def _loop_statement(coef: str, operands, free: tuple[sp.Symbol, ...]) -> list[str]:
    """njit lines adding ``coef * prod(operands)`` into ``_out`` (the loop form of an einsum)."""
    loops = list(free)
    for op in operands:
        for s in op.indices:
            if s not in loops:
                loops.append(s)
    factors = [coef]
    for op in operands:
        if op.name == "__delta__":
            factors.append(f"(1.0 if {op.indices[0]} == {op.indices[1]} else 0.0)")
        elif op.indices:
            factors.append(f"{op.name}[{', '.join(str(s) for s in op.indices)}]")
        else:
            factors.append(op.name)
    target = f"_out[{', '.join(str(s) for s in free)}]" if free else "_out"
    lines, indent = [], "    "
    for s in loops:
        lines.append(f"{indent}for {s} in range({_range(s)}):")
        indent += "    "
    lines.append(f"{indent}{target} += {' * '.join(f'({f})' for f in factors)}")
    return lines


def looped_function(
    name: str, expr: sp.Expr, free: tuple[sp.Symbol, ...], params: tuple[str, ...], tangent: bool, kernel_exprs: dict
) -> tuple[str, list[str]]:
    """Python wrapper + njit helpers computing ``expr`` with loop contractions (numba flavour).

    Also emits ``<name>_nb``: the same function as one njit function (the assembly einsums
    written as loops), so that a fused right-hand side can call it without Python overhead.
    """
    terms = parse_terms(expr)
    helpers = []
    sig = ["C"] + (["dC"] if tangent else []) + ["w", "K", "n"] + list(params)
    lines = [f"def {name}({', '.join(sig)}):", "    _out = 0"]
    shape_out = ", ".join(_range(s) for s in free)
    nb = [
        '@numba.njit(cache=True, error_model="numpy", fastmath=_FASTMATH)',
        f"def {name}_nb({', '.join(sig)}):",
        f"    _out = numpy.zeros(({shape_out},))" if free else "    _out = 0.0",
    ]
    for t_no, term in enumerate(terms):
        coef = sp.pycode(term.coef) if term.coef != 1 else "1"
        operands = term.operands
        if term.kernel is None:
            if tangent:
                continue
        else:
            helper = f"_{name}_term{t_no}"
            srcs, kfree, operands = loop_contraction(helper, term, tangent, kernel_exprs[term.kernel.name])
            helpers.extend(srcs)
            shape = ", ".join(_range(s) for s in kfree) or "1"
            lines.append(f"    _k{t_no} = _zeros(({shape},))")
            call_args = "C, dC" if tangent else "C"
            grid = " * ".join(_range(s) for s in dict.fromkeys(term.kernel.units))
            lines.append(f"    _variant = {helper}_par if {grid} > {PARALLEL_THRESHOLD} else {helper}_ser")
            lines.append(f"    _variant({call_args}, w, K, n, _k{t_no})")
            nb.append(f"    _k{t_no} = numpy.zeros(({shape},))")
            if len(dict.fromkeys(term.kernel.units)) >= 4:  # O(K^2 n^2): worth threads when big
                nb.append(f"    if {grid} > {PARALLEL_THRESHOLD}:")
                nb.append(f"        {helper}_par({call_args}, w, K, n, _k{t_no})")
                nb.append("    else:")
                nb.append(f"        {helper}_ser({call_args}, w, K, n, _k{t_no})")
            else:  # O(K n) at most: never above the threshold in practice; one compile less
                nb.append(f"        {helper}_ser({call_args}, w, K, n, _k{t_no})".replace("        ", "    ", 1))
            if not kfree:
                lines.append(f"    _k{t_no} = _k{t_no}[0]")
                nb.append(f"    _s{t_no} = _k{t_no}[0]")
                operands_nb = (Operand(f"_s{t_no}", ()),) + tuple(operands)
            else:
                operands_nb = (Operand(f"_k{t_no}", kfree),) + tuple(operands)
            operands = (Operand(f"_k{t_no}", kfree),) + tuple(operands)
        if term.kernel is None:
            operands_nb = operands
        lines.append(_einsum_statement(coef, operands, free))
        nb.extend(_loop_statement(coef, operands_nb, free))
    lines.append("    return _out")
    nb.append("    return _out")
    return "\n".join(lines), helpers + ["\n".join(nb)]


def einsum_function(name: str, expr: sp.Expr, free: tuple[sp.Symbol, ...], args: tuple[str, ...]) -> str:
    """Source of a function for a kernel-free index expression (a single einsum per term)."""
    lines = [f"def {name}({', '.join(args)}):", "    _out = 0"]
    for term in parse_terms(expr):
        if term.kernel is not None:
            raise ValueError("einsum_function takes kernel-free expressions")
        coef = sp.pycode(term.coef) if term.coef != 1 else "1"
        lines.append(_einsum_statement(coef, term.operands, free))
    lines.append("    return _out")
    return "\n".join(lines)
