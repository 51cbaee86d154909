"""Reliability figures: runs killed and resumed, runs against a faulty server, bad inputs.

From the repository root (the committed ``results/reliability.json`` was made by the first)::

    python -m benchmarks.reliability                      # all three parts, about 10 minutes
    python -m benchmarks.reliability --parts kills --kills 20 --seed 1

Every run optimizes the simulated task (``mipro.testing``: a two-stage program whose LM
answers every prompt the same way every time), so each part runs in minutes on a CPU and the
true score of any configuration is known.

- **kills**: ``--kills`` runs, each SIGKILLed at a random moment (uniform over the duration of
  an uninterrupted run, drawn with ``--seed``; a run that ends before its moment is run again
  with a moment drawn before its end) and then resumed in a new process. Counted:
  finished trials lost (present in the study after the kill, absent or changed after the
  resume; goal 0) and runs whose result (trials, full evaluations, winner and its held-out
  score, skipped and rejected proposals) differs from the uninterrupted run's (goal 0).
- **faults**: the simulated LM behind an OpenAI-compatible server on 127.0.0.1
  (``mipro.testing.SimulatedServer``) that injects one kind of fault per scenario: HTTP 500,
  429 with ``Retry-After``, hangs, trickled replies, malformed bodies, an outage that ends and
  one that lasts. A run stopped by the LM is run again (it resumes), up to ``--attempts``
  times. Each scenario runs twice: with ``--max-lm-calls`` (more than a run needs) and with
  ``--tight-lm-calls`` (fewer: a run without faults sends 387 requests, so the budget stops
  the search). Counted: runs completed, trials, full evaluations and held-out scores
  mis-scored (stored score not the configuration's true score; goal 0), requests the server
  received beyond the run's ``max_lm_calls`` (goal 0) and requests it received that the
  run's budget did not count (goal 0).
- **inputs**: bad inputs a user may pass, each with the error (or warning) it gives and the
  LM calls made before it.

Writes ``results/reliability.json`` (with the hash of the ``src/`` tree it ran with) and
prints the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
from optuna.trial import TrialState

from mipro import Example, MiproError, OpenAILM, RunInterruptedError
from mipro.optimize import MIPRO
from mipro.optimize.run.records import OptimizationResult
from mipro.optimize.run.storage import BUDGETS
from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples
from mipro.testing.served import Outage, SimulatedServer
from mipro.testing.truth import mis_scored

from benchmarks.paper.provenance import src_hash

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "reliability.json"
TRAIN, VAL = 40, 30
SETTINGS: dict[str, Any] = dict(auto=None, num_candidates=4, num_trials=10, minibatch_size=10,
                                full_eval_every=3, seed=0, verbose=False, run_name="run")


def trainset() -> list[Example]:
    return make_examples(TRAIN)


def valset() -> list[Example]:
    return make_examples(VAL, start=TRAIN)


def outcome(result: OptimizationResult) -> dict[str, Any]:
    """What a resumed run must reproduce: its trials, full evaluations, winner and its
    held-out score, and what became of the proposals."""
    return json.loads(json.dumps({
        "trials": [[t.number, t.configuration, list(t.minibatch_ids), t.minibatch_score]
                   for t in result.trials],
        "full_evaluations": [[e.configuration, e.score, e.after_trial]
                             for e in result.full_evaluations],
        "best": result.best_configuration,
        "best_score": result.best_score,
        "skipped_proposals": result.skipped_proposals,
        "rejected_proposals": dict(result.rejected_proposals),
    }))


# Kills ------------------------------------------------------------------------------------
def worker(storage: str) -> None:
    """One run in this process; says when it starts, prints its outcome as JSON at the end."""
    print("started", flush=True)
    optimizer = MIPRO(exact_answer, task_lm=SimulatedLM(), storage=storage, **SETTINGS)
    optimizer.compile(SimulatedProgram(), trainset(), valset())
    assert optimizer.result is not None
    print(json.dumps(outcome(optimizer.result)), flush=True)


def run_worker(storage: str, kill_after: float | None = None) -> tuple[dict[str, Any] | None, float]:
    """Run ``worker`` in a new process, SIGKILLed ``kill_after`` seconds after it started its
    run; (its outcome, or ``None`` when killed; seconds from the start of its run)."""
    process = subprocess.Popen([sys.executable, "-m", "benchmarks.reliability", "--worker",
                                storage], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    process.stdout.readline()  # "started": imports are done
    started = time.perf_counter()
    try:
        stdout, stderr = process.communicate(timeout=kill_after)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.communicate()
        return None, time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"the worker failed:\n{stderr}")
    return json.loads(stdout.strip().splitlines()[-1]), time.perf_counter() - started


def finished_trials(storage: str) -> dict[int, Any]:
    """The study's completed trials: number -> (parameters, score)."""
    try:
        study = optuna.load_study(study_name=SETTINGS["run_name"], storage=storage)
    except KeyError:  # killed before the study was created
        return {}
    return {t.number: [t.params, t.value]
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))}


