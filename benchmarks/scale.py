"""Scale: trials in flight (``n_jobs``) and early stopping (``prune``), on the bundled model.

Two measurements; each run writes one JSON record (with the ``src/`` hash) to ``--out``, and a
finished record of the same hash is skipped, so a command resumes:

- ``parallel``: one light run (a task, a seed, small fixed counts) with 1, 2 and 4 trials in
  flight, against ``python -m llama_cpp.server`` (started here on 127.0.0.1), against the
  embedded ``LocalLM`` with as many slots as trials in flight, and (``remote``) against an LM
  that serves requests in parallel as an API or vLLM does: the simulated task behind an
  OpenAI-compatible server on 127.0.0.1 where every request takes ``--latency`` seconds. Wall
  time and LM calls.
- ``prune``: MIPRO light with and without pruning over tasks and seeds: task-LM calls and the
  final program's test score, with per-example test results.

No LM cache: every call counted is a real one, and the runs with and without pruning do not
share replies. ``summary.json`` in ``--out`` collects both tables.

    python -m benchmarks.scale parallel --jobs 1 2 4 --backends server embedded remote
    python -m benchmarks.scale prune --tasks scone breast_cancer --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import mipro
from mipro.evaluate import Evaluate
from mipro.lm.base import LMRequest, LMResponse
from mipro.lm.local import default_model_path
from mipro.tasks import Task, load_task
from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples
from mipro.testing.served import SimulatedServer
from mipro.testing.stub_server import free_port

from benchmarks.paper.provenance import src_hash

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "scale"


@contextlib.contextmanager
def llama_server(threads: int) -> Iterator[str]:
    """``python -m llama_cpp.server`` on the bundled model, on a free port of 127.0.0.1."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(default_model_path()),
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
         "--n_threads", str(threads), "--n_threads_batch", str(threads), "--verbose", "False"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the llama.cpp server did not start") from None
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


class SlowLM(SimulatedLM):
    """The simulated LM, taking ``latency`` seconds per request as a remote API does; served
    over HTTP, requests in flight are answered in parallel."""

    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency

    def _generate(self, request: LMRequest) -> LMResponse:
        time.sleep(self.latency)
        return super()._generate(request)


def simulated_task() -> Task:
    """The simulated two-stage task (``mipro.testing``) as a ``Task``."""
    return Task(name="simulated", description="the simulated two-stage task",
                make_program=SimulatedProgram, trainset=make_examples(100),
                valset=make_examples(100, start=100), testset=make_examples(200, start=200),
                metric=exact_answer)


def run(task: Task, seed: int, lm: Any, out: Path, name: str, settings: dict[str, Any],
        sizes: dict[str, int]) -> dict[str, Any]:
    """One MIPRO run; its wall time, LM calls and test score (per example too)."""
    trainset, valset = task.trainset[:sizes["train"]], task.valset[:sizes["val"]]
    testset = task.testset[:sizes["test"]]
    storage = out / "studies" / f"{name}.db"
    storage.unlink(missing_ok=True)
    optimizer = mipro.MIPRO(task.metric, task_lm=lm, seed=seed, verbose=False, run_name=name,
                            storage=f"sqlite:///{storage}", **settings)
    started = time.perf_counter()
    optimized = optimizer.compile(task.make_program(), trainset=trainset, valset=valset)
    seconds = time.perf_counter() - started
    result = optimizer.result
    after = Evaluate(testset, task.metric, lm=lm, num_threads=2, display_progress=False)(optimized)
    trials = result.trials
    return {
        "task": task.name, "seed": seed, "src_hash": src_hash(), "lm": lm.model_id,
        "settings": settings, "sizes": {"train": len(trainset), "val": len(valset),
                                        "test": len(testset)},
        "seconds": round(seconds, 1),
        "lm_calls": {role: usage.calls for role, usage in result.usage.roles().items()},
        "stages": {stage: {"calls": usage.calls, "wall_seconds": round(usage.wall_seconds, 1)}
                   for stage, usage in result.usage.stages.items()},
        "completed_trials": len(trials), "full_evaluations": len(result.full_evaluations),
        "val_best": result.best_score, "test_optimized": after.score,
        "kept_original": all(index == 0 for index in result.best_configuration.values()),
        "test_examples": [{"id": r.example.get("id", r.index), "score": r.score, "error": r.error}
                          for r in after.results],
    }


def parallel(args: argparse.Namespace, out: Path) -> None:
    settings = {"auto": None, "num_candidates": 3, "num_trials": args.trials, "minibatch_size": 10,
                "num_threads": 1, "prune": False}
    sizes = {"train": 20, "val": 40, "test": 20}
    for backend in args.backends:
        for jobs in args.jobs:
            name = f"parallel-{backend}-{jobs}"
            path = out / f"{name}.json"
            if _done(path):
                continue
            config = {**settings, "n_jobs": jobs}
            if backend == "server":
                with llama_server(threads=2) as url:
                    lm = mipro.OpenAILM("smollm2", base_url=url, cache=False,
                                        prompt_format="completion")
                    record = run(load_task(args.task), 0, lm, out, name, config, sizes)
            elif backend == "remote":
                with SimulatedServer(lm=SlowLM(args.latency)).running() as server:
                    lm = mipro.OpenAILM("simulated", base_url=server.base_url, cache=False,
                                        api_key="not-needed", prompt_format="completion",
                                        structured="none")
                    record = run(simulated_task(), 0, lm, out, name, config, sizes)
                record["latency"] = args.latency
            else:
                lm = mipro.LocalLM(slots=jobs, cache=False)
                record = run(load_task(args.task), 0, lm, out, name, config, sizes)
            path.write_text(json.dumps({**record, "backend": backend, "jobs": jobs}, indent=1))
            print(name, record["seconds"], "s", record["lm_calls"], flush=True)


