r"""SGD steps in one fused CUDA kernel (numba's CUDA target): backend ``"cuda"``.

One thread block per seed, its threads over the N input directions; a launch runs a whole chunk
of steps.  Per step the block

1. draws its input x (N values) inside the kernel from Philox4x32-10 keyed by the seed and the
   step (:mod:`.philox`; the host can draw the same numbers), scaled by sqrt(lambda), into
   shared memory -- or, with *injected* inputs, reads them from an array (the test hook that
   makes the kernel and the numba stepper see identical inputs);
2. forms the K student fields a_i = J_i.x/sqrt(N) and the M teacher fields b_n = B_n.x/sqrt(N)
   (one tree reduction over the block per unit; B stays in global memory and L2);
3. takes the error and delta_i = c_K g'(a_i)(c_M sum_n g(b_n) [+ noise] - c_K sum_i g(a_i)), as
   the numba stepper does;
4. moves every J_i (decay first, then + eta/sqrt(N) delta_i x, restricted to the trained
   directions) -- the weights stay in global memory (K N doubles per seed do not fit in shared
   memory at Fig. 6 size: 160 kB).

Observables are computed on the host from the weights at the output times, as for every backend.
The arithmetic is the numba stepper's except for the order of the two field sums (a tree instead
of a loop), so the two agree to round-off on identical inputs (tested through numba's CUDA
simulator, ``NUMBA_ENABLE_CUDASIM=1``, on tiny sizes).  Per-unit read-out weights are not in the
kernel yet (refused in one line).

Not measured: no GPU was available when this was written; ``benchmarks/sgd_gpu.py`` is to be run
on one.
"""

from __future__ import annotations

import math

import numpy as np

from ...core.errors import CaseError, NumericalFailure
from . import philox

try:  # a module global: numba's CUDA simulator swaps it for its own inside the kernels
    from numba import cuda
except ImportError:  # numba is optional; cuda_usable() says False
    cuda = None

#: Threads per block (a power of two: the field sums are tree reductions).
THREADS = 128
#: ... in numba's CUDA simulator, where every thread is a Python thread (only the order of the
#: field sums changes with it).
SIMULATOR_THREADS = 8

_KERNELS: dict = {}


def cuda_usable() -> bool:
    """Whether numba's CUDA target can run here: a visible GPU, or the simulator
    (``NUMBA_ENABLE_CUDASIM=1``)."""
    if cuda is None:
        return False
    try:
        return bool(cuda.is_available())
    except Exception:  # a driver that fails to initialise: no GPU to use
        return False


def cuda_activation(activation):
    """``(g, g')`` as CUDA device functions, or None where the activation does not compile."""
    from .backends import scalar_activation

    return scalar_activation(activation, cuda.jit(device=True))


def _kernel(activation, N: int, K: int, M: int, threads: int):
    """The fused chunk kernel for one activation and shape (compiled once per process)."""
    from ..derive.activations import get_activation

    key = (get_activation(activation).name, N, K, M, threads)
    if key in _KERNELS:
        return _KERNELS[key]
    from numba import float64, uint64

    pair = cuda_activation(activation)
    if pair is None:
        raise CaseError("backend", f"activation {get_activation(activation).name!r} does not compile for CUDA")
    g, dg = pair
    units = K + M
    pairs = (N + 1) // 2
    mask32 = uint64(philox.MASK32)
    two_m53 = philox.TWO_M53
    rounds = cuda.jit(device=True)(philox.philox4x32)  # the host's Philox, compiled for the device

    @cuda.jit(device=True)
    def uniform_pair(c0, c1, c2, c3, k0, k1):
        c0, c1, c2, c3 = rounds(c0, c1, c2, c3, k0, k1)
        u1 = (float64(((c0 >> uint64(5)) << uint64(26)) | (c1 >> uint64(6))) + 0.5) * two_m53
        u2 = (float64(((c2 >> uint64(5)) << uint64(26)) | (c3 >> uint64(6))) + 0.5) * two_m53
        return u1, u2

    @cuda.jit(device=True)
    def normal_pair(m, step, stream, k0, k1):
        u1, u2 = uniform_pair(uint64(m), uint64(step) & mask32, uint64(step) >> uint64(32), uint64(stream), k0, k1)
        radius = math.sqrt(-2.0 * math.log(u1))
        angle = 2.0 * math.pi * u2
        return radius * math.cos(angle), radius * math.sin(angle)

    @cuda.jit
    def chunk(J, B, scale, mask, keys, x_in, noise_in, injected, step0, n_steps, coeffs, bad):
        s = cuda.blockIdx.x
        tid = cuda.threadIdx.x
        x = cuda.shared.array(N, float64)
        red = cuda.shared.array(threads, float64)
        fields = cuda.shared.array(units, float64)
        delta = cuda.shared.array(K, float64)
        cK, cM, step_scale, inv_sqrtN, shrink, noise = coeffs[0], coeffs[1], coeffs[2], coeffs[3], coeffs[4], coeffs[5]
        k0, k1 = uint64(keys[s, 0]), uint64(keys[s, 1])
        for t in range(n_steps):
            step = step0 + t
            if injected:
                for n in range(tid, N, threads):
                    x[n] = x_in[t, s, n]
            else:
                for m in range(tid, pairs, threads):
                    z0, z1 = normal_pair(m, step, philox.INPUT_STREAM, k0, k1)
                    x[2 * m] = z0 * scale[2 * m]
                    if 2 * m + 1 < N:
                        x[2 * m + 1] = z1 * scale[2 * m + 1]
            cuda.syncthreads()
            for u in range(units):
                acc = 0.0
                for n in range(tid, N, threads):
                    acc += (J[s, u, n] if u < K else B[s, u - K, n]) * x[n]
                red[tid] = acc
                cuda.syncthreads()
                stride = threads // 2
                while stride > 0:
                    if tid < stride:
                        red[tid] += red[tid + stride]
                    cuda.syncthreads()
                    stride //= 2
                if tid == 0:
                    fields[u] = red[0] * inv_sqrtN
                cuda.syncthreads()
            if tid == 0:
                target = 0.0
                for n in range(M):
                    target += g(fields[K + n])
                target *= cM
                if noise != 0.0:
                    if injected:
                        target += noise * noise_in[t, s]
                    else:
                        target += noise * normal_pair(0, step, philox.NOISE_STREAM, k0, k1)[0]
                sigma = 0.0
                for i in range(K):
                    sigma += g(fields[i])
                err = target - cK * sigma
                if not math.isfinite(err):  # the weights can only turn non-finite through err
                    bad[s] = 1
                for i in range(K):
                    delta[i] = cK * dg(fields[i]) * err * step_scale
            cuda.syncthreads()
            for i in range(K):
                d = delta[i]
                for n in range(tid, N, threads):
                    if shrink != 1.0:
                        J[s, i, n] *= shrink
                    J[s, i, n] += d * x[n] * mask[n]
            cuda.syncthreads()

    _KERNELS[key] = chunk
    return chunk


