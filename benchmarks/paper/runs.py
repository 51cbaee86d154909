"""One run of the paper benchmark: optimize a task's program, score it on train, dev and test.

Each run writes ``<task>__<optimizer>__seed<k>.json`` (see :mod:`benchmarks.paper.records`)
into the output folder. A run whose record is current (same source hash, size profile, LM and
call cap) is skipped, so the table accumulates over several sittings; a stale record is
replaced. The optimizer's Optuna study lives under ``<out>/studies/``, so rerunning a crashed
run resumes it.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mipro import LM, OPTIMIZERS, Evaluate, EvaluationResult, Example, Module, OptimizationResult
from mipro.progress import progress_bar
from mipro.tasks import Task

from benchmarks.paper.claims import claimed
from benchmarks.paper.provenance import environment
from benchmarks.paper.records import RECORD_FORMAT, RunSpec, read_record, record_path, write_record
from benchmarks.paper.sizes import RunSize, size_for

UNOPTIMIZED = "unoptimized"
"""The pseudo-optimizer: the program as given, only evaluated."""

@dataclass(frozen=True)
class HarnessSettings:
    """What every run of one harness invocation shares.

    A record is current when it was made from the source tree ``src_hash`` with the same size
    ``profile``, the same LM (``lm["model_id"]``) and the same ``max_lm_calls``.
    """

    out: Path
    profile: str
    src_hash: str
    lm: Mapping[str, Any]
    max_lm_calls: int | None = None
    threads: int = 1
    """Program runs in parallel, in evaluations and inside optimizers."""

    def result_path(self, spec: RunSpec) -> Path:
        return record_path(self.out, spec)

    def claim_path(self, spec: RunSpec) -> Path:
        """The file a harness process holds locked while it runs ``spec``."""
        return self.out / "claims" / f"{spec.stem}.pid"

    def program_path(self, spec: RunSpec) -> Path:
        """Where the optimized program (instructions and demos) of a run is saved."""
        return self.out / "programs" / f"{spec.stem}.json"

    def storage(self, spec: RunSpec) -> str:
        """The Optuna storage URL of a run (one SQLite file per run and size profile)."""
        return f"sqlite:///{self.out / 'studies' / f'{spec.stem}__{self.profile}.db'}"

    def is_current(self, record: Mapping[str, Any] | None) -> bool:
        """Whether ``record`` was made by this code, profile, LM and LM-call cap."""
        if record is None or record.get("src_hash") != self.src_hash:
            return False
        settings = record.get("settings", {})
        return (settings.get("profile") == self.profile
                and settings.get("max_lm_calls") == self.max_lm_calls
                and record.get("lm", {}).get("model_id") == self.lm["model_id"])

    def is_recorded(self, spec: RunSpec) -> bool:
        """Whether ``spec`` has a current record (a stale one is run again and replaced)."""
        return self.is_current(read_record(self.result_path(spec)))


@dataclass(frozen=True)
class OptimizerReport:
    """What an optimizer reported, as JSON: its result summary, LM usage by role, study and
    the options it was built with."""

    result: dict[str, Any] | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    study: dict[str, str] | None = None
    options: dict[str, Any] | None = None


@dataclass(frozen=True)
class Splits:
    """The examples one run uses: offered to the optimizer, scored on, held out."""

    trainset: list[Example]
    train_eval: list[Example]
    valset: list[Example]
    testset: list[Example]

    def scored(self) -> dict[str, list[Example]]:
        """The three scored splits by name: a train slice, dev (= valset) and test."""
        return {"train": self.train_eval, "dev": self.valset, "test": self.testset}


def plan_runs(tasks: Sequence[str], optimizers: Sequence[str], seeds: Sequence[int]) -> list[RunSpec]:
    """Every run, seed by seed, so that a first whole table is done before further seeds."""
    return [RunSpec(task, optimizer, seed) for seed in seeds for task in tasks for optimizer in optimizers]


def pending_runs(specs: Iterable[RunSpec], settings: HarnessSettings) -> list[RunSpec]:
    """The runs without a current record."""
    return [spec for spec in specs if not settings.is_recorded(spec)]


def run_pending(pending: Sequence[RunSpec], settings: HarnessSettings, lm: LM,
                load: Callable[[str], Task], log: Callable[[str], None]) -> list[RunSpec]:
    """Run ``pending`` one after the other on ``lm``; a crash is reported and the next run starts.

    A run recorded or claimed by another harness process meanwhile is skipped, so several
    processes can share one output folder. Returns the runs that crashed.
    """
    tasks: dict[str, Task] = {}
    failures: list[RunSpec] = []
    with progress_bar("Paper benchmark runs", len(pending)) as bar:
        for number, spec in enumerate(pending, 1):
            bar.log(f"Run {number}/{len(pending)}: {spec.task} x {spec.optimizer} x seed {spec.seed}")
            with claimed(settings.claim_path(spec), lambda: settings.is_recorded(spec)) as ours:
                if not ours:
                    bar.log(f"  {spec.stem}: recorded or running in another process; skipped")
                elif not _run_reporting(spec, tasks, load, lm, settings, bar.log):
                    failures.append(spec)
            bar.advance()
    if failures:
        log(f"{len(failures)} of {len(pending)} runs crashed: "
            f"{', '.join(spec.stem for spec in failures)}")
    return failures


def _run_reporting(spec: RunSpec, tasks: dict[str, Task], load: Callable[[str], Task], lm: LM,
                   settings: HarnessSettings, log: Callable[[str], None]) -> bool:
    """Run ``spec`` and log its outcome; False when it crashed."""
    try:
        if spec.task not in tasks:
            tasks[spec.task] = load(spec.task)
        record = run_one(spec, tasks[spec.task], lm, settings)
    except Exception:  # noqa: BLE001 - reported; the next run goes on
        log(f"Run {spec.stem} crashed; its study is kept, rerun to resume.\n"
            + traceback.format_exc())
        return False
    log(describe_record(record))
    return True


def describe_record(record: Mapping[str, Any]) -> str:
    """One line per finished run: its scores, LM calls and wall time."""
    scores = record["scores"]
    calls = record["lm_usage"]["total"]
    return (f"  {record['task']} x {record['optimizer']} x seed {record['seed']}: "
            f"test {100 * scores['test']:.1f}, dev {100 * scores['dev']:.1f}, "
            f"train {100 * scores['train']:.1f}; {calls['calls']} LM calls "
            f"({calls['cache_hits']} cache hits), {record['wall_seconds']['total'] / 60:.1f} min")


def available_optimizers() -> list[str]:
    """The names ``--optimizers`` accepts: ``unoptimized`` and ``mipro.OPTIMIZERS``."""
    return [UNOPTIMIZED, *sorted(OPTIMIZERS)]


def optimizer_options(size: RunSize, *, seed: int, run_name: str, storage: str,
                      max_lm_calls: int | None, threads: int) -> dict[str, Any]:
    """The keyword arguments every optimizer gets (besides its LM): the run's sizes, no
    ``auto`` preset."""
    return dict(
        seed=seed, max_lm_calls=max_lm_calls, run_name=run_name, storage=storage,
        auto=None, num_trials=size.num_trials, num_candidates=size.num_candidates,
        minibatch_size=size.minibatch_size, max_bootstrapped_demos=size.max_bootstrapped_demos,
        max_labeled_demos=size.max_labeled_demos, num_threads=threads, verbose=True,
    )


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
    evaluations = score_splits(program, splits, task, lm, label=spec.stem, threads=settings.threads)
    end, usage_end = time.perf_counter(), lm.usage.snapshot()
    record = {
        "format": RECORD_FORMAT,
        "task": spec.task, "optimizer": spec.optimizer, "seed": spec.seed,
        "src_hash": settings.src_hash,
        "settings": {
            "profile": settings.profile, "sizes": size.as_dict(),
            "num_examples": {"trainset": len(splits.trainset),
                             **{name: len(examples) for name, examples in splits.scored().items()}},
            "max_lm_calls": settings.max_lm_calls, "threads": settings.threads,
            "optimizer_options": report.options,
        },
        "lm": dict(settings.lm),
        "scores": {split: result.score for split, result in evaluations.items()},
        "example_scores": {split: [r.score for r in result.results]
                           for split, result in evaluations.items()},
        "failures": {split: [{"index": r.index, "error": r.error} for r in result.results
                             if r.error is not None] for split, result in evaluations.items()},
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
        "study": report.study,
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
    if spec.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {spec.optimizer!r}; available: "
                         f"{', '.join(available_optimizers())}")
    run_name, storage = f"{spec.stem}__{settings.profile}", settings.storage(spec)
    options = optimizer_options(size, seed=spec.seed, run_name=run_name, storage=storage,
                                max_lm_calls=settings.max_lm_calls, threads=settings.threads)
    optimizer = OPTIMIZERS[spec.optimizer](task.metric, task_lm=lm, **options)
    optimized = optimizer.compile(program, splits.trainset, splits.valset)
    result = optimizer.result
    return optimized, OptimizerReport(summarize_result(result), result.usage.as_dict(),
                                      {"run_name": run_name, "storage": storage}, options)


def summarize_result(result: OptimizationResult) -> dict[str, Any]:
    """The parts of an ``OptimizationResult`` a table reader wants, as JSON."""
    return {
        "best_score": _finite(result.best_score),
        "baseline_score": _finite(result.baseline_score),
        "best_configuration": dict(result.best_configuration),
        "trials_completed": len(result.trials),
        "full_evaluations": len(result.full_evaluations),
        "stopped_by_budget": bool(result.stopped_by_budget),
        "skipped_proposals": int(result.skipped_proposals),
    }


def score_splits(program: Module, splits: Splits, task: Task, lm: LM, *, label: str,
                 threads: int = 1) -> dict[str, EvaluationResult]:
    """``program`` evaluated with the task's metric on the train slice, dev and test."""
    return {split: Evaluate(examples, task.metric, lm=lm, num_threads=threads,
                            description=f"{label} {split}")(program)
            for split, examples in splits.scored().items()}


def _finite(value: float) -> float | None:
    return None if value != value else float(value)  # NaN -> null in JSON
