"""An optimizer run on the simulated task that SIGKILLs itself at a chosen moment, for resume tests.

``run_killable(storage, settings, KILL_AT="trial:3:5")`` runs ``main`` in a fresh process (from
the repository root). It compiles ``SimulatedProgram`` with ``OPTIMIZERS[optimizer](metric,
task_lm=KillableLM(), **settings)`` on ``make_examples(train)`` and
``make_examples(val, start=train)`` and prints the result as JSON (``outcome``). ``KILL_AT`` in
the environment names the moment the process kills itself:

- ``metric:N``: the N-th metric call; ``lm:N``: the N-th real LM call;
- ``proposal:N``: the N-th call of the instruction proposer;
- ``record:N``: just before the N-th trial recorded with ``add_trial`` is written (for MIPRO++,
  after its proposal model was told the trial's score);
- ``trial:K:N`` / ``full_evaluation:K:N`` / ``holdout:K:N``: the N-th metric call of the K-th
  trial minibatch / full evaluation / held-out evaluation of selection this process runs (the
  baseline is full evaluation 1 and held-out evaluation 1).

The killed run, its resumption and an uninterrupted run all use this metric and LM, so they are
the same run to the fingerprint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from mipro.lm.base import LMRequest, LMResponse
from mipro.optimize import OPTIMIZERS, Optimizer
from mipro.optimize.run.records import OptimizationResult
from mipro.optimize.run.study import RunStudy
from mipro.optimize.search import Search
from mipro.program import Example, Prediction
from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples

ROOT = Path(__file__).resolve().parents[2]
_counts: Counter[str] = Counter()
_phase = ["", 0]
"""The evaluation under way: its kind ("Trial", "Full evaluation") and its number."""
_lock = threading.Lock()


def _count(*events: str) -> None:
    """Count ``events``; die when one of them is the moment ``KILL_AT`` names."""
    with _lock:
        _counts.update(events)
        moments = {f"{event}:{_counts[event]}" for event in events}
    if os.environ.get("KILL_AT") in moments:
        os.kill(os.getpid(), signal.SIGKILL)


def metric(example: Example, prediction: Prediction) -> bool:
    """``exact_answer``, counting its calls overall and within the evaluation under way."""
    kind = {"Trial": "trial", "Held-out evaluation": "holdout"}.get(_phase[0], "full_evaluation")
    _count("metric", f"{kind}:{_phase[1]}")
    return exact_answer(example, prediction)


class KillableLM(SimulatedLM):
    """``SimulatedLM``, counting its real calls and its proposer calls."""

    def _generate(self, request: LMRequest) -> LMResponse:
        proposing = (request.prompt or "").endswith("Proposed Instruction:")
        _count("lm", *(["proposal"] if proposing else []))
        return super()._generate(request)


def _track_moments() -> None:
    """Number the trial and full evaluations and the recorded trials, so that ``KILL_AT`` can
    name a moment in one."""
    evaluate, add_trial = Search._evaluate, RunStudy.add_trial

    def recorded(study: RunStudy, *args: Any, **kwargs: Any) -> Any:
        _count("record")
        return add_trial(study, *args, **kwargs)

    def tracked(search: Search, configuration: Any, examples: Any, what: str, **options: Any) -> Any:
        with _lock:
            _counts[what] += 1
            _phase[:] = [what, _counts[what]]
        return evaluate(search, configuration, examples, what, **options)

    Search._evaluate = tracked  # type: ignore[method-assign]
    RunStudy.add_trial = recorded  # type: ignore[method-assign]


def compile_run(storage: str, settings: dict[str, Any]) -> tuple[Optimizer, KillableLM]:
    """Compile the simulated program with ``settings`` (plus ``optimizer``, ``train``, ``val``)."""
    options = {"auto": None, "seed": 0, "verbose": False, "run_name": "run", **settings}
    name, train, val = options.pop("optimizer", "mipro"), options.pop("train", 60), options.pop("val", 40)
    lm = KillableLM()
    optimizer = OPTIMIZERS[name](metric, task_lm=lm, storage=storage, **options)
    optimizer.compile(SimulatedProgram(), make_examples(train), make_examples(val, start=train))
    return optimizer, lm


def outcome(result: OptimizationResult) -> dict[str, Any]:
    """What a resumed run must reproduce: trials, full evaluations, the winner and what became
    of the proposals."""
    return {
        "trials": [[t.number, t.configuration, list(t.minibatch_ids), t.minibatch_score]
                   for t in result.trials],
        "full_evaluations": [[e.configuration, e.score, e.after_trial]
                             for e in result.full_evaluations],
        "best": result.best_configuration,
        "best_score": result.best_score,
        "stopped_by_budget": result.stopped_by_budget,
        "skipped_proposals": result.skipped_proposals,
        "rejected_proposals": dict(result.rejected_proposals),
    }


def main() -> None:
    _track_moments()
    storage, settings = sys.argv[1], json.loads(sys.argv[2])
    if "START_AT" in os.environ:  # processes started together begin at the same moment
        time.sleep(max(0.0, float(os.environ["START_AT"]) - time.time()))
    optimizer, lm = compile_run(storage, settings)
    assert optimizer.result is not None and optimizer.result.candidates is not None
    print(json.dumps({**outcome(optimizer.result), "lm_calls": lm.usage.calls,
                      "proposals": _counts["proposal"],
                      "candidates": optimizer.result.candidates.to_json()}))


def start_killable(storage: str, settings: dict[str, Any], **environment: Any) -> subprocess.Popen[str]:
    """``main`` in a fresh process, with ``environment`` (e.g. ``KILL_AT="lm:50"``) added."""
    script = "from tests.optimize.killable import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", script, storage, json.dumps(settings)], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, **{name: str(value) for name, value in environment.items()}},
    )


def run_killable(storage: str, settings: dict[str, Any],
                 **environment: Any) -> subprocess.CompletedProcess[str]:
    """``main`` in a fresh process, run to its end (or its kill)."""
    process = start_killable(storage, settings, **environment)
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
