"""Parallel evaluation of a program over examples, with failure kinds kept apart.

What can go wrong on one example, and what becomes of it:

- the prompt's failure: the reply does not fit the signature (``ParseError``) or the prompt
  does not fit the context window (``ContextWindowError``). The example scores 0 and is
  counted (``EvaluationResult.prompt_failures``; parse failures also per predictor, in the
  LM's usage).
- the program's own code raises: the example scores 0 and counts against ``max_errors``; past
  that budget the evaluation stops with an ``EvaluationError`` listing the failed examples.
- the metric raises, or returns something that is not a finite number or a bool: a bug, never
  a score. The evaluation stops at the first one with a ``MetricError`` naming the example.
- anything else of mipro's (the LM fails with an ``LMError``, the LM-call budget is spent, a
  ``ConfigurationError``): nothing about the example. The evaluation stops at once and the
  error propagates, so no score is made of it.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Literal

from mipro.errors import (
    ConfigurationError,
    ContextWindowError,
    EvaluationError,
    MetricError,
    MiproError,
    ParseError,
)
from mipro.lm.base import LM
from mipro.lm.context import using_lm
from mipro.program import Example, Module, Prediction, TraceStep, tracing
from mipro.progress import progress_bar

Metric = Callable[..., float | bool]
"""``metric(example, prediction)`` or ``metric(example, prediction, trace)``: a score in
[0, 1], or a bool. The one metric type of mipro (tasks and optimizers use it too)."""

FailureKind = Literal["prompt", "program"]
"""Why an example scored 0 without being judged: the prompt's failure (a reply that does not
parse, a prompt too long for the context window) or the program's code raising."""

PROMPT_FAILURES = (ParseError, ContextWindowError)
"""The errors that are the prompt's fault: the example scores 0 and is counted."""


@dataclass(frozen=True)
class ExampleResult:
    """The outcome of one example: its prediction and score, or the error it raised."""

    index: int
    example: Example
    prediction: Prediction | None
    score: float
    error: str | None = None
    trace: tuple[TraceStep, ...] = ()
    failure: FailureKind | None = None


@dataclass(frozen=True)
class EvaluationResult:
    """Mean score and per-example results of one evaluation."""

    score: float
    results: tuple[ExampleResult, ...]

    @property
    def num_failed(self) -> int:
        """Examples that scored 0 because the prompt or the program failed on them."""
        return sum(result.error is not None for result in self.results)

    @property
    def prompt_failures(self) -> int:
        """Examples whose reply did not parse, or whose prompt did not fit the context window."""
        return sum(result.failure == "prompt" for result in self.results)

    @property
    def program_failures(self) -> int:
        """Examples on which the program's own code raised."""
        return sum(result.failure == "program" for result in self.results)


def call_metric(metric: Metric, example: Example, prediction: Prediction,
                trace: Sequence[TraceStep] | None = None) -> float:
    """Call a metric written as ``metric(example, prediction)`` or with a third ``trace``;
    a value that is not a finite number or a bool raises ``MetricError``."""
    takes_trace = len(inspect.signature(metric).parameters) >= 3
    value = metric(example, prediction, trace) if takes_trace else metric(example, prediction)
    score = _as_score(value)
    if score is None:
        raise MetricError(
            f"the metric returned {value!r}; a metric must return a finite number (a score in "
            "[0, 1]) or a bool" + (" (NaN often comes from a division by zero)"
                                   if isinstance(value, float) and math.isnan(value) else "")
        )
    return score


def error_budget(max_errors: int | None, num_examples: int) -> int:
    """The ``max_errors`` of one evaluation inside an optimizer run: the program's code may raise
    on at most ``max_errors`` of its ``num_examples`` (``None``: any number), and never on all."""
    most = max(0, num_examples - 1)
    return most if max_errors is None else min(max_errors, most)


def _as_score(value: object) -> float | None:
    """``value`` as a finite float, or ``None`` when it is not a number or a bool."""
    if value is None or isinstance(value, (str, bytes)):
        return None
    try:
        score = float(value)  # type: ignore[arg-type]  # bool, int, float, numpy numbers, ...
    except (TypeError, ValueError):
        return None
    return score if math.isfinite(score) else None


