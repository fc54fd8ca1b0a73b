r"""Philox4x32-10, the counter-based generator the CUDA stepper draws its inputs from.

Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2, 3" (SC11; Random123).
A counter of four 32-bit words and a key of two are mixed by ten rounds of
``(hi, lo) = M * c`` products; equal (key, counter) give equal output on any machine, so the
CUDA kernel can draw the input of seed ``s``, step ``t``, direction ``n`` inside the kernel, in
any order, and the host can draw the very same numbers (this module) to check it.

The stream: seed key ``(k0, k1)``; the input pair ``(x_2m, x_2m+1)`` of step ``t`` is the
Box--Muller transform of the first two 53-bit uniforms of counter ``(m, t_lo, t_hi, 0)``
(words 0-1 and 2-3); label noise of step ``t`` uses ``(m, t_lo, t_hi, 1)``.  The rounds
(:func:`philox4x32`) are written once on unsigned 64-bit integers holding 32-bit words: they run
on NumPy arrays here and, compiled as a device function, on scalars in the kernel
(``theorykit.committee.simulate.cuda_steps``); the 53-bit uniforms and Box--Muller are written
again there on scalars.
"""

from __future__ import annotations

import numpy as np

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK32 = 0xFFFFFFFF
ROUNDS = 10
#: 2^-53: a 53-bit integer times this is a double in [0, 1).
TWO_M53 = 1.0 / 9007199254740992.0
#: Counter word 3 of the inputs and of the label noise.
INPUT_STREAM, NOISE_STREAM = 0, 1


def philox4x32(c0, c1, c2, c3, k0, k1):
    """Ten Philox rounds on uint64 arrays holding 32-bit words; returns the four output words."""
    for _ in range(ROUNDS):
        p0 = np.uint64(M0) * c0
        p1 = np.uint64(M1) * c2
        hi0, lo0 = p0 >> np.uint64(32), p0 & np.uint64(MASK32)
        hi1, lo1 = p1 >> np.uint64(32), p1 & np.uint64(MASK32)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 = (k0 + np.uint64(W0)) & np.uint64(MASK32)
        k1 = (k1 + np.uint64(W1)) & np.uint64(MASK32)
    return c0, c1, c2, c3


def stream_key(entropy, index: int) -> tuple[int, int]:
    """The Philox key (two 32-bit words) of seed ``index`` of a run whose generators are keyed
    by ``entropy`` (an int or a list of ints, as :class:`numpy.random.SeedSequence` takes)."""
    words = list(entropy) if np.ndim(entropy) else [entropy]
    mixed = np.random.SeedSequence([*words, index]).generate_state(2, dtype=np.uint32)
    return int(mixed[0]), int(mixed[1])


def _uniform(hi, lo):
    """A double in (0, 1) from two 32-bit words (53 random bits, never exactly 0)."""
    bits = ((hi >> np.uint64(5)) << np.uint64(26)) | (lo >> np.uint64(6))
    return (bits.astype(np.float64) + 0.5) * TWO_M53


def normals(key: tuple[int, int], step: int, count: int, stream: int = INPUT_STREAM) -> np.ndarray:
    """``count`` standard normals of ``step`` from ``key`` (Box--Muller on Philox uniforms)."""
    pairs = (count + 1) // 2
    m = np.arange(pairs, dtype=np.uint64)
    t = np.uint64(step)
    words = philox4x32(
        m,
        np.full(pairs, t & np.uint64(MASK32)),
        np.full(pairs, t >> np.uint64(32)),
        np.full(pairs, np.uint64(stream)),
        np.uint64(key[0]),
        np.uint64(key[1]),
    )
    u1, u2 = _uniform(words[0], words[1]), _uniform(words[2], words[3])
    radius = np.sqrt(-2.0 * np.log(u1))
    angle = 2.0 * np.pi * u2
    out = np.empty(2 * pairs)
    out[0::2] = radius * np.cos(angle)
    out[1::2] = radius * np.sin(angle)
    return out[:count]
