"""Lowered/built code against high-precision evaluation of the derived SymPy expressions.

Never compares generated text: every flavour (numpy, numba, mpmath), with CSE on and off,
is evaluated at random points and checked against ``evalf`` of the expanded expressions.
"""

import importlib.util

import mpmath
import numpy as np
import pytest
import sympy as sp
from conftest import random_covariance

from theorykit.committee.compiled import compile_model, forget_compiled
from theorykit.committee.derive.activations import get_activation
from theorykit.committee.derive.kernels import KERNELS
from theorykit.committee.derive.odes import KERNEL_FUNCTIONS, derive_index_system, n_, w
from theorykit.committee.derive.odes import i as I_
from theorykit.committee.derive.odes import j as J_
from theorykit.committee.derive.odes import x as X_
from theorykit.committee.model import CommitteeModel, Spectrum
from theorykit.core import code_cache as cache_mod

FLAVOURS = ["numpy", "mpmath"] + (["numba"] if importlib.util.find_spec("numba") else [])


def _expand_reference(expr, C, weights, free_values, params):
    """Evaluate an index expression by brute force: sums done out, kernels from SymPy, 40 digits."""
    act = get_activation("erf")
    n = C.shape[0]
    concrete = expr.subs(n_, n).subs(free_values)
    concrete = concrete.doit()
    replacements = {}
    for app in concrete.atoms(sp.Function):
        if app.func.__name__ in KERNELS:
            spec = KERNELS[app.func.__name__]
            units = [int(a) for a in app.args]
            subs = {s: sp.Float(C[units[a], units[b]], 40) for s, (a, b) in zip(spec.args, spec.arg_pairs)}
            replacements[app] = act.kernel_expr(spec).evalf(40, subs=subs)
    concrete = concrete.xreplace(replacements)
    concrete = concrete.subs({w[p]: sp.Float(weights[p], 40) for p in range(n)})
    return complex(sp.N(concrete.subs(params), 40)).real


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("cse", [True, False])
def test_generated_functions_match_evalf(flavour, cse, rng):
    model = CommitteeModel(2, 1, Spectrum.explicit([1.0]), "erf", noise=0.3)
    compiled = compile_model(model, flavour, cse=cse)
    system = derive_index_system(False)
    K, n = 2, 3
    C = random_covariance(rng, n)
    weights = model.readout_weights
    cK, s2 = model.c_K, model.noise**2
    mod = compiled.module
    if flavour == "mpmath":
        with mpmath.workdps(30):
            Cm = np.vectorize(mpmath.mpf, otypes=[object])(C)
            wm = np.vectorize(mpmath.mpf, otypes=[object])(weights)
            G = np.array(mod.G_fn(Cm, wm, K, n, mpmath.mpf(cK)), dtype=float)
            W = np.array(mod.W_fn(Cm, wm, K, n, mpmath.mpf(cK), mpmath.mpf(s2)), dtype=float)
            eps = float(mod.eps_fn(Cm, wm, K, n))
    else:
        G, W, eps = mod.G_fn(C, weights, K, n, cK), mod.W_fn(C, weights, K, n, cK, s2), mod.eps_fn(C, weights, K, n)
    params = {sp.Symbol("c_K", positive=True): cK, sp.Symbol("s2", positive=True): s2}
    for a in range(K):
        for b in range(n):
            ref = _expand_reference(system.G, C, weights, {I_: a, X_: b}, params)
            assert abs(G[a, b] - ref) < 1e-13
        for b in range(K):
            ref = _expand_reference(system.W, C, weights, {I_: a, J_: b}, params)
            assert abs(W[a, b] - ref) < 1e-13
    assert abs(eps - _expand_reference(system.eps_g, C, weights, {}, params)) < 1e-13


@pytest.mark.parametrize("flavour", [f for f in FLAVOURS if f != "mpmath"])
def test_tangents_match_finite_differences(flavour, rng):
    model = CommitteeModel(3, 2, Spectrum.explicit([1.0]), "erf")
    mod = compile_model(model, flavour).module
    K, n = 3, 5
    C = random_covariance(rng, n)
    dC = random_covariance(rng, n) - np.eye(n)
    h = 1e-6
    args = (model.readout_weights, K, n, model.c_K)
    for value, tangent, extra in ((mod.G_fn, mod.G_tan, ()), (mod.W_fn, mod.W_tan, (0.0,))):
        fd = (value(C + h * dC, *args, *extra) - value(C - h * dC, *args, *extra)) / (2 * h)
        assert np.max(np.abs(tangent(C, dC, *args, *extra) - fd)) < 1e-8


