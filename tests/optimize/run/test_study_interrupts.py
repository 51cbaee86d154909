import os
import signal

import pytest

from mipro.optimize.run.study import _interrupts_deferred


@pytest.fixture
def default_ctrl_c():
    """Python's own SIGINT handler for the test (an earlier test may have installed another)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_inside_the_block_arrives_after_it(default_ctrl_c):
    done = []
    with pytest.raises(KeyboardInterrupt):
        with _interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("write")
    assert done == ["write"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
