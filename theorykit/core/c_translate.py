"""Translate generated numba-subset Python to C99.

The numba flavour of a generated module is plain loops over float64 arrays and scalars (see
:mod:`theorykit.committee.lower.index_code`).  This module reads that same text and writes it
as C, so that one lowering serves both targets: a C library loads in milliseconds through
:mod:`ctypes`, where numba's compiled code needs numba's import and CPU target first (about a
second of every short process).

Only the subset the generators emit is accepted -- anything else raises
:class:`TranslationError`, and the caller falls back to numba:

* statements: assignment (to a name, an array entry, or a tuple of names from a call),
  ``+=``/``-=``/``*=``/``/=``, ``for`` over ``range``/``numba.prange`` (constant positive step),
  ``if``/``else``, ``return`` (a value or a tuple of arrays), a call as a statement;
* expressions: ``+ - * / // % **``, comparisons, ``and``/``or``/``not``, conditional
  expressions, ``max``/``min``/``abs``, the ``math`` functions in :data:`MATH_FUNCTIONS`,
  ``math.pi``, ``numpy.zeros`` (1 to 3 dimensions), ``numpy.empty_like``, ``a.shape[k]``,
  array entries ``a[i]``, ``a[i, j]``, ``a[i, j, k]``, and calls of other functions of the
  same module.

Semantics kept from Python: ``/`` is true division, ``//`` and ``%`` floor, ``max(a, b)`` returns
``a`` unless ``b > a`` (so ``max(0.0, nan)`` is 0.0 as in Python), ``min`` likewise; integer
names stay 64-bit integers, everything else is a double.  Arrays are C-contiguous float64
(``tk_arr``: data pointer and up to three extents); arrays a function allocates live in an arena
that the entry point frees.  No bounds checks (numba's default neither).
"""

from __future__ import annotations

import ast
import math

#: Python ``math`` functions and their C99 <math.h> names.
MATH_FUNCTIONS = {
    "sqrt": "sqrt",
    "exp": "exp",
    "expm1": "expm1",
    "log": "log",
    "log1p": "log1p",
    "erf": "erf",
    "erfc": "erfc",
    "asin": "asin",
    "acos": "acos",
    "atan": "atan",
    "atan2": "atan2",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "tanh": "tanh",
    "sinh": "sinh",
    "cosh": "cosh",
    "fabs": "fabs",
    "copysign": "copysign",
}

INT, FLOAT, ARRAY = "long", "double", "tk_arr"

PRELUDE = r"""#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct { double *d; long s0, s1, s2; } tk_arr;
typedef struct tk_block { struct tk_block *next; double data[]; } tk_block;
typedef struct { tk_block *head; jmp_buf fail; } tk_arena;

static tk_arr tk_zeros(tk_arena *A, long s0, long s1, long s2) {
    long size = s0 * s1 * s2;
    tk_block *b = (tk_block *)calloc(1, sizeof(tk_block) + (size_t)(size > 0 ? size : 1) * sizeof(double));
    if (b == NULL) longjmp(A->fail, 1);
    b->next = A->head;
    A->head = b;
    tk_arr a = {b->data, s0, s1, s2};
    return a;
}
static tk_arr tk_like(tk_arena *A, tk_arr x) { return tk_zeros(A, x.s0, x.s1, x.s2); }
static void tk_free(tk_arena *A) {
    while (A->head != NULL) { tk_block *b = A->head; A->head = b->next; free(b); }
}
/* Python's max(a, b) / min(a, b): the first argument unless the second is strictly larger/smaller */
static inline double tk_max(double a, double b) { return b > a ? b : a; }
static inline double tk_min(double a, double b) { return b < a ? b : a; }
static inline long tk_maxi(long a, long b) { return b > a ? b : a; }
static inline long tk_mini(long a, long b) { return b < a ? b : a; }
static inline long tk_floordiv(long a, long b) { long q = a / b; return (q * b != a && ((a < 0) != (b < 0))) ? q - 1 : q; }
static inline long tk_mod(long a, long b) { long r = a % b; return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r; }
#define TK1(a, i) ((a).d[(i)])
#define TK2(a, i, j) ((a).d[(long)(i) * (a).s1 + (j)])
#define TK3(a, i, j, k) ((a).d[((long)(i) * (a).s1 + (j)) * (a).s2 + (k)])
"""