def test_cache_hit_and_corruption_recovery(tmp_path, monkeypatch):
    monkeypatch.setenv("THEORYKIT_CACHE_DIR", str(tmp_path))
    model = CommitteeModel(2, 2, Spectrum.explicit([1.0]), "linear")
    first = compile_model(model, "numpy")
    assert not first.cache_hit and first.path.parent == tmp_path
    assert compile_model(model, "numpy") is first  # built once per process
    forget_compiled()
    second = compile_model(model, "numpy")  # found through its recipe, without deriving
    assert second.cache_hit and second.path == first.path and second.timings["derive"] == 0.0
    # a planted file under the same name is detected by its hash and rebuilt, not executed
    first.path.write_text("# theorykit-sha256: 00\nraise SystemExit('executed planted code')\n")
    forget_compiled()
    third = compile_model(model, "numpy")
    assert not third.cache_hit
    assert "executed planted code" not in third.path.read_text()
    # a recipe pointing outside the cache (or at nothing) is ignored: the module is derived again
    for recipe in tmp_path.glob("recipe_*.json"):
        recipe.write_text('{"module": "../elsewhere.py", "notes": {"flavour": "numpy"}}')
    forget_compiled()
    fourth = compile_model(model, "numpy")
    assert fourth.cache_hit and fourth.timings["derive"] > 0.0
    assert cache_mod.clear_cache() >= 1
    forget_compiled()


def _compile_in_processes(tmp_path, model: str, show: str, count: int) -> list[str]:
    """stdout of ``count`` fresh interpreters started together, each compiling ``model`` (numpy
    flavour) with the cache in ``tmp_path`` and printing ``show`` (``c`` is the compiled system)."""
    import os
    import subprocess
    import sys

    code = f"import sys; from theorykit import CommitteeModel, Spectrum, compile_model; c = compile_model({model}, 'numpy'); print({show})"
    env = {**os.environ, "THEORYKIT_CACHE_DIR": str(tmp_path)}
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True) for _ in range(count)
    ]
    outs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    return outs


def test_warm_process_loads_its_module_without_sympy(tmp_path):
    """A second process finds the generated module through its recipe: SymPy is never imported."""
    model, show = "CommitteeModel(2, 2, Spectrum.explicit([1.0]), 'erf')", "c.cache_hit, 'sympy' in sys.modules"
    runs = [_compile_in_processes(tmp_path, model, show, 1)[0] for _ in range(2)]
    assert runs == ["False True", "True False"]


def test_cache_concurrent_writers(tmp_path):
    """Three processes building the same entry at once all end with one valid file."""
    model = "CommitteeModel(2, 2, Spectrum.explicit([1.0]), 'erf', small_lr=True)"
    paths = set(_compile_in_processes(tmp_path, model, "c.path", 3))
    assert len(paths) == 1
    assert cache_mod._valid(__import__("pathlib").Path(paths.pop()))
    assert not list(tmp_path.glob("*.tmp"))


def test_structured_system_stays_small():
    """The derived system is a handful of index terms whatever K, M, L are."""
    system = derive_index_system(False)
    for expr in (system.G, system.W, system.eps_g, system.drift):
        assert sp.count_ops(expr) < 40
    assert set(system.kernels_used()) == {"gg", "dgdg", "d2g_g", "dgdg_gg"}
    assert isinstance(KERNEL_FUNCTIONS["dgdg"](I_, X_), sp.Function)


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba not installed")
@pytest.mark.parametrize(("small_lr", "noise"), [(False, 0.2), (True, 0.0)])
def test_fused_numba_rhs_equals_the_numpy_pipeline(small_lr, noise):
    # the one-call numba right-hand side against the step-by-step NumPy-flavour pipeline,
    # with K != M, several modes and a finite-N (non-diagonal) teacher
    from theorykit.committee.solve.eigenmode import EigenmodeSystem
    from theorykit.committee.solve.initial import random_overlaps

    model = CommitteeModel(3, 2, Spectrum.power_law(5, 0.7), noise=noise, small_lr=small_lr)
    init = random_overlaps(model, 200, 0.4, 3)
    plain = EigenmodeSystem(model, compile_model(model, "numpy"), 0.3, init.t)
    y = plain.pack(init.r, init.q)
    expected = plain.rhs(0.0, y)
    assert not plain.fused
    for layout in ("loops", "batched"):  # one njit call with loops / njit + batched BLAS product
        fused = EigenmodeSystem(model, compile_model(model, "numba"), 0.3, init.t, rhs_layout=layout)
        assert fused.fused
        np.testing.assert_allclose(fused.rhs(0.0, y), expected, rtol=1e-12, atol=1e-15)
