"""One time axis and one precision discipline, checked from outside the code that computes.

Conformance: every ``--dps`` command, at 50 digits, on inputs binary floats cannot hold
(eta = 0.3, beta = 0.3, fractions 0.1/0.2/0.3/0.4, overlaps 0.01 ...), against an evaluation
written here in plain mpmath from the published equations (the linear network's error
equations, the erf plateau and late-phase closed forms, the kernel-ridge formula of Canatar
et al.).  Required: at least 48 correct digits (the two guard evaluations of
:func:`theorykit.core.precision.two_precisions` are at 60 and 75 digits, so a correct pipeline
has every digit; 48 leaves room only for the last-digit rounding of the printed strings).
Before the discipline these paths were right to 16-17 digits (inputs rounded through floats).
"""

from __future__ import annotations

import json

import mpmath
import numpy as np
import pytest

from theorykit.cli import main
from theorykit.core.precision import Precise, agreement_digits, lift, two_precisions

DPS = 50
REQUIRED = 48
FRACTIONS = [0.1, 0.2, 0.3, 0.4]
FRACTIONS_TEXT = ["0.1", "0.2", "0.3", "0.4"]


def correct_digits(printed: str, exact) -> float:
    """Digits of ``printed`` (a decimal string) that agree with ``exact`` (an mpf at higher precision, or a string)."""
    with mpmath.workdps(DPS + 40):
        value, exact = mpmath.mpf(printed), mpmath.mpf(exact)
        diff = abs(value - exact)
        return float("inf") if diff == 0 else float(-mpmath.log10(diff / abs(exact)))


def power_law(beta: str, fractions: list[str]) -> tuple[list, list]:
    """lambda_k = k^-(1+beta) / sum_j f_j j^-(1+beta), from the decimals as written."""
    b = mpmath.mpf(beta)
    f = [mpmath.mpf(x) for x in fractions]
    raw = [mpmath.mpf(k) ** -(1 + b) for k in range(1, len(f) + 1)]
    norm = mpmath.fsum(fk * rk for fk, rk in zip(f, raw))
    return [r / norm for r in raw], f


def run_cli(tmp_path, name: str, case: dict, *args: str) -> dict:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(case))
    out = tmp_path / f"{name}_out.json"
    assert main([name, str(path), "-o", str(out), *args]) == 0
    return json.loads(out.read_text())


# -- the discipline itself -------------------------------------------------------------------
def test_lift_reads_floats_as_the_decimals_written():
    with mpmath.workdps(60):
        assert lift(0.3) == mpmath.mpf("0.3") != mpmath.mpf(0.3)
        assert lift(np.float64(0.1)) == mpmath.mpf("0.1")
        assert lift(7) == 7 and lift("0.25") == mpmath.mpf(1) / 4


def test_two_precisions_sees_rounded_inputs_that_equal_precisions_cannot():
    # a computation that takes a float input and converts it in binary: both precisions agree
    # (a wrong 38 digits), but the result differs from the decimal answer at digit 17 --
    # which is why every computation must lift its inputs itself
    binary = two_precisions(lambda: mpmath.mpf(0.3) * 3, 30)
    assert binary.vouched  # the check alone cannot see it...
    assert correct_digits(binary.strings(), "0.9") < 17  # ...the discipline can
    lifted = two_precisions(lambda: lift(0.3) * 3, 30)
    assert correct_digits(lifted.strings(), "0.9") >= 30


def test_agreement_is_measured_and_failure_is_refused():
    calls = []

    def noisy():  # a result that changes at digit 20 between the two working precisions
        calls.append(mpmath.mp.dps)
        return mpmath.mpf(1) + mpmath.mpf(10) ** -20 * len(calls)

    result = two_precisions(noisy, 30)
    assert calls == [40, 55]
    assert 19 < result.agreement_digits < 21 and not result.vouched
    from theorykit.core.errors import NumericalFailure

    with pytest.raises(NumericalFailure, match="only 20.0 digits agree between 40 and 55"):
        result.require("noisy")
    assert agreement_digits([mpmath.mpf(1), None], [mpmath.mpf(1), None], 40) == 40
    assert isinstance(result, Precise)


# -- linear: the published error equations and a 90-digit matrix exponential ----------------
def linear_case(alpha: list) -> dict:
    K, M, L = 2, 3, 4
    rng = np.random.default_rng(3)
    # overlaps with two decimals (none of them a binary fraction), positive semi-definite
    r = (np.round(rng.uniform(0.0, 0.03, (L, K, M)), 2)).tolist()
    q = [[[0.11 if i == j else 0.01 for j in range(K)] for i in range(K)] for _ in range(L)]
    t = [[[f if n == m else 0.0 for m in range(M)] for n in range(M)] for f in FRACTIONS]
    return {
        "model": {"K": K, "M": M, "activation": "linear"},
        "spectrum": {"kind": "power_law", "L": L, "beta": 0.3, "fractions": FRACTIONS},
        "eta": 0.3,
        "init": {"r": r, "q": q, "t": t},
        "alpha": alpha,
    }


