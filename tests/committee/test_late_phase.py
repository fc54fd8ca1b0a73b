"""Late phase after specialisation: rates, regimes and windows, the late-phase curve, the CLI.

Independent routes: the derived closed-form rates against the generated numeric Stein matrix;
the dense linearisation against the decoupled closed form and against the decay measured in
the full non-linear ODE; the late-phase learning curve against the full ODE (DOP853 at tight
tolerance); (the exponential integrator: ``tests/committee/solve/test_exponential.py``).
"""

from __future__ import annotations

import json

import mpmath
import numpy as np
import pytest

from theorykit.cli import main
from theorykit.committee.compiled import compile_model
from theorykit.committee.derive.late_expansion import derive_late_power_law, derive_mode_flow, derive_specialised_rates
from theorykit.committee.late_phase import late_asymptotics, late_phase_curve, specialised_teacher
from theorykit.committee.model import CommitteeModel, Spectrum
from theorykit.committee.solve.eigenmode import EigenmodeSystem
from theorykit.committee.solve.initial import Overlaps
from theorykit.committee.solve.integrate import SolverConfig, solve
from theorykit.core.errors import CaseError

ETA = 0.5


def test_mode_flow_identity_is_verified():
    flow = derive_mode_flow(2)
    assert "G_{s} c_{k} + G_{t}" in flow.latex()["dc"]


@pytest.mark.parametrize("K", [2, 3, 5])
def test_closed_form_rates_match_generated_stein_matrix(K):
    model = CommitteeModel(K, K, Spectrum.power_law(6, 0.5))
    t = specialised_teacher(model)
    system = EigenmodeSystem(model, compile_model(model), 0.1, t)
    C = system.covariance(system.pack(t, t))
    G = system.mod.G_fn(C, system.w, K, 2 * K, system.c_K)
    g = np.linalg.eigvalsh(G[:, :K])
    exact = derive_specialised_rates("erf").for_model(K, "sqrt")
    # Gs + Gt = 0 at the fixed point; spectrum of -Gs is {nu_slow (K-1 fold), nu_fast}
    np.testing.assert_allclose(G[:, :K] + G[:, K:], 0, atol=1e-14)
    np.testing.assert_allclose(
        sorted(-g), sorted([float(exact["nu_slow"])] * (K - 1) + [float(exact["nu_fast"])]), rtol=1e-12
    )


def test_power_law_exponent_is_beta_over_one_plus_beta():
    law = derive_late_power_law()
    beta = law.symbols["beta"]
    assert (law.exponent - beta / (1 + beta)).simplify() == 0


def _late_run(small_lr: bool, alpha_max: float = 4000.0, points: int = 400):
    model = CommitteeModel(2, 2, Spectrum.power_law(4, 1.0), small_lr=small_lr)
    t = specialised_teacher(model)
    rng = np.random.default_rng(0)
    r = np.stack([0.05 * rng.standard_normal((2, 2)) * fk for fk in model.spectrum.f])
    q = np.stack([0.05**2 * np.eye(2) * fk for fk in model.spectrum.f])
    q = q + np.einsum("kij,klj->kil", r, r) / model.spectrum.f[:, None, None]
    alpha = np.concatenate([[0.0], np.geomspace(1, alpha_max, points)])
    sol = solve(model, ETA, Overlaps(r, q, t), alpha, SolverConfig("DOP853", 1e-11, 1e-14)).raise_for_status()
    return model, t, alpha, sol


@pytest.fixture(scope="module", params=[True, False], ids=["small_lr", "eta2"])
def late_run(request):
    return _late_run(request.param)


def test_linearised_prediction_matches_full_ode_in_late_phase(late_run):
    """Relative error of the predicted eps_g shrinks as the start moves into the late phase.

    The prediction is exact to leading order in the deviation from the fixed point, so its
    error is O(sqrt(eps_g(alpha_0))): ~9 % from alpha_0 = 300, ~1 % from 2000.  Only
    eps_g > 1e-10 is compared: below, the reference hits the round-off floor of eps_g.
    """
    model, t, alpha, sol = late_run
    errors = []
    for a0 in (300.0, 2000.0):
        i0 = np.searchsorted(alpha, a0)
        pred = late_phase_curve(model, ETA, sol.r[i0], sol.q[i0], t, alpha[i0:] - alpha[i0])
        ok = sol.eps_g[i0:] > 1e-10
        errors.append(np.abs(pred[ok] / sol.eps_g[i0:][ok] - 1).max())
    assert errors[1] < 0.02
    assert errors[1] < errors[0] / 4