class TranslationError(ValueError):
    """The Python text uses something outside the translatable subset (the message says what)."""


def _fail(node: ast.AST, what: str) -> TranslationError:
    return TranslationError(f"line {getattr(node, 'lineno', '?')}: {what}")


def _is_attr(node: ast.AST, module: str, name: str | None = None) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == module
        and (name is None or node.attr == name)
    )


def _tuple_type(n: int) -> str:
    return f"tk_tup{n}"


class Translator:
    """Translate the functions of one module reachable from given roots.

    Parameters
    ----------
    source : str
        Python module text (the numba flavour of a generated module).
    """

    def __init__(self, source: str) -> None:
        tree = ast.parse(source)
        self._defs = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
        self._signatures: dict[str, tuple[tuple[str, ...], str | tuple]] = {}
        self._bodies: list[str] = []
        self._tuples: set[int] = set()
        self._active: set[str] = set()

    # -- the public side -----------------------------------------------------------------
    def function(self, name: str, param_types: tuple[str, ...]) -> str | tuple:
        """Translate ``name`` (and what it calls) for these parameter types; its return type."""
        known = self._signatures.get(name)
        if known is not None:
            if known[0] != tuple(param_types):
                raise TranslationError(f"{name} is called with parameter types {param_types} and {known[0]}")
            return known[1]
        node = self._defs.get(name)
        if node is None:
            raise TranslationError(f"call of {name}, which is not a function of the module")
        if name in self._active:
            raise TranslationError(f"{name} is recursive")
        self._active.add(name)
        try:
            returns, text = _FunctionWriter(self, node, tuple(param_types)).write()
        finally:
            self._active.discard(name)
        self._signatures[name] = (tuple(param_types), returns)
        self._bodies.append(text)
        return returns

    def source(self) -> str:
        """C text: the prelude, the tuple types used, and every function translated so far."""
        tuples = []
        for n in sorted(self._tuples):
            fields = " ".join(f"tk_arr a{k};" for k in range(n))
            tuples.append(f"typedef struct {{ {fields} }} {_tuple_type(n)};")
        return "\n".join([PRELUDE, *tuples, "", *self._bodies])

    # used by the writers
    def c_type(self, kind: str | tuple) -> str:
        if isinstance(kind, tuple):
            self._tuples.add(len(kind))
            return _tuple_type(len(kind))
        return kind


def c_name(name: str) -> str:
    """The C identifier of a Python local or function (prefixed: no clash with C or <math.h>)."""
    return f"v_{name}"


def function_name(name: str) -> str:
    return f"f_{name}"


