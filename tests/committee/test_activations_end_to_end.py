"""Activations beyond erf through the whole pipeline, against SGD; the safer rewrites."""

import numpy as np
import pytest
import sympy as sp

import theorykit as tk
from theorykit.committee.derive.activations import get_activation
from theorykit.committee.derive.kernels import KERNELS
from theorykit.committee.lower.kernel_printer import kernel_function_source


def _check_against_sgd(model, eta, alpha, N, seeds, rel):
    init = tk.random_overlaps(model, N, 0.3, 0)
    sol = tk.solve(model, eta, init, alpha).raise_for_status()
    sim = tk.simulate(model, eta, alpha, N, seeds=seeds, init=init, n_test=200)
    mean, sem = sim.mean("eps_g_overlaps"), sim.spread("eps_g_overlaps") / np.sqrt(seeds)
    # 4 standard errors of the seed mean plus an O(1/N) allowance (see test_simulation.py)
    assert np.all(np.abs(mean - sol.eps_g) <= 4 * sem + rel * sol.eps_g), np.c_[sol.eps_g, mean, sem]


def test_relu_small_learning_rate_matches_sgd():
    model = tk.CommitteeModel(2, 2, tk.Spectrum.power_law(2, 1.0), "relu", small_lr=True)
    _check_against_sgd(model, 0.05, np.linspace(0, 30, 4), 800, 2, 0.03)


def test_user_callable_activation_matches_sgd():
    """tanh given only as a NumPy callable: every kernel by quadrature, derivatives numeric."""
    model = tk.CommitteeModel(1, 1, tk.Spectrum.power_law(2, 1.0), tk.NumericActivation("tanh", np.tanh))
    _check_against_sgd(model, 0.5, np.linspace(0, 6, 4), 800, 2, 0.03)


@pytest.mark.parametrize("name,kernel", [("relu", "gg"), ("relu", "dgdg"), ("relu", "d2g_g"), ("erf", "gg")])
def test_safe_rewrite_is_finite_where_the_naive_form_is_not(name, kernel):
    """At coincident units (correlation 1 up to round-off) the naive printed form gives NaN."""
    spec = KERNELS[kernel]
    expr = get_activation(name).kernel_expr(spec)
    c = 0.1 + 0.2  # 0.30000000000000004: the covariance of a unit with itself, after round-off
    args = {"c00": 0.3, "c11": 0.3, "c01": c} if name == "relu" else {"c00": -0.5 + 1e-17, "c11": -0.5, "c01": 0.5}
    namespace: dict = {}
    exec(kernel_function_source(kernel, expr, spec.args, "numpy"), {"numpy": np, "math": __import__("math")}, namespace)
    safe = namespace[f"k_{kernel}"](**args)
    naive = sp.lambdify(spec.args, expr, "numpy")
    with np.errstate(all="ignore"):
        naive_value = naive(*[args[a.name] for a in spec.args])
    assert np.isfinite(safe)
    if name == "relu":
        assert not np.isfinite(naive_value) or kernel == "d2g_g"
    # inside the domain the rewrite changes nothing
    inside = {"c00": 0.7, "c11": 1.3, "c01": 0.2}
    assert namespace[f"k_{kernel}"](**inside) == pytest.approx(naive(*[inside[a.name] for a in spec.args]), rel=1e-14)
