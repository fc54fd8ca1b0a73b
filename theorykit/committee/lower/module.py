"""Assemble the complete generated module for one (system, activation, flavour).

The module is plain, readable Python.  It defines

``k_<kernel>``, ``t_<kernel>``
    the kernel values and tangents (from SymPy; absent kernels are injected numerically);
``G_fn(C, w, K, n, c_K)``, ``W_fn(C, w, K, n, c_K, s2)``, ``eps_fn(C, w, K, n)``
    the Stein coefficients and the generalisation error on a covariance ``C``;
``G_tan``, ``W_tan``
    their directional derivatives along ``dC`` (for the Jacobian);
``drift_fn(G, Om, lam, eta)``, ``cov_fn(Om, lam)``, ``decay_rate_fn(eta, kappa)``
    the index contractions with the per-mode overlaps.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import sympy as sp

from ..derive.activations import Activation
from ..derive.kernels import KERNELS
from ..derive.odes import IndexSystem, i, j, k, x, y
from .index_code import einsum_function, looped_function, vectorised_function
from .kernel_printer import kernel_function_source

_EINSUM_HELPERS = """_PATHS = {}


def _einsum(spec, *ops):
    # Contraction order found once per (spec, shapes) and reused: BLAS for the big
    # contractions without numpy's path search on every call.
    # Small operands: the plain C loop beats the path machinery's Python overhead.
    key = (spec,) + tuple(o.shape for o in ops)
    path = _PATHS.get(key)
    if path is None:
        path = _PATHS[key] = _choose_path(spec, ops)
    return numpy.einsum(spec, *ops, optimize=path)


def _choose_path(spec, ops):
    if sum(numpy.size(o) for o in ops) <= 20000:
        return False
    if len(ops) == 3:
        # Contract the two largest operands first: one BLAS matrix product, then a cheap
        # scaling.  (numpy's FLOP count prefers an outer product with the small vector
        # first, which turns the matrix product into a slower batched one.)  Deterministic,
        # so results are bit-identical from run to run.
        order = sorted(range(3), key=lambda p: -numpy.size(ops[p]))
        return ["einsum_path", tuple(sorted(order[:2])), (0, 1)]
    return numpy.einsum_path(spec, *ops, optimize="optimal")[0]
"""

_PRELUDE = {
    "numpy": """import math
import numpy

_zeros = numpy.zeros
_arange = numpy.arange
_eye = numpy.eye


"""
    + _EINSUM_HELPERS
    + """

def _bcast(value, *grids):
    shape = numpy.broadcast_shapes(*(g.shape for g in grids))
    return numpy.broadcast_to(numpy.asarray(value, dtype=float), shape)
""",
    "numba": """import math
import numba
import numpy

# Fast-math without 'nnan'/'ninf': NaN and inf still propagate, so failures stay detectable.
_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
_zeros = numpy.zeros
_eye = numpy.eye


"""
    + _EINSUM_HELPERS,
    "mpmath": """import math
import mpmath
import numpy


def _zeros(shape):
    out = numpy.empty(shape, dtype=object)
    out[...] = mpmath.mpf(0)
    return out


def _arange(n):
    return numpy.arange(n)


def _eye(a, b):
    out = _zeros((a, b))
    for _d in range(min(a, b)):
        out[_d, _d] = mpmath.mpf(1)
    return out


def _einsum(spec, *ops):
    return numpy.einsum(spec, *(numpy.asarray(o, dtype=object) for o in ops))


def _bcast(value, *grids):
    shape = numpy.broadcast_shapes(*(g.shape for g in grids))
    return numpy.broadcast_to(numpy.asarray(value, dtype=object), shape)
""",
}


_NUMBA_JIT = '@numba.njit(cache=True, error_model="numpy", fastmath=_FASTMATH)'

# The eigenmode right-hand side with as few Python-level operations as possible (numba
# flavour).  Small systems: one njit call with plain loops (``rhs_small``); at small K the
# per-call overhead of a dozen NumPy operations is what dominates.  Large systems:
# ``fused_prep`` (unpack, covariance, G, W) and ``fused_pack`` in njit around three BLAS
# products done by NumPy on caller-owned work arrays (fresh multi-megabyte temporaries cost
# more in page faults than the arithmetic).  Plain loops and no BLAS inside njit keep the
# numba compile (the cold start) short.  Layout as EigenmodeSystem.pack: r (L, K, M)
# row-major, then the upper triangles of q.
_FUSED_RHS = """@numba.njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _fill_overlaps(state, t, lam, K, M, Om):
    L = lam.shape[0]
    n = K + M
    KM = K * M
    nq = K * (K + 1) // 2
    q0 = L * KM
    C = numpy.zeros((n, n))
    # C accumulated from the packed entries while Omega is filled (one pass over memory)
    for k in range(L):
        lk = lam[k]
        for i in range(K):
            for m in range(M):
                v = state[k * KM + i * M + m]
                Om[k, i, K + m] = v
                Om[k, K + m, i] = v
                C[i, K + m] += lk * v
        p = q0 + k * nq
        for i in range(K):
            for j in range(i, K):
                v = state[p]
                p += 1
                Om[k, i, j] = v
                Om[k, j, i] = v
                C[i, j] += lk * v
        for a in range(M):
            for b in range(M):
                v = t[k, a, b]
                Om[k, K + a, K + b] = v
                C[K + a, K + b] += lk * v
    for i in range(K):
        for j in range(i + 1, K):
            C[j, i] = C[i, j]
        for m in range(M):
            C[K + m, i] = C[i, K + m]
    return C


@numba.njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def fused_prep(state, t, lam, w, K, M, c_K, s2, Om):
    C = _fill_overlaps(state, t, lam, K, M, Om)
    G = G_fn_nb(C, w, K, K + M, c_K)
{W_PREP}    return G, W


