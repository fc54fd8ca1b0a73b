import os
import tempfile

import numpy as np
import pytest

# Generated code goes to one cache per test session unless the caller chose a directory,
# so tests never depend on (or pollute) a user's cache.
if "THEORYKIT_CACHE_DIR" not in os.environ:
    os.environ["THEORYKIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="theorykit-test-cache-")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def random_covariance(rng, n, scale=1.0):
    """A random positive-definite covariance with O(1) entries."""
    A = rng.standard_normal((n, n + 2))
    return scale * A @ A.T / (n + 2)
