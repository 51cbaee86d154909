"""One run of the paper benchmark: optimize a task's program, score it on train, dev and test.

Each run writes ``<task>__<optimizer>__seed<k>.json`` into the output folder; a run whose
record exists is skipped, so the table accumulates over several sittings. The optimizer's
Optuna study lives under ``<out>/studies/``, so rerunning a crashed run resumes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import mipro
import mipro.optimize
from mipro.evaluate import Evaluate, Metric
from mipro.optimize.run.study import _process_alive as process_alive  # the study's own liveness check
from mipro.lm import LM
from mipro.program import Example, Module
from mipro.tasks import Task

from benchmarks.paper_sizes import RunSize, size_for

UNOPTIMIZED = "unoptimized"
"""The pseudo-optimizer: the program as given, only evaluated."""


@dataclass(frozen=True)
class RunSpec:
    """Which run: one optimizer on one task with one seed."""

    task: str
    optimizer: str
    seed: int

    @property
    def stem(self) -> str:
        return f"{self.task}__{self.optimizer}__seed{self.seed}"


@dataclass(frozen=True)
class HarnessSettings:
    """What every run of one harness invocation shares."""

    out: Path
    profile: str
    max_lm_calls: int | None = None
    lm_url: str | None = None
    threads: int = 1
    """Program runs in parallel, in evaluations and inside optimizers."""

    def result_path(self, spec: RunSpec) -> Path:
        return self.out / f"{spec.stem}.json"

    def claim_path(self, spec: RunSpec) -> Path:
        """The file a harness process holds while it runs ``spec`` (it contains its pid)."""
        return self.out / "claims" / f"{spec.stem}.pid"

    def program_path(self, spec: RunSpec) -> Path:
        """Where the optimized program (instructions and demos) of a run is saved."""
        return self.out / "programs" / f"{spec.stem}.json"

    def storage(self, spec: RunSpec) -> str:
        """The Optuna storage URL of a run (one SQLite file per run and size profile)."""
        return f"sqlite:///{self.out / 'studies' / f'{spec.stem}__{self.profile}.db'}"


@dataclass(frozen=True)
class OptimizerReport:
    """What an optimizer reported, as JSON: its result summary, LM usage by role and study."""

    result: dict[str, Any] | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    study: dict[str, str] | None = None


@dataclass(frozen=True)
class Splits:
    """The examples one run uses: offered to the optimizer, scored on, held out."""

    trainset: list[Example]
    train_eval: list[Example]
    valset: list[Example]
    testset: list[Example]


def plan_runs(tasks: Sequence[str], optimizers: Sequence[str], seeds: Sequence[int]) -> list[RunSpec]:
    """Every run, seed by seed, so that a first whole table is done before further seeds."""
    return [RunSpec(task, optimizer, seed) for seed in seeds for task in tasks for optimizer in optimizers]


def pending_runs(specs: Iterable[RunSpec], settings: HarnessSettings) -> list[RunSpec]:
    """The runs whose record does not exist yet."""
    return [spec for spec in specs if not settings.result_path(spec).exists()]


@contextlib.contextmanager
def claimed(spec: RunSpec, settings: HarnessSettings) -> Iterator[bool]:
    """Claim ``spec`` while inside; yields False if it is recorded or another live process has it.

    A claim left by a process that died is taken over.
    """
    claim = settings.claim_path(spec)
    if settings.result_path(spec).exists() or not _take_claim(claim):
        yield False
        return
    try:
        yield True
    finally:
        claim.unlink(missing_ok=True)


def _take_claim(claim: Path) -> bool:
    claim.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            with claim.open("x") as file:
                file.write(str(os.getpid()))
            return True
        except FileExistsError:
            if _holder_alive(claim):
                return False
            claim.unlink(missing_ok=True)  # its process died: take the run over
    return False


def _holder_alive(claim: Path) -> bool:
    """Whether the process whose pid ``claim`` holds still runs (a claim being written counts)."""
    try:
        pid = int(claim.read_text().strip())
    except ValueError:
        return time.time() - claim.stat().st_mtime < 60
    except FileNotFoundError:
        return False
    return process_alive(pid)


def available_optimizers() -> list[str]:
    """The names ``--optimizers`` accepts: the registry's, or ``mipro`` until it exists."""
    registry = getattr(mipro.optimize, "OPTIMIZERS", None)
    return [UNOPTIMIZED, *(sorted(registry) if registry else ["mipro"])]


def make_optimizer(name: str, metric: Metric, lm: LM, size: RunSize, *, seed: int,
                   run_name: str, storage: str, max_lm_calls: int | None, threads: int) -> Any:
    """The optimizer called ``name``, configured with the run's sizes (no ``auto`` preset)."""
    options: dict[str, Any] = dict(
        task_lm=lm, seed=seed, max_lm_calls=max_lm_calls, run_name=run_name, storage=storage,
        auto=None, num_trials=size.num_trials, num_candidates=size.num_candidates,
        minibatch_size=size.minibatch_size, max_bootstrapped_demos=size.max_bootstrapped_demos,
        max_labeled_demos=size.max_labeled_demos, num_threads=threads, verbose=True,
    )
    registry = getattr(mipro.optimize, "OPTIMIZERS", None)
    if registry is not None and name in registry:
        return registry[name](metric, **options)
    if registry is None and name == "mipro":
        return mipro.optimize.MIPRO(metric, **options)
    raise ValueError(f"unknown optimizer {name!r}; available: {', '.join(available_optimizers())}")