class CudaSteps:
    """SGD steps in the fused CUDA kernel (float64); the weights live on the device."""

    name = "cuda"

    def __init__(self, J, B, scale, mask, activation, seed_key, coefficients, readout=None, threads: int | None = None):
        if readout is not None:
            raise CaseError(
                "backend", "'cuda' does not include per-unit read-out weights yet; use 'numba', 'numpy' or 'torch'"
            )
        if threads is None:
            from numba import config

            threads = SIMULATOR_THREADS if config.ENABLE_CUDASIM else THREADS
        J = np.ascontiguousarray(J, dtype=float)
        S, K, N = J.shape
        self.shape = (S, K, N)
        M = np.shape(B)[1]
        self.kernel = _kernel(activation, N, K, M, threads)
        self.threads = threads
        self.J = cuda.to_device(J)
        self.B = cuda.to_device(np.ascontiguousarray(B, dtype=float))
        self.scale = cuda.to_device(np.ascontiguousarray(scale, dtype=float))
        self.mask = cuda.to_device(np.ascontiguousarray(mask, dtype=float))
        self.keys = np.array([philox.stream_key(seed_key, s) for s in range(S)], dtype=np.uint64)
        self._keys = cuda.to_device(self.keys)
        cK, cM, eta, sqrtN, noise, shrink = coefficients
        self.coeffs = cuda.to_device(np.array([cK, cM, eta / sqrtN, 1.0 / sqrtN, shrink, noise], dtype=float))
        self.steps_done = 0
        self._none = cuda.to_device(np.zeros((1, 1, 1)))
        self._no_noise = cuda.to_device(np.zeros((1, 1)))
        self._bad = cuda.to_device(np.zeros(S, dtype=np.int32))  # set by a seed whose error is not finite

    def advance(self, n_steps: int, chunk: int = 4096) -> None:
        """``n_steps`` steps with inputs drawn in the kernel (launches of up to ``chunk`` steps)."""
        done = 0
        while done < n_steps:
            size = min(chunk, n_steps - done)
            self._launch(size, self._none, self._no_noise, False)
            done += size
        if self._bad.copy_to_host().any():  # S flags, not the S x K x N weights
            raise NumericalFailure("SGD diverged (weights not finite); eta too large?")

    def advance_with(self, x: np.ndarray, noise: np.ndarray | None = None) -> None:
        """Steps on given inputs ``x`` (steps, S, N), already scaled, and label noise (steps, S):
        the hook that compares the kernel with the other steppers on identical inputs."""
        x = np.ascontiguousarray(x, dtype=float)
        noise = np.zeros(x.shape[:2]) if noise is None else np.ascontiguousarray(noise, dtype=float)
        self._launch(x.shape[0], cuda.to_device(x), cuda.to_device(noise), True)

    def _launch(self, n_steps: int, x_in, noise_in, injected: bool) -> None:
        """One kernel launch of ``n_steps`` steps, a block per seed."""
        self.kernel[self.shape[0], self.threads](
            self.J,
            self.B,
            self.scale,
            self.mask,
            self._keys,
            x_in,
            noise_in,
            injected,
            self.steps_done,
            n_steps,
            self.coeffs,
            self._bad,
        )
        self.steps_done += n_steps

    def inputs(self, step: int) -> np.ndarray:
        """The inputs (S, N) the kernel draws at ``step`` (host copy of the Philox stream)."""
        scale = self.scale.copy_to_host()
        return np.stack([philox.normals(tuple(int(w) for w in key), step, self.shape[2]) for key in self.keys]) * scale

    def student(self) -> np.ndarray:
        return self.J.copy_to_host()

    def student_readout(self) -> None:
        return None
