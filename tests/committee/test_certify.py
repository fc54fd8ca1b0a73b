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
    # a plateau whose kernels have no closed form is refused up front, in one line (exit 2)
    relu = {"model": {"K": 2, "M": 2, "activation": "relu"}, "spectrum": {"kind": "power_law", "L": 2, "beta": 0.3}}
    path.write_text(json.dumps({**relu, "eta": 0.3}))
    capsys.readouterr()
    assert main(["plateau", str(path), "-o", str(out), "--certify"]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


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


@pytest.mark.parametrize(
    "K, M, L, fractions, small_lr, noise, route",
    [
        (2, 2, 4, [0.1, 0.2, 0.3, 0.4], True, 0.0, "closed form"),  # closed-form heights, escape by eigenvalues
        (2, 2, 1, None, True, 0.0, "closed form"),  # everything in closed form
        (2, 3, 3, [0.2, 0.3, 0.5], False, 0.3, "Krawczyk"),  # finite eta, K != M, noise: no closed form
        # degenerate (2-fold) escape eigenvalue; slow (23 s): the CI budget
        pytest.param(3, 2, 2, None, False, 0.0, "Krawczyk", marks=pytest.mark.slow),
        # small lr, explicit eigenvalues with sum_k f_k lambda_k = 0.45 != 1: the closed form (T = 1) does not
        # apply, Krawczyk on the derived C = Q surface does
        (2, 2, {"kind": "explicit", "eigenvalues": [0.3, 0.6], "fractions": [0.5, 0.5]}, None, True, 0.0, "Krawczyk"),
    ],
)
def test_plateau_enclosures_contain_the_50_digit_values(tmp_path, K, M, L, fractions, small_lr, noise, route):
    """The 50-digit reference is an independent route: the generated mpmath kernels, Newton on the
    aggregated system at two precisions and the secular equation for the escape rate."""
    spectrum = L if isinstance(L, dict) else {"kind": "power_law", "L": L, "beta": 0.3}
    if fractions:
        spectrum["fractions"] = fractions
    model = {"K": K, "M": M, "activation": "erf", "noise": noise}
    case = {"model": model, "spectrum": spectrum, "eta": 0.3, "small_lr": small_lr}
    path, out = tmp_path / "case.json", tmp_path / "out.json"
    path.write_text(json.dumps(case))
    assert main(["plateau", str(path), "-o", str(out), "--dps", "50", "--certify"]) == 0
    data = json.loads(out.read_text())
    assert data["certified"] is True and "not_certified" not in data
    assert data["certified_by"]["R, Q, C"].startswith(route)
    for name, value in data["decimal"].items():
        enclosure = Enclosure(*data["enclosures"][name])
        assert enclosure.contains(value), (name, enclosure, value)
        # simple values to the last printed digit; a (K - 1)-fold escape eigenvalue stays a
        # cluster as wide as the double-precision eigenvectors left it
        width = 1e-12 if (name == "escape_rate" and K > 2) else 1e-38
        assert enclosure.relative_width() < width, name


@pytest.mark.parametrize("K", [1, pytest.param(3, marks=pytest.mark.slow)])  # K = 3: 34 s, in the slow run
def test_late_phase_enclosures_contain_the_50_digit_values(tmp_path, K):
    spectrum = {"kind": "power_law", "L": 4, "beta": 0.3, "fractions": [0.1, 0.2, 0.3, 0.4]}
    case = {"model": {"K": K, "M": K, "activation": "erf"}, "spectrum": spectrum, "eta": 0.3}
    path, out = tmp_path / "case.json", tmp_path / "out.json"
    path.write_text(json.dumps(case))
    assert main(["asymptotics", str(path), "-o", str(out), "--dps", "50", "--certify"]) == 0
    data = json.loads(out.read_text())
    assert data["certified"] is True and "not_certified" not in data
    for name in ("nu_slow", "eps_rate_decoupled", "exponent", "eps_rate"):
        enclosure = Enclosure(*data["enclosures"][name])
        assert enclosure.contains(data["precise"][name]) and enclosure.relative_width() < 1e-38, name


@pytest.mark.parametrize("K", [2, 3])
def test_closed_forms_lie_in_the_numeric_enclosures(K):
    """Two independent certificates of one quantity: SymPy's closed-form plateau (R = 1/sqrt(K(2K - 1))
    for erf, K = M) and L = 1 escape rate against the Krawczyk box and the eigenvalue enclosure."""
    import sympy as sp

    import theorykit as tk
    from theorykit.committee.certify import plateau_enclosures
    from theorykit.committee.derive.expanded import closed_form_escape_rate
    from theorykit.committee.derive.symmetric import closed_form_plateau

    model = tk.CommitteeModel(K, K, tk.Spectrum.power_law(1, 1.0), small_lr=True)
    numeric = plateau_enclosures(model, 0.3, closed_form=False)
    assert numeric["certified_by"]["R, Q, C"].startswith("Krawczyk")
    assert numeric["certified_by"]["escape_rate"].startswith("Gershgorin")
    closed = closed_form_plateau("erf", K, K, "sqrt")
    assert sp.simplify(closed.R - 1 / sp.sqrt(K * (2 * K - 1))) == 0
    exact_values = {
        "R": closed.R,
        "Q": closed.Q,
        "C": closed.C,
        "escape_rate": sp.Rational(3, 10) * closed_form_escape_rate("erf", K, K, "sqrt"),
    }
    for name, value in exact_values.items():
        enclosure = Enclosure(*numeric["enclosures"][name])
        assert enclosure.contains(sp.N(value, 60)), (name, enclosure)
        assert enclosure.relative_width() < (1e-12 if (name == "escape_rate" and K > 2) else 1e-38)


def test_ball_jacobian_matches_the_generated_tangents():
    """The ball Jacobian (SymPy-differentiated written-out kernels) against the float Jacobian the
    solvers use (generated tangents), on a K != M, finite-eta, noisy case away from any fixed point."""
    import flint
    import numpy as np

    import theorykit as tk
    from theorykit.committee.jacobian_balls import BallJacobian
    from theorykit.committee.solve.eigenmode import EigenmodeSystem
    from theorykit.committee.solve.initial import random_overlaps

    model = tk.CommitteeModel(2, 3, tk.Spectrum.power_law(3, 0.3, fractions=[0.2, 0.3, 0.5]), noise=0.3)
    init = random_overlaps(model, 3, 0.3, seed=1)
    system = EigenmodeSystem.build(model, 0.3, init.t)
    state = system.pack(init.r, init.q)
    expected = system.jacobian(0.0, state)
    jacobian = BallJacobian(model)
    K, M, L, n = 2, 3, 3, 5
    with flint.ctx.workprec(128):
        omegas = [[[flint.arb(float(v)) for v in row] for row in om] for om in system.overlaps(state)]
        lam = [flint.arb(float(v)) for v in system.lam]
        f = [flint.arb(float(v)) for v in system.f]
        rows = jacobian.at(0.3, lam, f, omegas)
    upper = list(zip(*np.triu_indices(K)))
    order = [
        k * K * M + a * M + (b - K) if kind == "r" else L * K * M + k * len(upper) + upper.index((a, b))
        for k in range(L)
        for kind, a, b in jacobian.variables
    ]
    got = np.array([[float(v.mid()) for v in row] for row in rows])
    assert n == K + M and np.abs(got - expected[np.ix_(order, order)]).max() < 1e-14 * np.abs(expected).max()


def test_krawczyk_proves_a_root_and_refuses_a_double_one():
    import flint

    from theorykit.core.errors import NumericalFailure
    from theorykit.core.krawczyk import certify_root

    with flint.ctx.workprec(200):
        # x^2 = 2, y = x^3: one simple root near (1.4, 2.8)
        root = certify_root(
            lambda v: [v[0] ** 2 - 2, v[1] - v[0] ** 3],
            lambda v: [[2 * v[0], 0 * v[0]], [-3 * v[0] ** 2, 1 + 0 * v[1]]],
            [1.4, 2.8],
            "test",
        )
        sqrt2 = flint.arb(2).sqrt()
        assert root[0].overlaps(sqrt2) and root[1].overlaps(sqrt2**3) and root[0].rad() < 1e-55
        with pytest.raises(NumericalFailure):  # x^2 = 0: a double root, no box can be proven
            certify_root(lambda v: [v[0] ** 2], lambda v: [[2 * v[0]]], [1e-3], "double root")
    with flint.ctx.workprec(4000):  # far below the float range: every size is a ball
        (root,) = certify_root(lambda v: [v[0] ** 2 - 2], lambda v: [[2 * v[0]]], [1.4], "4000 bits")
        assert root.overlaps(flint.arb(2).sqrt()) and root.rad() < flint.arb(2) ** -3980


def test_eigen_enclosure_on_a_known_spectrum():
    """A similarity of diag(3, 3, 1, -2 +- i) by an exact integer matrix: the largest real part is 3
    (a double eigenvalue) and the enclosure must hold it."""
    import flint
    import numpy as np

    from theorykit.core.eigen_enclosure import max_real_part

    D = np.array([[3, 0, 0, 0, 0], [0, 3, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, -2, 1], [0, 0, 0, -1, -2]])
    V = np.array([[1, 2, 0, 1, 0], [0, 1, 1, 0, 2], [1, 0, 1, 1, 0], [0, 1, 0, 1, 1], [2, 0, 1, 0, 1]])
    with flint.ctx.workprec(128):
        Vb = flint.arb_mat(V.tolist())
        A = Vb * flint.arb_mat(D.tolist()) * Vb.inv()
        rows = [[A[i, j] for j in range(5)] for i in range(5)]
        top = max_real_part(rows, "test")
    assert top.contains(3) and top.rad() < 1e-12


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


def test_krawczyk_plateau_solves_saad_and_sollas_published_equations_in_plain_mpmath():
    """Finite eta = 0.3, K = 2 != M = 3, sum normalisation, L = 1: the certified plateau (no closed
    form) put into Saad & Solla's published isotropic ODEs, evaluated in plain mpmath at 60 digits
    from the decimals written -- a route that shares nothing with the derived equations the
    certificate solves.  Both right-hand sides vanish to the 40 printed digits; a point 1e-6 away
    does not (so the check can fail)."""
    import mpmath
    import numpy as np

    import theorykit as tk
    from theorykit.committee.certify import plateau_enclosures
    from theorykit.committee.saad_solla import isotropic_rhs

    model = tk.CommitteeModel(2, 3, tk.Spectrum.power_law(1, 0.3), normalization="sum")
    proof = plateau_enclosures(model, 0.3)
    assert proof["certified_by"]["R, Q, C"].startswith("Krawczyk")

    def residual(shift) -> float:
        with mpmath.workdps(60):
            R, Q, C = (mpmath.mpf(proof["enclosures"][name][0]) + shift for name in ("R", "Q", "C"))
            Qm = np.array([[Q, C], [C, Q]], dtype=object)
            Rm = np.array([[R] * 3] * 2, dtype=object)
            T = np.array([[mpmath.mpf(int(a == b)) for b in range(3)] for a in range(3)], dtype=object)
            dR, dQ = isotropic_rhs(Qm, Rm, T, mpmath.mpf("0.3"))
            return float(max(abs(v) for v in [*dR.ravel(), *dQ.ravel()]))

    assert residual(0) < 1e-38
    assert residual(mpmath.mpf("1e-6")) > 1e-9
