"""The c flavour: the numba flavour's one-call right-hand side translated to C.

Checked against the NumPy flavour's right-hand side (a different lowering: broadcast kernels
and einsum, no loops, no translation) and against the numba code it is translated from, on
K != M, unequal fractions, a noisy teacher and eta = 0.3; and what ``auto`` picks where.
"""

from __future__ import annotations

import numpy as np
import pytest

import theorykit as tk
from theorykit.committee.compiled import compile_for_explicit_solve, compile_model
from theorykit.committee.solve.eigenmode import EigenmodeSystem
from theorykit.core import c_build
from theorykit.core.optional import numba_available

pytestmark = pytest.mark.skipif(c_build.compiler() is None, reason="no C compiler")


def _case(activation: str, small_lr: bool):
    spectrum = tk.Spectrum.power_law(3, 0.3, fractions=[0.5, 0.3, 0.2])
    model = tk.CommitteeModel(2, 3, spectrum, activation, noise=0.1, small_lr=small_lr)
    init = tk.random_overlaps(model, 50, 0.4, 3)
    return model, init


@pytest.mark.parametrize("activation, small_lr", [("erf", False), ("erf", True), ("linear", False), ("relu", True)])
def test_the_c_right_hand_side_equals_the_numpy_flavours(activation, small_lr):
    # round-off only: the two lowerings sum the same terms in different orders
    model, init = _case(activation, small_lr)
    c_system = EigenmodeSystem(model, compile_model(model, "c"), 0.3, init.t)
    numpy_system = EigenmodeSystem(model, compile_model(model, "numpy"), 0.3, init.t)
    assert c_system.flavour == "c" and c_system.fused
    state = c_system.pack(init.r, init.q)
    expected = numpy_system.rhs(0.0, state)
    np.testing.assert_allclose(c_system.rhs(0.0, state), expected, rtol=1e-12, atol=1e-14 * np.abs(expected).max())
    # everything but the right-hand side is the NumPy flavour itself
    assert c_system.eps_g(state) == numpy_system.eps_g(state)


@pytest.mark.skipif(not numba_available(), reason="numba not installed")
def test_the_c_right_hand_side_is_the_numba_code_it_was_translated_from():
    model, init = _case("erf", False)
    c_system = EigenmodeSystem(model, compile_model(model, "c"), 0.3, init.t)
    numba_system = EigenmodeSystem(model, compile_model(model, "numba"), 0.3, init.t, rhs_layout="loops")
    state = c_system.pack(init.r, init.q)
    # numba runs with fast-math (reassociation, contraction), C with IEEE order: a few ulps apart
    np.testing.assert_allclose(c_system.rhs(0.0, state), numba_system.rhs(0.0, state), rtol=1e-13, atol=1e-16)


def test_auto_runs_an_explicit_small_solve_from_c_and_an_implicit_one_from_numba_or_numpy():
    model, init = _case("erf", False)
    explicit = tk.solve(model, 0.3, init, [1.0, 4.0], tk.SolverConfig("DOP853"))
    implicit = tk.solve(model, 0.3, init, [1.0, 4.0], tk.SolverConfig("LSODA", rtol=1e-10, atol=1e-12))
    assert explicit.flavour == "c"
    assert implicit.flavour == ("numba" if numba_available() else "numpy")  # LSODA needs the Jacobian's kernels
    np.testing.assert_allclose(explicit.eps_g, implicit.eps_g, rtol=1e-6)
    # named flavours are honoured
    named = tk.solve(model, 0.3, init, [1.0, 4.0], tk.SolverConfig("DOP853", flavour="numpy"))
    assert named.flavour == "numpy"
    np.testing.assert_allclose(named.eps_g, explicit.eps_g, rtol=1e-9)


def test_without_a_compiler_auto_falls_back(monkeypatch):
    model, _ = _case("erf", False)
    monkeypatch.setenv(c_build.COMPILER_VARIABLE, "")
    assert c_build.compiler() is None
    assert compile_for_explicit_solve(model).flavour == ("numba" if numba_available() else "numpy")


def test_code_that_cannot_be_translated_falls_back_once_and_is_remembered(monkeypatch):
    # relu at O(eta^2) has a kernel without closed form: no numba code, so no C either
    model, _ = _case("relu", False)
    assert compile_for_explicit_solve(model).flavour == "numpy"
    tried = _record_flavours_compiled(monkeypatch)
    assert compile_for_explicit_solve(model).flavour == "numpy"
    assert tried == ["auto"]  # the cache remembers: c is not attempted again


def _record_flavours_compiled(monkeypatch) -> list:
    """The flavours compile_for_explicit_solve asks compile_model for, from now on."""
    tried = []
    original = compile_model

    def spy(m, flavour="auto", cse=True):
        tried.append(flavour)
        return original(m, flavour, cse)

    monkeypatch.setattr("theorykit.committee.compiled.compile_model", spy)
    return tried


def test_a_damaged_library_is_rebuilt_from_its_source():
    # (a library not loaded by this process: overwriting a mapped one in place would crash it)
    key = c_build.build_library("int tk_probe(void) { return 7; }\n")
    c_build.library_path(key).write_bytes(b"not a shared library")
    assert not c_build._intact(key)
    library = c_build.load_library(key)  # rebuilt: the recorded hash no longer matched
    assert c_build._intact(key) and library.tk_probe() == 7


def test_an_altered_source_is_never_compiled():
    key = c_build.build_library("int tk_probe(void) { return 1; }\n")
    c_build.library_path(key).unlink()
    source = c_build.cache_dir() / f"c_{key}.c"
    source.write_text("int tk_probe(void) { return 2; }\n")
    with pytest.raises(c_build.CompileError, match="gone or altered"):
        c_build.load_library(key)


def test_a_failing_compiler_falls_back_and_is_remembered(monkeypatch, tmp_path):
    from theorykit.committee.compiled import forget_compiled

    monkeypatch.setenv("THEORYKIT_CACHE_DIR", str(tmp_path))  # nothing compiled yet
    monkeypatch.setenv(c_build.COMPILER_VARIABLE, "false")  # a "compiler" that always fails
    forget_compiled()
    model, _ = _case("linear", True)
    fallback = "numba" if numba_available() else "numpy"
    try:
        assert compile_for_explicit_solve(model).flavour == fallback
        forget_compiled()
        tried = _record_flavours_compiled(monkeypatch)
        assert compile_for_explicit_solve(model).flavour == fallback and tried == ["auto"]
    finally:
        forget_compiled()


def test_the_c_right_hand_side_is_saad_and_sollas_published_equations():
    """From outside the generated code: L = 1 (isotropic inputs), sum normalisation, K = 3 on
    M = 2, eta = 0.3 -- Saad & Solla's dR/dalpha and dQ/dalpha written with loops over the units
    (theorykit.committee.saad_solla, their I3 and I4 integrals), to round-off."""
    from theorykit.committee.saad_solla import isotropic_rhs

    model = tk.CommitteeModel(3, 2, tk.Spectrum.power_law(1, 1.0), "erf", normalization="sum")
    init = tk.random_overlaps(model, 40, 0.6, 5)
    system = EigenmodeSystem(model, compile_model(model, "c"), 0.3, init.t)
    dR, dQ = isotropic_rhs(init.q[0], init.r[0], init.t[0], 0.3, backend="numpy")
    expected = system.pack(dR[None], dQ[None])
    np.testing.assert_allclose(system.rhs(0.0, system.pack(init.r, init.q)), expected, rtol=1e-12, atol=1e-15)