def kills(count: int, seed: int, folder: Path) -> dict[str, Any]:
    """``count`` runs killed at random moments and resumed, against one uninterrupted run."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    expected, duration = run_worker(f"sqlite:///{folder / 'uninterrupted.db'}")
    rng = random.Random(seed)
    runs = []
    for index in range(count):
        limit, attempt = duration, 0
        killed: dict[str, Any] | None = {}
        while killed is not None:  # a run that ends before its kill gives a new, earlier moment
            storage = f"sqlite:///{folder / f'killed{index}-{attempt}.db'}"
            moment = rng.uniform(0.0, limit)
            killed, limit = run_worker(storage, kill_after=moment)
            attempt += 1
        before = finished_trials(storage)
        try:
            resumed, _ = run_worker(storage)
            failure = None
        except RuntimeError as error:  # the resumed run failed: its result differs
            resumed, failure = None, str(error)[-600:]
        after = finished_trials(storage)
        lost = sum(after.get(number) != trial for number, trial in before.items())
        runs.append({"kill_after_seconds": round(moment, 3), "runs_that_ended_first": attempt - 1,
                     "finished_trials_at_kill": len(before), "finished_trials_lost": lost,
                     "result_differs": resumed != expected, "resume_failed": failure})
        print(f"  kill {index + 1:>2}/{count} at {moment:5.2f} s: {len(before):>2} trials "
              f"finished, {lost} lost, result {'differs' if resumed != expected else 'same'}",
              file=sys.stderr)
    return {
        "runs_killed": len(runs),
        "uninterrupted_run_seconds": round(duration, 3),
        "finished_trials_lost": sum(r["finished_trials_lost"] for r in runs),
        "runs_whose_result_differs": sum(r["result_differs"] for r in runs),
        "details": runs,
    }


# Faults -----------------------------------------------------------------------------------
SCENARIOS: dict[str, dict[str, Any]] = {
    "http_500": {"fault": "http_500", "rate": 0.3},
    "rate_limit_429": {"fault": "rate_limit", "rate": 0.05},
    "hang": {"fault": "hang", "rate": 0.03},
    "trickle": {"fault": "trickle", "rate": 0.03},
    "bad_body": {"fault": "bad_body", "rate": 0.1},
    "outage_then_up": {"outage": Outage(after_requests=150, seconds=4.0)},
    "outage_for_good": {"outage": Outage(after_requests=150, seconds=None)},
}


def budget_used(storage: str) -> int:
    """The LM requests the run's budget counted, over all its processes."""
    engine = sqlalchemy.create_engine(storage)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sqlalchemy.select(BUDGETS.c.used).where(
                BUDGETS.c.run == SETTINGS["run_name"])).scalar_one())
    finally:
        engine.dispose()