def linear_reference(case: dict) -> list:
    """de_k/dalpha = -2 eta lam_k e_k + eta^2 lam_k f_k sum_j lam_j e_j (committee brief), in plain mpmath."""
    K, M = case["model"]["K"], case["model"]["M"]
    with mpmath.workdps(DPS + 40):
        lam, f = power_law("0.3", FRACTIONS_TEXT)
        eta = mpmath.mpf("0.3")  # eta_eff = K c_K^2 eta = eta for 1/sqrt(K) read-outs
        cK, cM = 1 / mpmath.sqrt(K), 1 / mpmath.sqrt(M)
        init = case["init"]

        def total(key: str, k: int):
            return mpmath.fsum(mpmath.mpf(repr(v)) for row in init[key][k] for v in row)

        e0 = [cK**2 * total("q", k) - 2 * cK * cM * total("r", k) + cM**2 * total("t", k) for k in range(len(lam))]
        L = len(lam)
        A = mpmath.matrix(L, L)
        for k in range(L):
            for j in range(L):
                A[k, j] = eta**2 * lam[k] * f[k] * lam[j] - (2 * eta * lam[k] if j == k else 0)
        out = []
        for a in case["alpha"]:
            e = mpmath.expm(A * mpmath.mpf(repr(a))) * mpmath.matrix(e0)
            out.append(mpmath.fsum(lam[k] * e[k] for k in range(L)) / 2)
        return out


def test_linear_dps50_on_decimal_inputs_is_right_to_48_digits(tmp_path):
    case = linear_case([0.3, 1.7, 12.5, 100])
    data = run_cli(tmp_path, "linear", case, "--dps", str(DPS))
    assert data["agreement_digits"] >= DPS and data["working_dps"] == [DPS + 10, DPS + 25]
    for printed, exact in zip(data["eps_g"], linear_reference(case)):
        assert correct_digits(printed, exact) >= REQUIRED, (printed, exact)
    # the power law's exponent nu = beta/(1+beta) (positive: schema.EXPONENT_CONVENTION)
    # needs equal fractions; its digits are checked on a second case below


def test_linear_power_law_exponent_at_dps50(tmp_path):
    case = linear_case([1.0])
    case["spectrum"] = {"kind": "power_law", "L": 4, "beta": 0.3}
    case["init"]["t"] = [[[0.25 if n == m else 0.0 for m in range(3)] for n in range(3)] for _ in range(4)]
    data = run_cli(tmp_path, "linear", case, "--dps", str(DPS))
    with mpmath.workdps(DPS + 40):
        nu = mpmath.mpf("0.3") / mpmath.mpf("1.3")
    assert correct_digits(data["exponent"], nu) >= REQUIRED
    assert "nu in y ~ x^(-nu)" in data["exponent_convention"]


# -- plateau: the erf closed forms (Saad & Solla) and a dense Jacobian in a second route ------
def plateau_case() -> dict:
    return {
        "model": {"K": 2, "M": 2, "activation": "erf"},
        "spectrum": {"kind": "power_law", "L": 4, "beta": 0.3, "fractions": FRACTIONS},
        "eta": 0.3,
        "small_lr": True,
    }


def erf_pair(c_ab, c_aa, c_bb):
    """<g(u_a) g(u_b)> for g(z) = erf(z/sqrt(2)): (2/pi) asin(C_ab / sqrt((1 + C_aa)(1 + C_bb)))."""
    return 2 / mpmath.pi * mpmath.asin(c_ab / mpmath.sqrt((1 + c_aa) * (1 + c_bb)))