class Evaluate:
    """Runs a program over ``devset`` in ``num_threads`` threads and scores it with ``metric``.

    An example on which the prompt or the program fails scores 0 and is reported (see the
    module's docstring for the kinds of failure). When the program's code raises on more than
    ``max_errors`` examples, the evaluation stops with an ``EvaluationError`` listing them. A
    metric that raises or returns no finite number stops it with a ``MetricError``. Errors name
    examples as ``<dataset>[<index>]``.
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
        dataset: str = "devset",
    ) -> None:
        if num_threads < 1:
            raise ConfigurationError(f"num_threads must be >= 1, got {num_threads}")
        if max_errors is not None and max_errors < 0:
            raise ConfigurationError(f"max_errors must be >= 0 or None, got {max_errors}")
        self.devset = list(devset)
        self.metric = metric
        self.num_threads = num_threads
        self.max_errors = max_errors
        self.display_progress = display_progress
        self.lm = lm
        self.description = description
        self.dataset = dataset

    def __call__(self, program: Module, devset: Sequence[Example] | None = None, *,
                 ids: Sequence[int] | None = None) -> EvaluationResult:
        """Evaluate ``program`` on ``devset`` (default: the one given at construction), or only
        on its examples at positions ``ids``; results carry the examples' positions."""
        examples = self.devset if devset is None else list(devset)
        positions = list(range(len(examples))) if ids is None else list(ids)
        if not positions:
            raise ConfigurationError("Evaluate needs at least one example")
        with using_lm(self.lm) if self.lm is not None else contextlib.nullcontext():
            results = self._run_all(program, [(i, examples[i]) for i in positions])
        ordered = tuple(sorted(results, key=lambda result: result.index))
        return EvaluationResult(sum(r.score for r in ordered) / len(ordered), ordered)

    def _run_all(self, program: Module, examples: list[tuple[int, Example]]) -> list[ExampleResult]:
        results: list[ExampleResult] = []
        failures: list[tuple[int, str]] = []
        stop = threading.Event()
        with progress_bar(self.description, len(examples), enabled=self.display_progress) as bar, \
                ThreadPoolExecutor(self.num_threads) as pool:
            index_of: dict[Future[ExampleResult], int] = {
                pool.submit(contextvars.copy_context().run, self._run_one, program, i, ex, stop): i
                for i, ex in examples
            }
            pending = set(index_of)
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in sorted(done, key=index_of.__getitem__):
                        result = future.result()  # re-raises what stops the evaluation
                        if result.error == _SKIPPED:
                            continue
                        results.append(result)
                        if result.failure == "program":
                            failures.append((result.index, result.error or ""))
                        mean = sum(r.score for r in results) / len(results)
                        bar.advance(f"score {mean:.3f}, failed {sum(r.error is not None for r in results)}")
                        if self.max_errors is not None and len(failures) > self.max_errors:
                            raise EvaluationError(
                                f"the program raised on every one of the {len(failures)} "
                                f"examples of {self.dataset} it ran on"
                                if len(failures) == len(examples) else
                                f"the program raised on {len(failures)} examples of "
                                f"{self.dataset}, more than max_errors={self.max_errors}",
                                failures=sorted(failures), dataset=self.dataset,
                            )
            except BaseException:
                stop.set()
                for waiting in pending:
                    waiting.cancel()
                raise
        return results

    def _run_one(self, program: Module, index: int, example: Example,
                 stop: threading.Event) -> ExampleResult:
        if stop.is_set():
            return ExampleResult(index, example, None, 0.0, _SKIPPED)
        where = f"{self.dataset}[{index}]"
        with tracing() as steps:
            try:
                prediction = program(**example.inputs())
            except PROMPT_FAILURES as error:
                return ExampleResult(index, example, None, 0.0, _describe(error), tuple(steps),
                                     "prompt")
            except ConfigurationError as error:
                stop.set()
                raise ConfigurationError(f"{where}: {error}") from error
            except MiproError:
                stop.set()
                raise  # the LM failed or the budget is spent: not the example's doing
            except Exception as error:  # noqa: BLE001 - the program's code: counted, budgeted
                return ExampleResult(index, example, None, 0.0, _describe(error), tuple(steps),
                                     "program")
            try:
                score = call_metric(self.metric, example, prediction, steps)
            except Exception as error:
                stop.set()
                raise _metric_error(error, where, example) from error
        return ExampleResult(index, example, prediction, score, None, tuple(steps))


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def _metric_error(error: Exception, where: str, example: Example) -> MetricError:
    shown = repr(example)
    if len(shown) > _EXAMPLE_CHARS:
        shown = shown[:_EXAMPLE_CHARS] + "...)"
    what = str(error) if isinstance(error, MetricError) else f"the metric raised {_describe(error)}"
    return MetricError(f"{what}\n  on {where}: {shown}\nFix the metric (or that row) and run again.")


_EXAMPLE_CHARS = 300
"""How much of an example an error message shows."""

_SKIPPED = "skipped after the evaluation was stopped"
