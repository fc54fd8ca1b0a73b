r"""Exact simulation of the finite random-feature model, averaged over data sets.

On a fixed data set the dynamics :math:`dw = -(Aw - \Psi^\top y)\,dt + \sqrt{2T}\,dW` with
:math:`A = \Psi^\top\Psi + \gamma` is linear, so it is solved exactly in the eigenbasis of
:math:`A` (from one SVD of :math:`\Psi`; no time stepping).  With :math:`w(0)=0`,

.. math::

    \bar w(t) = M(t)\,w^* + F(t)\,\Psi^\top s\epsilon,\qquad
    M = g_t(A),\ g_t(\lambda) = \frac{(1-e^{-\lambda t})(\lambda-\gamma)}{\lambda},\quad
    F = \frac{1-e^{-At}}{A},

and the Langevin fluctuation has covariance :math:`T A^{-1}(1-e^{-2At})`.  The averages over
the teacher, the label noise and the Langevin noise are Gaussian and are taken exactly; only
the data set (the random matrix :math:`\Psi`) is sampled, ``draws`` times.

The bias needs the data-averaged mean :math:`\mathbb E_\Psi[M]`, which is diagonal (flipping
the sign of a column of :math:`z` maps :math:`M \to SMS`), so
:math:`\mathrm{bias} = \tfrac12\sum_k \eta_k d_k (1 - \mathbb E_\Psi M_{kk})^2`; the estimate
subtracts the sampling variance of the mean (it is unbiased, not just consistent).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.output import labelled_dataset
from ..core.progress import Progress
from .model import RandomFeatureModel, check_times
from .schema import RANDOM_FEATURES


@dataclass(frozen=True)
class RFSimulation:
    """Data-set averages of the exact finite-model learning curves.

    Attributes
    ----------
    times : ndarray
    eps_g, bias, variance : ndarray
        :math:`\\varepsilon_g(t)`, bias and ``eps_g - bias``.
    eps_g_se : ndarray
        Standard error of ``eps_g`` over the draws.
    per_draw : ndarray, shape (draws, len(times))
        :math:`\\varepsilon_g` of each data set (averaged over teacher and noises).
    draws, seed : int
    """

    times: np.ndarray
    eps_g: np.ndarray
    eps_g_se: np.ndarray
    bias: np.ndarray
    variance: np.ndarray
    per_draw: np.ndarray
    draws: int
    seed: int

    def __repr__(self) -> str:
        return (
            f"RFSimulation({self.draws} draws, seed {self.seed}: {len(self.times)} times, "
            f"eps_g {self.eps_g[0]:.4g} -> {self.eps_g[-1]:.4g})"
        )

    def to_xarray(self):
        """The averages as an :class:`xarray.Dataset` over ``time`` (and ``draw`` for ``per_draw``)."""
        data = {
            "eps_g": (("time",), self.eps_g, {"long_name": "generalisation error, mean over data sets"}),
            "eps_g_se": (("time",), self.eps_g_se, {"long_name": "standard error of eps_g over the draws"}),
            "bias": (("time",), self.bias, {"long_name": "bias part of eps_g"}),
            "variance": (("time",), self.variance, {"long_name": "eps_g - bias"}),
            "per_draw": (("draw", "time"), self.per_draw, {"long_name": "eps_g of each data set"}),
        }
        attrs = {"draws": int(self.draws), "seed": int(self.seed)}
        coords = {"time": ("time", np.asarray(self.times, dtype=float), {"long_name": "training time t"})}
        return labelled_dataset(data, coords, attrs)


def _langevin_weight(lam: np.ndarray, times: np.ndarray) -> np.ndarray:
    r""":math:`(1-e^{-2\lambda t})/\lambda`, equal to :math:`2t` at :math:`\lambda=0`."""
    lt = np.outer(lam, times)
    safe = np.where(lam > 0, lam, 1.0)[:, None]
    return np.where(lam[:, None] > 0, -np.expm1(-2.0 * lt) / safe, 2.0 * times[None, :])


def _one_draw(model: RandomFeatureModel, eta, d, times, rng) -> tuple[np.ndarray, np.ndarray]:
    """Return (eps_g(t) averaged over teacher and noises, diag M(t)) for one data set."""
    Z = rng.standard_normal((model.P, model.N))
    _, sv, Vt = np.linalg.svd(Z * np.sqrt(eta), full_matrices=False)
    s2 = sv**2
    lam = s2 + model.gamma
    W = (Vt**2).T  # W[k, i] = V_ki^2: weight of eigenvector i on mode k
    decay = np.exp(-np.outer(lam, times))
    safe = np.where(lam > 0, lam, 1.0)[:, None]
    phi = np.where(lam[:, None] > 0, (1.0 - decay) * (s2 / safe[:, 0])[:, None], 0.0)  # g_t(lambda_i)
    f = np.where(lam[:, None] > 0, (1.0 - decay) / safe, times[None, :])  # (1 - e^{-lt}) / l
    M_diag = W @ phi
    if model.isotropic_teacher:
        teacher = W @ phi**2 - 2.0 * M_diag + 1.0
    else:
        MDM = np.empty_like(M_diag)
        for n in range(times.size):
            M = (Vt.T * phi[:, n]) @ Vt
            MDM[:, n] = (M**2) @ d
        teacher = MDM - 2.0 * M_diag * d[:, None] + d[:, None]
    labels = model.noise**2 * (W @ (f**2 * s2[:, None]))
    null_space = 1.0 - W.sum(axis=1)  # modes' weight outside the row space of Psi (eigenvalue gamma)
    thermal = model.T * (
        W @ _langevin_weight(lam, times) + null_space[:, None] * _langevin_weight(np.array([model.gamma]), times)
    )
    eps = 0.5 * eta @ (teacher + labels + thermal)
    return eps, M_diag


def simulate_rf(
    model: RandomFeatureModel,
    times,
    draws: int = RANDOM_FEATURES.default("simulation.draws"),
    seed: int = RANDOM_FEATURES.default("simulation.seed"),
    progress: bool | None = None,
) -> RFSimulation:
    r"""Average the exact learning curves of ``draws`` independent data sets.

    Parameters
    ----------
    model : RandomFeatureModel
    times : array_like
        Strictly increasing times (in the model's own convention, see ``model.loss``).
    draws : int
        Number of data sets (``>= 2``, so that a standard error exists).
    seed : int
        Seed of the data sets; the same seed gives bit-identical results.
    progress : bool, optional
        Progress (:mod:`theorykit.core.progress`): False for none; default a bar on a terminal, log lines elsewhere.

    Returns
    -------
    RFSimulation
    """
    times = check_times(times)
    draws = RANDOM_FEATURES.check("simulation.draws", draws)
    seed = RANDOM_FEATURES.check("simulation.seed", seed)
    summed = model.summed()
    t_sum = times * model.time_scale
    eta, d = summed.eta, summed.teacher_variances
    rng = np.random.default_rng(seed)
    per_draw = np.empty((draws, times.size))
    m_sum = np.zeros((summed.N, times.size))
    m_sq = np.zeros_like(m_sum)
    with Progress(draws, "rf simulate", enabled=progress) as bar:
        for n in range(draws):
            per_draw[n], M_diag = _one_draw(summed, eta, d, t_sum, rng)
            m_sum += M_diag
            m_sq += M_diag**2
            bar.update(n + 1)
    m_mean = m_sum / draws
    m_var = np.maximum(m_sq / draws - m_mean**2, 0.0) * draws / (draws - 1)
    bias = 0.5 * (eta * d) @ ((1.0 - m_mean) ** 2 - m_var / draws)
    eps = per_draw.mean(axis=0)
    return RFSimulation(
        times=times,
        eps_g=eps,
        eps_g_se=per_draw.std(axis=0, ddof=1) / np.sqrt(draws),
        bias=bias,
        variance=eps - bias,
        per_draw=per_draw,
        draws=draws,
        seed=seed,
    )