def test_plateau_dps50_matches_the_closed_form_and_a_second_route(tmp_path):
    from theorykit.committee.compiled import compile_model
    from theorykit.committee.model import CommitteeModel, Spectrum
    from theorykit.committee.solve.eigenmode import EigenmodeSystem
    from theorykit.committee.solve.fixed_point import AggregatedSystem, StudentSymmetric

    data = run_cli(tmp_path, "plateau", plateau_case(), "--dps", str(DPS))
    assert data["agreement_digits"] >= DPS
    decimal = data["decimal"]
    K = M = 2
    with mpmath.workdps(DPS + 40):
        R = 1 / mpmath.sqrt(K * (2 * K - 1))
        Q = C = mpmath.mpf(1) / (2 * K - 1)
        eps = (
            K * erf_pair(Q, Q, Q) / K
            + K * (K - 1) * erf_pair(C, Q, Q) / K
            - 2 * K * M * erf_pair(R, Q, 1) / mpmath.sqrt(K * M)
            + M * erf_pair(1, 1, 1) / M
        ) / 2
        for name, exact in (("R", R), ("Q", Q), ("C", C), ("eps_g", eps)):
            assert correct_digits(decimal[name], exact) >= REQUIRED, name

    # escape rate: the command finds it as a root of the secular equation; here it is the top
    # eigenvalue of the dense Jacobian at the fixed point, built from inputs lifted here
    model = CommitteeModel(K, M, Spectrum.power_law(4, 0.3, FRACTIONS), "erf", small_lr=True)
    with mpmath.workdps(DPS + 30):
        lam, f = power_law("0.3", FRACTIONS_TEXT)
        zero = mpmath.mpf(0)
        t = np.array([[[fk if a == b else zero for b in range(M)] for a in range(M)] for fk in f], dtype=object)
        system = EigenmodeSystem(model, compile_model(model, "mpmath"), mpmath.mpf("0.3"), t, dtype=object)
        agg = AggregatedSystem(system)
        sym = StudentSymmetric(agg, identical=True)
        state = agg.full_state(sym.embed(np.array([R, Q], dtype=object)), sym)
        jac = mpmath.matrix(system.jacobian(0, state).tolist())
        top = max(mpmath.re(v) for v in mpmath.eig(jac, left=False, right=False))
        assert correct_digits(decimal["escape_rate"], top) >= REQUIRED - 8  # dense eig at 80 digits


# -- late phase: the erf closed forms of the specialised rates ---------------------------------
def test_asymptotics_dps50_matches_the_closed_forms(tmp_path):
    case = {
        "model": {"K": 3, "M": 3, "activation": "erf"},
        "spectrum": {"kind": "power_law", "L": 4, "beta": 0.3, "fractions": FRACTIONS},
        "eta": 0.3,
    }
    data = run_cli(tmp_path, "asymptotics", case, "--dps", str(DPS))
    precise = data["precise"]
    assert precise["agreement_digits"] >= DPS
    K = 3
    with mpmath.workdps(DPS + 40):
        lam, _ = power_law("0.3", FRACTIONS_TEXT)
        # <g'(u) g'(v)> = (2/pi) / sqrt((1 + C_uu)(1 + C_vv) - C_uv^2) at the specialised point
        # (tau = sum_k f_k lam_k = 1), times -c_K^2 = -1/K: the Stein matrix's diagonal d0 and
        # off-diagonal d1; nu_slow = d1 - d0
        d0 = -(2 / mpmath.pi) / mpmath.sqrt(3) / K
        d1 = -(2 / mpmath.pi) / 2 / K
        nu_slow = d1 - d0
        rate = 2 * mpmath.mpf("0.3") * min(lam) * nu_slow
        nu = mpmath.mpf("0.3") / mpmath.mpf("1.3")
    assert correct_digits(precise["nu_slow"], nu_slow) >= REQUIRED
    assert correct_digits(precise["eps_rate_decoupled"], rate) >= REQUIRED
    assert correct_digits(precise["exponent"], nu) >= REQUIRED
    assert data["exponent"] == pytest.approx(float(nu), rel=1e-15)  # positive: nu in alpha^-nu


# -- random features: the t -> infinity limit is kernel ridge (Canatar et al. 2021) -------------
def test_rf_dps50_mean_loss_matches_kernel_ridge(tmp_path):
    N, P = 12, 7
    case = {"N": N, "P": P, "a": 0.3, "gamma": 0.3, "noise": 0.1, "loss": "mean", "times": [5000.0]}
    data = run_cli(tmp_path, "rf", case, "--dps", str(DPS))
    assert data["agreement_digits"] >= DPS
    with mpmath.workdps(DPS + 40):
        a = mpmath.mpf("0.3")
        raw = [mpmath.mpf(k) ** -(1 + a) for k in range(1, N + 1)]
        eta = [r / mpmath.fsum(raw) for r in raw]
        ridge = P * mpmath.mpf("0.3")  # the mean loss's gamma in the summed convention
        kappa = mpmath.findroot(lambda k: k - ridge - k * mpmath.fsum(e / (P * e + k) for e in eta), ridge + 1)
        denom = [(P * e + kappa) ** 2 for e in eta]
        gamma_c = mpmath.fsum(P * e**2 / d for e, d in zip(eta, denom))
        signal = mpmath.fsum(e * kappa**2 / d for e, d in zip(eta, denom))
        eps = (signal + mpmath.mpf("0.1") ** 2 * gamma_c) / (1 - gamma_c) / 2
    # exp(-ridge t / P) = exp(-1500): the transient is far below 50 digits
    assert correct_digits(data["info"]["precise"]["eps_g"][0], eps) >= REQUIRED


