"""Where the SGD steps of :func:`theorykit.committee.simulate.sgd.simulate` run: NumPy, numba or PyTorch.

One step for all ``S`` seeds at once (shapes ``J: (S, K, N)``, ``B: (S, M, N)``)::

    a = J x / sqrt(N),  b = B x / sqrt(N)
    delta_i = c_K g'(a_i) (c_M sum_n g(b_n) [+ noise] - c_K sum_i g(a_i))
    J += eta / sqrt(N) * delta x^T - (eta kappa / N) J   (x restricted to the trained directions;
                                                          kappa the weight decay, delta from the old J)

With per-unit read-out weights (``readout = (v, v_teacher, step_v)``: ``v`` (S, K) the students',
``v_teacher`` (M,), ``step_v = eta_v / N``) the outputs are ``sum_i v_i g(a_i)`` and
``sum_n v*_n g(b_n)``, ``delta_i = v_i g'(a_i)(zeta - sigma)``, and after each step
``v_i += step_v g(a_i)(zeta - sigma)`` (from the same, old, weights).

The chunk driver (:func:`_advance`) and the student update (:func:`_update_students`) are
written once against the few array operations NumPy and PyTorch share; each backend supplies
only its random numbers, its activation functions and its finiteness check, and numba swaps in
a compiled student update.  The teacher does not learn, so its fields ``b`` for a whole chunk
of steps come from one batched product instead of one small product per step.

Backends
--------
``"numpy"``
    The CPU path; needs nothing beyond NumPy.
``"torch"``
    PyTorch on CUDA when a GPU is visible, otherwise on the CPU.  Optional dependency
    (``pip install torch``); batching many seeds is what makes a GPU pay off, since the steps
    themselves are sequential.
``"numba"``
    The CPU path with the per-step student update compiled (numba): the same random inputs
    and teacher fields as ``"numpy"``, the same arithmetic in a compiled loop, so the two agree
    to round-off.  Much faster where NumPy's per-call overhead dominates (small K and N).
    Needs numba and an activation it can compile (``erf``, ``linear``, ``relu``).
``"cuda"``
    One fused kernel per chunk of steps on a GPU (numba's CUDA target;
    :mod:`theorykit.committee.simulate.cuda_steps`): inputs drawn in the kernel from Philox
    keyed by seed and step, the numba stepper's arithmetic (round-off agreement on identical
    inputs, tested through the CUDA simulator).  Classic read-out only, so far.
``"auto"``
    ``"cuda"`` when numba sees a real GPU and the activation compiles for it, else ``"torch"``
    when PyTorch is installed *and* a CUDA device is visible, else ``"numba"`` when numba is
    installed and can compile the activation, else ``"numpy"``.

NumPy and numba draw the same inputs and agree to round-off; PyTorch draws from its own stream:
for identical seeds each backend is bit-for-bit reproducible on one machine, and PyTorch agrees
with the others in distribution (tested), not sample by sample.
"""

from __future__ import annotations

import numpy as np

from ...core.errors import CaseError, NumericalFailure
from ...core.optional import numba_available
from ..schema import SGD_BACKENDS

BACKENDS = SGD_BACKENDS


