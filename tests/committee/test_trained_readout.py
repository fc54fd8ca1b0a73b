"""Per-unit read-out weights v_i (given or trained: v_i <- v_i + (eta_v/N) g(a_i)(zeta - sigma))."""

import json

import numpy as np
import pytest

from theorykit import CommitteeModel, SolverConfig, Spectrum, random_overlaps, simulate, solve
from theorykit.cli import main
from theorykit.committee.model import SecondLayer
from theorykit.core.errors import CaseError

SPECTRUM = Spectrum.power_law(4, 0.3, [0.1, 0.2, 0.3, 0.4])  # unequal fractions
TRAINED = SecondLayer([0.3, 1.2], [0.8, 0.5, 1.0], 0.5)  # students start away from the teachers


def test_fixed_per_unit_weights_equal_to_the_normalisation_are_the_classic_model():
    """v_i = 1/sqrt(K), v*_n = 1/sqrt(M) through the per-unit derivation: the classic curve to round-off."""
    classic = CommitteeModel(2, 3, SPECTRUM)
    same = CommitteeModel(2, 3, SPECTRUM, second_layer=SecondLayer([2**-0.5] * 2, [3**-0.5] * 3))
    init = random_overlaps(classic, 500, 0.3, 0)
    config = SolverConfig("DOP853", 1e-10, 1e-12)
    a, b = (solve(m, 0.3, init, [0.0, 1.0, 5.0, 20.0], config) for m in (classic, same))
    np.testing.assert_allclose(b.eps_g, a.eps_g, rtol=1e-13)
    assert a.v is None and b.v is None  # fixed weights: nothing to carry


def _ode_and_sgd(N: int, seeds: int, backend: str = "numba"):
    model = CommitteeModel(2, 3, SPECTRUM, second_layer=TRAINED, weight_decay=0.1)
    init = random_overlaps(model, N, 0.3, 0)
    alpha = np.array([0.0, 1.0, 3.0, 10.0, 20.0])
    ode = solve(model, 0.3, init, alpha, SolverConfig("LSODA", 1e-10, 1e-12)).raise_for_status()
    sim = simulate(model, 0.3, alpha, N, seeds=seeds, init=init, backend=backend, progress=False)
    return ode, sim


def _check_agreement(ode, sim, N):
    """eps_g and the read-out weights within 4 standard errors over the seeds plus the O(1/N)
    finite-size bias (2/N relative): the trained weights move by 40 % and 30 % over the run."""
    seeds = sim.eps_g.shape[0]
    mean, se = sim.mean("eps_g_overlaps"), sim.spread("eps_g_overlaps") / np.sqrt(seeds)
    assert np.all(np.abs(mean - ode.eps_g) <= 4 * se + 2 / N * ode.eps_g), (mean, ode.eps_g, se)
    v_mean, v_se = sim.v.mean(axis=0), sim.v.std(axis=0, ddof=1) / np.sqrt(seeds)
    assert np.all(np.abs(v_mean - ode.v) <= 4 * v_se + 2 / N * np.abs(ode.v)), (v_mean, ode.v, v_se)
    assert np.all(np.abs(ode.v[-1] / ode.v[0] - 1) > 0.25)  # the read-out did learn


def test_trained_readout_with_weight_decay_ode_against_sgd():
    """K = 2 students, M = 3 teachers, unequal fractions, eta = 0.3, eta_v = 0.5, kappa = 0.1, N = 2000, 16 seeds."""
    pytest.importorskip("numba")
    N = 2000
    _check_agreement(*_ode_and_sgd(N, 16), N)


@pytest.mark.slow
def test_trained_readout_ode_against_sgd_at_the_issue_size():
    """The issue's size: N = 4000, 16 seeds."""
    pytest.importorskip("numba")
    _check_agreement(*_ode_and_sgd(4000, 16), 4000)


def test_output_times_not_starting_at_zero():
    """The state holds at alpha = 0 whatever the first output time: alpha = [1, 5] equals the run
    from 0 at those times, read-out weights included; the model's own v is not touched."""
    model = CommitteeModel(2, 3, SPECTRUM, second_layer=TRAINED)
    init = random_overlaps(model, 300, 0.3, 0)
    config = SolverConfig("DOP853", 1e-10, 1e-12)
    late = solve(model, 0.3, init, [1.0, 5.0], config).raise_for_status()
    full = solve(model, 0.3, init, [0.0, 1.0, 5.0], config).raise_for_status()
    np.testing.assert_allclose(late.eps_g, full.eps_g[1:], rtol=1e-12)
    np.testing.assert_allclose(late.v, full.v[1:], rtol=1e-12)
    assert model.second_layer.student == (0.3, 1.2) and np.all(model.readout_weights[:2] == [-0.3, -1.2])


