"""Numerical failures are caught and explained: what the message says, and that it is right."""

import mpmath
import numpy as np
import pytest

import theorykit as tk
from theorykit.cli import main
from theorykit.committee.solve.fixed_point import newton
from theorykit.core.errors import NumericalFailure


def _one_dimensional(f, df):
    return (lambda x: np.array([f(x[0])], dtype=x.dtype)), (lambda x: np.array([[df(x[0])]], dtype=x.dtype))


def test_newton_without_a_root_says_no_fixed_point_near_the_start():
    fun, jac = _one_dimensional(lambda x: x * x + 1, lambda x: 2 * x)  # no real root
    with pytest.raises(NumericalFailure, match="did not shrink.*no fixed point near the start"):
        newton(fun, jac, np.array([0.5]), 1e-12)


@pytest.mark.parametrize("dps", [None, 30])
def test_newton_asked_for_more_digits_than_the_arithmetic_has_says_raise_dps(dps):
    """sqrt(2) to 1e-20 in float64, or to 1e-40 at 30 digits: the steps stall at round-off."""
    fun, jac = _one_dimensional(lambda x: x * x - 2, lambda x: 2 * x)
    if dps is None:
        with pytest.raises(NumericalFailure, match="noise floor.*raise the working precision"):
            newton(fun, jac, np.array([1.0]), 1e-20)
        return
    with mpmath.workdps(dps):
        x0 = np.array([mpmath.mpf(1)], dtype=object)
        with pytest.raises(NumericalFailure, match="noise floor.*raise the working precision"):
            newton(fun, jac, x0, mpmath.mpf(10) ** -40)
        # the same iteration at a reachable tolerance converges: the diagnosis is about digits
        assert abs(newton(fun, jac, x0, mpmath.mpf(10) ** -25)[0] - mpmath.sqrt(2)) < mpmath.mpf(10) ** -25


def test_moment_basis_refuses_to_lose_the_answer_and_says_how_many_digits_to_use():
    model = tk.CommitteeModel(2, 2, tk.Spectrum.power_law(12, 1.0), "erf")
    init = tk.random_overlaps(model, 1200, 0.3, 0)
    with pytest.raises(NumericalFailure, match=r"loses .* digits.*eigenmode basis.*mpmath.workdps\((\d+)\)") as info:
        tk.MomentSystem(model, tk.compile_model(model, "numpy"), 0.5, init.t)
    digits = int(info.value.args[0].rsplit("workdps(", 1)[1].rstrip(")"))
    # what the message recommends works: at that precision the basis is accepted, and its
    # round trip eigenmode -> moment -> eigenmode keeps at least 6 digits
    with mpmath.workdps(digits):
        compiled = tk.compile_model(model, "mpmath")
        t = np.vectorize(mpmath.mpf, otypes=[object])(init.t)
        moments = tk.MomentSystem(model, compiled, mpmath.mpf("0.5"), t, dtype=object)
        y = np.vectorize(mpmath.mpf, otypes=[object])(moments.eigen.pack(init.r, init.q))
        back = moments.to_eigenmodes(moments.from_eigenmodes(y))
        assert max(abs(a - b) for a, b in zip(back, y)) < mpmath.mpf(10) ** -6


def test_moment_basis_of_hundreds_of_eigenvalues_is_refused_cleanly():
    """cond(V) beyond the float range (L = 400) still gives the clean refusal, not an OverflowError."""
    model = tk.CommitteeModel(1, 1, tk.Spectrum.power_law(400, 1.0), "erf")
    init = tk.random_overlaps(model, 4000, 0.3, 0)
    with pytest.raises(NumericalFailure, match="moment basis: .* eigenmode basis"):
        tk.MomentSystem(model, tk.compile_model(model, "numpy"), 0.5, init.t)


def _stiff_case(max_rhs: int):
    model = tk.CommitteeModel(1, 1, tk.Spectrum.power_law(40, 2.0), "erf")  # eigenvalues span 40^3
    init = tk.random_overlaps(model, 4000, 0.3, 0)
    config = tk.SolverConfig(method="RK45", rtol=1e-6, atol=1e-9, max_rhs=max_rhs)
    return model, init, config


def test_explicit_method_on_a_stiff_system_stops_at_its_budget_and_names_the_remedy():
    model, init, config = _stiff_case(3000)
    sol = tk.solve(model, 0.5, init, [0.0, 3e4], config)
    assert sol.status == "stiff" and not sol.success
    assert "6.4e+04" in sol.message and "exponential" in sol.message and "Radau" in sol.message
    assert sol.nfev <= 3000 + 20  # stopped at the budget (plus the solver's last stage evaluations)
    # the remedy it names finishes the same case
    done = tk.solve(model, 0.5, init, [0.0, 3e4], tk.SolverConfig(method="exponential", rtol=1e-6))
    assert done.success and done.eps_g[-1] < done.eps_g[0]


def test_cli_reports_stiffness_in_one_line_with_exit_1(tmp_path, capsys):
    import json

    case = {
        "model": {"K": 1, "M": 1},
        "spectrum": {"L": 40, "beta": 2.0},
        "eta": 0.5,
        "init": {"kind": "random", "N": 4000, "sigma_J": 0.3},
        "alpha": [0, 3e4],
        "solver": {"method": "RK45", "rtol": 1e-6, "max_rhs": 3000},
    }
    path = tmp_path / "c.json"
    path.write_text(json.dumps(case))
    code = main(["solve", str(path), "-o", str(tmp_path / "o.json")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "stiff" in err and "max_rhs" in err
    assert not (tmp_path / "o.json").exists()
