r"""Dynamical mean-field theory of random-feature regression, derived with SymPy.

Everything the numerical stages of :mod:`theorykit.rf` use is derived here from three
inputs written in the form of the brief (``shared/theory/random_features.md``):

1. the **effective single-mode equation** for the deviation :math:`v_k = w_k - w^*_k`,

   .. math::

      \partial_t v_k = -\gamma (v_k + w^*_k) - \eta_k \int_0^t \Sigma(t-s)\,v_k(s)\,ds
                       - \sqrt{\eta_k}\,u_k(t) + \sqrt{2T}\,\xi_k(t),\qquad v_k(0) = -w^*_k,

   solved in the Laplace variable :math:`z`;
2. the **sample side**: the residual obeys :math:`(1+R)\hat\Delta = \hat\phi - s\hat\epsilon`,
   so the kernel the modes feel is :math:`\Sigma = P/(1+R)` with the collective response
   :math:`R = \sum_l \eta_l G_l`, and the effective noise has covariance
   :math:`\langle u u\rangle = P\,(1+R)^{-1}(C + s^2)(1+R)^{-\top}`;
3. the **finite model per eigenvalue** :math:`\lambda` of :math:`A = \Psi^\top\Psi + \gamma`
   (for the equal-time error): :math:`\dot v = -\lambda v - \gamma w^* + s\sqrt{\lambda-\gamma}\,\tilde\epsilon
   + \sqrt{2T}\xi`.

From these SymPy derives: the response :math:`G_k(z)`, the mean (bias) transform, the
self-consistency in the form :math:`\mu = \kappa\,(1 - \sum_l \eta_l/(\kappa + P\eta_l))`
(:math:`\mu = z+\gamma`; at :math:`z=0` the kernel-ridge equation), the two-point function
:math:`C(z_1, z_2)` of the effective noise closure, the Laplace kernels that turn the
collective response :math:`R(z), R(z/2)` into :math:`\hat\varepsilon_g(z)`, their
:math:`t\to\infty` (Bayesian) limits, the decoupled limit :math:`\Sigma\to P` and its
power-law exponents, early-stopping time and scaling with :math:`P`.  All results are exact
rational expressions (no floats); objects are immutable and cached per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from ..core.errors import DerivationError

# Symbols.  Positivity assumptions are the physical ranges; gamma and T may be 0 but the
# kernels are rational in them, so positive symbols are safe for simplification.
z, z1, z2 = sp.symbols("z z_1 z_2")
t = sp.Symbol("t", positive=True)
lam = sp.Symbol("lambda", positive=True)
gamma = sp.Symbol("gamma", nonnegative=True)
T = sp.Symbol("T", nonnegative=True)
s = sp.Symbol("s", nonnegative=True)
P = sp.Symbol("P", positive=True)
eta = sp.Symbol("eta_k", positive=True)
kappa = sp.Symbol("kappa")
mu = sp.Symbol("mu")
Sigma = sp.Symbol("Sigma")
w_star = sp.Symbol("w^*")
u_hat, xi_hat, eps_tilde = sp.symbols(r"\hat{u} \hat{\xi} \tilde{\epsilon}")
S1 = sp.Symbol("S_1")  # sum_l eta_l / (kappa + P eta_l)
v_hat = sp.Symbol(r"\hat{v}")


@dataclass(frozen=True)
class ModeSolution:
    """The single-mode Laplace solution.

    Attributes
    ----------
    equation : sympy.Eq
        Laplace transform of the effective single-mode equation.
    response : sympy.Expr
        :math:`G_k(z) = \\partial\\hat v_k/\\partial\\hat h_k`.
    mean_factor : sympy.Expr
        :math:`\\hat m_k(z)` with :math:`\\langle \\hat v_k\\rangle = -w^*_k\\,\\hat m_k(z)`.
    response_kappa, mean_factor_kappa : sympy.Expr
        The same with :math:`\\Sigma = \\mu P/\\kappa`.
    mu_of_kappa : sympy.Expr
        :math:`\\mu` as a function of :math:`\\kappa` and :math:`S_1 = \\sum_l \\eta_l/(\\kappa+P\\eta_l)`.
    residual_term, residual_slope_term : sympy.Expr
        Per-mode summands of :math:`F(\\kappa) = \\kappa - \\mu - \\kappa S_1` and of
        :math:`F'(\\kappa)` (the constant parts are in ``residual_constant``/``slope_constant``).
    collective_response : sympy.Expr
        :math:`R = \\sum_l \\eta_l G_l` written through :math:`\\kappa, \\mu`.
    """

    equation: sp.Eq
    response: sp.Expr
    mean_factor: sp.Expr
    response_kappa: sp.Expr
    mean_factor_kappa: sp.Expr
    mu_of_kappa: sp.Expr
    residual_term: sp.Expr
    residual_constant: sp.Expr
    residual_slope_term: sp.Expr
    slope_constant: sp.Expr
    collective_response: sp.Expr


@cache
def derive_mode_solution() -> ModeSolution:
    """Solve the single-mode equation in the Laplace domain and close it self-consistently."""
    equation = sp.Eq(
        z * v_hat - (-w_star),
        -gamma * (v_hat + w_star / z) - eta * Sigma * v_hat - sp.sqrt(eta) * u_hat + sp.sqrt(2 * T) * xi_hat,
    )
    (v_sol,) = sp.solve(equation, v_hat)
    response = sp.simplify(sp.diff(v_sol, xi_hat) / sp.sqrt(2 * T))
    mean_factor = sp.factor(-v_sol.subs({u_hat: 0, xi_hat: 0}) / w_star)
    sigma_of_kappa = mu * P / kappa
    response_kappa = sp.factor(response.subs(Sigma, sigma_of_kappa).subs(gamma, mu - z))
    mean_factor_kappa = sp.factor(mean_factor.subs(Sigma, sigma_of_kappa).subs(gamma, mu - z))
    # Self-consistency Sigma = P / (1 + sum_l eta_l G_l), with G in kappa form; the mode sum
    # stays a symbol S_1 (index structure is kept, never expanded over modes).
    per_mode = sp.factor(eta * response_kappa)
    mode_sum = sp.factor(per_mode / (eta / (kappa + P * eta)))  # the mode-independent factor
    if mode_sum.has(eta):
        raise DerivationError(f"response is not of the form f(kappa, mu) * eta/(kappa + P eta): {per_mode}")
    R_expr = mode_sum * S1
    solutions = [sol for sol in sp.solve(sp.Eq(sigma_of_kappa, P / (1 + R_expr)), mu) if sol != 0]
    if len(solutions) != 1:
        raise DerivationError(f"self-consistency has {len(solutions)} non-trivial roots in mu: {solutions}")
    mu_of_kappa = sp.factor(solutions[0])
    residual = sp.expand(kappa - mu - kappa * S1)
    if sp.simplify(residual.subs(mu, mu_of_kappa)) != 0:
        raise DerivationError("kappa residual does not vanish on the derived mu(kappa)")
    term = eta / (kappa + P * eta)
    return ModeSolution(
        equation=equation,
        response=response,
        mean_factor=mean_factor,
        response_kappa=response_kappa,
        mean_factor_kappa=mean_factor_kappa,
        mu_of_kappa=mu_of_kappa,
        residual_term=-kappa * term,
        residual_constant=kappa - mu,
        residual_slope_term=sp.factor(sp.diff(-kappa * term, kappa)),
        slope_constant=sp.Integer(1),
        collective_response=sp.simplify(R_expr.subs(S1, sp.solve(sp.Eq(mu, mu_of_kappa), S1)[0])),
    )


@dataclass(frozen=True)
class TwoPointFunction:
    """:math:`C(z_1,z_2) = \\sum_l \\eta_l \\langle\\hat v_l(z_1)\\hat v_l(z_2)\\rangle` of the closure.

    ``expression`` is written with the building blocks ``B`` (mean part), ``S``
    (:math:`\\sum_l\\eta_l^2 G_l(z_1)G_l(z_2)`), ``Sigma1, Sigma2`` and ``N_T`` (Langevin).
    """

    expression: sp.Expr
    symbols: tuple[sp.Symbol, ...]


@cache
def derive_two_point() -> TwoPointFunction:
    r"""Close the effective-noise covariance: :math:`C = B + N_T + \sum_l\eta_l^2 G_lG_l\,\langle uu\rangle`.

    With :math:`\langle \hat u(z_1)\hat u(z_2)\rangle = P K_1K_2 (C + s^2/(z_1z_2))`,
    :math:`K = 1/(1+R) = \Sigma/P`, the equation is linear in :math:`C`.
    """
    C, B, S, N_T, Sig1, Sig2 = sp.symbols("C B S N_T Sigma_1 Sigma_2")
    K1, K2 = Sig1 / P, Sig2 / P
    uu = P * K1 * K2 * (C + s**2 / (z1 * z2))
    (solution,) = sp.solve(sp.Eq(C, B + N_T + S * uu), C)
    return TwoPointFunction(sp.factor(solution), (B, S, N_T, Sig1, Sig2))


def _laplace_of_exponentials(expr: sp.Expr) -> sp.Expr:
    """Laplace transform in ``t`` of a sum of ``c * exp(-k t)`` terms (``k`` free of t)."""
    total = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(sp.powsimp(sp.expand(expr)))):
        rate = sp.Integer(0)
        coeff = sp.Integer(1)
        for factor in sp.Mul.make_args(term):
            if factor.func is sp.exp:
                rate -= factor.args[0] / t
            elif factor.has(t):
                raise DerivationError(f"unexpected time dependence {factor} in {term}")
            else:
                coeff *= factor
        rate = sp.simplify(rate)
        if rate.has(t):
            raise DerivationError(f"non-exponential time dependence in {term}")
        total += coeff / (z + rate)
    return total


@dataclass(frozen=True)
class EqualTimeKernels:
    r"""Per-eigenvalue second moments and their Laplace kernels.

    ``moments[name]`` is :math:`\phi_t(\lambda)` with
    :math:`\varepsilon_g(t) = \tfrac12\,\mathbb E\,\mathrm{tr}[\eta\,\phi_t(A)]` for the three
    sources ``teacher`` (isotropic teacher), ``labels`` and ``thermal``.
    ``kernels[name] = (c_1, c_{1/2})``: :math:`\tfrac12\mathrm{tr}[\eta\,\hat\phi_z(A)]
    = c_1 R(z) + c_{1/2} R(z/2)` with :math:`R(z) = \mathrm{tr}[\eta (z+A)^{-1}]`.
    ``stationary[name] = (c_R, c_{dR})``: :math:`\lim_{t\to\infty}` as
    :math:`c_R R(0) + c_{dR} R'(0)`.
    """

    moments: dict
    kernels: dict
    stationary: dict


@cache
def derive_equal_time_kernels() -> EqualTimeKernels:
    """Solve the per-eigenvalue dynamics, square, transform, and split into resolvents."""
    v = sp.Function("v")
    ode = sp.Eq(v(t).diff(t), -lam * v(t) - gamma * w_star + s * sp.sqrt(lam - gamma) * eps_tilde)
    mean = sp.dsolve(ode, v(t), ics={v(0): -w_star}).rhs
    teacher_part = sp.simplify(-mean.subs(eps_tilde, 0) / w_star)  # h_t(lambda)
    label_part = sp.simplify(mean.subs(w_star, 0) / (s * eps_tilde))  # sqrt(lambda-gamma) f_t(lambda)
    tau = sp.Symbol("tau", positive=True)
    thermal = sp.simplify(sp.integrate(2 * T * sp.exp(-2 * lam * (t - tau)), (tau, 0, t)))
    moments = {
        "teacher": sp.simplify(teacher_part**2),
        "labels": sp.simplify(s**2 * label_part**2),
        "thermal": thermal,
    }
    kernels, stationary = {}, {}
    for name, phi in moments.items():
        transform = sp.together(_laplace_of_exponentials(phi))
        coeffs = []
        for pole in (-z, -z / 2):
            residue = sp.factor(sp.cancel((lam - pole) * transform).subs(lam, pole))
            coeffs.append(residue)
        remainder = sp.simplify(transform - coeffs[0] / (lam + z) - coeffs[1] / (lam + z / 2))
        if remainder != 0:
            raise DerivationError(f"{name}: Laplace kernel has poles besides -z, -z/2: remainder {remainder}")
        # tr[eta (lambda + c z)^{-1}] -> R(c z); the 1/2 of eps_g goes into the coefficients.
        kernels[name] = tuple(sp.factor(c / 2) for c in coeffs)
        limit = sp.limit(phi, t, sp.oo)
        limit = sp.apart(sp.together(limit), lam)
        c_R = sp.factor(limit.coeff(1 / lam) if limit.has(1 / lam) else 0)
        c_R2 = sp.factor(limit.coeff(lam**-2) if limit.has(lam**-2) else 0)
        if sp.simplify(limit - c_R / lam - c_R2 / lam**2) != 0:
            raise DerivationError(f"{name}: stationary value is not a combination of A^-1, A^-2: {limit}")
        # tr[eta A^-1] = R(0), tr[eta A^-2] = -R'(0)
        stationary[name] = (sp.factor(c_R / 2), sp.factor(-c_R2 / 2))
    return EqualTimeKernels(moments, kernels, stationary)


def dmft_equations() -> dict[str, tuple[str, sp.Expr]]:
    """The derived DMFT as ``{name: (lhs as LaTeX, rhs)}``, in the order an appendix would list them."""
    mode = derive_mode_solution()
    two = derive_two_point()
    kern = derive_equal_time_kernels()
    R_of = sp.Function("R")
    out = {
        "single-mode equation (Laplace)": (sp.latex(mode.equation.lhs), mode.equation.rhs),
        "response": (r"G_k(z)", mode.response),
        "mean": (r"\langle \hat v_k(z)\rangle / (-w^*_k)", mode.mean_factor),
        "closure": (r"\mu", mode.mu_of_kappa),
        "collective response": (r"R", mode.collective_response),
        "two-point function": (r"C(z_1, z_2)", two.expression),
    }
    for name, (c1, c_half) in kern.kernels.items():
        out[f"error kernel ({name})"] = (
            rf"\hat\varepsilon_{{\mathrm{{{name}}}}}(z)",
            c1 * R_of(z) + c_half * R_of(z / 2),
        )
    for name, (c0, c_prime) in kern.stationary.items():
        rhs = c0 * R_of(0) + c_prime * sp.Symbol("R'(0)")
        out[f"stationary ({name})"] = (rf"\varepsilon_{{\mathrm{{{name}}}}}(\infty)", rhs)
    return out