@numba.njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def fused_pack(Y, lam, eta2_lam_f, W, K, M, eta, out):
    # Y[k] = G Omega_k (K x n): dr = Y[:, :, K:], dq = Y[:, :, :K] + its transpose (+ W term)
    L = lam.shape[0]
    KM = K * M
    nq = K * (K + 1) // 2
    q0 = L * KM
    for k in range(L):
        scale = eta * lam[k]
        for i in range(K):
            for m in range(M):
                out[k * KM + i * M + m] = scale * Y[k, i, K + m]
        p = q0 + k * nq
        for i in range(K):
            for j in range(i, K):
                out[p] = scale * (Y[k, i, j] + Y[k, j, i]){W_TERM}
                p += 1
    return out


@numba.njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def rhs_small(state, t, lam, eta2_lam_f, w, K, M, eta, c_K, s2, Om, Y):
    n = K + M
    G, W = fused_prep(state, t, lam, w, K, M, c_K, s2, Om)
    for k in range(lam.shape[0]):
        for i in range(K):
            for y in range(n):
                acc = 0.0
                for x in range(n):
                    acc += G[i, x] * Om[k, x, y]
                Y[k, i, y] = acc
    return fused_pack(Y, lam, eta2_lam_f, W, K, M, eta, numpy.empty_like(state))"""


def module_source(system: IndexSystem, activation: Activation, flavour: str, cse: bool = True) -> str:
    """Full text of the generated module (see the module docstring)."""
    parts = [
        f'"""Generated by theorykit for activation {activation.name!r}, flavour {flavour!r}, '
        f"small_lr={system.small_lr}, cse={cse}.\n\nDo not edit: regenerated from the derivation "
        'when the expressions change (the file name is their content hash)."""',
        _PRELUDE[flavour],
    ]
    missing = []
    for name in system.kernels_used():
        spec = KERNELS[name]
        expr = activation.kernel_expr(spec)
        if expr is None:
            missing.append(name)
            continue
        src = kernel_function_source(name, expr, spec.args, "numba" if flavour == "numba" else flavour, cse)
        if flavour == "numba":
            src = src.replace("def k_", f"{_NUMBA_JIT}\ndef k_").replace("def t_", f"{_NUMBA_JIT}\ndef t_")
        elif flavour == "mpmath":
            # scalar mpmath functions broadcast over object arrays
            src += f"\n\n\nk_{name} = numpy.frompyfunc(k_{name}, {len(spec.args)}, 1)"
            src += f"\nt_{name} = numpy.frompyfunc(t_{name}, {2 * len(spec.args)}, 1)"
        parts.append(src)
    if missing:
        if flavour == "numba":
            raise ValueError(f"numba flavour needs symbolic kernels; missing {missing}")
        parts.append(
            "# Kernels without a closed form, injected by the builder (numeric quadrature):\n"
            + "\n".join(f"k_{m} = _INJECTED['k_{m}']\nt_{m} = _INJECTED['t_{m}']" for m in missing)
        )
    functions = [
        ("G_fn", system.G, (i, x), ("c_K",)),
        ("eps_fn", system.eps_g, (), ()),
    ]
    if not system.small_lr:
        functions.append(("W_fn", system.W, (i, j), ("c_K", "s2")))
    if system.readout_drift is not None:
        functions.append(("readout_fn", system.readout_drift, (i,), ()))
    for name, expr, free, params in functions:
        for tangent in (False, True):
            fname = name.replace("_fn", "_tan") if tangent else name
            if flavour == "numba":
                kernel_exprs = {n_: activation.kernel_expr(KERNELS[n_]) for n_ in system.kernels_used()}
                src, helpers = looped_function(fname, expr, free, params, tangent, kernel_exprs)
                for helper in helpers:
                    parts.append(helper)
                parts.append(src)
            else:
                parts.append(vectorised_function(fname, expr, free, params, tangent))
    if flavour == "numba":
        with_w = not system.small_lr
        w_prep = "    W = W_fn_nb(C, w, K, K + M, c_K, s2)\n" if with_w else "    W = numpy.zeros((1, 1))\n"
        w_term = " + eta2_lam_f[k] * W[i, j]" if with_w else ""
        parts.append(_FUSED_RHS.replace("{W_PREP}", w_prep).replace("{W_TERM}", w_term))
    drift_body = system.drift
    parts.append(einsum_function("drift_fn", drift_body, (k, i, y), ("G", "Om", "lam", "eta")))
    parts.append(einsum_function("cov_fn", system.cov, (x, y), ("Om", "lam")))
    # the weight-decay factor of Omega_iy: a scalar expression in eta and kappa
    parts.append(f"def decay_rate_fn(eta, kappa):\n    return {sp.pycode(system.decay_rate)}")
    return "\n\n\n".join(parts) + "\n"


def generator_fingerprint() -> str:
    """sha256 of the lowering code itself: a change to the printers invalidates the cache."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def expression_fingerprint(system: IndexSystem, activation: Activation, flavour: str, cse: bool) -> str:
    """Canonical text of everything the module is generated from (hashed for the cache key)."""
    pieces = [generator_fingerprint(), flavour, f"cse={cse}", activation.name, sp.srepr(system.G), sp.srepr(system.W)]
    pieces += [sp.srepr(system.drift), sp.srepr(system.eps_g), sp.srepr(system.cov), sp.srepr(system.decay)]
    if system.readout_drift is not None:
        pieces.append(sp.srepr(system.readout_drift))
    for name in system.kernels_used():
        expr = activation.kernel_expr(KERNELS[name])
        pieces.append(f"{name}:{'numeric' if expr is None else sp.srepr(expr)}")
    return "\n".join(pieces)
