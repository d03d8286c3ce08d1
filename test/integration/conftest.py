import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack  # noqa: E402


@pytest.fixture(scope="module")
def stack(request):
    # A module that compares captured samples may ask for a longer JACK
    # period (JACK_PERIOD): see stack.CAPTURE_PERIOD.
    period = getattr(request.module, "JACK_PERIOD", None)
    env = {"CUEBOX_JACK_PERIOD": str(period)} if period else None
    s = Stack(request.module.__name__.split(".")[-1].replace("test_", "")[:12], env=env)
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def quiet(stack):
    from stack import silence
    silence(stack)
    yield
