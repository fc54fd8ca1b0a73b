r"""Solve the random-feature DMFT: learning curve, bias and variance over time.

Routes (``method``):

``"laplace"`` (default)
    closure per complex frequency and Talbot inversion (:mod:`theorykit.rf.laplace`); any
    time range at a cost independent of it; ``dps`` gives the result at that many digits,
    computed twice from the exact inputs (:func:`theorykit.core.precision.two_precisions`, Talbot
    nodes chosen for each working precision) with the agreement reported.
``"volterra"``
    causal time stepping of the response functions on a uniform grid
    (:mod:`theorykit.rf.volterra`); a second, independent numerical route.
``"decoupled"``
    the limit :math:`\Sigma \to P` (each mode relaxes on its own), valid while few modes are
    learned compared with ``P``.

All three return an :class:`RFTheory`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mpmath
import numpy as np

from ..core.errors import CaseError, NumericalFailure
from ..core.output import labelled_dataset
from ..core.precision import Precise, lift, two_precisions
from . import laplace
from .decoupled import decoupled_terms
from .lower import rf_module
from .model import RandomFeatureModel, check_times
from .schema import RANDOM_FEATURES, RF_METHODS
from .volterra import volterra_terms

METHODS = RF_METHODS
TERMS = ("teacher", "labels", "thermal")


@dataclass(frozen=True)
class RFTheory:
    """DMFT learning curves.

    Attributes
    ----------
    times : ndarray
    eps_g, bias, variance : ndarray
        :math:`\\varepsilon_g(t)`, its bias and ``eps_g - bias``.
    terms : dict
        ``eps_g`` split by source: ``teacher``, ``labels`` (label noise), ``thermal`` (Langevin).
    method : str
    dps : int or None
        Digits of the high-precision evaluation (None: double precision).
    agreement_digits : float or None
        Digits on which the two evaluations of :func:`theorykit.core.precision.two_precisions`
        agree (``dps`` only).
    info : dict
        Route-specific settings (nodes, grid step, ...).
    """

    times: np.ndarray
    eps_g: np.ndarray
    bias: np.ndarray
    variance: np.ndarray
    terms: dict
    method: str
    dps: int | None = None
    agreement_digits: float | None = None
    info: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        digits = "" if self.dps is None else f", {self.dps} digits"
        return (
            f"RFTheory({self.method}{digits}: {len(self.times)} times in [{self.times[0]:g}, {self.times[-1]:g}], "
            f"eps_g {self.eps_g[0]:.4g} -> {self.eps_g[-1]:.4g})"
        )

    def to_xarray(self):
        """The curves as an :class:`xarray.Dataset` over ``time``: ``eps_g``, ``bias``,
        ``variance`` and the source terms (``term_teacher``, ...); the route, ``dps``,
        ``agreement_digits`` and its info as attributes."""
        import json

        data = {
            "eps_g": (("time",), self.eps_g, {"long_name": "generalisation error (DMFT)"}),
            "bias": (("time",), self.bias, {"long_name": "bias part of eps_g"}),
            "variance": (("time",), self.variance, {"long_name": "eps_g - bias"}),
        }
        for name, values in self.terms.items():
            data[f"term_{name}"] = (("time",), np.asarray(values, dtype=float), {"long_name": f"eps_g from {name}"})
        attrs = {
            "method": self.method,
            "info": json.dumps(self.info, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)),
        }
        if self.dps is not None:
            attrs.update(dps=int(self.dps), agreement_digits=float(self.agreement_digits))
        coords = {"time": ("time", np.asarray(self.times, dtype=float), {"long_name": "training time t"})}
        return labelled_dataset(data, coords, attrs)

    def as_dict(self) -> dict:
        return {
            "times": self.times,
            "eps_g": self.eps_g,
            "bias": self.bias,
            "variance": self.variance,
            "terms": self.terms,
            "method": self.method,
            "dps": self.dps,
            "agreement_digits": self.agreement_digits,
            "info": self.info,
        }


def _check_result(name: str, values: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(values)):
        raise NumericalFailure(f"DMFT produced a non-finite {name}; try method='volterra' or a higher dps")
    return values


def _at_time_zero(model: RandomFeatureModel) -> float:
    return 0.5 * float(np.dot(model.eta, model.teacher_variances))


def _laplace_float(model: RandomFeatureModel, t: np.ndarray) -> tuple[dict, np.ndarray]:
    lowered = rf_module("numpy")
    eta, d, P, g = model.eta, model.teacher_variances, float(model.P), model.gamma
    zeta, omega = laplace.talbot_nodes()
    z = zeta[None, :] / t[:, None]
    kappa, R = laplace.collective_response(z, eta, P, g)
    _, R_half = laplace.collective_response(z / 2, eta, P, g)
    transforms = lowered.eps_kernels(z, R, R_half, g, model.noise, model.T)
    terms = {name: laplace.invert(values, t, omega) for name, values in zip(TERMS, transforms)}
    mean = np.empty((t.size, eta.size))
    chunk = max(1, 2_000_000 // (eta.size * zeta.size))
    for start in range(0, t.size, chunk):
        sl = slice(start, start + chunk)
        values = lowered.mean_factor(kappa[sl, :, None], z[sl, :, None], eta[None, None, :], P)
        mean[sl] = laplace.invert(values, t[sl], omega)
    if not model.isotropic_teacher:
        terms["teacher"] = _teacher_two_point(model, t, z, kappa, zeta, omega)
    bias = 0.5 * (mean**2) @ (eta * d)
    return terms, bias


def _teacher_two_point(model, t, z, kappa, zeta, omega) -> np.ndarray:
    r"""Teacher error for an anisotropic teacher from :math:`C(z_1,z_2)` and a 2-D Talbot sum.

    :math:`C = P B/(P - S\Sigma_1\Sigma_2)` with :math:`B = \sum_l \eta_l d_l \hat m_l(z_1)\hat m_l(z_2)`
    and :math:`S = \sum_l \eta_l^2 G_l(z_1) G_l(z_2)`, on the full (conjugate-completed) contour.
    """
    lowered = rf_module("numpy")
    eta, d, P, g = model.eta, model.teacher_variances, float(model.P), model.gamma
    full_z = np.concatenate([z, np.conj(z[:, 1:])], axis=1)
    full_k = np.concatenate([kappa, np.conj(kappa[:, 1:])], axis=1)
    weights = np.concatenate([omega[:1], omega[1:] / 2, np.conj(omega[1:]) / 2])
    out = np.empty(t.size)
    for n in range(t.size):
        zn, kn = full_z[n], full_k[n]
        mu = zn + g
        mean = lowered.mean_factor(kn[:, None], zn[:, None], eta[None, :], P)  # (2M-1, N)
        G = kn[:, None] / (mu[:, None] * (kn[:, None] + P * eta[None, :]))
        B = (mean * (eta * d)) @ mean.T
        S = (G * eta**2) @ G.T
        sig = mu * P / kn
        C = lowered.two_point(zn[:, None], zn[None, :], P, 0.0, B, S, 0.0, sig[:, None], sig[None, :])
        out[n] = 0.5 * np.real(weights @ C @ weights) / t[n] ** 2
    return out


def _laplace_mp(model: RandomFeatureModel, times) -> tuple[dict, list]:
    """Terms and bias as lists of ``mpf``, correct to about the caller's working precision.

    Every input is taken from ``model`` as written (:func:`theorykit.core.precision.lift`) and
    mapped onto the summed-loss convention here, at the working precision: a mean-loss
    model's :math:`P\\gamma`, :math:`PT` and :math:`t/P` never pass through floats.  The
    Talbot node count follows the working precision; the sums run with ``M + 10`` digits.
    """
    lowered = rf_module("mpmath")
    digits = mpmath.mp.dps
    M = laplace.nodes_for_digits(digits)
    terms = {name: [] for name in TERMS}
    bias = []
    with mpmath.workdps(M + 10):
        eta = _mp_spectrum(model)
        eta_float = np.array([float(e) for e in eta])
        d = [mpmath.mpf(k) ** -lift(model.teacher_exponent) for k in range(1, model.N + 1)]
        P = mpmath.mpf(model.P)
        per_sample = P if model.loss == "mean" else 1  # summed convention: gamma, T times P; t over P
        g, T = lift(model.gamma) * per_sample, lift(model.T) * per_sample
        s = lift(model.noise)
        zeta, omega = laplace.talbot_nodes_mp(M)
        for time in times:
            tn = lift(time) / per_sample
            zs = [zj / tn for zj in zeta]
            closures = []
            for scale in (1, 2):
                mus = [zj / scale + g for zj in zs]
                guess = laplace.solve_closure(np.array([[complex(m) for m in mus]]), eta_float, float(model.P))[0]
                closures.append(laplace.solve_closure_mp(mus, eta, P, guess))
            kap, kap_h = closures
            sums = dict.fromkeys(TERMS, mpmath.mpf(0))
            for zj, wj, kj, khj in zip(zs, omega, kap, kap_h):
                R = lowered.collective_response(kj, zj + g)
                Rh = lowered.collective_response(khj, zj / 2 + g)
                for name, value in zip(TERMS, lowered.eps_kernels(zj, R, Rh, g, s, T)):
                    sums[name] += mpmath.re(wj * value)
            for name in TERMS:
                terms[name].append(sums[name] / tn)
            bias_sum = mpmath.mpf(0)
            for e, dk in zip(eta, d):
                m = mpmath.fsum(mpmath.re(wj * lowered.mean_factor(kj, zj, e, P)) for zj, wj, kj in zip(zs, omega, kap))
                bias_sum += e * dk * (m / tn) ** 2
            bias.append(bias_sum / 2)
    return terms, bias


def _two_precisions(model: RandomFeatureModel, times, dps: int) -> tuple[dict, np.ndarray, dict, Precise]:
    """The Laplace route by :func:`theorykit.core.precision.two_precisions`: floats, strings at ``dps``, the evaluation."""

    def compute() -> dict:
        terms, bias = _laplace_mp(model, times)
        return {"terms": terms, "bias": bias, "eps_g": [mpmath.fsum(v) for v in zip(*terms.values())]}

    evaluation = two_precisions(compute, dps)
    value = evaluation.value
    precise = evaluation.strings({"eps_g": value["eps_g"], "bias": value["bias"]})
    floats = {name: np.array([float(v) for v in values]) for name, values in value["terms"].items()}
    return floats, np.array([float(v) for v in value["bias"]]), precise, evaluation


def _mp_spectrum(model: RandomFeatureModel) -> list:
    """Kernel eigenvalues recomputed at the working precision (not converted from floats)."""
    if model.eigenvalues is not None:
        return [lift(v) for v in model.eigenvalues]
    a = lift(model.a)
    raw = [mpmath.mpf(k) ** (-(1 + a)) for k in range(1, model.N + 1)]
    if model.normalization == "sum":
        total = mpmath.fsum(raw)
        raw = [r / total for r in raw]
    return raw


def solve_rf(
    model: RandomFeatureModel,
    times,
    method: str = RANDOM_FEATURES.default("method"),
    dps: int | None = RANDOM_FEATURES.default("dps"),
    **options,
) -> RFTheory:
    r"""DMFT learning curve :math:`\varepsilon_g(t)` with its bias-variance split.

    Parameters
    ----------
    model : RandomFeatureModel
    times : array_like
        Strictly increasing, non-negative times in the model's convention.
    method : {"laplace", "volterra", "decoupled"}
    dps : int, optional
        Digits for the high-precision Laplace route (:data:`theorykit.core.schema.DPS_RULE`;
        isotropic teacher); the result fails with :class:`~theorykit.core.errors.NumericalFailure`
        unless its two evaluations agree on ``dps`` digits.
    **options
        Passed to the Volterra route (``step``, ``max_points``).

    Returns
    -------
    RFTheory

    Examples
    --------
    >>> from theorykit.rf import RandomFeatureModel, solve_rf
    >>> curve = solve_rf(RandomFeatureModel(N=50, P=20, a=1.0), [0.0, 1.0, 10.0])
    >>> bool(curve.eps_g[0] > curve.eps_g[1] > curve.eps_g[2] > 0)
    True
    """
    times = check_times(times)
    method = RANDOM_FEATURES.check("method", method)
    if dps is not None:
        dps = RANDOM_FEATURES.check("dps", dps)
        if method != "laplace":
            raise CaseError("dps", "high precision is available for method='laplace' only")
        if not model.isotropic_teacher:
            raise CaseError("dps", "high precision supports the isotropic teacher (teacher_exponent = 0) only")
    summed = model.summed()
    t = times * model.time_scale
    positive = t > 0
    terms = {name: np.zeros(t.size) for name in TERMS}
    bias = np.zeros(t.size)
    info: dict = {}
    agreement = None
    tp = t[positive]
    if tp.size:
        if method == "laplace" and dps is None:
            part, part_bias = _laplace_float(summed, tp)
            info = {"talbot_nodes": laplace.FLOAT_NODES}
        elif method == "laplace":
            # from the model as written and the times as given: the summed convention is
            # applied at the working precision inside
            part, part_bias, precise, evaluation = _two_precisions(model, times[positive], dps)
            agreement = evaluation.require("random-feature DMFT (Laplace route)").agreement_digits
            info = {
                "talbot_nodes": [laplace.nodes_for_digits(d) for d in evaluation.working_dps],
                **evaluation.as_dict(),
                "precise": precise,
            }
        elif method == "volterra":
            part, part_bias, info = volterra_terms(summed, tp, **options)
        else:
            part, part_bias = decoupled_terms(summed, tp)
        for name in TERMS:
            terms[name][positive] = part[name]
        bias[positive] = part_bias
    terms["teacher"][~positive] = _at_time_zero(summed)
    bias[~positive] = _at_time_zero(summed)
    eps = _check_result("eps_g", sum(terms.values()))
    bias = _check_result("bias", bias)
    return RFTheory(times, eps, bias, eps - bias, terms, method, dps, agreement, info)


def stationary_error(model: RandomFeatureModel) -> dict:
    r"""The :math:`t\to\infty` state (the Bayesian posterior for ``T > 0``; ridge regression for ``T = 0``).

    From the derived stationary kernels: combinations of :math:`R(0) = \mathrm{tr}[\eta A^{-1}]`
    and :math:`R'(0) = -\mathrm{tr}[\eta A^{-2}]`, with :math:`R'(0)` from implicit
    differentiation of the closure.  Needs ``gamma > 0``.

    Returns
    -------
    dict
        ``eps_g`` and its ``teacher``, ``labels``, ``thermal`` parts, and ``kappa``.
    """
    summed = model.summed()
    if summed.gamma <= 0:
        raise CaseError("gamma", "the stationary (t -> infinity) state needs gamma > 0")
    if not summed.isotropic_teacher:
        raise CaseError("teacher_exponent", "the stationary error is implemented for the isotropic teacher")
    lowered = rf_module("numpy")
    eta, P, g = summed.eta, float(summed.P), summed.gamma
    mu = np.array([[g + 0j]])
    kappa = laplace.solve_closure(mu, eta, P)[0, 0].real
    _, slope_terms = lowered.kappa_terms(kappa, eta, P)
    dkappa = 1.0 / lowered.slope(slope_terms.sum())  # F(kappa, mu) = kappa - mu - ...: dkappa/dmu = 1/F_kappa
    R0 = kappa / g - 1.0
    dR0 = dkappa / g - kappa / g**2
    parts = dict(zip(TERMS, lowered.stationary(R0, dR0, g, summed.noise, summed.T)))
    return {"eps_g": float(sum(parts.values())), **{k: float(v) for k, v in parts.items()}, "kappa": float(kappa)}
