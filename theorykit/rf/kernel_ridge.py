r"""Published closed form: generalisation error of kernel ridge regression.

Canatar, Bordelon & Pehlevan, *Spectral bias and task-model alignment explain
generalization in kernel regression and infinitely wide neural networks*, Nat. Commun. 12,
2914 (2021), eqs. (4)-(5), written for a loss summed over samples with ridge :math:`\lambda`:

.. math::

    \kappa = \lambda + \kappa\sum_k \frac{\eta_k}{P\eta_k+\kappa},\qquad
    \gamma_C = \sum_k \frac{P\eta_k^2}{(P\eta_k+\kappa)^2},\qquad
    E_g = \frac{1}{1-\gamma_C}\sum_k \frac{\eta_k \bar w_k^2\,\kappa^2}{(P\eta_k+\kappa)^2}
          + \sigma^2\frac{\gamma_C}{1-\gamma_C}.

Coded here independently of the DMFT (plain floats, scipy's ``brentq``) so that the
Bayesian / t -> infinity limit of :mod:`theorykit.rf` can be checked against it
(:math:`\varepsilon_g = E_g/2` for the posterior mean).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq


def krr_error(eta: np.ndarray, teacher_var: np.ndarray, P: int, ridge: float, noise_var: float) -> float:
    """:math:`E_g` of kernel ridge regression (``ridge > 0``)."""

    def closure(kappa: float) -> float:
        return kappa - ridge - kappa * np.sum(eta / (P * eta + kappa))

    kappa = brentq(closure, ridge, ridge + eta.sum() + 1.0, xtol=1e-15, rtol=1e-15, maxiter=500)
    denom = (P * eta + kappa) ** 2
    gamma_c = np.sum(P * eta**2 / denom)
    return float((np.sum(eta * teacher_var * kappa**2 / denom) + noise_var * gamma_c) / (1.0 - gamma_c))
