"""Ctrl-C is never lost, even when Python swallows its KeyboardInterrupt in a finalizer."""

import os
import signal
import time

import pytest

from mipro.cli.interrupt import CtrlC


class PressesCtrlCWhenCollected:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)  # the KeyboardInterrupt is raised here, where Python ignores it


@pytest.fixture
def default_sigint():
    """SIGINT as an interactive Python has it (a background job may have it ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_ctrl_c_swallowed_by_a_finalizer_stops_the_run_at_the_next_trial_end(default_sigint,
                                                                               capsys):
    ctrl_c = CtrlC()
    with ctrl_c.installed():
        PressesCtrlCWhenCollected()
        assert ctrl_c.pressed  # the run went on...
        with pytest.raises(KeyboardInterrupt):
            ctrl_c.on_trial_end(None)  # ...until its next trial ended
    assert "KeyboardInterrupt" not in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_without_ctrl_c_trials_go_on(default_sigint):
    ctrl_c = CtrlC()
    with ctrl_c.installed():
        ctrl_c.on_trial_end(None)
        ctrl_c.on_full_evaluation(None)
    assert not ctrl_c.pressed


def test_an_ignored_sigint_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with CtrlC().installed():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