def test_decay_rate_matches_full_ode(late_run):
    model, _t, alpha, sol = late_run
    result = late_asymptotics(model, ETA, dps=20)
    window = (sol.eps_g > 1e-9) & (alpha > 2500)
    slope = -np.polyfit(alpha[window], np.log(sol.eps_g[window]), 1)[0]
    assert result.rate_method == "dense"
    # the fit window still holds faster components at the 1e-3 level
    assert slope == pytest.approx(result.eps_rate, rel=3e-3)
    assert result.eps_rate == pytest.approx(result.eps_rate_decoupled, rel=5e-3)  # lambda_L f_L is small


def test_asymptotics_two_precisions_and_exponent():
    model = CommitteeModel(2, 2, Spectrum.power_law(4, 1.0))
    result = late_asymptotics(model, ETA, dps=30)
    assert result.precise["agreement_digits"] > 25
    assert result.exponent == 0.5  # nu in eps_g ~ alpha^-nu (schema.EXPONENT_CONVENTION)
    assert float(mpmath.mpf(result.precise["eps_rate"])) == pytest.approx(result.eps_rate, rel=1e-10)
    assert result.eta2_shift is not None and result.eta2_shift > 0


def test_finite_spectrum_has_no_power_law():
    model = CommitteeModel(2, 2, Spectrum.explicit([2.0, 1.0, 0.5]))
    result = late_asymptotics(model, 0.1, dps=20)
    assert result.exponent is None and result.window is None
    assert result.eps_rate > 0


def test_unequal_sizes_rejected():
    with pytest.raises(CaseError, match="K = M"):
        late_asymptotics(CommitteeModel(2, 3, Spectrum.power_law(4, 1.0)), 0.1)


def test_cli_asymptotics(tmp_path):
    case = {"model": {"K": 2, "M": 2}, "spectrum": {"kind": "power_law", "L": 256, "beta": 1.0}, "eta": 0.5}
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    out = tmp_path / "out.json"
    assert main(["asymptotics", str(path), "-o", str(out), "--dps", "20"]) == 0
    data = json.loads(out.read_text())
    assert data["exponent"] == 0.5 and len(data["rates"]) > 0 and len(data["window"]) == 2
    kinds = [regime["kind"] for regime in data["regimes"]]
    # from alpha = 0 (no init): the derived sum's crossovers around the law and the exponential tail
    assert kinds == ["crossover", "power_law", "crossover", "exponential"] and data["late_start"] is None
    assert data["regimes"][1]["window"] == data["window"]
    case["model"]["M"] = 3
    path.write_text(json.dumps(case))
    assert main(["asymptotics", str(path), "-o", str(out)]) == 2


@pytest.mark.parametrize(
    "patch,args,field",
    [
        ({"model": {"K": 2, "M": 2, "activation": "relu"}}, [], "model.activation"),
        ({}, ["--dps", "5"], "dps"),
        ({"model": {"K": 2, "M": 3}}, [], "model.K"),
    ],
)
def test_cli_asymptotics_bad_input_is_one_line(tmp_path, capsys, patch, args, field):
    case = {"model": {"K": 2, "M": 2}, "spectrum": {"kind": "power_law", "L": 4, "beta": 1.0}, "eta": 0.5, **patch}
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    assert main(["asymptotics", str(path), "-o", str(tmp_path / "o.json"), *args]) == 2
    err = capsys.readouterr().err
    assert field in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("beta,L,eta", [(1.0, 2048, 0.1), (2.0, 512, 0.1), (0.5, 4096, 0.1), (0.3, 4096, 0.3)])