def test_numba_and_numpy_steps_agree_with_a_trained_readout():
    """Same inputs, the same arithmetic: weights and read-out to round-off."""
    pytest.importorskip("numba")
    model = CommitteeModel(2, 3, SPECTRUM, second_layer=TRAINED, weight_decay=0.1)
    runs = {
        b: simulate(model, 0.3, [0.0, 0.5, 2.0], 120, seeds=2, backend=b, progress=False) for b in ("numpy", "numba")
    }
    np.testing.assert_allclose(runs["numba"].v, runs["numpy"].v, rtol=0, atol=1e-12)
    np.testing.assert_allclose(runs["numba"].r, runs["numpy"].r, rtol=0, atol=1e-12)


def test_one_step_with_a_trained_readout_is_the_update_written_out(rng):
    """A single step against the update typed in directly: delta from the old v, then
    v <- v + (eta_v/N) g(a)(zeta - sigma) from the old v and a."""
    from scipy.special import erf

    from theorykit.committee.simulate.backends import NumpySteps

    K, M, N, eta, eta_v = 2, 3, 30, 0.3, 0.7
    J, B = rng.standard_normal((1, K, N)), rng.standard_normal((1, M, N))
    v0, v_star = np.array([[0.4, -1.1]]), np.array([0.8, 0.5, 1.0])
    coefficients = (1.0, 1.0, eta, np.sqrt(N), 0.0, 1.0)
    steps = NumpySteps(J, B, np.ones(N), np.ones(N), "erf", [3], coefficients, readout=(v0, v_star, eta_v / N))
    x = np.random.default_rng([3]).standard_normal((1, 1, N))[0, 0]
    steps.advance(1)
    a, b = J[0] @ x / np.sqrt(N), B[0] @ x / np.sqrt(N)
    ga = erf(a / np.sqrt(2))
    err = v_star @ erf(b / np.sqrt(2)) - v0[0] @ ga
    delta = v0[0] * np.sqrt(2 / np.pi) * np.exp(-(a**2) / 2) * err
    np.testing.assert_allclose(steps.student()[0], J[0] + eta / np.sqrt(N) * np.outer(delta, x), rtol=0, atol=1e-14)
    np.testing.assert_allclose(steps.student_readout()[0], v0[0] + eta_v / N * ga * err, rtol=0, atol=1e-15)


def _case(tmp_path, layer: str, extra: str = "", name: str = "case") -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text(
        "eta = 0.3\nalpha = [0.0, 1.0, 5.0]\n[model]\nK = 2\nM = 3\n"
        + extra
        + f"[model.second_layer]\n{layer}\n"
        + '[spectrum]\nkind = "power_law"\nL = 4\nbeta = 0.3\n[init]\nkind = "random"\nN = 300\nsigma_J = 0.3\n'
        + '[solver]\nmethod = "LSODA"\n'
    )
    return str(path)


