"""Empirical spectra: eigenvalues of a data matrix, a power-law fit of beta, and the theory fed with them.

* :func:`empirical_spectrum` -- eigenvalues of the sample covariance of ``X`` (rows = samples),
  largest first.  Directions with zero variance (constant features, or fewer samples than
  features) are dropped and counted: they carry no signal and cannot be learned.
* :func:`fit_power_law` -- least-squares fit of :math:`\\log\\lambda_k = \\log c - (1+\\beta)\\log k`
  over a rank window; the uncertainty of beta is the standard deviation over bootstrap
  resamples of the *rows* (the data-sampling error), next to the regression standard error.
* :func:`trainable_floors` -- the linear-network floor :math:`\\varepsilon_g(\\infty)` when only
  the top ``N_l`` directions are trained (teacher with isotropic overlaps, student from zero),
  which tracks :math:`N_l^{-\\beta}` for a power law.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..core.errors import CaseError
from ..data import EXAMPLES
from .linear_network import trainable_floor
from .model import CommitteeModel, Spectrum
from .solve.initial import Overlaps


def load_example(name: str) -> np.ndarray:
    """A data matrix shipped with theorykit (see ``theorykit/data/README.md``)."""
    if name not in EXAMPLES:
        raise CaseError("example", f"unknown example {name!r}; accepted: {sorted(EXAMPLES)}")
    with resources.files("theorykit.data").joinpath(EXAMPLES[name]).open("rb") as handle:
        return np.load(handle, allow_pickle=False).astype(float)


def load_matrix(path: str | Path) -> np.ndarray:
    """Read a ``.npy`` array (never with pickles); errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise CaseError("DATA", f"no such file: {path}")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise CaseError(
            "DATA", f"{path.name} is not a readable .npy array without pickles: {str(exc).splitlines()[0]}"
        ) from None


def _check_matrix(X) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype == object or not np.issubdtype(X.dtype, np.number):
        raise CaseError("DATA", f"must be a numeric array, got dtype {X.dtype}")
    X = X.astype(float)
    if X.ndim != 2:
        raise CaseError("DATA", f"must be a 2-d matrix (rows = samples), got {X.ndim} dimensions")
    if X.shape[0] < 2 or X.shape[1] < 2:
        raise CaseError("DATA", f"needs at least 2 samples and 2 features, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise CaseError("DATA", f"holds {int(np.sum(~np.isfinite(X)))} NaN/inf entries")
    return X


@dataclass(frozen=True)
class EmpiricalSpectrum:
    eigenvalues: np.ndarray  # positive, largest first
    dropped: int  # zero-variance directions removed
    n_samples: int


def empirical_spectrum(X, relative_tol: float = 1e-10) -> EmpiricalSpectrum:
    """Eigenvalues of the sample covariance of ``X`` (rows = samples), largest first.

    Eigenvalues below ``relative_tol`` times the largest are zero-variance directions: they
    are dropped and counted.  A matrix with no positive eigenvalue (constant data) is rejected.
    """
    X = _check_matrix(X)
    centred = X - X.mean(axis=0)
    cov = centred.T @ centred / (X.shape[0] - 1)
    evals = np.linalg.eigvalsh(cov)[::-1]
    if evals[0] <= 0:
        raise CaseError("DATA", "the covariance has no positive eigenvalue (constant data)")
    keep = evals > relative_tol * evals[0]
    return EmpiricalSpectrum(evals[keep], int(np.sum(~keep)), X.shape[0])


def check_spectrum(values) -> np.ndarray:
    """A given 1-d spectrum: positive and finite, sorted largest first."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size < 2:
        raise CaseError("spectrum", "must be a 1-d list of at least 2 eigenvalues")
    if not np.all(np.isfinite(values)):
        raise CaseError("spectrum", "holds NaN/inf eigenvalues")
    if np.any(values <= 0):
        raise CaseError(
            "spectrum", f"eigenvalues must be > 0 (a covariance spectrum); {int(np.sum(values <= 0))} are not"
        )
    return np.sort(values)[::-1]


@dataclass(frozen=True)
class PowerLawFit:
    """:math:`\\lambda_k \\approx c\\,k^{-(1+\\beta)}` on ranks ``k_min..k_max``."""

    beta: float
    beta_stderr: float  # regression standard error
    beta_bootstrap_std: float | None  # spread over row resamples
    c: float
    k_min: int
    k_max: int


def _fit(evals: np.ndarray, k_min: int, k_max: int) -> tuple[float, float, float]:
    k = np.arange(k_min, k_max + 1)
    y = np.log(evals[k_min - 1 : k_max])
    A = np.stack([np.ones_like(k, dtype=float), -np.log(k)], axis=1)
    coef, res, *_ = np.linalg.lstsq(A, y, rcond=None)
    dof = max(len(k) - 2, 1)
    sigma2 = float(res[0]) / dof if res.size else 0.0
    cov = sigma2 * np.linalg.inv(A.T @ A)
    return float(coef[1] - 1.0), float(np.sqrt(cov[1, 1])), float(np.exp(coef[0]))


def fit_power_law(
    evals, k_min: int = 2, k_max: int | None = None, X=None, bootstrap: int = 50, seed: int = 0
) -> PowerLawFit:
    """Fit beta on ranks ``k_min..k_max`` (default: 2 .. half the spectrum).

    With the data matrix ``X``, ``bootstrap`` row resamples give the sampling spread of beta.
    """
    evals = check_spectrum(evals)
    k_max = k_max or max(k_min + 2, len(evals) // 2)
    if not (1 <= k_min < k_max <= len(evals)) or k_max - k_min < 2:
        raise CaseError(
            "k_min/k_max", f"need 1 <= k_min < k_max <= {len(evals)} with at least 3 ranks, got {k_min}..{k_max}"
        )
    beta, stderr, c = _fit(evals, k_min, k_max)
    spread = None
    if X is not None and bootstrap:
        X = _check_matrix(X)
        rng = np.random.default_rng(seed)
        betas = []
        for _ in range(bootstrap):
            sample = X[rng.integers(0, X.shape[0], X.shape[0])]
            resampled = empirical_spectrum(sample).eigenvalues
            if len(resampled) >= k_max:
                betas.append(_fit(resampled, k_min, k_max)[0])
        spread = float(np.std(betas, ddof=1)) if len(betas) > 1 else None
    return PowerLawFit(beta, stderr, spread, c, k_min, k_max)


def trainable_floors(evals, n_values, eta: float = 1e-3) -> np.ndarray:
    """Linear-network floor :math:`\\varepsilon_g(\\infty)` for each number of trained directions.

    The spectrum is normalised to :math:`\\sum_k f_k\\lambda_k = 1` (``f_k = 1/L``); the teacher has
    per-mode overlap ``f_k`` and the student starts from zero, so :math:`e_k(0) = f_k`.
    """
    evals = check_spectrum(evals)
    L = len(evals)
    lam = evals / evals.mean()
    spectrum = Spectrum.explicit(lam.tolist())
    model = CommitteeModel(1, 1, spectrum, "linear")
    f = spectrum.f
    init = Overlaps(np.zeros((L, 1, 1)), np.zeros((L, 1, 1)), f[:, None, None].copy())
    return np.array([trainable_floor(model, eta, init, int(n)) for n in n_values])