def torch_cuda_available() -> bool:
    """Whether PyTorch is importable and sees a CUDA device."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def resolve_backend(name: str, activation="erf") -> str:
    """Map a backend name to the one that will run (``"numpy"``, ``"numba"`` or ``"torch"``)."""
    if name not in BACKENDS:
        raise CaseError("backend", f"must be one of {list(BACKENDS)}, got {name!r}")
    if name == "auto":
        if gpu_visible() and _cuda_compiles(activation):
            return "cuda"
        if torch_cuda_available():
            return "torch"
        return "numba" if numba_activation(activation) is not None else "numpy"
    if name == "cuda":
        from .cuda_steps import cuda_usable

        if not cuda_usable():
            raise CaseError(
                "backend",
                "'cuda' needs numba's CUDA target and a visible GPU (NUMBA_ENABLE_CUDASIM=1 simulates one); use 'numba'",
            )
        if not _cuda_compiles(activation):
            raise CaseError(
                "backend", "'cuda' needs an activation that compiles for CUDA (erf, linear, relu); use 'numba'"
            )
    if name == "numba" and numba_activation(activation) is None:
        raise CaseError("backend", "'numba' needs numba installed and an activation it can compile; use 'numpy'")
    if name == "torch":
        try:
            import torch  # noqa: F401
        except ImportError:
            raise CaseError("backend", "'torch' needs PyTorch installed (pip install torch); use 'numpy'") from None
    return name


def gpu_visible() -> bool:
    """A real CUDA GPU for numba's CUDA target (not the simulator, which ``auto`` never picks)."""
    if not numba_available():
        return False
    from numba import config

    if config.ENABLE_CUDASIM:
        return False
    from .cuda_steps import cuda_usable

    return cuda_usable()


def _cuda_compiles(activation) -> bool:
    from .cuda_steps import cuda_activation

    try:
        return cuda_activation(activation) is not None
    except Exception:  # an activation the CUDA target cannot lower
        return False


#: Largest block of random inputs drawn at once, in bytes: a chunk of steps holds ``chunk x S x N``
#: inputs, so with many seeds (200 at Fig. 6 size: 0.8 MB per step) chunks are cut to this size and
#: the memory stays that of the weights plus this block.  Below it (most runs) chunks are unchanged.
INPUT_BLOCK_BYTES = 2**27


