import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack  # noqa: E402


@pytest.fixture(scope="module")
def stack(request):
    s = Stack(request.module.__name__.split(".")[-1].replace("test_", "")[:12])
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def quiet(stack):
    from stack import silence
    silence(stack)
    yield
