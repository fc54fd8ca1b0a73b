r"""Certified enclosure of random-feature regression's stationary (ridge) error, in ball arithmetic."""

from __future__ import annotations

from ..core.balls import DEFAULT_PREC, Enclosure, ball, flint_module
from ..core.errors import CaseError
from ..core.schema import PREC_RULE


def rf_stationary_enclosure(model, prec: int = DEFAULT_PREC) -> dict:
    r"""Certified :math:`t\to\infty` error of random-feature regression with weight decay (``T = 0``).

    The stationary state is kernel ridge regression with ridge :math:`\gamma` (summed loss;
    :math:`P\gamma` for the mean loss): :math:`\kappa = \gamma + \kappa\sum_k\eta_k/(P\eta_k+\kappa)`
    and :math:`\varepsilon_g = \tfrac12\,[\sum_k \eta_k d_k\kappa^2/(P\eta_k+\kappa)^2 + s^2\gamma_C]
    /(1-\gamma_C)`, :math:`\gamma_C = \sum_k P\eta_k^2/(P\eta_k+\kappa)^2` (Canatar et al. 2021).
    :math:`\kappa` is enclosed by an interval Newton step that maps a ball around the float root
    strictly into itself (a proof that it holds exactly one root), every input exact.
    """
    from scipy.optimize import brentq

    flint = flint_module()
    if model.gamma <= 0:
        raise CaseError("gamma", "the certified stationary error needs weight decay gamma > 0 (a unique ridge limit)")
    if model.T != 0:
        raise CaseError("T", "the certified stationary error is implemented for T = 0 (the thermal part is not)")
    PREC_RULE.check(prec, "prec")
    arb = flint.arb
    N, P = model.N, model.P
    with flint.ctx.workprec(prec):
        if model.eigenvalues is not None:
            eta = [ball(v) for v in model.eigenvalues]
        else:
            raw = [arb(k) ** (-(1 + ball(model.a))) for k in range(1, N + 1)]
            total = sum(raw, arb(0)) if model.normalization == "sum" else raw[0]
            eta = [r / total for r in raw]
        d = [arb(k) ** (-ball(model.teacher_exponent)) for k in range(1, N + 1)]
        ridge = ball(model.gamma) * (P if model.loss == "mean" else 1)
        s2 = ball(model.noise) ** 2

        def F(k):
            return k - ridge - k * sum((e / (P * e + k) for e in eta), arb(0))

        def dF(k):
            return 1 - sum((P * e**2 / (P * e + k) ** 2 for e in eta), arb(0))

        floats = [float(e.mid()) for e in eta]
        g = float(ridge.mid())
        k0 = brentq(lambda k: k - g - k * sum(e / (P * e + k) for e in floats), g, g + sum(floats) + 1.0, xtol=1e-300)
        radius = max(abs(k0) * 1e-10, 1e-300)
        X = arb(k0, radius)
        m = arb(k0)
        newton = m - F(m) / dF(X)
        if not (dF(X) > 0 and X.contains_interior(newton)):
            raise CaseError("certify", "interval Newton could not prove a unique root of the ridge closure here")
        kappa = newton
        for _ in range(8):  # the root stays in every Newton image of a ball holding it; each step squares the width
            centre = arb(kappa.mid())
            kappa = centre - F(centre) / dF(kappa)
        denom = [(P * e + kappa) ** 2 for e in eta]
        gamma_c = sum((P * e**2 / q for e, q in zip(eta, denom)), arb(0))
        signal = sum((e * dk * kappa**2 / q for e, dk, q in zip(eta, d, denom)), arb(0))
        eps = (signal + s2 * gamma_c) / (1 - gamma_c) / 2
        out = {"stationary": {"eps_g": Enclosure.of(eps).as_list(), "kappa": Enclosure.of(kappa).as_list()}}
    return {"certified": True, "certify_prec_bits": prec, "enclosures": out}
