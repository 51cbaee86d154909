"""A server outage in the middle of a run, over real HTTP: nothing is scored for it, the run
stops with an error, and running again resumes to a complete run with every score true."""

import pytest

from mipro import OpenAILM, RunInterruptedError
from mipro.errors import LMUnavailableError
from mipro.optimize import MIPRO
from mipro.testing import SimulatedProgram, exact_answer, make_examples
from mipro.testing.served import Outage, SimulatedServer
from mipro.testing.truth import mis_scored

TRAIN, VAL = make_examples(40), make_examples(30, start=100)


def served_run(tmp_path, server):
    lm = OpenAILM("simulated", base_url=server.base_url, api_key="not-needed",
                  prompt_format="completion", structured="none", timeout=2.0, max_retries=2,
                  backoff=0.05, cache=None)
    optimizer = MIPRO(exact_answer, task_lm=lm, auto=None, num_candidates=3, num_trials=6,
                      minibatch_size=10, full_eval_every=3, seed=0, verbose=False,
                      run_name="run", storage=f"sqlite:///{tmp_path / 'study.db'}")
    optimizer.compile(SimulatedProgram(), TRAIN, VAL)
    return optimizer.result


@pytest.mark.parametrize("outage", [
    Outage(after_requests=150, seconds=3.0),   # down for a few seconds, then up again
    Outage(after_requests=150, seconds=None),  # down for the rest of the run
], ids=["down-then-up", "down-for-good"])
def test_server_outage_mid_run_is_never_scored_and_a_rerun_completes(tmp_path, outage):
    server = SimulatedServer(outage=outage)
    with server.running():
        with pytest.raises(RunInterruptedError) as caught:
            served_run(tmp_path, server)
        assert isinstance(caught.value.cause, LMUnavailableError)
        assert f"nothing answers at {server.base_url}" in str(caught.value)
        assert "during the search" in str(caught.value)
        stopped_at = server.requests
        server.end_outage()  # the user brings the server back and runs the same command again
        result = served_run(tmp_path, server)
    assert len(result.trials) == 6
    assert mis_scored(result, VAL, TRAIN) == []
    assert stopped_at >= outage.after_requests
    assert server.requests > stopped_at