class _FunctionWriter:
    def __init__(self, owner: Translator, node: ast.FunctionDef, param_types: tuple[str, ...]) -> None:
        self.owner = owner
        self.node = node
        args = node.args
        if args.vararg or args.kwarg or args.kwonlyargs or args.defaults or args.posonlyargs:
            raise _fail(node, f"{node.name}: only plain positional parameters are translated")
        self.params = [a.arg for a in args.args]
        if len(self.params) != len(param_types):
            raise _fail(node, f"{node.name} takes {len(self.params)} arguments, called with {len(param_types)}")
        self.types: dict[str, str] = dict(zip(self.params, param_types))
        self.returns: str | tuple | None = None

    # -- types ----------------------------------------------------------------------------
    def _infer_locals(self) -> None:
        """Give every assigned name one type (integers widen to double; arrays stay arrays)."""
        for _ in range(8):
            changed = False
            for stmt in ast.walk(self.node):
                for name, kind in self._assigned(stmt):
                    old = self.types.get(name)
                    new = kind if old is None else _join(old, kind, stmt)
                    if new != old:
                        if name in self.params:
                            raise _fail(stmt, f"parameter {name} is reassigned with another type")
                        self.types[name] = new
                        changed = True
            if not changed:
                return
        raise _fail(self.node, "types of the locals do not settle")

    def _assigned(self, stmt: ast.AST):
        if isinstance(stmt, ast.For):
            if isinstance(stmt.target, ast.Name):
                yield stmt.target.id, INT
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name):
                kind = self._try_type(stmt.value)
                if kind is not None:
                    if isinstance(kind, tuple):
                        raise _fail(stmt, "a tuple is assigned to one name")
                    yield target.id, kind
            elif isinstance(target, ast.Tuple):
                kind = self._try_type(stmt.value)
                if kind is not None:
                    if not isinstance(kind, tuple) or len(kind) != len(target.elts):
                        raise _fail(stmt, "tuple assignment from something that is not a tuple of that length")
                    for element, element_kind in zip(target.elts, kind):
                        if not isinstance(element, ast.Name):
                            raise _fail(stmt, "tuple assignment to something that is not a name")
                        yield element.id, element_kind
        elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
            kind = self._try_type(stmt.value)
            if isinstance(stmt.op, ast.Div):  # true division: a float even from two integers
                kind = FLOAT
            if kind is not None and stmt.target.id in self.types:
                yield stmt.target.id, _join(self.types[stmt.target.id], kind, stmt)

    def _try_type(self, node: ast.AST):
        try:
            return self.type_of(node)
        except _Unknown:
            return None

    def type_of(self, node: ast.AST):
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or isinstance(node.value, int):
                return INT
            if isinstance(node.value, float):
                return FLOAT
            raise _fail(node, f"constant {node.value!r}")
        if isinstance(node, ast.Name):
            if node.id not in self.types:
                raise _Unknown(node.id)
            return self.types[node.id]
        if isinstance(node, ast.BinOp):
            left, right = self.type_of(node.left), self.type_of(node.right)
            if ARRAY in (left, right):
                raise _fail(node, "arithmetic on whole arrays")
            if isinstance(node.op, ast.Div):
                return FLOAT
            if isinstance(node.op, ast.Pow):
                return FLOAT if FLOAT in (left, right) or _negative_constant(node.right) else INT
            if isinstance(node.op, (ast.FloorDiv, ast.Mod)):
                if FLOAT in (left, right):
                    raise _fail(node, "// or % on floats")
                return INT
            if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
                return FLOAT if FLOAT in (left, right) else INT
            raise _fail(node, f"operator {type(node.op).__name__}")
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return INT
            return self.type_of(node.operand)
        if isinstance(node, (ast.Compare, ast.BoolOp)):
            return INT
        if isinstance(node, ast.IfExp):
            a, b = self.type_of(node.body), self.type_of(node.orelse)
            return _join(a, b, node)
        if isinstance(node, ast.Attribute):
            if _is_attr(node, "math", "pi"):
                return FLOAT
            raise _fail(node, f"attribute {ast.unparse(node)}")
        if isinstance(node, ast.Subscript):
            if isinstance(node.value, ast.Attribute) and node.value.attr == "shape":
                return INT
            if self.type_of(node.value) != ARRAY:
                raise _fail(node, "indexing something that is not an array")
            return FLOAT
        if isinstance(node, ast.Call):
            return self._call_type(node)
        if isinstance(node, ast.Tuple):
            return tuple(self.type_of(e) for e in node.elts)
        raise _fail(node, f"expression {type(node).__name__}")

    def _call_type(self, node: ast.Call, as_value: bool = True):
        func = node.func
        if node.keywords:
            raise _fail(node, "keyword arguments")
        if isinstance(func, ast.Attribute) and _is_attr(func, "math"):
            if func.attr not in MATH_FUNCTIONS:
                raise _fail(node, f"math.{func.attr}")
            return FLOAT
        if _is_attr(func, "numpy", "zeros") or _is_attr(func, "numpy", "empty_like"):
            return ARRAY
        if isinstance(func, ast.Name):
            if func.id in ("max", "min", "abs"):
                kinds = [self.type_of(a) for a in node.args]
                return FLOAT if FLOAT in kinds else INT
            if func.id == "float":
                return FLOAT
            if func.id == "int":
                return INT
            arg_types = tuple(self.type_of(a) for a in node.args)
            returns = self.owner.function(func.id, arg_types)
            if returns is None and as_value:
                raise _fail(node, f"{func.id} returns nothing and is used as a value")
            return returns
        raise _fail(node, f"call of {ast.unparse(func)}")

    # -- writing ----------------------------------------------------------------------------
    def write(self) -> tuple[str | tuple | None, str]:
        self._infer_locals()
        body: list[str] = []
        for stmt in self.node.body:
            if _is_docstring(stmt):
                continue
            self.statement(stmt, body, "    ")
        returns = self.returns
        params = ", ".join(["tk_arena *A"] + [f"{self.types[p]} {c_name(p)}" for p in self.params])
        declared = [
            f"    {self.owner.c_type(kind)} {c_name(name)};"
            for name, kind in self.types.items()
            if name not in self.params
        ]
        c_returns = "void" if returns is None else self.owner.c_type(returns)
        text = "\n".join(
            [f"static {c_returns} {function_name(self.node.name)}({params}) {{", *declared, *body, "}", ""]
        )
        return returns, text

    def statement(self, stmt: ast.stmt, out: list[str], indent: str) -> None:
        if isinstance(stmt, ast.Assign):
            if len(stmt.targets) != 1:
                raise _fail(stmt, "chained assignment")
            target = stmt.targets[0]
            if isinstance(target, ast.Tuple):
                kind = self.type_of(stmt.value)
                tmp = f"_t{stmt.lineno}"
                out.append(f"{indent}{{ {self.owner.c_type(kind)} {tmp} = {self.expr(stmt.value)};")
                for k, element in enumerate(target.elts):
                    out.append(f"{indent}  {c_name(element.id)} = {tmp}.a{k};")
                out.append(f"{indent}}}")
                return
            out.append(f"{indent}{self.target(target)} = {self.expr(stmt.value)};")
        elif isinstance(stmt, ast.AugAssign):
            ops = {ast.Add: "+=", ast.Sub: "-=", ast.Mult: "*=", ast.Div: "/="}
            op = ops.get(type(stmt.op))
            if op is None:
                raise _fail(stmt, f"augmented {type(stmt.op).__name__}")
            value = self.expr(stmt.value)
            if op == "/=":
                value = f"(double)({value})"
            out.append(f"{indent}{self.target(stmt.target)} {op} {value};")
        elif isinstance(stmt, ast.For):
            self._for(stmt, out, indent)
        elif isinstance(stmt, ast.If):
            out.append(f"{indent}if ({self.expr(stmt.test)}) {{")
            for s in stmt.body:
                self.statement(s, out, indent + "    ")
            if stmt.orelse:
                out.append(f"{indent}}} else {{")
                for s in stmt.orelse:
                    self.statement(s, out, indent + "    ")
            out.append(f"{indent}}}")
        elif isinstance(stmt, ast.Return):
            if stmt.value is None:
                out.append(f"{indent}return;")
                return
            kind = self.type_of(stmt.value)
            if self.returns is not None and self.returns != kind:
                raise _fail(stmt, "returns of different types")
            self.returns = kind
            if isinstance(kind, tuple):
                if any(k != ARRAY for k in kind):
                    raise _fail(stmt, "a returned tuple holds something other than arrays")
                items = ", ".join(self.expr(e) for e in stmt.value.elts)
                out.append(f"{indent}{{ {self.owner.c_type(kind)} _r = {{{items}}}; return _r; }}")
            else:
                out.append(f"{indent}return {self.expr(stmt.value)};")
        elif isinstance(stmt, ast.Expr):
            if not isinstance(stmt.value, ast.Call):
                raise _fail(stmt, "an expression statement that is not a call")
            self._call_type(stmt.value, as_value=False)  # translates the callee
            out.append(f"{indent}{self.expr(stmt.value)};")
        elif isinstance(stmt, ast.Pass):
            return
        else:
            raise _fail(stmt, f"statement {type(stmt).__name__}")

    def _for(self, stmt: ast.For, out: list[str], indent: str) -> None:
        call = stmt.iter
        is_range = isinstance(call, ast.Call) and (
            (isinstance(call.func, ast.Name) and call.func.id == "range") or _is_attr(call.func, "numba", "prange")
        )
        if not is_range or stmt.orelse or not isinstance(stmt.target, ast.Name) or call.keywords:
            raise _fail(stmt, "a for loop that is not over range(...)")
        args = call.args
        for a in args:
            if self.type_of(a) != INT:
                raise _fail(stmt, "range over a non-integer")
        if len(args) == 1:
            start, stop, step = "0", self.expr(args[0]), "1"
        elif len(args) == 2:
            start, stop, step = self.expr(args[0]), self.expr(args[1]), "1"
        elif len(args) == 3 and isinstance(args[2], ast.Constant) and args[2].value > 0:
            start, stop, step = self.expr(args[0]), self.expr(args[1]), str(args[2].value)
        else:
            raise _fail(stmt, "range with a step that is not a positive constant")
        v = c_name(stmt.target.id)
        # the bound is evaluated once, as Python's range does
        out.append(f"{indent}{{ long _stop{stmt.lineno} = {stop};")
        out.append(f"{indent}for ({v} = {start}; {v} < _stop{stmt.lineno}; {v} += {step}) {{")
        for s in stmt.body:
            self.statement(s, out, indent + "    ")
        out.append(f"{indent}}} }}")

    def target(self, node: ast.AST) -> str:
        if isinstance(node, ast.Name):
            return c_name(node.id)
        if isinstance(node, ast.Subscript):
            return self.expr(node)
        raise _fail(node, f"assignment to {type(node).__name__}")

    def expr(self, node: ast.AST) -> str:  # noqa: C901 - one case per node type
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool):
                return "1L" if value else "0L"
            if isinstance(value, int):
                return f"{value}L"
            if isinstance(value, float):
                if not math.isfinite(value):
                    raise _fail(node, "a non-finite constant")
                return repr(value)
            raise _fail(node, f"constant {value!r}")
        if isinstance(node, ast.Name):
            if node.id not in self.types:
                raise _fail(node, f"name {node.id} is not a local of this function")
            return c_name(node.id)
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.UnaryOp):
            operand = self.expr(node.operand)
            if isinstance(node.op, ast.USub):
                return f"(-{operand})"
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(node.op, ast.Not):
                return f"(!{operand})"
            raise _fail(node, f"unary {type(node.op).__name__}")
        if isinstance(node, ast.Compare):
            ops = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
            parts, left = [], node.left
            for op, right in zip(node.ops, node.comparators):
                if type(op) not in ops:
                    raise _fail(node, f"comparison {type(op).__name__}")
                parts.append(f"({self.expr(left)} {ops[type(op)]} {self.expr(right)})")
                left = right
            return "(" + " && ".join(parts) + ")"
        if isinstance(node, ast.BoolOp):
            joiner = " && " if isinstance(node.op, ast.And) else " || "
            return "(" + joiner.join(self.expr(v) for v in node.values) + ")"
        if isinstance(node, ast.IfExp):
            kind = self.type_of(node)
            body, orelse = self.expr(node.body), self.expr(node.orelse)
            if kind == FLOAT:
                body, orelse = f"(double)({body})", f"(double)({orelse})"
            return f"({self.expr(node.test)} ? {body} : {orelse})"
        if isinstance(node, ast.Attribute):
            if _is_attr(node, "math", "pi"):
                return repr(math.pi)
            raise _fail(node, f"attribute {ast.unparse(node)}")
        if isinstance(node, ast.Subscript):
            return self._subscript(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise _fail(node, f"expression {type(node).__name__}")

    def _binop(self, node: ast.BinOp) -> str:
        left, right = self.expr(node.left), self.expr(node.right)
        op = node.op
        if isinstance(op, ast.Div):
            return f"((double)({left}) / (double)({right}))"
        if isinstance(op, ast.FloorDiv):
            return f"tk_floordiv({left}, {right})"
        if isinstance(op, ast.Mod):
            return f"tk_mod({left}, {right})"
        if isinstance(op, ast.Pow):
            exponent = _integer_constant(node.right)
            if exponent is not None and 1 <= abs(exponent) <= 4:
                base = f"(double)({left})" if self.type_of(node) == FLOAT else f"({left})"
                product = "(" + " * ".join([base] * abs(exponent)) + ")"
                return product if exponent > 0 else f"(1.0 / {product})"
            if self.type_of(node) == INT:
                raise _fail(node, "integer power")
            return f"pow((double)({left}), (double)({right}))"
        symbols = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}
        if type(op) not in symbols:
            raise _fail(node, f"operator {type(op).__name__}")
        return f"({left} {symbols[type(op)]} {right})"

    def _subscript(self, node: ast.Subscript) -> str:
        if isinstance(node.value, ast.Attribute) and node.value.attr == "shape":
            axis = _integer_constant(node.slice)
            if axis is None or not 0 <= axis <= 2:
                raise _fail(node, "shape indexed by something other than 0, 1 or 2")
            return f"({self.expr(node.value.value)}).s{axis}"
        if self.type_of(node.value) != ARRAY:
            raise _fail(node, "indexing something that is not an array")
        index = node.slice
        items = index.elts if isinstance(index, ast.Tuple) else [index]
        if any(isinstance(i, ast.Slice) for i in items) or not 1 <= len(items) <= 3:
            raise _fail(node, "slices or more than three indices")
        for i in items:
            if self.type_of(i) != INT:
                raise _fail(node, "a non-integer index")
        args = ", ".join([self.expr(node.value)] + [self.expr(i) for i in items])
        return f"TK{len(items)}({args})"

    def _call(self, node: ast.Call) -> str:
        func = node.func
        args = node.args
        if isinstance(func, ast.Attribute) and _is_attr(func, "math"):
            if func.attr not in MATH_FUNCTIONS:
                raise _fail(node, f"math.{func.attr}")
            return f"{MATH_FUNCTIONS[func.attr]}({', '.join(f'(double)({self.expr(a)})' for a in args)})"
        if _is_attr(func, "numpy", "zeros"):
            if len(args) != 1:
                raise _fail(node, "numpy.zeros with a dtype or order")
            shape = args[0].elts if isinstance(args[0], ast.Tuple) else [args[0]]
            if not 1 <= len(shape) <= 3 or any(self.type_of(s) != INT for s in shape):
                raise _fail(node, "numpy.zeros of more than three integer extents")
            extents = [self.expr(s) for s in shape] + ["1L"] * (3 - len(shape))
            return f"tk_zeros(A, {', '.join(extents)})"
        if _is_attr(func, "numpy", "empty_like"):
            if len(args) != 1 or self.type_of(args[0]) != ARRAY:
                raise _fail(node, "numpy.empty_like of something that is not an array")
            return f"tk_like(A, {self.expr(args[0])})"
        if isinstance(func, ast.Name):
            if func.id in ("max", "min"):
                if len(args) < 2:
                    raise _fail(node, f"{func.id} of fewer than two arguments")
                kind = self.type_of(node)
                helper = {("max", FLOAT): "tk_max", ("min", FLOAT): "tk_min"}.get((func.id, kind), f"tk_{func.id}i")
                text = self.expr(args[0])
                for a in args[1:]:
                    text = f"{helper}({text}, {self.expr(a)})"
                return text
            if func.id == "abs":
                return f"{'fabs' if self.type_of(node) == FLOAT else 'labs'}({self.expr(args[0])})"
            if func.id == "float":
                return f"(double)({self.expr(args[0])})"
            if func.id == "int":
                raise _fail(node, "int()")
            self._call_type(node, as_value=False)
            return f"{function_name(func.id)}({', '.join(['A'] + [self.expr(a) for a in args])})"
        raise _fail(node, f"call of {ast.unparse(func)}")


class _Unknown(Exception):
    """A name whose type is not known yet (inference goes round again)."""


def _join(a, b, node):
    if a == b:
        return a
    if {a, b} == {INT, FLOAT}:
        return FLOAT
    raise _fail(node, f"a name holds both {a} and {b}")


def _integer_constant(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _integer_constant(node.operand)
        return None if inner is None else -inner
    return None


def _negative_constant(node: ast.AST) -> bool:
    value = _integer_constant(node)
    return value is not None and value < 0


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)
