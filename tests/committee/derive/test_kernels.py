"""Gaussian kernels: derived expressions against Monte Carlo, published closed forms,
Price's theorem, declared symmetries and the quadrature fallback."""

import mpmath
import numpy as np
import pytest
import sympy as sp
from conftest import random_covariance
from scipy.special import erf

from theorykit.committee import saad_solla
from theorykit.committee.derive.activations import NumericActivation, get_activation
from theorykit.committee.derive.gaussian import GaussianAverager, cov_pairs, cov_symbols, z
from theorykit.committee.derive.kernels import KERNELS, permuted_args
from theorykit.committee.derive.quadrature import make_numeric_kernel

ACTIVATION_FUNCS = {
    "erf": (
        lambda u: erf(u / np.sqrt(2)),
        lambda u: np.sqrt(2 / np.pi) * np.exp(-(u**2) / 2),
        lambda u: -u * np.sqrt(2 / np.pi) * np.exp(-(u**2) / 2),
    ),
    "linear": (lambda u: u, lambda u: np.ones_like(u), lambda u: np.zeros_like(u)),
    "relu": (lambda u: np.maximum(u, 0), lambda u: (u > 0).astype(float), None),
}


def _evaluate(expr, spec, C):
    subs = {s: C[a, b] for s, (a, b) in zip(spec.args, spec.arg_pairs)}
    return float(expr.evalf(30, subs=subs))


def _monte_carlo(name, spec, C, rng, samples=2_000_000):
    """Mean and standard error of the kernel's integrand under N(0, C)."""
    funcs = ACTIVATION_FUNCS[name]
    u = rng.multivariate_normal(np.zeros(len(C)), C, size=samples)
    product = np.ones(samples)
    for slot, order in enumerate(spec.orders):
        product *= funcs[order](u[:, slot])
    return product.mean(), product.std() / np.sqrt(samples)


@pytest.mark.parametrize("name", ["erf", "linear", "relu"])
@pytest.mark.parametrize("kernel", ["gg", "dgdg", "d2g_g", "dgdg_gg"])
def test_kernel_matches_monte_carlo(name, kernel, rng):
    spec = KERNELS[kernel]
    act = get_activation(name)
    expr = act.kernel_expr(spec)
    if expr is None or (name == "relu" and 2 in spec.orders):
        pytest.skip("no closed form (numeric) / delta function not sampled by Monte Carlo")
    C = random_covariance(rng, spec.n_slots)
    exact = _evaluate(expr, spec, C)
    mean, stderr = _monte_carlo(name, spec, C, rng)
    # 5 standard errors: a false alarm has probability ~6e-7 per check
    assert abs(exact - mean) < 5 * stderr + 1e-12, (exact, mean, stderr)


def test_relu_delta_kernel_by_smoothing(rng):
    """<delta(u0) relu(u1)>: replace the delta by a narrow Gaussian and integrate numerically."""
    spec = KERNELS["d2g_g"]
    C = random_covariance(rng, 2)
    exact = _evaluate(get_activation("relu").kernel_expr(spec), spec, C)
    width = 1e-3
    smooth = NumericActivation(
        "relu_s",
        lambda u: np.maximum(u, 0),
        None,
        lambda u: np.exp(-(u**2) / (2 * width**2)) / np.sqrt(2 * np.pi * width**2),
    )
    u = rng.multivariate_normal(np.zeros(2), C, size=4_000_000)
    # conditional on |u0| small: density of u0 at 0 times E[relu(u1) | u0 ~ 0]
    near = np.abs(u[:, 0]) < 0.01
    estimate = near.mean() / 0.02 * np.maximum(u[near, 1], 0).mean()
    assert abs(estimate - exact) < 0.03 * exact
    assert smooth.derivative(2)(np.array([0.0]))[0] > 0


def test_derived_erf_kernels_equal_published_closed_forms(rng):
    averager = GaussianAverager(sp.erf(z / sp.sqrt(2)))
    for _ in range(3):
        C3 = sp.Matrix(random_covariance(rng, 3)).applyfunc(lambda v: sp.Rational(str(round(v, 6))))
        i3 = averager.average((1, None, 0), poly=(1,))
        subs3 = {s: C3[a, b] for s, (a, b) in zip(cov_symbols(3), cov_pairs(3))}
        assert abs(sp.N(i3.subs(subs3) - saad_solla.i3(C3, 0, 1, 2, "sympy"), 40)) < 1e-35
        C4 = sp.Matrix(random_covariance(rng, 4)).applyfunc(lambda v: sp.Rational(str(round(v, 6))))
        i4 = get_activation("erf").kernel_expr(KERNELS["dgdg_gg"])
        subs4 = {s: C4[a, b] for s, (a, b) in zip(cov_symbols(4), cov_pairs(4))}
        assert abs(sp.N(i4.subs(subs4) - saad_solla.i4(C4, 0, 1, 2, 3, "sympy"), 40)) < 1e-35