def chunk_steps(chunk: int, seeds: int, N: int) -> int:
    """``chunk`` steps, or fewer when their inputs would exceed :data:`INPUT_BLOCK_BYTES`."""
    return max(1, min(chunk, INPUT_BLOCK_BYTES // (8 * seeds * N)))


def _advance(ops, n_steps: int, chunk: int) -> None:
    """``n_steps`` SGD steps of ``ops`` (a stepper) in place, ``chunk`` at a time."""
    _, cM, _, sqrtN, noise, _ = ops.coefficients
    S, _, N = ops.J.shape
    chunk = chunk_steps(chunk, int(S), int(N))
    done = 0
    while done < n_steps:
        size = min(chunk, n_steps - done)
        x = ops.inputs(size)  # (size, S, N), already scaled by sqrt(lambda)
        # teacher fields for the chunk, one batched product per seed: (S, size, N) @ (S, N, M);
        # B is never broadcast over the steps (B[None] @ x[..., None] made PyTorch allocate
        # size x S x M x N -- 156 GiB at Fig. 6 size with 1000 seeds)
        b = (x.swapaxes(0, 1) @ ops.B.swapaxes(1, 2)).swapaxes(0, 1) / sqrtN  # (size, S, M)
        target = cM * ops.g(b).sum(-1) if ops.readout is None else ops.g(b) @ ops.readout[1]
        if noise:
            target = target + noise * ops.normal((size, target.shape[-1]))
        ops.update_students(x, target)
        done += size
    if not ops.all_finite(ops.J):
        raise NumericalFailure("SGD diverged (weights not finite); eta too large?")


def _update_students(ops, x, target) -> None:
    """The student updates of one chunk, a step at a time (array operations; NumPy and PyTorch)."""
    cK, _, eta, sqrtN, _, shrink = ops.coefficients
    J, xm = ops.J, x if ops.trains_all else x * ops.mask  # no copy of the inputs when all are trained
    if ops.readout is not None:
        _update_with_readout(ops, x, xm, target)
        return
    for step in range(x.shape[0]):
        a = (J @ x[step][..., None])[..., 0] / sqrtN  # (S, K)
        err = target[step] - cK * ops.g(a).sum(-1)
        delta = cK * ops.dg(a) * err[:, None]
        if shrink != 1.0:  # weight decay: J (1 - eta kappa / N), after delta was taken from the old J
            J *= shrink
        J += (eta / sqrtN) * delta[:, :, None] * xm[step][:, None, :]


def _update_with_readout(ops, x, xm, target) -> None:
    """:func:`_update_students` with per-unit read-out weights ``v`` (trained when ``step_v > 0``)."""
    _, _, eta, sqrtN, _, shrink = ops.coefficients
    J, (v, _, step_v) = ops.J, ops.readout
    for step in range(x.shape[0]):
        a = (J @ x[step][..., None])[..., 0] / sqrtN  # (S, K)
        ga = ops.g(a)
        err = target[step] - (ga * v).sum(-1)
        delta = v * ops.dg(a) * err[:, None]
        if shrink != 1.0:
            J *= shrink
        J += (eta / sqrtN) * delta[:, :, None] * xm[step][:, None, :]
        if step_v:
            v += step_v * ga * err[:, None]


class NumpySteps:
    """SGD steps on NumPy arrays (float64)."""

    name = "numpy"

    def __init__(self, J, B, scale, mask, activation, seed_key, coefficients, readout=None):
        self.readout = None if readout is None else (np.array(readout[0], dtype=float), *readout[1:])
        self.J = np.array(J, dtype=float)
        self.B = np.asarray(B, dtype=float)
        self.scale = np.asarray(scale, dtype=float)
        self.mask = np.asarray(mask, dtype=float)
        self.trains_all = bool((self.mask == 1.0).all())
        from ..derive.activations import get_activation

        act = get_activation(activation).numeric()
        self.g, self.dg = act.derivative(0), act.derivative(1)
        self.rng = np.random.default_rng(seed_key)
        self.coefficients = coefficients

    def inputs(self, size):
        x = self.rng.standard_normal((size, *self.J.shape[::2]))
        x *= self.scale  # in place: one block of inputs in memory, not two
        return x

    def normal(self, shape):
        return self.rng.standard_normal(shape)

    @staticmethod
    def all_finite(J) -> bool:
        return bool(np.isfinite(J).all())

    def update_students(self, x, target) -> None:
        _update_students(self, x, target)

    def advance(self, n_steps: int, chunk: int = 256) -> None:
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is checked on the weights
            _advance(self, n_steps, chunk)

    def student(self) -> np.ndarray:
        return self.J

    def student_readout(self) -> np.ndarray | None:
        """The students' read-out weights (S, K), or None for the classic fixed read-out."""
        return None if self.readout is None else self.readout[0]


class NumbaSteps(NumpySteps):
    """:class:`NumpySteps` with the per-step student update in a compiled loop."""

    name = "numba"

    def __init__(self, J, B, scale, mask, activation, seed_key, coefficients, readout=None):
        super().__init__(J, B, scale, mask, activation, seed_key, coefficients, readout)
        self.loop = _student_loop(activation, per_unit=readout is not None)

    def update_students(self, x, target) -> None:
        cK, _, eta, sqrtN, _, shrink = self.coefficients
        if self.readout is None:
            self.loop(self.J, x, target, self.mask, cK, eta / sqrtN, 1.0 / sqrtN, shrink)
        else:
            v, _, step_v = self.readout
            self.loop(self.J, v, x, target, self.mask, step_v, eta / sqrtN, 1.0 / sqrtN, shrink)

    def advance(self, n_steps: int, chunk: int = 1024) -> None:
        # larger chunks than NumPy's: one compiled call per chunk, nothing per step to amortise
        super().advance(n_steps, chunk)


def _float_constants(expr):
    """``expr`` with its numeric constants (sqrt(2), pi, ...) as 17-digit floats.

    Backends whose functions take arrays only (PyTorch) or compile scalars (numba) cannot be
    handed SymPy's exact constants.
    """
    import sympy as sp

    numbers = [a for a in expr.atoms(sp.Pow, sp.NumberSymbol) if a.is_number]
    return expr.xreplace({a: sp.Float(a.evalf(17), 17) for a in numbers})


def _activation_key(act) -> object:
    """Cache key of a compiled activation: its name, or its identity for a user callable."""
    return id(act) if hasattr(act, "fn") else act.name


_NUMBA_ACTIVATIONS: dict = {}


def scalar_activation(activation, compile):
    """``(g, g')`` as scalar functions handed to ``compile`` (``numba.njit``, or
    ``cuda.jit(device=True)``), or None for an activation given only as array code: a symbolic
    one lambdified onto ``math`` with its constants as floats, relu written out."""
    from ..derive.activations import SymbolicActivation, get_activation

    act = get_activation(activation)
    if isinstance(act, SymbolicActivation):
        import sympy as sp

        from ..derive.gaussian import z

        return tuple(compile(sp.lambdify(z, _float_constants(e), "math")) for e in (act.g, sp.diff(act.g, z)))
    if act.name == "relu":
        return compile(lambda v: v if v > 0.0 else 0.0), compile(lambda v: 1.0 if v > 0.0 else 0.0)
    return None


def numba_activation(activation):
    """Compiled ``(g, g')`` for numba, or ``None`` (numba missing, or an activation it cannot compile)."""
    from ..derive.activations import get_activation

    if not numba_available():
        return None
    act = get_activation(activation)
    key = _activation_key(act)
    if key in _NUMBA_ACTIVATIONS:
        return _NUMBA_ACTIVATIONS[key]
    import numba

    pair = scalar_activation(activation, numba.njit)
    if pair is not None:
        try:
            pair[0](0.5), pair[1](0.5)  # compile now: an activation numba cannot handle fails here
        except Exception:
            pair = None
    _NUMBA_ACTIVATIONS[key] = pair
    return pair


_LOOPS: dict = {}
_HELPERS: list = []


def _loop_helpers():
    """The compiled pieces both student loops share (built once): the student fields of one seed
    at one step, and one student's move (decay, then the gradient step)."""
    if _HELPERS:
        return _HELPERS[0]
    import numba

    @numba.njit(cache=False)
    def fields(J, x, step, s, a, inv_sqrtN):
        for i in range(J.shape[1]):
            acc = 0.0
            for n in range(J.shape[2]):
                acc += J[s, i, n] * x[step, s, n]
            a[i] = acc * inv_sqrtN

    @numba.njit(cache=False)
    def move(J, x, mask, step, s, i, d, shrink):
        if shrink != 1.0:  # weight decay, as in _update_students
            for n in range(J.shape[2]):
                J[s, i, n] *= shrink
        for n in range(J.shape[2]):
            J[s, i, n] += d * x[step, s, n] * mask[n]

    _HELPERS.append((fields, move))
    return fields, move


def _student_loop(activation, per_unit: bool = False):
    """The compiled per-step student update for one activation (cached per activation), with
    per-unit read-out weights when ``per_unit``."""
    from ..derive.activations import get_activation

    key = (_activation_key(get_activation(activation)), per_unit)
    if key in _LOOPS:
        return _LOOPS[key]
    import numba

    g, dg = numba_activation(activation)
    fields, move = _loop_helpers()

    if per_unit:

        @numba.njit(cache=False)
        def loop(J, v, x, target, mask, step_v, step_scale, inv_sqrtN, shrink):
            size, S, _ = x.shape
            K = J.shape[1]
            a = np.empty(K)
            for step in range(size):
                for s in range(S):
                    fields(J, x, step, s, a, inv_sqrtN)
                    sigma = 0.0
                    for i in range(K):
                        sigma += v[s, i] * g(a[i])
                    err = target[step, s] - sigma
                    for i in range(K):
                        move(J, x, mask, step, s, i, v[s, i] * dg(a[i]) * err * step_scale, shrink)
                    if step_v != 0.0:  # after the student step, from the same (old) v and a
                        for i in range(K):
                            v[s, i] += step_v * g(a[i]) * err

    else:

        @numba.njit(cache=False)
        def loop(J, x, target, mask, cK, step_scale, inv_sqrtN, shrink):
            size, S, _ = x.shape
            K = J.shape[1]
            a = np.empty(K)
            for step in range(size):
                for s in range(S):
                    fields(J, x, step, s, a, inv_sqrtN)
                    sigma = 0.0
                    for i in range(K):
                        sigma += g(a[i])
                    err = target[step, s] - cK * sigma
                    for i in range(K):
                        move(J, x, mask, step, s, i, cK * dg(a[i]) * err * step_scale, shrink)

    _LOOPS[key] = loop
    return loop


class TorchSteps:
    """SGD steps on PyTorch tensors (float64), on CUDA when available."""

    name = "torch"

    def __init__(self, J, B, scale, mask, activation, seed_key, coefficients, readout=None, device=None):
        import torch

        self.torch = torch
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        as_tensor = lambda a: torch.as_tensor(np.asarray(a, dtype=float), device=self.device)  # noqa: E731
        self.J = as_tensor(J).clone()
        self.readout = None if readout is None else (as_tensor(readout[0]).clone(), as_tensor(readout[1]), readout[2])
        self.B = as_tensor(B)
        self.scale = as_tensor(scale)
        self.mask = as_tensor(mask)
        self.trains_all = bool((self.mask == 1.0).all())
        self.g, self.dg = torch_activation(activation)
        seed = int(np.random.SeedSequence(seed_key).generate_state(1, np.uint64)[0] & (2**63 - 1))
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.coefficients = coefficients
        self.shape = (int(J.shape[0]), int(J.shape[2]))

    def inputs(self, size):
        return self.normal((size, *self.shape)).mul_(self.scale)

    def normal(self, shape):
        return self.torch.randn(shape, generator=self.generator, device=self.device, dtype=self.torch.float64)

    def all_finite(self, J) -> bool:
        return bool(self.torch.isfinite(J).all())

    def update_students(self, x, target) -> None:
        _update_students(self, x, target)

    def advance(self, n_steps: int, chunk: int = 1024) -> None:
        with self.torch.no_grad():
            _advance(self, n_steps, chunk)

    def student(self) -> np.ndarray:
        return self.J.cpu().numpy().copy()

    def student_readout(self) -> np.ndarray | None:
        return None if self.readout is None else self.readout[0].cpu().numpy().copy()


def torch_activation(activation):
    """``(g, g')`` as functions on tensors, for the activations PyTorch can evaluate.

    Symbolic activations are lowered from their SymPy expression (constants evaluated to double
    precision first, since PyTorch functions take tensors only); other activations are used as
    they are when their callables accept tensors (``relu``'s do).
    """
    import torch

    from ..derive.activations import SymbolicActivation, get_activation

    act = get_activation(activation)
    if isinstance(act, SymbolicActivation):
        import sympy as sp

        from ..derive.gaussian import z

        def lower(expr):
            expr = _float_constants(expr)
            fn = sp.lambdify(z, expr, "torch")
            return fn if expr.has(z) else (lambda x, c=float(expr): torch.full_like(x, c))

        return lower(act.g), lower(sp.diff(act.g, z))
    numeric = act.numeric()
    g, dg = numeric.derivative(0), numeric.derivative(1)
    probe = torch.linspace(-1.0, 1.0, 5, dtype=torch.float64)
    try:
        ok = all(isinstance(f(probe), torch.Tensor) for f in (g, dg))
    except Exception:  # a NumPy-only callable raises on a tensor
        ok = False
    if not ok:
        raise CaseError("backend", f"activation {act.name!r} has no PyTorch form; use backend 'numpy'")
    return g, dg


def make_steps(backend: str, *args, **kwargs):
    """The stepper of a resolved backend name (see :func:`resolve_backend`)."""
    if backend == "cuda":
        from .cuda_steps import CudaSteps

        return CudaSteps(*args, **kwargs)
    return {"numpy": NumpySteps, "numba": NumbaSteps, "torch": TorchSteps}[backend](*args, **kwargs)