# -- one time axis ------------------------------------------------------------------------------
AXIS_CASE = {
    "model": {"K": 2, "M": 2, "activation": "erf"},
    "spectrum": {"kind": "power_law", "L": 3, "beta": 0.3, "fractions": [0.2, 0.3, 0.5]},
    "eta": 0.3,
    "init": {
        "r": [[[0.01, 0.02], [0.0, 0.01]], [[0.01, 0.0], [0.02, 0.01]], [[0.03, 0.01], [0.0, 0.02]]],
        "q": [[[0.05, 0.01], [0.01, 0.04]], [[0.06, 0.0], [0.0, 0.05]], [[0.07, 0.02], [0.02, 0.06]]],
        "t": [[[0.2, 0.0], [0.0, 0.2]], [[0.3, 0.0], [0.0, 0.3]], [[0.5, 0.0], [0.0, 0.5]]],
    },
    "alpha": [1, 5, 20],
    "simulation": {"N": 1000, "seeds": 6, "n_test": 2000},
}


def test_solve_and_simulate_share_one_time_axis(tmp_path):
    """An alpha list starting at 1: init holds at alpha = 0 for both commands."""
    ode = run_cli(tmp_path, "solve", AXIS_CASE)
    with_zero = run_cli(tmp_path, "solve", {**AXIS_CASE, "alpha": [0, 1, 5, 20]})
    assert ode["alpha"] == [1, 5, 20]
    np.testing.assert_allclose(ode["eps_g"], with_zero["eps_g"][1:], rtol=1e-6)
    assert ode["eps_g"][0] < 0.7 * with_zero["eps_g"][0]  # not the initial error
    sgd = run_cli(tmp_path, "simulate", AXIS_CASE)
    # overlaps-based error of the simulated weights: finite-N spread ~ 1/sqrt(N) per seed
    # (measured 0.3-1.5 % here); 5 % separates it from a shifted time axis (factor 2 at alpha = 1)
    np.testing.assert_allclose(sgd["eps_g_from_overlaps"], ode["eps_g"], rtol=0.05)


def test_auto_method_is_recorded(tmp_path):
    ode = run_cli(tmp_path, "solve", AXIS_CASE)
    assert ode["solver"]["requested"]["method"] == "auto"
    assert ode["solver"]["method"] == "DOP853" and "within" in ode["solver"]["method_reason"]
    # a small explicit solve runs from C where a compiler is found (tests/committee/lower/test_c_flavour.py)
    assert ode["solver"]["flavour"] in ("numpy", "numba", "c") and "numpy" in ode["versions"]


def test_auto_method_follows_the_estimated_work():
    from theorykit.committee.model import CommitteeModel, Spectrum
    from theorykit.committee.solve.integrate import SolverConfig, choose_method

    config = SolverConfig()
    fig6 = CommitteeModel(40, 40, Spectrum.power_law(512, 0.5), "erf")
    # never the exponential integrator: its global error is not yet within rtol everywhere
    method, reason = choose_method(fig6, 0.01, 1e5, config)
    assert method == "DOP853" and "exponential integrator runs only when named" in reason
    assert choose_method(fig6, 0.01, 1e-2, config)[0] == "DOP853"  # a short horizon: explicit anyway
    small = CommitteeModel(2, 2, Spectrum.power_law(4, 1.0), "erf")
    assert choose_method(small, 0.5, 100, config)[0] == "DOP853"
    stiff = CommitteeModel(2, 2, Spectrum.power_law(64, 1.0), "erf")
    method, reason = choose_method(stiff, 0.5, 1e6, config)
    assert method == "LSODA" and "stiff" in reason


def test_a_sweep_point_of_the_decimal_linear_case_matches_plain_mpmath(tmp_path, monkeypatch):
    """The sweep path on the off-happy-path case (K != M, eta = beta = 0.3, unequal fractions,
    alpha not from 0), in floats: each point within double-precision reach of the reference."""
    pytest.importorskip("xarray")
    from theorykit.sweeps import read_sweep, run_sweep

    monkeypatch.setenv("THEORYKIT_CACHE_DIR", str(tmp_path / "cache"))
    case = linear_case([0.3, 1.7, 12.5, 100])
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps({"command": "linear", "case": case, "grid": {"eta": [0.3]}}))
    ds = run_sweep(read_sweep(path))
    got = ds["eps_g"].sel(eta=0.3).values
    for value, exact in zip(got, linear_reference(case)):
        assert abs(value - float(exact)) <= 1e-12 * float(exact), (value, exact)
