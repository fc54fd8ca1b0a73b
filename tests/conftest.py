import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Generated code goes to one cache per test session unless the caller chose a directory,
# so tests never depend on (or pollute) a user's cache.
if "THEORYKIT_CACHE_DIR" not in os.environ:
    os.environ["THEORYKIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="theorykit-test-cache-")

# Hypothesis budgets.  "ci" (the default run): few examples, derandomised so a green main stays
# green.  "long": the same properties with many random examples --
#   python -m pytest tests/committee/test_properties.py tests/rf/test_rf_properties.py tests/cli/test_fuzz.py --hypothesis-profile=long
# Tests scale their own budget from settings.default.max_examples (cheap fuzzing gets more).
_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile("ci", max_examples=15, derandomize=True, **_COMMON)
settings.register_profile("long", max_examples=400, **_COMMON)
settings.load_profile(os.environ.get("THEORYKIT_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def random_covariance(rng, n, scale=1.0):
    """A random positive-definite covariance with O(1) entries."""
    A = rng.standard_normal((n, n + 2))
    return scale * A @ A.T / (n + 2)