def test_case_files_and_the_cli(tmp_path, capsys):
    """solve writes v(alpha); normalization with second_layer, a wrong length, and the plateau
    of students with unequal fixed read-out weights (not exchangeable) are one-line errors (exit 2)."""
    good = _case(tmp_path, "student = [0.3, 1.2]\nteacher = [0.8, 0.5, 1.0]\neta = 0.5")
    assert main(["solve", good, "-o", str(tmp_path / "out.json")]) == 0
    out = json.loads((tmp_path / "out.json").read_text())
    assert len(out["trajectory"]["v"]) == 3 and out["trajectory"]["v"][0] == [0.3, 1.2]
    assert out["case"]["model"]["second_layer"]["eta"] == 0.5
    assert main(["simulate", good, "-o", str(tmp_path / "sim.json"), "--seeds", "2", "--N", "60"]) == 0
    assert len(json.loads((tmp_path / "sim.json").read_text())["v"]) == 3
    capsys.readouterr()
    for case, field in (
        (
            _case(tmp_path, "student = [0.3, 1.2]\nteacher = [0.8, 0.5, 1.0]", 'normalization = "sum"\n', "both"),
            "normalization",
        ),
        (_case(tmp_path, "student = [0.3]\nteacher = [0.8, 0.5, 1.0]", name="short"), "model.second_layer.student"),
    ):
        assert main(["solve", case, "-o", str(tmp_path / "bad.json")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and field in err, err
    fixed = _case(tmp_path, "student = [0.3, 1.2]\nteacher = [0.8, 0.5, 1.0]", name="fixed")
    assert main(["plateau", fixed, "-o", str(tmp_path / "p.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "model.second_layer.student" in err, err
    with pytest.raises(CaseError, match="second_layer.eta"):
        SecondLayer([1.0], [1.0], -0.5)


@pytest.mark.parametrize("small_lr", [False, True])
def test_the_jacobian_with_a_trained_readout_against_central_differences(small_lr):
    """jvp along overlaps and read-out weights (mixed direction) against a central difference of
    the right-hand side (h = 1e-5: truncation ~h^2 |rhs'''| ~ 1e-10, round-off ~1e-16/h ~ 1e-11);
    K = 2 on M = 3, weight decay, eta = 0.3."""
    from theorykit.committee.solve.eigenmode import EigenmodeSystem

    model = CommitteeModel(2, 3, SPECTRUM, second_layer=TRAINED, weight_decay=0.1, small_lr=small_lr)
    init = random_overlaps(model, 50, 0.5, 2)
    system = EigenmodeSystem.build(model, 0.3, init.t, flavour="numpy")
    state = system.pack(init.r, init.q, [0.45, 0.9])
    direction = np.random.default_rng(3).standard_normal(system.size)
    h = 1e-5
    reference = (system.rhs(0, state + h * direction) - system.rhs(0, state - h * direction)) / (2 * h)
    np.testing.assert_allclose(system.jvp(state, direction), reference, rtol=0, atol=1e-8 * np.abs(reference).max())
    only_v = np.zeros(system.size)
    only_v[-2:] = direction[-2:]
    reference = (system.rhs(0, state + h * only_v) - system.rhs(0, state - h * only_v)) / (2 * h)
    np.testing.assert_allclose(system.jvp(state, only_v), reference, rtol=0, atol=1e-8 * np.abs(reference).max())
    assert np.array_equal(system.readout(state), [0.45, 0.9])  # the state is left as it was
    np.testing.assert_array_equal(system.w[:2], [-0.45, -0.9])


def test_implicit_methods_use_the_jacobian_with_a_trained_readout():
    model = CommitteeModel(2, 3, SPECTRUM, second_layer=TRAINED, weight_decay=0.1)
    init = random_overlaps(model, 500, 0.3, 0)
    alpha = [0.0, 2.0, 10.0]
    explicit = solve(model, 0.3, init, alpha, SolverConfig("DOP853", 1e-10, 1e-12))
    for method in ("Radau", "BDF", "LSODA"):
        implicit = solve(model, 0.3, init, alpha, SolverConfig(method, 1e-9, 1e-12)).raise_for_status()
        np.testing.assert_allclose(implicit.eps_g, explicit.eps_g, rtol=2e-6)
        np.testing.assert_allclose(implicit.v, explicit.v, rtol=2e-6)


def test_derive_prints_the_per_unit_equations(tmp_path, capsys):
    """theorykit derive --latex on a case with per-unit weights shows the per-unit derivation
    (v_i = -w_i where the classic one has c_K) and the read-out's equation."""
    case = _case(tmp_path, "student = [0.3, 1.2]\nteacher = [0.8, 0.5, 1.0]\neta = 0.5", "weight_decay = 0.1\n")
    assert main(["derive", case, "--latex"]) == 0
    out = capsys.readouterr().out
    assert r"\frac{dv_i}{d\alpha}" in out and "c_{K}" not in out and r"{w}_{i} {w}_{x}" in out
    assert r"\eta \kappa" in out


def test_per_unit_equations_at_40_digits_against_plain_mpmath():
    """K = M = 1, L = 1, O(eta), weight decay and a trained read-out, every number a decimal
    binary floats cannot hold (eta = kappa = eta_v = v = 0.3, v* = 1.2): the generated mpmath
    right-hand side at 40 digits against the equations written out here with Saad & Solla's
    erf integrals I2, I3 in plain mpmath, to 35 digits."""
    import mpmath

    from theorykit.committee.compiled import compile_model
    from theorykit.committee.solve.eigenmode import EigenmodeSystem

    layer = SecondLayer([0.3], [1.2], 0.3)
    model = CommitteeModel(1, 1, Spectrum.explicit([1.0]), small_lr=True, weight_decay=0.3, second_layer=layer)
    with mpmath.workdps(40):
        d = mpmath.mpf
        eta, kappa, eta_v, v, vs = d("0.3"), d("0.3"), d("0.3"), d("0.3"), d("1.2")
        R, Q, T = d("0.25"), d("0.5"), d("1.0")
        system = EigenmodeSystem(
            model, compile_model(model, "mpmath"), eta, np.array([[[T]]], dtype=object), dtype=object
        )
        state = system.pack(np.array([[[R]]], dtype=object), np.array([[[Q]]], dtype=object))
        got = system.rhs(0, state)

        def I2(c11, c12, c22):
            return 2 / mpmath.pi * mpmath.asin(c12 / mpmath.sqrt((1 + c11) * (1 + c22)))

        def I3(c11, c12, c13, c23, c33):  # <g'(u) v g(w)> (Saad & Solla 1995)
            lam3 = (1 + c11) * (1 + c33) - c13**2
            return 2 / mpmath.pi / mpmath.sqrt(lam3) * (c23 * (1 + c11) - c12 * c13) / (1 + c11)

        dR = eta * (v * vs * I3(Q, R, R, T, T) - v**2 * I3(Q, R, Q, R, Q)) - eta * kappa * R
        dQ = 2 * eta * (v * vs * I3(Q, Q, R, R, T) - v**2 * I3(Q, Q, Q, Q, Q)) - 2 * eta * kappa * Q
        dv = eta_v * (vs * I2(Q, R, T) - v * I2(Q, Q, Q))
        for a, b in zip(got, (dR, dQ, dv)):
            assert abs(a - b) < d(10) ** -35, (a, b)
