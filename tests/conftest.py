import os

import pytest
import torch
from hypothesis import HealthCheck, settings

# "ci" keeps the suite quick on a two-core machine; HYPOTHESIS_PROFILE=deep explores further.
settings.register_profile("ci", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config):
    config.addinivalue_line("markers", "compile: runs torch.compile (slow); deselect with -m 'not compile'")


@pytest.fixture
def float64_default():
    """Make float64 the default dtype for one test, then restore the old default."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
