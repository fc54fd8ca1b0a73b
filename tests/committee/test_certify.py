"""Certified enclosures (ball arithmetic): each must contain a value computed independently.

The reference is the 50-digit evaluation of :mod:`theorykit.core.precision` (itself checked against a
plain-mpmath matrix exponential in ``tests/core/test_precision.py``) on inputs binary floats cannot
hold.  An enclosure that misses it, or is wider than a few units of its 40th printed digit at
256 bits, fails.
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

pytest.importorskip("flint")

from theorykit.cli import main  # noqa: E402
from theorykit.committee.case import parse_case  # noqa: E402
from theorykit.committee.certify import linear_curve_enclosures  # noqa: E402
from theorykit.committee.linear_network import linear_learning_curve  # noqa: E402
from theorykit.core.balls import Enclosure  # noqa: E402
from theorykit.core.errors import CaseError  # noqa: E402
from theorykit.core.precision import exact  # noqa: E402


def decimal_case(fractions=None, noise=0.0) -> dict:
    L = 6
    spectrum = {"kind": "power_law", "L": L, "beta": 0.3}
    if fractions:
        spectrum["fractions"] = fractions
    f = fractions or [1 / L] * L
    return {
        "model": {"K": 2, "M": 3, "activation": "linear", "noise": noise},
        "spectrum": spectrum,
        "eta": 0.3,
        "init": {
            "r": [[[0.01, 0.02, 0.0], [0.03, 0.0, 0.01]]] * L,
            "q": [[[0.11, 0.01], [0.01, 0.07]]] * L,
            "t": [[[fk if n == m else 0.0 for m in range(3)] for n in range(3)] for fk in f],
        },
        "alpha": [0.3, 2.5, 40, 900],
    }


@pytest.mark.parametrize("fractions, noise", [(None, 0.0), ([0.1, 0.2, 0.3, 0.15, 0.05, 0.2], 0.0), (None, 0.1)])
def test_linear_enclosures_contain_the_independent_50_digit_values(fractions, noise):
    from theorykit.committee.linear_network import power_law_precise

    case = parse_case(decimal_case(fractions, noise))
    cert = linear_curve_enclosures(case.model, case.eta, case.init, case.alpha)
    reference = linear_learning_curve(case.model, case.eta, case.init, case.alpha, dps=50).precise.strings()
    for enclosure, value in zip(cert.eps_g, reference):
        assert enclosure.contains(value), (enclosure, value)
        assert enclosure.relative_width() < 1e-38
    if fractions is None:
        assert cert.exponent.contains(Fraction(3, 13))
        law = power_law_precise(case.model, case.eta, case.init, 50).strings()
        for name in ("prefactor", "alpha_min", "alpha_max"):
            assert cert.power_law[name].contains(law[name]) and cert.power_law[name].relative_width() < 1e-38, name
    else:
        assert cert.exponent is None


def test_enclosure_rounds_outward_and_inputs_are_exact():
    assert exact(0.3) == Fraction(3, 10) and exact(7) == 7
    third = Enclosure.of_rational(Fraction(1, 3), digits=5)
    assert third.as_list() == ["0.33333", "0.33334"] and third.contains(Fraction(1, 3))


def test_cli_certify_and_what_it_refuses(tmp_path, capsys):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(decimal_case()))
    out = tmp_path / "out.json"
    assert main(["linear", str(path), "-o", str(out), "--certify", "--prec", "200"]) == 0
    data = json.loads(out.read_text())
    assert data["certified"] is True and data["certify_prec_bits"] == 200
    assert len(data["eps_g_enclosure"]) == 4 and all(Fraction(lo) <= Fraction(hi) for lo, hi in data["eps_g_enclosure"])
    for (lo, _hi), value in zip(data["eps_g_enclosure"], data["eps_g"]):
        assert abs(float(Fraction(lo)) / value - 1) < 1e-12  # the double-precision curve agrees with it
    with pytest.raises(CaseError, match="prec"):
        case = parse_case(decimal_case())
        linear_curve_enclosures(case.model, case.eta, case.init, case.alpha, prec=8)


def test_missing_flint_is_a_one_line_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_flint(name, *args, **kwargs):
        if name == "flint":
            raise ImportError("no flint")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_flint)
    from theorykit.core.balls import available

    assert not available()
    case = parse_case(decimal_case())
    with pytest.raises(CaseError, match=r'pip install "theorykit\[certify\]"'):
        linear_curve_enclosures(case.model, case.eta, case.init, case.alpha)


@pytest.mark.parametrize("L, fractions", [(4, [0.1, 0.2, 0.3, 0.4]), (1, None)])
def test_plateau_enclosures_contain_the_50_digit_values(tmp_path, L, fractions):
    spectrum = {"kind": "power_law", "L": L, "beta": 0.3}
    if fractions:
        spectrum["fractions"] = fractions
    case = {"model": {"K": 2, "M": 2, "activation": "erf"}, "spectrum": spectrum, "eta": 0.3, "small_lr": True}
    path, out = tmp_path / "case.json", tmp_path / "out.json"
    path.write_text(json.dumps(case))
    assert main(["plateau", str(path), "-o", str(out), "--dps", "50", "--certify"]) == 0
    data = json.loads(out.read_text())
    assert data["certified"] is True
    for name, value in data["decimal"].items():
        if name == "escape_rate" and L > 1:
            assert name not in data["enclosures"] and "escape_rate" in data["not_certified"]
            continue
        enclosure = Enclosure(*data["enclosures"][name])
        assert enclosure.contains(value) and enclosure.relative_width() < 1e-38, name


@pytest.mark.parametrize("K", [1, 3])
def test_late_phase_enclosures_contain_the_50_digit_values(tmp_path, K):
    spectrum = {"kind": "power_law", "L": 4, "beta": 0.3, "fractions": [0.1, 0.2, 0.3, 0.4]}
    case = {"model": {"K": K, "M": K, "activation": "erf"}, "spectrum": spectrum, "eta": 0.3}
    path, out = tmp_path / "case.json", tmp_path / "out.json"
    path.write_text(json.dumps(case))
    assert main(["asymptotics", str(path), "-o", str(out), "--dps", "50", "--certify"]) == 0
    data = json.loads(out.read_text())
    assert data["certified"] is True and "eps_rate" in data["not_certified"]
    for name in ("nu_slow", "eps_rate_decoupled", "exponent"):
        enclosure = Enclosure(*data["enclosures"][name])
        assert enclosure.contains(data["precise"][name]) and enclosure.relative_width() < 1e-38, name


def test_rf_stationary_enclosure_contains_the_dmft_long_time_value(tmp_path):
    """Mean loss (ridge P gamma), decimal inputs: the certified t -> infinity error contains the
    50-digit Laplace-route DMFT value at t = 5000 (its transient exp(-1500) is far below 50 digits)."""
    case = {"N": 12, "P": 7, "a": 0.3, "gamma": 0.3, "noise": 0.1, "loss": "mean", "times": [5000.0]}
    path, out = tmp_path / "case.json", tmp_path / "out.json"
    path.write_text(json.dumps(case))
    assert main(["rf", str(path), "-o", str(out), "--dps", "50", "--certify"]) == 0
    data = json.loads(out.read_text())
    enclosure = Enclosure(*data["enclosures"]["stationary"]["eps_g"])
    assert enclosure.contains(data["info"]["precise"]["eps_g"][0]) and enclosure.relative_width() < 1e-38
    path.write_text(json.dumps({**case, "T": 0.1}))
    assert main(["rf", str(path), "-o", str(out), "--certify"]) == 2