def prune(args: argparse.Namespace, out: Path) -> None:
    sizes = {"train": args.max_train, "val": args.max_val, "test": args.max_test}
    for task_name in args.tasks:
        # The simulated task runs on its own LM (where configurations differ by a lot), every
        # other task on the embedded model.
        lm = SimulatedLM() if task_name == "simulated" else mipro.LocalLM(cache=False)
        task = simulated_task() if task_name == "simulated" else load_task(task_name)
        for seed in args.seeds:
            for pruned in (True, False):
                name = f"prune-{task_name}-{seed}-{'on' if pruned else 'off'}"
                path = out / f"{name}.json"
                if _done(path):
                    continue
                counts = ({"auto": "light"} if args.num_trials is None else
                          {"auto": None, "num_trials": args.num_trials,
                           "num_candidates": args.num_candidates})
                counts["minibatch_size"] = args.minibatch_size
                record = run(task, seed, lm, out, name,
                             {**counts, "num_threads": 2, "prune": pruned}, sizes)
                path.write_text(json.dumps({**record, "prune": pruned}, indent=1))
                print(name, record["lm_calls"], record["test_optimized"], flush=True)


def summarize(out: Path) -> dict[str, Any]:
    """Per backend and trials in flight: seconds and calls; per task and pruning: mean task-LM
    calls and test score over the seeds that ran both ways."""
    records = [json.loads(path.read_text()) for path in sorted(out.glob("*.json"))
               if path.name != "summary.json"]
    table: dict[str, Any] = {"parallel": {}, "prune": {}}
    for r in records:
        if "backend" in r:
            table["parallel"].setdefault(r["backend"], {})[str(r["jobs"])] = {
                "seconds": r["seconds"], "lm_calls": r["lm_calls"],
                "search_wall_seconds": r.get("stages", {}).get("search", {}).get("wall_seconds"),
                "completed_trials": r["completed_trials"]}
    paired: dict[tuple[str, int], dict[bool, dict[str, Any]]] = {}
    for r in records:
        if "prune" in r:
            paired.setdefault((r["task"], r["seed"]), {})[r["prune"]] = r
    for (task, seed), runs in sorted(paired.items()):
        if len(runs) == 2:
            row = table["prune"].setdefault(task, {"seeds": [], "on": [], "off": []})
            row["seeds"].append(seed)
            for flag, key in ((True, "on"), (False, "off")):
                row[key].append({"task_lm_calls": runs[flag]["lm_calls"].get("task_lm", 0),
                                 "test": runs[flag]["test_optimized"]})
    for row in table["prune"].values():
        for key in ("on", "off"):
            runs = row[key]
            row[f"{key}_mean"] = {"task_lm_calls": sum(r["task_lm_calls"] for r in runs) / len(runs),
                                  "test": sum(r["test"] for r in runs) / len(runs)}
        row["calls_saved"] = 1 - row["on_mean"]["task_lm_calls"] / row["off_mean"]["task_lm_calls"]
    return table


def _done(path: Path) -> bool:
    return path.exists() and json.loads(path.read_text())["src_hash"] == src_hash()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parts = parser.add_subparsers(dest="part", required=True)
    one = parts.add_parser("parallel", help="wall time and calls with 1, 2, 4 trials in flight")
    one.add_argument("--task", default="iris")
    one.add_argument("--trials", type=int, default=8)
    one.add_argument("--jobs", nargs="+", type=int, default=[1, 2, 4])
    one.add_argument("--backends", nargs="+", choices=["server", "embedded", "remote"],
                     default=["server", "embedded", "remote"])
    one.add_argument("--latency", type=float, default=0.25,
                     help="seconds per request of the remote backend")
    two = parts.add_parser("prune", help="task-LM calls and test score with and without pruning")
    two.add_argument("--tasks", nargs="+", default=["scone", "breast_cancer"],
                     help="tasks whose validation set is larger than a minibatch (on a small one "
                          "every trial scores the whole search set and is reused, not pruned); "
                          "'simulated' runs the simulated task on its own LM")
    two.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    two.add_argument("--num-trials", type=int, help="default: the light preset's")
    two.add_argument("--num-candidates", type=int, default=3,
                     help="with --num-trials (else the light preset's)")
    two.add_argument("--minibatch-size", type=int, default=35)
    two.add_argument("--max-train", type=int, default=100)
    two.add_argument("--max-val", type=int, default=60)
    two.add_argument("--max-test", type=int, default=100)
    args = parser.parse_args(argv)
    (args.out / "studies").mkdir(parents=True, exist_ok=True)
    if args.part == "parallel":
        parallel(args, args.out)
    else:
        prune(args, args.out)
    (args.out / "summary.json").write_text(json.dumps(summarize(args.out), indent=1))


if __name__ == "__main__":
    main()