def task_splits(task: Task, size: RunSize) -> Splits:
    """The first examples of each split (the splits are seeded shuffles already)."""
    return Splits(
        trainset=task.trainset[: size.trainset],
        train_eval=task.trainset[: size.train_eval],
        valset=task.valset[: size.valset],
        testset=task.testset[: size.testset],
    )


def run_size(task: Task, profile: str) -> RunSize:
    """The sizes of ``task`` under ``profile``."""
    return size_for(task.name, profile, num_predictors=len(task.make_program().named_predictors()),
                    train=len(task.trainset), val=len(task.valset), test=len(task.testset))


def run_one(spec: RunSpec, task: Task, lm: LM, settings: HarnessSettings) -> dict[str, Any]:
    """Optimize, score on the three splits, write the record; returns the record."""
    size = run_size(task, settings.profile)
    splits = task_splits(task, size)
    started_at = datetime.now(timezone.utc)
    start, usage_start = time.perf_counter(), lm.usage.snapshot()
    program, report = _optimize(spec, task, lm, size, splits, settings)
    optimized_at, usage_optimized = time.perf_counter(), lm.usage.snapshot()
    settings.program_path(spec).parent.mkdir(parents=True, exist_ok=True)
    program.save(settings.program_path(spec))
    scores, failed = score_splits(program, splits, task.metric, lm, label=spec.stem,
                                  threads=settings.threads)
    end, usage_end = time.perf_counter(), lm.usage.snapshot()
    record = {
        "task": spec.task, "optimizer": spec.optimizer, "seed": spec.seed,
        "size_profile": settings.profile, "sizes": size.as_dict(),
        "num_examples": {"trainset": len(splits.trainset), "train": len(splits.train_eval),
                         "dev": len(splits.valset), "test": len(splits.testset)},
        "scores": scores, "failed_examples": failed,
        "optimizer_result": report.result,
        "lm_usage": {
            "optimization": report.usage,
            "optimization_all_roles": (usage_optimized - usage_start).as_dict(),
            "evaluation": (usage_end - usage_optimized).as_dict(),
            "total": (usage_end - usage_start).as_dict(),
        },
        "wall_seconds": {"optimization": round(optimized_at - start, 2),
                         "evaluation": round(end - optimized_at, 2),
                         "total": round(end - start, 2)},
        "lm": {"model_id": lm.model_id, "url": settings.lm_url, "backend": type(lm).__name__},
        "study": report.study,
        "max_lm_calls": settings.max_lm_calls, "threads": settings.threads,
        **environment(), "started_at": started_at.isoformat(timespec="seconds"),
    }
    write_record(settings.result_path(spec), record)
    return record


def _optimize(spec: RunSpec, task: Task, lm: LM, size: RunSize, splits: Splits,
              settings: HarnessSettings) -> tuple[Module, OptimizerReport]:
    """The program to score and what the optimizer reported (nothing for ``unoptimized``)."""
    program = task.make_program()
    if spec.optimizer == UNOPTIMIZED:
        return program, OptimizerReport()
    run_name, storage = f"{spec.stem}__{settings.profile}", settings.storage(spec)
    optimizer = make_optimizer(spec.optimizer, task.metric, lm, size, seed=spec.seed,
                               run_name=run_name, storage=storage,
                               max_lm_calls=settings.max_lm_calls, threads=settings.threads)
    optimized = optimizer.compile(program, splits.trainset, splits.valset)
    result = optimizer.result
    return optimized, OptimizerReport(summarize_result(result), dict(result.usage),
                                      {"run_name": run_name, "storage": storage})


def summarize_result(result: Any) -> dict[str, Any]:
    """The parts of an ``OptimizationResult`` a table reader wants, as JSON."""
    return {
        "best_score": _finite(result.best_score),
        "baseline_score": _finite(result.baseline_score),
        "best_configuration": dict(result.best_configuration),
        "trials_completed": len(result.trials),
        "full_evaluations": len(result.full_evaluations),
        "stopped_by_budget": bool(result.stopped_by_budget),
        "skipped_proposals": int(getattr(result, "skipped_proposals", 0)),
    }


def score_splits(program: Module, splits: Splits, metric: Metric, lm: LM, *, label: str,
                 threads: int = 1) -> tuple[dict[str, float], dict[str, int]]:
    """Mean score and failed examples of ``program`` on train (a slice), dev and test."""
    scores: dict[str, float] = {}
    failed: dict[str, int] = {}
    for split, examples in (("train", splits.train_eval), ("dev", splits.valset),
                            ("test", splits.testset)):
        evaluation = Evaluate(examples, metric, lm=lm, num_threads=threads,
                              description=f"{label} {split}")(program)
        scores[split], failed[split] = evaluation.score, evaluation.num_failed
    return scores, failed


def _finite(value: float) -> float | None:
    return None if value != value else float(value)  # NaN -> null in JSON


def environment() -> dict[str, Any]:
    """Versions and machine of the run."""
    return {
        "mipro_version": mipro.__version__,
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
    }


def _git_commit() -> str | None:
    try:
        found = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                               cwd=Path(__file__).parent, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout.strip() or None


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Write ``record`` as JSON, atomically: a crash never leaves half a record behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)