@pytest.mark.parametrize("name", ["erf", "linear", "relu"])
def test_price_theorem(name):
    """d<g g>/dC01 = <g' g'> and d<g g>/dC00 = <g'' g>/2 -- exact symbolic identities."""
    act = get_activation(name)
    c00, c11, c01 = cov_symbols(2)
    gg = act.kernel_expr(KERNELS["gg"])
    assert sp.simplify(sp.diff(gg, c01) - act.kernel_expr(KERNELS["dgdg"])) == 0
    assert sp.simplify(sp.diff(gg, c00) - act.kernel_expr(KERNELS["d2g_g"]) / 2) == 0


@pytest.mark.parametrize("name", ["erf", "linear", "relu"])
def test_declared_symmetries_hold(name, rng):
    act = get_activation(name)
    for spec in KERNELS.values():
        expr = act.kernel_expr(spec)
        if expr is None:
            continue
        C = random_covariance(rng, spec.n_slots)
        for perm in spec.symmetries:
            permuted = expr.subs(permuted_args(spec, perm), simultaneous=True)
            assert abs(_evaluate(permuted, spec, C) - _evaluate(expr, spec, C)) < 1e-13


@pytest.mark.parametrize("kernel", ["gg", "dgdg", "d2g_g", "dgdg_gg"])
def test_quadrature_fallback_matches_closed_form(kernel, rng):
    spec = KERNELS[kernel]
    act = get_activation("erf")
    numeric = act.numeric()
    value, tangent = make_numeric_kernel(spec, numeric)
    C = random_covariance(rng, spec.n_slots, scale=0.7)
    args = [np.array([C[a, b]]) for a, b in spec.arg_pairs]
    exact = _evaluate(act.kernel_expr(spec), spec, C)
    # tensor Gauss-Hermite: 48 points/dim in 2-d (error ~1e-12), 14 points/dim in 4-d
    # (error ~1e-5 relative for erf's non-polynomial integrand) -- tolerances with 10x margin
    tol = 1e-10 if spec.n_slots == 2 else 2e-4
    assert abs(value(*args)[0] - exact) < tol * max(1, abs(exact))


def test_numeric_activation_without_derivatives(rng):
    """A user-supplied callable (tanh) with finite-difference derivatives vs Monte Carlo."""
    act = NumericActivation("tanh", np.tanh)
    spec = KERNELS["dgdg"]
    value, _ = make_numeric_kernel(spec, act)
    C = random_covariance(rng, 2)
    u = rng.multivariate_normal(np.zeros(2), C, size=2_000_000)
    integrand = (1 - np.tanh(u[:, 0]) ** 2) * (1 - np.tanh(u[:, 1]) ** 2)
    got = value(*[np.array([C[a, b]]) for a, b in spec.arg_pairs])[0]
    assert abs(got - integrand.mean()) < 5 * integrand.std() / np.sqrt(len(u))


def test_unsupported_symbolic_activation_is_refused():
    from theorykit.core.errors import DerivationError

    with pytest.raises(DerivationError, match="activation"):
        GaussianAverager(sp.tanh(z))


def test_erf_two_point_at_high_precision():
    """The arcsine law at 50 digits against mpmath quadrature of the Gaussian integral."""
    expr = get_activation("erf").kernel_expr(KERNELS["gg"])
    c00, c11, c01 = cov_symbols(2)
    vals = {c00: sp.Rational(7, 10), c11: sp.Rational(6, 5), c01: sp.Rational(2, 5)}
    exact = sp.N(expr.subs(vals), 50)
    with mpmath.workdps(50):
        a, b, c = mpmath.mpf("0.7"), mpmath.mpf("1.2"), mpmath.mpf("0.4")
        # u0 = sqrt(a) s, u1 = mu s + sd t; the t-average of erf((mu s + sd t)/sqrt2) is
        # erf(mu s / sqrt(2 (1 + sd^2))) (Gaussian smoothing of erf), leaving a 1-d integral.
        mu, sd2 = c / mpmath.sqrt(a), b - c**2 / a
        f = lambda s: (
            mpmath.erf(mpmath.sqrt(a) * s / mpmath.sqrt(2))
            * mpmath.erf(mu * s / mpmath.sqrt(2 * (1 + sd2)))
            * mpmath.npdf(s)
        )  # noqa: E731
        numeric = mpmath.quad(f, [-mpmath.inf, 0, mpmath.inf])
        assert abs(numeric - mpmath.mpf(str(exact))) < mpmath.mpf(10) ** -40


def test_the_schema_names_every_registered_activation():
    """The accepted names (committee.schema.ACTIVATIONS, checked without SymPy) are the registry's."""
    from theorykit.committee.derive.activations import REGISTRY
    from theorykit.committee.schema import ACTIVATIONS

    assert set(ACTIVATIONS) == set(REGISTRY)