def fault_run(name: str, scenario: dict[str, Any], *, max_lm_calls: int, attempts: int,
              folder: Path) -> dict[str, Any]:
    """One run against a server with ``scenario``'s faults, run again while the LM stops it."""
    storage = f"sqlite:///{folder / f'{name}-{max_lm_calls}.db'}"
    server = SimulatedServer(fault=scenario.get("fault"), rate=scenario.get("rate", 0.0),
                             outage=scenario.get("outage"), seed=0)
    stops: list[str] = []
    result = None
    started = time.perf_counter()
    with server.running():
        for _ in range(attempts):
            lm = OpenAILM("simulated", base_url=server.base_url, api_key="not-needed",
                          prompt_format="completion", structured="none", timeout=1.0,
                          max_retries=3, backoff=0.1, cache=None)
            optimizer = MIPRO(exact_answer, task_lm=lm, storage=storage,
                              max_lm_calls=max_lm_calls, **SETTINGS)
            try:
                optimizer.compile(SimulatedProgram(), trainset(), valset())
            except RunInterruptedError as error:
                stops.append(str(error).splitlines()[0])
                server.end_outage()  # the user brings the server back before running again
                continue
            result = optimizer.result
            break
    wrong = mis_scored(result, valset(), trainset()) if result is not None else []
    counted = budget_used(storage)
    return {
        "scenario": name, **{k: v for k, v in scenario.items() if k != "outage"},
        "outage": vars(scenario["outage"]) if "outage" in scenario else None,
        "completed": result is not None, "runs_stopped_by_the_lm": len(stops),
        "stops": stops, "trials": len(result.trials) if result else None,
        "mis_scored": len(wrong), "mis_scored_which": wrong,
        "faults_injected": server.faults_injected, "requests": server.requests,
        "max_lm_calls": max_lm_calls, "requests_over_budget": max(0, server.requests - max_lm_calls),
        "requests_counted_by_the_budget": counted,
        "requests_not_counted": max(0, server.requests - counted),
        "stopped_by_budget": bool(result and result.stopped_by_budget),
        "seconds": round(time.perf_counter() - started, 1),
    }


def faults(names: Sequence[str], *, caps: Sequence[int], attempts: int,
           folder: Path) -> dict[str, Any]:
    """Every scenario in ``names`` under every budget in ``caps``."""
    runs = []
    for name in names:
        for cap in caps:
            run = fault_run(name, SCENARIOS[name], max_lm_calls=cap, attempts=attempts,
                            folder=folder)
            runs.append(run)
            print(f"  {name:<16} cap {cap:>4}: completed {run['completed']!s:<5} stops "
                  f"{run['runs_stopped_by_the_lm']} mis-scored {run['mis_scored']} requests "
                  f"{run['requests']} (counted {run['requests_counted_by_the_budget']}, stopped by "
                  f"the budget {run['stopped_by_budget']}) faults {run['faults_injected']} in "
                  f"{run['seconds']} s", file=sys.stderr)
    return {
        "runs": len(runs), "completed": sum(r["completed"] for r in runs),
        "stopped_by_budget": sum(r["stopped_by_budget"] for r in runs),
        "mis_scored": sum(r["mis_scored"] for r in runs),
        "requests_over_budget": sum(r["requests_over_budget"] for r in runs),
        "requests_not_counted": sum(r["requests_not_counted"] for r in runs),
        "details": runs,
    }


# Bad inputs -------------------------------------------------------------------------------
class _Raising(SimulatedProgram):
    """The simulated program whose own code raises on the questions in ``failing``."""

    def __init__(self, failing: Callable[[str], bool]) -> None:
        super().__init__()
        self.failing = failing

    def forward(self, question: str) -> Any:  # type: ignore[override]
        if self.failing(question):
            raise ValueError(f"cannot handle {question}")
        return super().forward(question=question)


def _bad_inputs() -> dict[str, Callable[[], dict[str, Any]]]:
    """Each case: the keyword arguments of ``MIPRO`` and ``compile`` that make it bad."""
    train, val = trainset(), valset()
    no_label = Example(question="q5").with_inputs("question")
    wrong_input = Example(text="q42", answer="a42").with_inputs("text")
    return {
        "metric always NaN": lambda: {"metric": lambda e, p: math.nan},
        "metric sometimes NaN": lambda: {"metric": lambda e, p: math.nan if e.question == "q47"
                                         else exact_answer(e, p)},
        "metric returns None": lambda: {"metric": lambda e, p: None},
        "metric returns 'yes'": lambda: {"metric": lambda e, p: "yes"},
        "metric raises": lambda: {"metric": lambda e, p: e.label == p.answer},
        "forward raises on every example": lambda: {"program": _Raising(lambda q: True)},
        "forward raises on 1 in 2 examples": lambda: {
            "program": _Raising(lambda q: int(q[1:]) % 2 == 0)},
        "forward raises on 1 in 10 examples": lambda: {
            "program": _Raising(lambda q: int(q[1:]) % 10 == 0)},
        "row missing an input": lambda: {"valset": val[:2] + [wrong_input] + val[3:]},
        "row missing the label": lambda: {"trainset": train[:5] + [no_label] + train[6:]},
        "row that is a dict": lambda: {"trainset": [*train[:3], {"question": "q3"}]},
        "train and validation sets overlap": lambda: {"valset": train[:5] + val[5:]},
        "empty trainset": lambda: {"trainset": []},
        "empty valset": lambda: {"valset": []},
        "seed -1": lambda: {"seed": -1},
        "num_trials 0": lambda: {"num_trials": 0},
        "num_trials -1": lambda: {"num_trials": -1},
    }


