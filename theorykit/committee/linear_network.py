"""Linear networks (g(z) = z): exact learning curves, small-eta form and power-law asymptotics.

A linear committee is a linear map: student ``sigma = c_K sum_i J_i x / sqrt(N)`` equals one
effective unit ``J_eff = c_K sum_i J_i``, which receives ``K`` identical updates scaled by ``c_K``,
so the dynamics depend on K and M only through ``eta_eff = K c_K^2 eta`` and the effective overlaps
``q = c_K^2 sum_ij q_ij``, ``r = c_K c_M sum_in r_in``, ``t = c_M^2 sum_nm t_nm`` (checked in the
property tests).  The per-mode error ``e_k = q - 2 r + t`` then obeys the closed system derived
in :mod:`theorykit.committee.derive.linear_modes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from ..core.errors import CaseError
from ..core.output import labelled_dataset
from ..core.precision import Precise, check_dps, lift, two_precisions
from .model import CommitteeModel
from .solve.initial import Overlaps
from .solve.linear_exact import LinearCoefficients, exact_curve, small_eta_curve, stability_bound


@cache
def linear_coefficients() -> LinearCoefficients:
    """The derived coefficients ``(a, b, c)`` of the error equations (SymPy runs once)."""
    from .derive.linear_modes import derive_linear_error_system

    system = derive_linear_error_system()
    return LinearCoefficients(float(system.a), float(system.b), float(system.c))


def _require_linear(model: CommitteeModel) -> None:
    model.require_classic("the linear network's exact solution")
    if model.activation_name != "linear":
        raise CaseError(
            "model.activation", f"linear-network results need activation 'linear', got {model.activation_name!r}"
        )


def effective_errors(model: CommitteeModel, init: Overlaps, eta: float) -> tuple[np.ndarray, float]:
    """Per-mode errors ``e_k(0)`` of the effective single unit, and the effective learning rate."""
    _require_linear(model)
    cK, cM = model.c_K, model.c_M
    e0 = cK**2 * init.q.sum(axis=(1, 2)) - 2 * cK * cM * init.r.sum(axis=(1, 2)) + cM**2 * init.t.sum(axis=(1, 2))
    return e0, model.K * cK**2 * eta


def effective_errors_high_precision(model: CommitteeModel, init: Overlaps, eta) -> tuple[list, object]:
    """:func:`effective_errors` at the caller's ``mpmath`` precision, from the overlaps as written.

    Every input is lifted (:func:`theorykit.core.precision.lift`) and ``c_K``, ``c_M`` recomputed,
    so nothing passes through a float.
    """
    import mpmath

    _require_linear(model)
    cK, cM = model.readout_high_precision()
    r, q, t = init.high_precision()
    e0 = [
        cK**2 * mpmath.fsum(q[k].ravel()) - 2 * cK * cM * mpmath.fsum(r[k].ravel()) + cM**2 * mpmath.fsum(t[k].ravel())
        for k in range(model.spectrum.L)
    ]
    return e0, model.K * cK**2 * lift(eta)


def linear_eta_bound(model: CommitteeModel) -> float:
    r"""Largest learning rate at which the linear network's error still decays.

    The effective single unit learns with :math:`\eta_\text{eff} = K c_K^2 \eta`; its error
    modes decay for :math:`\eta_\text{eff} < -a / (b \sum_k f_k\lambda_k)` (derived
    coefficients ``a``, ``b``; :func:`theorykit.committee.solve.linear_exact.stability_bound`).
    """
    coeffs = linear_coefficients()
    lam, f = model.spectrum.lam, model.spectrum.f
    return stability_bound(lam, f, coeffs) / (model.K * model.c_K**2)


@dataclass(frozen=True)
class LinearCurve:
    """Exact linear-network learning curve.

    Attributes
    ----------
    alpha, eps_g : ndarray
        Float values (the high-precision ones rounded).
    eps_g_hp : list of mpmath.mpf or None
        Values at ``dps`` digits (when asked for).
    agreement_digits : float or None
        Digits on which the ``dps + 10`` and ``dps + 25`` computations agree (min over alpha).
    precise : Precise or None
        The high-precision evaluation (:func:`theorykit.core.precision.two_precisions`).
    small_eta : ndarray
        The O(eta) form, for comparison.
    eta_max : float
        Stability bound on the (effective) learning rate, noise-free.
    """

    alpha: np.ndarray
    eps_g: np.ndarray
    eps_g_hp: list | None
    dps: int | None
    agreement_digits: float | None
    small_eta: np.ndarray
    eta_max: float
    precise: Precise | None = None

    def to_xarray(self):
        """The curve as an :class:`xarray.Dataset` over ``alpha``: ``eps_g``, its O(eta) form
        ``eps_g_small_eta`` and, with ``dps``, ``eps_g_decimal`` (strings to ``dps`` digits, with
        ``agreement_digits`` in the attributes); ``eta_max`` and the version as attributes."""
        data = {
            "eps_g": (("alpha",), self.eps_g, {"long_name": "generalisation error (exact linear solution)"}),
            "eps_g_small_eta": (("alpha",), self.small_eta, {"long_name": "its O(eta) form"}),
        }
        attrs = {"eta_max": float(self.eta_max)}
        if self.precise is not None:
            strings = np.array(self.precise.strings(), dtype=str)
            data["eps_g_decimal"] = (("alpha",), strings, {"long_name": f"eps_g to {self.dps} digits"})
            attrs["agreement_digits"] = float(self.agreement_digits)
        coords = {"alpha": ("alpha", np.asarray(self.alpha, dtype=float), {"long_name": "alpha = SGD steps / N"})}
        return labelled_dataset(data, coords, attrs)


def linear_learning_curve(
    model: CommitteeModel, eta: float, init: Overlaps, alpha, dps: int | None = None, trained_modes: int | None = None
) -> LinearCurve:
    r"""Exact :math:`\varepsilon_g(\alpha) = \tfrac12\lambda^T e^{A\alpha} e(0)` (plus noise forcing).

    With ``dps`` (the digits wanted) the curve is computed by
    :func:`theorykit.core.precision.two_precisions` at ``dps + 10`` and ``dps + 25`` working digits,
    each time from the exact inputs (eta, overlaps, explicit eigenvalues and fractions as the
    decimals written; power-law eigenvalues, ``c_K`` and the initial errors recomputed);
    ``agreement_digits`` says on how many digits the two agree, so values printed to ``dps``
    digits are correct when it is at least ``dps``.

    ``trained_modes = n`` trains only the inputs of the ``n`` largest eigenvalues (the
    trainable dimension is ``N_l = N sum_{k <= n} f_k``).  The untrained modes keep
    ``e_k(0)``; in the trained modes' equations they enter through
    :math:`\sum_j\lambda_j e_j` exactly like output noise of variance
    :math:`(b/c)\sum_{k>n}\lambda_k e_k(0)`, so the same exact solver applies.
    """
    dps = check_dps(dps)
    coeffs = linear_coefficients()
    e0, eta_eff = effective_errors(model, init, eta)
    lam, f = model.spectrum.lam, model.spectrum.f
    L = len(lam)
    n = L if trained_modes is None else trained_modes
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= L:
        raise CaseError("trained_modes", f"must be an integer in [1, {L}], got {trained_modes!r}")
    alpha = np.asarray(alpha, dtype=float)
    frozen = 0.5 * float(np.dot(lam[n:], e0[n:]))
    noise2 = model.noise**2 + coeffs.b / coeffs.c * float(np.dot(lam[n:], e0[n:]))
    noise = float(np.sqrt(noise2))
    small = small_eta_curve(lam[:n], e0[:n], eta_eff, alpha, coeffs) + frozen
    bound = stability_bound(lam[:n], f[:n], coeffs)
    if dps is None:
        values = exact_curve(lam[:n], f[:n], e0[:n], eta_eff, alpha, coeffs, noise) + frozen
        return LinearCurve(alpha, values, None, None, None, small, bound)

    def compute() -> list:
        import mpmath

        lam_hp, f_hp = model.spectrum.high_precision()
        e0_hp, eta_hp = effective_errors_high_precision(model, init, eta)
        frozen_sum = mpmath.fsum(a * b for a, b in zip(lam_hp[n:], e0_hp[n:]))
        noise_hp = mpmath.sqrt(lift(model.noise) ** 2 + lift(coeffs.b) / lift(coeffs.c) * frozen_sum)
        curve = exact_curve(
            lam_hp[:n], f_hp[:n], e0_hp[:n], eta_hp, alpha, coeffs, noise_hp, dps=mpmath.mp.dps
        )  # alpha lifted inside, as written
        return [v + frozen_sum / 2 for v in curve]

    precise = two_precisions(compute, dps)
    values = np.array(precise.floats())
    return LinearCurve(alpha, values, list(precise.value), dps, precise.agreement_digits, small, bound, precise)


def trainable_floor(model: CommitteeModel, eta: float, init: Overlaps, trained_modes: int) -> float:
    r""":math:`\varepsilon_g(\infty)` when only the top ``trained_modes`` eigenspaces are trained.

    Exact stationary value of the closed system (the trained modes settle at an O(eta) error
    driven by the frozen ones); to leading order :math:`\tfrac12\sum_{k>n}\lambda_k e_k(0)`,
    which for a power law scales as :math:`n^{-\beta}`.
    """
    return float(linear_learning_curve(model, eta, init, [np.inf], trained_modes=trained_modes).eps_g[0])


@dataclass(frozen=True)
class PowerLawLaw:
    """:math:`\\varepsilon_g\\approx A\\alpha^{-\\gamma}` for ``alpha_min << alpha << alpha_max``."""

    exponent: object
    prefactor: object
    alpha_min: object
    alpha_max: object
    exponent_expr: str
    prefactor_expr: str
    latex: dict


def power_law_law(model: CommitteeModel, eta, e0_total, dps: int = 30) -> PowerLawLaw:
    """Evaluate the derived power law for this model at ``dps`` digits (mpmath numbers).

    ``e0_total`` is :math:`e_0 = \\sum_k e_k(0)` (so that :math:`e_k(0) \\approx e_0 f_k`);
    ``eta`` and ``e0_total`` are lifted as written (:func:`theorykit.core.precision.lift`): pass
    derived values as ``mpf``.  ``exponent`` is :math:`\\nu` in :math:`\\varepsilon_g\\propto\\alpha^{-\\nu}`
    (positive; the one sign convention of every output, :data:`theorykit.core.schema.EXPONENT_CONVENTION`).
    """
    import mpmath
    import sympy as sp

    from .derive.linear_modes import derive_power_law_asymptotics

    spec = model.spectrum
    if spec.kind != "power_law" or spec.beta is None or len(set(spec.fractions)) != 1:
        raise CaseError("spectrum", "the power-law asymptotics need kind 'power_law' with equal fractions")
    law = derive_power_law_asymptotics()
    S = law.symbols
    with mpmath.workdps(dps):
        # lambda_+ recomputed at this precision from the normalisation sum_k f_k lambda_k = 1
        lam_plus = spec.high_precision()[0][0]
        values = {
            S["beta"]: lift(spec.beta),
            S["eta"]: lift(eta),
            S["L"]: spec.L,
            S["lambda_plus"]: lam_plus,
            S["e0"]: lift(e0_total),
        }

        def ev(expr):
            return sp.lambdify(list(values), expr, "mpmath")(*values.values())

        return PowerLawLaw(
            ev(law.exponent),
            ev(law.prefactor),
            ev(law.alpha_min),
            ev(law.alpha_max),
            str(law.exponent),
            str(law.prefactor),
            law.latex(),
        )


def power_law_precise(model: CommitteeModel, eta, init: Overlaps, dps: int) -> Precise:
    """Exponent, prefactor and window of the power law at two precisions, from the exact inputs.

    ``value`` is a dict ``exponent``, ``prefactor``, ``alpha_min``, ``alpha_max`` of ``mpf``;
    the initial errors and the effective learning rate are recomputed from ``init`` and ``eta``
    at each working precision.
    """
    import mpmath

    def compute() -> dict:
        e0, eta_eff = effective_errors_high_precision(model, init, eta)
        law = power_law_law(model, eta_eff, mpmath.fsum(e0), dps=mpmath.mp.dps)
        return {k: getattr(law, k) for k in ("exponent", "prefactor", "alpha_min", "alpha_max")}

    return two_precisions(compute, dps)