def test_late_regime_windows_against_plain_mpmath(beta, L, eta):
    """Each power-law window is where the local slope of the derived sum
    P = sum_a m_a nu_a sum_k lambda_k f_k exp(-2 eta nu_a lambda_k alpha) is within 0.05 of the
    exponent: checked with P and its slope summed directly in mpmath at 30 digits (no
    log-sum-exp) -- at the ends the slope is off by 0.05 (to 1e-4), at 30 points inside by less,
    and 10 % beyond either end by more; every window spans at least a decade.  The exponential
    regime's start: decay rate within 5 % of 2 eta nu_min lambda_min."""
    from theorykit.committee.late_phase import late_regimes

    spectrum = Spectrum.power_law(L, beta)
    directions = [(0.342931, 1), (0.0246214, 1)]  # the erf committee's rates at K = 2
    regimes = late_regimes(spectrum.lam, spectrum.f, eta, directions, beta / (1 + beta))
    laws = [r for r in regimes if r["kind"] == "power_law"]
    exponential = regimes[-1]
    assert laws and exponential["kind"] == "exponential"
    with mpmath.workdps(30):
        terms = [
            (m * mpmath.mpf(nu) * mpmath.mpf(float(lk)) * mpmath.mpf(float(fk)), 2 * mpmath.mpf(eta * nu) * float(lk))
            for nu, m in directions
            for lk, fk in zip(spectrum.lam, spectrum.f)
        ]

        def slope(alpha):
            a = mpmath.mpf(alpha)
            weights = [w * mpmath.exp(-c * a) for w, c in terms]
            return -a * mpmath.fsum(w * c for w, (_, c) in zip(weights, terms)) / mpmath.fsum(weights)

        off = lambda alpha: float(abs(slope(alpha) + mpmath.mpf(beta) / (1 + beta)))  # noqa: E731
        for law in laws:
            lo, hi = law["window"]
            assert hi >= 10 * lo
            assert lo == 0.0 or off(lo) == pytest.approx(0.05, abs=1e-4)
            assert off(hi) == pytest.approx(0.05, abs=1e-4)
            assert all(off(a) <= 0.05 + 1e-6 for a in np.geomspace(max(lo, 1e-3), hi, 30)[1:-1])
            assert off(hi * 1.1) > 0.05 and (lo == 0.0 or off(lo / 1.1) > 0.05)
        start = exponential["window"][0]
        slowest = min(c for _, c in terms)
        rate_at = lambda alpha: -slope(alpha) / mpmath.mpf(alpha) / slowest - 1  # noqa: E731
        assert float(rate_at(start)) == pytest.approx(0.05, abs=1e-4)
        assert float(rate_at(start * 0.9)) > 0.05


def test_late_regime_sum_is_the_full_odes_slope():
    """The derivation behind the windows, checked on the full ODE: K = M = 2, beta = 2, L = 128,
    the model's own teacher, small random students.  After specialisation (students within 1 %
    of their teachers, alpha ~ 1e3) the local slope of eps_g and that of the derived sum agree
    to 0.01 over two decades (measured 0.0013), and that sum needs the weights nu_a: with equal
    weights it is 0.2 off where the fast direction's power law ends."""
    from theorykit.committee.late_phase import late_asymptotics, late_start_index

    K, eta = 2, 0.1
    model = CommitteeModel(K, K, Spectrum.power_law(128, 2.0))
    asym = late_asymptotics(model, eta, dps=20)
    t = specialised_teacher(model)
    f, lam = model.spectrum.f, model.spectrum.lam
    rng = np.random.default_rng(0)
    r = np.stack([1e-3 * rng.standard_normal((K, K)) * np.sqrt(fk) for fk in f])
    q = np.stack([1e-6 * np.eye(K) * fk for fk in f]) + np.einsum("kij,klj->kil", r, r) / f[:, None, None]
    alpha = np.concatenate([[0.0], np.geomspace(1.0, 1e5, 180)])
    # rtol 1e-5: the integrator's error in eps_g is within 10x rtol through the tail
    sol = solve(model, eta, Overlaps(r, q, t), alpha, SolverConfig("exponential", 1e-5, 1e-14)).raise_for_status()
    start = late_start_index(sol, t, lam, threshold=0.01)
    keep = (sol.alpha >= sol.alpha[start]) & np.isfinite(sol.eps_g)
    a = sol.alpha[keep]

    def sum_slope(weights):
        P = sum(w * np.sum(lam * f * np.exp(-2 * eta * nu * lam * a[:, None]), axis=1) for w, nu in weights)
        return np.gradient(np.log(P), np.log(a))

    ode = np.gradient(np.log(sol.eps_g[keep]), np.log(a))
    derived = sum_slope([(asym.nu_fast, asym.nu_fast), (asym.nu_slow, asym.nu_slow)])
    equal = sum_slope([(1.0, asym.nu_fast), (1.0, asym.nu_slow)])
    assert a[0] < 2e3 and a[-1] >= 1e5
    assert np.abs(ode - derived).max() < 0.01
    assert np.abs(ode - equal).max() > 0.1