def bad_input(name: str, make: Callable[[], dict[str, Any]], folder: Path) -> dict[str, Any]:
    """What the user sees for one bad input: the error or warning, and LM calls before it."""
    arguments = make()
    lm = SimulatedLM()
    compile_arguments = {key: arguments.pop(key) for key in ("program", "trainset", "valset")
                         if key in arguments}
    metric = arguments.pop("metric", exact_answer)
    row: dict[str, Any] = {"case": name}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            optimizer = MIPRO(metric, task_lm=lm, **{**SETTINGS, "num_trials": 3,
                                                    "storage": f"sqlite:///{folder / 'inputs.db'}",
                                                    "run_name": name.replace(" ", "_"), **arguments})
            optimizer.compile(compile_arguments.get("program", SimulatedProgram()),
                              compile_arguments.get("trainset", trainset()),
                              compile_arguments.get("valset", valset()))
            result = optimizer.result
            row.update(outcome="no error", failed_examples_per_full_evaluation=[
                evaluation.num_failed for evaluation in result.full_evaluations] if result else [])
        except MiproError as error:
            row.update(outcome="error", error=type(error).__name__, message=str(error)[:600])
        except Exception as error:  # noqa: BLE001 - an error outside mipro's tree is a finding
            row.update(outcome="error outside MiproError", error=type(error).__name__,
                       message=str(error)[:600])
    raised = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    row.update(warnings=raised, lm_calls_before=lm.usage.calls)
    return row


def bad_program_file(folder: Path) -> dict[str, Any]:
    """``mipro optimize --program-file`` on a file with a syntax error: exit code and message."""
    path = folder / "broken_program.py"
    path.write_text("program = (\n")
    done = subprocess.run([sys.executable, "-m", "mipro", "optimize", "--program-file",
                           str(path)], capture_output=True, text=True, timeout=120)
    last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
    return {"case": "program file with a syntax error (CLI)", "outcome": f"exit {done.returncode}",
            "traceback": "Traceback" in done.stderr, "message": last[:600], "lm_calls_before": 0}


def inputs(folder: Path) -> dict[str, Any]:
    rows = [bad_input(name, make, folder) for name, make in _bad_inputs().items()]
    rows.append(bad_program_file(folder))
    for row in rows:
        message = row.get("message") or "; ".join(row.get("warnings", [])) or ""
        print(f"  {row['case']:<36} {row['outcome']:<10} {row.get('error', '')}: "
              f"{message.splitlines()[0] if message else ''}"[:160], file=sys.stderr)
    return {"cases": len(rows),
            "stopped_with_an_error": sum(row["outcome"] != "no error" for row in rows),
            "ran_without_an_error": [row["case"] for row in rows if row["outcome"] == "no error"],
            "table": rows}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", nargs="+", choices=["kills", "faults", "inputs"],
                        default=["kills", "faults", "inputs"])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--scenarios", nargs="+", choices=sorted(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--max-lm-calls", type=int, default=2000)
    parser.add_argument("--tight-lm-calls", type=int, default=300)
    parser.add_argument("--attempts", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return 0
    report: dict[str, Any] = {"src_hash": src_hash(), "settings": {**{k: v for k, v in vars(args).items()
                                              if k not in ("out", "worker")},
                                           "optimizer": {k: v for k, v in SETTINGS.items()},
                                           "train": TRAIN, "val": VAL}}
    with tempfile.TemporaryDirectory() as folder:
        if "kills" in args.parts:
            print("Runs killed at random moments, then resumed:", file=sys.stderr)
            report["kills"] = kills(args.kills, args.seed, Path(folder))
        if "faults" in args.parts:
            print("Runs against a faulty server:", file=sys.stderr)
            report["faults"] = faults(args.scenarios, caps=(args.max_lm_calls, args.tight_lm_calls),
                                      attempts=args.attempts, folder=Path(folder))
        if "inputs" in args.parts:
            print("Bad inputs:", file=sys.stderr)
            report["inputs"] = inputs(Path(folder))
    print(json.dumps({part: {k: v for k, v in figures.items() if k not in ("details", "table")}
                      for part, figures in report.items() if part not in ("settings", "src_hash")},
                     indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
