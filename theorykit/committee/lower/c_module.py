"""The ``c`` flavour: the NumPy module with its one-call right-hand side compiled from C.

The C is not printed from the expressions a second time: it is the numba flavour's
``rhs_small`` (plain loops over the generated kernels) translated by
:mod:`theorykit.core.c_translate`, so both compiled forms come from one lowering.  The library
loads through :mod:`ctypes` in milliseconds, without numba's import and CPU target (about a
second): what makes a short ``theorykit solve`` process fast.  Everything else in the module
(``G_fn``, ``W_fn``, ``eps_fn``, the tangents, ``cov_fn``) is the NumPy flavour, fine for the few
calls an explicit solve makes outside its right-hand side; solvers that need many of those
(implicit methods, plateaus, the late phase) keep numba.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ...core.c_build import build_library

_ENTRY = r"""
/* Entry point: C-contiguous float64 buffers; returns 0, or 1 when a work array could not be allocated. */
int tk_rhs_small(double *state, long size, double *t, double *lam, double *eta2_lam_f, double *w,
                 long L, long K, long M, double eta, double c_K, double s2, double *out) {
    tk_arena A;
    A.head = NULL;
    if (setjmp(A.fail)) { tk_free(&A); return 1; }
    long n = K + M;
    tk_arr a_state = {state, size, 1, 1}, a_t = {t, L, M, M}, a_lam = {lam, L, 1, 1};
    tk_arr a_e2 = {eta2_lam_f, L, 1, 1}, a_w = {w, n, 1, 1};
    tk_arr Om = tk_zeros(&A, L, n, n), Y = tk_zeros(&A, L, K, n);
    tk_arr r = f_rhs_small(&A, a_state, a_t, a_lam, a_e2, a_w, K, M, eta, c_K, s2, Om, Y);
    memcpy(out, r.d, (size_t)size * sizeof(double));
    tk_free(&A);
    return 0;
}
"""

_LOADER = '''

# -- the one-call right-hand side, compiled from C (theorykit.committee.lower.c_module) --------
import ctypes as _ctypes

from theorykit.core.c_build import load_library as _load_library

_C_KEY = "{key}"
_rhs = _load_library(_C_KEY).tk_rhs_small
_rhs.restype = _ctypes.c_int
_rhs.argtypes = [_ctypes.c_void_p, _ctypes.c_long] + [_ctypes.c_void_p] * 4 + [_ctypes.c_long] * 3
_rhs.argtypes += [_ctypes.c_double] * 3 + [_ctypes.c_void_p]


def bind_rhs(t, lam, eta2_lam_f, w, K, M, eta, c_K, s2):
    """The numba flavour's ``rhs_small(state, t, lam, eta2_lam_f, w, K, M, eta, c_K, s2, Om, Y)``
    run by the C library, everything but the state converted once: ``f(state) -> derivative``
    (``state``: C-contiguous float64)."""
    held = [numpy.ascontiguousarray(a, dtype=numpy.float64) for a in (t, lam, eta2_lam_f, w)]
    fixed = tuple(a.ctypes.data for a in held) + (held[1].shape[0], int(K), int(M), float(eta), float(c_K), float(s2))

    def rhs(state):
        out = numpy.empty_like(state)
        if _rhs(state.ctypes.data, state.shape[0], *fixed, out.ctypes.data) != 0:
            raise MemoryError("the compiled right-hand side could not allocate its work arrays")
        return out

    rhs.held = held  # the buffers C reads stay alive as long as the function
    return rhs
'''


def rhs_c_source(numba_source: str) -> str:
    """C text of the numba flavour's ``rhs_small`` (and what it calls) with the ``tk_rhs_small`` entry point.

    Raises
    ------
    theorykit.core.c_translate.TranslationError
        When the numba text uses anything outside the translatable subset.
    """
    from ...core.c_translate import ARRAY, FLOAT, INT, Translator

    translator = Translator(numba_source)
    # rhs_small(state, t, lam, eta2_lam_f, w, K, M, eta, c_K, s2, Om, Y)
    translator.function("rhs_small", (ARRAY, ARRAY, ARRAY, ARRAY, ARRAY, INT, INT, FLOAT, FLOAT, FLOAT, ARRAY, ARRAY))
    return translator.source() + _ENTRY


def c_module_source(numpy_source: str, numba_source: str) -> str:
    """The ``c`` flavour's module text: ``numpy_source`` plus the loader of the compiled ``rhs_small``
    (the library is built into the cache here)."""
    key = build_library(rhs_c_source(numba_source))
    return numpy_source + _LOADER.format(key=key)


def translator_fingerprint() -> str:
    """sha256 of the translator and the C build rules: a change to them invalidates ``c`` modules."""
    digest = hashlib.sha256()
    core = Path(__file__).parents[2] / "core"
    for path in (core / "c_translate.py", core / "c_build.py"):
        digest.update(path.read_bytes())
    return digest.hexdigest()