@pytest.mark.parametrize("beta,L", [(2.0, 64), (0.3, 1024)])
def test_a_runs_regimes_start_at_its_late_start_and_tile_the_axis(beta, L):
    """With a late start the windows begin there (kept while they span a decade), and the
    regimes cover [late start, inf) without gaps or overlaps; each crossover's slope range is
    that of the derived sum over it, checked with P summed in plain mpmath at 30 digits
    (eta = 0.3; beta = 0.3 as written)."""
    from theorykit.committee.late_phase import late_regimes

    spectrum, eta = Spectrum.power_law(L, beta), 0.3
    directions = [(0.342931, 1), (0.0246214, 1)]
    ideal = late_regimes(spectrum.lam, spectrum.f, eta, directions, beta / (1 + beta))
    law = next(r for r in ideal if r["kind"] == "power_law")
    for start in (law["window"][0] * 3, law["window"][1] / 3):  # cut and kept; cut below a decade: dropped
        regimes = late_regimes(spectrum.lam, spectrum.f, eta, directions, beta / (1 + beta), start=start)
        assert regimes[0]["window"][0] == start and regimes[-1]["window"][1] is None
        for before, after in zip(regimes, regimes[1:]):
            assert after["window"][0] == pytest.approx(before["window"][1], rel=1e-12)
        laws = [r for r in regimes if r["kind"] == "power_law"]
        assert [tuple(r["window"]) for r in laws] == (
            [(start, law["window"][1])] if law["window"][1] >= 10 * start else []
        )
        with mpmath.workdps(30):
            terms = [
                (
                    m * mpmath.mpf(nu) * mpmath.mpf(float(lk)) * mpmath.mpf(float(fk)),
                    2 * mpmath.mpf(eta * nu) * float(lk),
                )
                for nu, m in directions
                for lk, fk in zip(spectrum.lam, spectrum.f)
            ]

            def slope(alpha, terms=terms):
                weights = [w * mpmath.exp(-c * mpmath.mpf(alpha)) for w, c in terms]
                return float(-alpha * mpmath.fsum(w * c for w, (_, c) in zip(weights, terms)) / mpmath.fsum(weights))

            for crossover in (r for r in regimes if r["kind"] == "crossover"):
                lo, hi = crossover["window"]
                upper, lower = crossover["slopes"]
                inside = [slope(a) for a in np.geomspace(lo, hi, 25)]
                assert lower - 1e-9 <= min(inside) and max(inside) <= upper + 1e-9
                assert max(inside) == pytest.approx(upper, abs=0.02) and min(inside) == pytest.approx(lower, abs=0.05)


def test_specialisation_time_is_the_late_start_of_one_whole_run():
    """Integrated a decade at a time (to hold one decade of states), the late start is the one
    late_start_index finds on a single integration over the same grid (K = M = 2, L = 8)."""
    from theorykit.committee.late_phase import SPECIALISED, late_start_index, specialisation_time
    from theorykit.committee.solve.initial import random_overlaps

    model = CommitteeModel(2, 2, Spectrum.power_law(8, 1.0))
    init = random_overlaps(model, 200, 0.01, 2)
    found = specialisation_time(model, 0.3, init, per_decade=10)
    decades = int(np.ceil(np.log10(found))) + 1
    grid = np.concatenate([[0.0], 10.0 ** (np.arange(10 * decades + 1) / 10)])  # the decades' points
    whole = solve(model, 0.3, init, grid, SolverConfig("auto", 1e-8, 1e-14)).raise_for_status()
    index = late_start_index(whole, init.t, model.spectrum.lam, threshold=SPECIALISED)
    assert found == pytest.approx(whole.alpha[index], rel=1e-9)
    assert specialisation_time(model, 0.3, init, alpha_max=found / 10) is None


def test_cli_asymptotics_of_a_run_reports_regimes_from_its_late_start(tmp_path, capsys):
    case = {
        "model": {"K": 2, "M": 2},
        "spectrum": {"kind": "power_law", "L": 8, "beta": 1.0},
        "eta": 0.3,
        "init": {"kind": "random", "N": 200, "sigma_J": 0.01, "seed": 2},
    }
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    assert main(["asymptotics", str(path), "-o", str(tmp_path / "o.json")]) == 0
    out = json.loads((tmp_path / "o.json").read_text())
    assert out["late_start"] > 1 and out["regimes"][0]["window"][0] == out["late_start"]
    assert "run's late start" in capsys.readouterr().out
