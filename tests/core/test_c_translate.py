"""The numba-subset Python -> C translator: the C, compiled, computes what Python computes.

Each check runs the same source text twice -- as Python and as the compiled C library -- on
inputs chosen where Python's and C's rules differ (floor division and modulo of negatives,
max/min with NaN, integer / integer, powers, ranges with a start and a step).
"""

from __future__ import annotations

import ctypes
import math

import numpy as np
import pytest

from theorykit.core.c_build import build_library, compiler, load_library
from theorykit.core.c_translate import ARRAY, FLOAT, INT, TranslationError, Translator

needs_cc = pytest.mark.skipif(compiler() is None, reason="no C compiler")

SOURCE = """
import math
import numpy


def scalar(a, b, x, y):
    q = a // b
    r = a % b
    h = a / b
    m = max(0.0, x)
    n = min(1.0, max(-1.0, y))
    p = x**2 + y**(-2) + x**(1.5)
    c = 1.0 if a == b else 2.0
    z = 0
    z += q * 1000 + r
    w = 7
    w /= 2
    return z + w + h + m + n + p + c + math.erf(x) + math.asin(n) + math.pi


def fill(out, K, scale):
    total = numpy.zeros((K, 2))
    for i in range(K):
        for j in range(1, 2 * K, 3):
            out[i, j % out.shape[1]] += scale * (i + 1) / (j + 1)
        total[i, 0] = out[i, 0]
    return total, out


def entry(out, K, scale):
    total, full = fill(out, K, scale)
    acc = 0.0
    for i in range(K):
        acc += total[i, 0] + full[i, K - 1]
    return acc
"""

ENTRY_C = r"""
double tk_scalar(long a, long b, double x, double y) {
    tk_arena A; A.head = NULL;
    double r = f_scalar(&A, a, b, x, y);
    tk_free(&A);
    return r;
}
double tk_entry(double *out, long rows, long cols, long K, double scale) {
    tk_arena A; A.head = NULL;
    if (setjmp(A.fail)) { tk_free(&A); return NAN; }
    tk_arr a_out = {out, rows, cols, 1};
    double r = f_entry(&A, a_out, K, scale);
    tk_free(&A);
    return r;
}
"""


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    translator = Translator(SOURCE)
    translator.function("scalar", (INT, INT, FLOAT, FLOAT))
    translator.function("entry", (ARRAY, INT, FLOAT))
    lib = load_library(build_library(translator.source() + ENTRY_C))
    lib.tk_scalar.restype = ctypes.c_double
    lib.tk_scalar.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_double, ctypes.c_double]
    lib.tk_entry.restype = ctypes.c_double
    lib.tk_entry.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_long, ctypes.c_long, ctypes.c_double]
    return lib


@pytest.fixture(scope="module")
def python():
    namespace: dict = {}
    exec(compile(SOURCE, "<translated>", "exec"), namespace)  # the test's own source text, not user input
    return namespace


@needs_cc
@pytest.mark.parametrize(
    "a, b, x, y",
    [(7, 2, 0.3, 0.7), (-7, 2, 1.2, -3.0), (7, -2, 0.0, 0.25), (-7, -2, 2.5, -0.3), (4, 4, 0.1, 5.0)],
)
def test_scalar_arithmetic_follows_python(library, python, a, b, x, y):
    # floor division and modulo of negatives, true division of integers, clipping, powers:
    # the C library and Python agree to a few ulps (erf and asin come from two libms)
    expected = python["scalar"](a, b, x, y)
    assert library.tk_scalar(a, b, x, y) == pytest.approx(expected, rel=4e-16, abs=4e-16)


@needs_cc
def test_max_and_min_keep_pythons_nan_rule(library, python):
    # Python's max(0.0, nan) is 0.0 (the first argument unless the second is larger): so is C's
    expected = python["scalar"](1, 1, math.nan, 0.5)
    got = library.tk_scalar(1, 1, math.nan, 0.5)
    assert math.isnan(expected) and math.isnan(got)  # erf(nan) and nan**2 still propagate
    # clipping alone: min(1.0, max(-1.0, nan)) is -1.0 in Python, and asin(-1) is finite
    assert python["scalar"](1, 1, 0.5, math.nan) == pytest.approx(library.tk_scalar(1, 1, 0.5, math.nan), nan_ok=True)


@needs_cc
@pytest.mark.parametrize("K", [1, 3, 4])
def test_loops_arrays_tuples_and_shapes_follow_python(library, python, K):
    out_py = np.arange(K * 5, dtype=float).reshape(K, 5) * 0.3
    out_c = out_py.copy()
    expected = python["entry"](out_py, K, 0.3)
    got = library.tk_entry(out_c.ctypes.data, K, 5, K, 0.3)
    assert got == pytest.approx(expected, rel=1e-15)
    np.testing.assert_array_equal(out_c, out_py)  # the same writes into the caller's array


@pytest.mark.parametrize(
    "body, what",
    [
        ("    while x > 0:\n        x -= 1\n    return x", "statement While"),
        ("    return [x]", "expression List"),
        ("    return math.gamma(x)", "math.gamma"),
        ("    return x.real", "attribute"),
        ("    for i in [1, 2]:\n        x += i\n    return x", "not over range"),
        ("    return undefined_function(x)", "not a function of the module"),
    ],
)
def test_anything_outside_the_subset_is_refused_with_its_line(body, what):
    translator = Translator(f"import math\n\n\ndef f(x):\n{body}\n")
    with pytest.raises(TranslationError, match=what):
        translator.function("f", (FLOAT,))


def test_one_function_called_with_two_signatures_is_refused():
    source = "def g(a):\n    return a\n\n\ndef f(x, n):\n    return g(x) + g(n)\n"
    with pytest.raises(TranslationError, match="parameter types"):
        Translator(source).function("f", (FLOAT, INT))
