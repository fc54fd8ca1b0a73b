"""Direct one-pass SGD of the finite-N committee machine, vectorised over seeds.

Same conventions as the theory (``docs/physics.md``): inputs ``x ~ N(0, Sigma)`` drawn in
Sigma's eigenbasis (``x_d = sqrt(lambda_{k(d)}) z_d``), pre-activations ``a = J x / sqrt(N)``,
``b = B x / sqrt(N)``, update ``J_i += eta / sqrt(N) * delta_i x`` with
``delta_i = c_K g'(a_i) (zeta - sigma)``, one fresh example per step, ``alpha = steps / N``.

All seeds advance together: one step is a handful of array operations on (S, K, N) arrays.

Observables at each requested alpha, per seed:

* ``r, q`` -- per-mode overlaps measured from the weights (the independent check of the ODE);
* ``eps_g`` -- generalisation error on a fixed test set of ``n_test`` fresh inputs per seed
  (Monte Carlo; relative sampling error about ``sqrt(2 / n_test)``);
* ``eps_g_overlaps`` -- the exact error given the measured overlaps (noise-free in ``n_test``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...core.errors import CaseError, NumericalFailure
from ...core.output import ReprAsHTML, labelled_dataset
from ...core.progress import Progress
from ..compiled import compile_model
from ..derive.activations import get_activation
from ..model import CommitteeModel
from ..solve.eigenmode import EigenmodeSystem
from ..solve.initial import Overlaps, block_sizes, overlaps_from_weights, random_weights
from ..solve.integrate import check_alpha, check_eta
from .backends import make_steps, resolve_backend


@dataclass(frozen=True)
class SimulationResult(ReprAsHTML):
    """SGD trajectories for ``S`` seeds at ``T`` output times.

    Attributes
    ----------
    alpha : ndarray (T,)
    eps_g, eps_g_overlaps : ndarray (S, T)
        The test-set Monte Carlo error and the exact error of the measured overlaps.
    R, Q : ndarray (S, T, K, M), (S, T, K, K)
        The aggregated overlaps, sums over modes of ``lambda_k r_k`` and ``lambda_k q_k`` (the
        student blocks of the pre-activation covariance).
    r, q : ndarray (S, T, L, K, M), (S, T, L, K, K) or None
        Per mode; ``None`` unless recorded (``record_modes``).
    t : ndarray (S, L, M, M) or None
        Per-mode teacher overlaps of each seed's teacher; ``None`` unless recorded.
    seeds : list of int
    N : int
    backend : str
        Where the steps ran (``"numpy"``, ``"numba"`` or ``"torch"``).
    v : ndarray (S, T, K) or None
        The students' read-out weights with a per-unit read-out (``model.second_layer``).
    """

    alpha: np.ndarray
    eps_g: np.ndarray
    eps_g_overlaps: np.ndarray
    R: np.ndarray
    Q: np.ndarray
    r: np.ndarray | None
    q: np.ndarray | None
    t: np.ndarray | None
    seeds: list
    N: int
    model: CommitteeModel = field(repr=False)
    eta: float = 0.0
    backend: str = "numpy"
    v: np.ndarray | None = None

    def mean(self, name: str = "eps_g") -> np.ndarray:
        return getattr(self, name).mean(axis=0)

    def __repr__(self) -> str:
        m = self.model
        return (
            f"SimulationResult(K={m.K}, M={m.M}, L={m.spectrum.L}, N={self.N}, eta={self.eta:g}, "
            f"{len(self.seeds)} seeds, {len(self.alpha)} times in alpha [{self.alpha[0]:g}, {self.alpha[-1]:g}], "
            f"mean eps_g at the end {self.mean()[-1]:.4g}, backend {self.backend!r})"
        )

    def to_xarray(self):
        """The trajectories as an :class:`xarray.Dataset`: dimensions ``seed``, ``alpha``, ``mode``,
        ``student``/``student2``, ``teacher``/``teacher2``; variables ``eps_g`` (test-set Monte
        Carlo), ``eps_g_overlaps`` (from the measured overlaps), the aggregated ``R``, ``Q`` and,
        when recorded, per-mode ``r``, ``q``, ``t``; attributes: the model, eta, N, the backend and
        the theorykit version."""
        import json

        data = {
            "eps_g": (("seed", "alpha"), self.eps_g, {"long_name": "generalisation error on a test set"}),
            "eps_g_overlaps": (
                ("seed", "alpha"),
                self.eps_g_overlaps,
                {"long_name": "generalisation error from the measured overlaps"},
            ),
            "R": (("seed", "alpha", "student", "teacher"), self.R, {"long_name": "sum_k lam_k r_k"}),
            "Q": (("seed", "alpha", "student", "student2"), self.Q, {"long_name": "sum_k lam_k q_k"}),
        }
        if self.v is not None:
            data["v"] = (("seed", "alpha", "student"), self.v, {"long_name": "read-out weight v_i of each student"})
        if self.r is not None:
            data["r"] = (("seed", "alpha", "mode", "student", "teacher"), self.r, {"long_name": "per-mode R"})
            data["q"] = (("seed", "alpha", "mode", "student", "student2"), self.q, {"long_name": "per-mode Q"})
            data["t"] = (("seed", "mode", "teacher", "teacher2"), self.t, {"long_name": "per-mode T of each teacher"})
        coords = {
            "seed": ("seed", np.asarray(self.seeds)),
            "alpha": ("alpha", self.alpha, {"long_name": "alpha = SGD steps / N"}),
        }
        attrs = {
            "eta": float(self.eta),
            "N": int(self.N),
            "backend": self.backend,
            "model": json.dumps(self.model.settings()),
        }
        return labelled_dataset(data, coords, attrs)

    def spread(self, name: str = "eps_g") -> np.ndarray:
        """Standard deviation over seeds (0 for a single seed)."""
        values = getattr(self, name)
        return values.std(axis=0, ddof=1) if values.shape[0] > 1 else np.zeros(values.shape[1:])


def weights_from_overlaps(ov: Overlaps, N: int, sizes: np.ndarray, rng: np.random.Generator, K: int):
    """Random weights whose per-block overlaps equal ``ov`` exactly (needs ``N_k >= K + M``).

    Block ``k`` gets ``X = sqrt(N) F U^T`` with ``F F^T = Omega^(k)`` and ``U`` a random
    ``N_k x n`` matrix with orthonormal columns, so ``X X^T / N = Omega^(k)``.
    """
    om = ov.omega()
    n = om.shape[-1]
    blocks = []
    for mode, size in enumerate(sizes):
        if size < n:
            raise CaseError(
                "N",
                f"eigenspace {mode} has {size} directions; building weights with given overlaps needs at least K + M = {n}",
            )
        evals, evecs = np.linalg.eigh(om[mode])
        F = evecs * np.sqrt(np.clip(evals, 0, None))
        U, _ = np.linalg.qr(rng.standard_normal((size, n)))
        blocks.append(np.sqrt(N) * F @ U.T)
    X = np.concatenate(blocks, axis=1)
    return X[:K], X[K:]


#: Rows of a test set drawn at once.  A seed's test set is drawn again, from its own key, at every
#: output time rather than held: ``n_test x N`` doubles per seed add up (1.6 GB for 200 seeds at
#: Fig. 6 size, more than the weights), while drawing them again costs ~10 ms per seed and time.
TEST_BLOCK = 512


def held_out_error(seed: int, n_test: int, scale, J: np.ndarray, B: np.ndarray, g, cK, cM) -> float:
    r""":math:`\tfrac12\langle(\sigma - \zeta)^2\rangle` over the fixed test set of ``seed``:
    ``n_test`` inputs from the generator keyed ``[seed, 3]``, drawn in blocks of :data:`TEST_BLOCK`
    rows (the same inputs at every call), without output noise.  ``cK``, ``cM``: the read-out
    weights, one number for all units (classic) or one per student / teacher."""
    rng = np.random.default_rng([seed, 3])
    N = J.shape[1]
    total = 0.0
    for start in range(0, n_test, TEST_BLOCK):
        x = rng.standard_normal((min(TEST_BLOCK, n_test - start), N))
        x *= scale
        a, b = x @ J.T / np.sqrt(N), x @ B.T / np.sqrt(N)
        if np.ndim(cK) == 0:
            total += float(np.sum((cK * g(a).sum(1) - cM * g(b).sum(1)) ** 2))
        else:
            total += float(np.sum((g(a) @ cK - g(b) @ cM) ** 2))
    return 0.5 * total / n_test


def simulate(
    model: CommitteeModel,
    eta: float,
    alpha,
    N: int,
    seeds: list[int] | int = 4,
    init: Overlaps | None = None,
    sigma_J: float = 0.01,
    teacher_seed: int | None = 0,
    n_test: int = 2000,
    progress: bool | None = None,
    trained_dims: int | None = None,
    backend: str = "auto",
    record_modes: bool = True,
) -> SimulationResult:
    """Run online SGD for several seeds at once.

    Parameters
    ----------
    model : CommitteeModel
    eta : float
    alpha : sequence of float
        Output times (strictly increasing, >= 0); each is rounded to ``round(alpha N)`` steps.
    N : int
        Input dimension.
    seeds : int or list of int
        Seeds (one trajectory each); an int ``S`` means ``range(S)``.
    init : Overlaps, optional
        Start every seed from weights built to have exactly these per-mode overlaps (a
        random microscopic realisation per seed).  Default: teacher entries N(0, 1) drawn
        from ``teacher_seed`` and shared by all seeds (``teacher_seed=None``: each seed draws
        its own teacher), student entries N(0, sigma_J^2) per seed.
    n_test : int
        Test inputs per seed for the Monte Carlo ``eps_g``.
    trained_dims : int, optional
        Train only the first ``trained_dims`` input directions (those of the largest
        eigenvalues, in Sigma's eigenbasis): the update uses the input projected on them.
    backend : {"auto", "numpy", "numba", "torch"}
        Where the steps run (:mod:`theorykit.committee.simulate.backends`): ``"auto"`` takes PyTorch on a
        GPU when one is visible, else the compiled numba loop when it can compile the
        activation, else NumPy.  Observables are always computed in NumPy.
    record_modes : bool
        Keep the per-mode overlaps ``r``, ``q``, ``t`` (default).  They take ``L K (K + M)``
        doubles per seed and output time -- at Fig. 6 size (K = M = 40, L = 512) 6.5 MB, 40 times
        the student's weights -- so for many seeds pass ``False``: the aggregated ``R``, ``Q``
        and both errors are recorded either way, and the memory then grows with the weights
        only (200 seeds at Fig. 6 size: under 2 GB, tested).
    """
    eta = check_eta(eta)
    alpha = check_alpha(alpha)
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seeds = list(range(int(seeds)))
    if not seeds:
        raise CaseError("seeds", "need at least one seed")
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 2:
        raise CaseError("N", f"must be an integer >= 2, got {N!r}")
    S, K, M = len(seeds), model.K, model.M
    sizes = block_sizes(model.spectrum.f, N)
    scale = np.repeat(np.sqrt(model.spectrum.lam), sizes)  # sqrt(lambda) per input direction
    act = get_activation(model.activation).numeric()
    g = act.derivative(0)
    J = np.empty((S, K, N))
    B = np.empty((S, M, N))
    rngs = [np.random.default_rng([seed, 1]) for seed in seeds]
    if init is None:
        if teacher_seed is None:  # a fresh teacher per seed, from that seed's generator
            B[:] = np.stack([rng.standard_normal((M, N)) for rng in rngs])
        else:  # the teacher of random_overlaps(model, N, sigma_J, teacher_seed)
            _, B[:] = random_weights(model, N, sigma_J, teacher_seed)
        J[:] = np.stack([sigma_J * rng.standard_normal((K, N)) for rng in rngs])
    else:
        for s, rng in enumerate(rngs):
            J[s], B[s] = weights_from_overlaps(init, N, sizes, rng, K)
    cK, cM, sqrtN = model.c_K, model.c_M, np.sqrt(N)
    if trained_dims is not None and not (isinstance(trained_dims, (int, np.integer)) and 1 <= trained_dims <= N):
        raise CaseError("trained_dims", f"must be an integer in [1, {N}], got {trained_dims!r}")
    mask = np.ones(N) if trained_dims is None else (np.arange(N) < trained_dims).astype(float)
    readout = None  # per-unit read-out weights: every seed starts from the given v
    if model.per_unit_readout:
        layer = model.second_layer
        readout = (np.tile(layer.student, (S, 1)), np.asarray(layer.teacher), layer.eta / N)
    steps = make_steps(
        resolve_backend(backend, model.activation),
        J,
        B,
        scale,
        mask,
        model.activation,
        [seeds[0], S, 2],
        (cK, cM, eta, sqrtN, model.noise, 1.0 - eta * model.weight_decay / N),
        **({} if readout is None else {"readout": readout}),
    )
    compiled = compile_model(model, "numpy")
    targets = np.rint(alpha * N).astype(np.int64)
    lam = model.spectrum.lam
    eps, eps_ov, Rs, Qs, rs, qs, vs = [], [], [], [], [], [], []
    teachers = []

    def record(J, v) -> None:
        # one seed at a time: the per-mode overlaps of all seeds at once would take S times as much
        e_mc, e_ov, R, Q, r, q = [], [], [], [], [], []
        for s in range(S):
            ov = overlaps_from_weights(J[s], B[s], sizes)
            system = EigenmodeSystem(model, compiled, eta, ov.t)  # cheap: arrays, no code
            state = system.pack(ov.r, ov.q, None if v is None else v[s])
            e_ov.append(float(system.eps_g(state)))
            weights = (cK, cM) if v is None else (v[s], readout[1])
            e_mc.append(held_out_error(seeds[s], n_test, scale, J[s], B[s], g, *weights))
            R.append(np.tensordot(lam, ov.r, axes=1))
            Q.append(np.tensordot(lam, ov.q, axes=1))
            if record_modes:
                r.append(ov.r)
                q.append(ov.q)
                if len(teachers) < S:
                    teachers.append(ov.t)
        eps.append(e_mc)
        eps_ov.append(e_ov)
        Rs.append(R)
        Qs.append(Q)
        if record_modes:
            rs.append(r)
            qs.append(q)
        if v is not None:
            vs.append(np.array(v))

    step = 0
    with Progress(float(targets[-1]), "simulate", progress) as bar:
        for target in targets:
            while step < target:
                chunk = min(target - step, 4096)
                try:
                    steps.advance(chunk)
                except NumericalFailure:
                    raise NumericalFailure(
                        f"SGD diverged before alpha = {(step + chunk) / N:.4g} (eta = {eta} too large?)"
                    ) from None
                step += chunk
                bar.update(step)
            record(steps.student(), steps.student_readout())
    return SimulationResult(
        alpha=alpha,
        eps_g=np.asarray(eps).T,
        eps_g_overlaps=np.asarray(eps_ov).T,
        R=np.swapaxes(np.asarray(Rs), 0, 1),
        Q=np.swapaxes(np.asarray(Qs), 0, 1),
        r=np.swapaxes(np.asarray(rs), 0, 1) if record_modes else None,
        q=np.swapaxes(np.asarray(qs), 0, 1) if record_modes else None,
        t=np.asarray(teachers) if record_modes else None,
        v=np.swapaxes(np.asarray(vs), 0, 1) if vs else None,
        seeds=list(seeds),
        N=N,
        model=model,
        eta=eta,
        backend=steps.name,
    )
