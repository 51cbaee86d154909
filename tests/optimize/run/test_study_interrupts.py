import os, signal, threading
import pytest
from mipro.optimize.run.study import _interrupts_deferred

def test_ctrl_c_inside_the_block_arrives_after_it():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with _interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("write")
    assert done == ["write"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
