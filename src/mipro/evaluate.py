"""Parallel evaluation of a program over examples, with an error budget and a progress bar."""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from mipro.errors import BudgetExhausted, ConfigurationError, EvaluationError
from mipro.lm.base import LM
from mipro.lm.context import using_lm
from mipro.program import Example, Module, Prediction, TraceStep, tracing
from mipro.progress import progress_bar

Metric = Callable[..., float | bool]
"""``metric(example, prediction)`` or ``metric(example, prediction, trace)``: a score in
[0, 1], or a bool. The one metric type of mipro (tasks and optimizers use it too)."""


@dataclass(frozen=True)
class ExampleResult:
    """The outcome of one example: its prediction and score, or the error it raised."""

    index: int
    example: Example
    prediction: Prediction | None
    score: float
    error: str | None = None
    trace: tuple[TraceStep, ...] = ()


@dataclass(frozen=True)
class EvaluationResult:
    """Mean score and per-example results of one evaluation."""

    score: float
    results: tuple[ExampleResult, ...]

    @property
    def num_failed(self) -> int:
        """Examples whose program or metric raised (each scored 0)."""
        return sum(result.error is not None for result in self.results)


def call_metric(metric: Metric, example: Example, prediction: Prediction,
                trace: Sequence[TraceStep] | None = None) -> float:
    """Call a metric written as ``metric(example, prediction)`` or with a third ``trace``."""
    takes_trace = len(inspect.signature(metric).parameters) >= 3
    value = metric(example, prediction, trace) if takes_trace else metric(example, prediction)
    return float(value)


class Evaluate:
    """Runs a program over ``devset`` in ``num_threads`` threads and scores it with ``metric``.

    An example whose program or metric raises scores 0 and is reported. When more than
    ``max_errors`` examples fail, the evaluation stops with an ``EvaluationError`` listing them.
    """

    def __init__(
        self,
        devset: Sequence[Example],
        metric: Metric,
        *,
        num_threads: int = 1,
        max_errors: int | None = None,
        display_progress: bool = True,
        lm: LM | None = None,
        description: str = "Evaluating",
    ) -> None:
        if num_threads < 1:
            raise ConfigurationError(f"num_threads must be >= 1, got {num_threads}")
        self.devset = list(devset)
        self.metric = metric
        self.num_threads = num_threads
        self.max_errors = max_errors
        self.display_progress = display_progress
        self.lm = lm
        self.description = description

    def __call__(self, program: Module, devset: Sequence[Example] | None = None) -> EvaluationResult:
        examples = self.devset if devset is None else list(devset)
        if not examples:
            raise ConfigurationError("Evaluate needs at least one example")
        with using_lm(self.lm) if self.lm is not None else contextlib.nullcontext():
            results = self._run_all(program, examples)
        ordered = tuple(sorted(results, key=lambda result: result.index))
        return EvaluationResult(sum(r.score for r in ordered) / len(ordered), ordered)

    def _run_all(self, program: Module, examples: list[Example]) -> list[ExampleResult]:
        results: list[ExampleResult] = []
        failures: list[tuple[int, str]] = []
        stop = threading.Event()
        with progress_bar(self.description, len(examples), enabled=self.display_progress) as bar, \
                ThreadPoolExecutor(self.num_threads) as pool:
            index_of: dict[Future[ExampleResult], int] = {
                pool.submit(contextvars.copy_context().run, self._run_one, program, i, ex, stop): i
                for i, ex in enumerate(examples)
            }
            pending = set(index_of)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=index_of.__getitem__):
                    result = future.result()
                    if result.error == _SKIPPED:
                        continue
                    results.append(result)
                    if result.error is not None:
                        failures.append((result.index, result.error))
                    mean = sum(r.score for r in results) / len(results)
                    bar.advance(f"score {mean:.3f}, failed {len(failures)}")
                    if self.max_errors is not None and len(failures) > self.max_errors:
                        stop.set()
                        for waiting in pending:
                            waiting.cancel()
                        raise EvaluationError(
                            f"{len(failures)} examples failed, more than "
                            f"max_errors={self.max_errors}",
                            failures=sorted(failures),
                        )
        return results

    def _run_one(self, program: Module, index: int, example: Example,
                 stop: threading.Event) -> ExampleResult:
        if stop.is_set():
            return ExampleResult(index, example, None, 0.0, _SKIPPED)
        with tracing() as steps:
            try:
                prediction = program(**example.inputs())
                score = call_metric(self.metric, example, prediction, steps)
            except BudgetExhausted:
                stop.set()
                raise  # not the example's fault: the whole evaluation stops
            except Exception as error:  # noqa: BLE001 - every failure is counted and reported
                return ExampleResult(index, example, None, 0.0, f"{type(error).__name__}: {error}",
                                     tuple(steps))
        return ExampleResult(index, example, prediction, score, None, tuple(steps))


_SKIPPED = "skipped after the error budget was spent"
