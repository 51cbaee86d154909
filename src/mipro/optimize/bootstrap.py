"""Stage 1: demo-set candidates per predictor, bootstrapped from the program's own traces."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_jsonable_python

from mipro.evaluate import Evaluate, Metric, error_budget
from mipro.lm.base import LM
from mipro.program import Example, Module, TraceStep
from mipro.program.predict import REASONING
from mipro.signatures import Signature
from mipro.optimize.run.candidates import Demo, DemoSet
from mipro.optimize.run.seeds import sub_seed


@dataclass(frozen=True, kw_only=True)
class BootstrapRequest:
    """Which demo sets to bootstrap: how many, how large, and when a trace passes."""

    num_sets: int
    max_bootstrapped_demos: int = 4
    max_labeled_demos: int = 4
    metric_threshold: float = 1.0
    max_examples: int | None = None


def bootstrap_demo_sets(
    program: Module,
    trainset: Sequence[Example],
    metric: Metric,
    request: BootstrapRequest,
    *,
    seed: int,
    teacher_lm: LM | None = None,
    num_threads: int = 1,
    max_errors: int | None = None,
    display_progress: bool = True,
) -> dict[str, tuple[DemoSet, ...]]:
    """Demo-set candidates for every predictor of ``program``.

    Set 0 is each predictor's demos as given; set 1 holds labeled examples only; the others
    mix demos from whole-program traces that passed ``metric`` (taken from the same examples
    for every predictor, so a set is coherent across stages) with labeled examples. With a
    ``teacher_lm``, every predictor runs on it to produce the traces. The program's code may
    raise on up to ``max_errors`` of the examples run (never on all of them).
    """
    rng = random.Random(sub_seed(seed, "bootstrap"))
    order = list(range(len(trainset)))
    rng.shuffle(order)
    names = [name for name, _ in program.named_predictors()]
    given = {name: tuple(_plain(d) for d in p.demos) for name, p in program.named_predictors()}
    if request.max_bootstrapped_demos == 0 and request.max_labeled_demos == 0:
        return {name: (given[name],) for name in names}

    pool = [trainset[i] for i in order[: bootstrap_pool_size(request, len(trainset))]]
    traced = _successful_traces(program, pool, metric, request, teacher_lm, num_threads,
                                max_errors, display_progress)
    sets: dict[str, list[DemoSet]] = {name: [given[name]] for name in names}
    signatures = dict((name, p.signature) for name, p in program.named_predictors())
    for name in names:
        sets[name].append(_labeled(trainset, order, signatures[name], request.max_labeled_demos, set()))
    for set_index in range(max(0, request.num_sets - 2)):
        sampled = _label_diverse_order(traced, rng)
        size = request.max_bootstrapped_demos if set_index == 0 else rng.randint(
            1, max(1, request.max_bootstrapped_demos))
        chosen = _capped_per_output(sampled, size)
        used = {trace.position for trace in chosen}
        for name in names:
            demos = tuple(trace.demos[name] for trace in chosen if name in trace.demos)
            room = max(0, request.max_labeled_demos - len(demos))
            sets[name].append(demos + _labeled(trainset, order, signatures[name], room, used))
    return {name: tuple(demo_sets) for name, demo_sets in sets.items()}


def bootstrap_pool_size(request: BootstrapRequest, num_examples: int) -> int:
    """How many training examples the program is run on to collect traces (0: none)."""
    if request.max_bootstrapped_demos == 0:
        return 0
    wanted = request.max_examples or max(8, 2 * request.max_bootstrapped_demos * request.num_sets)
    return min(num_examples, wanted)


@dataclass(frozen=True)
class _PassingTrace:
    """The demos one passing run yields, and the final output it reached."""

    position: int
    demos: dict[str, Demo]
    final_output: str


def _label_diverse_order(traced: list[_PassingTrace], rng: random.Random) -> list[_PassingTrace]:
    """A shuffled order that cycles through the distinct final outputs.

    Small models pass most often on one class, so a plain shuffle gives demo sets of a single
    label, which bias the model further; cycling over outputs keeps every label represented.
    """
    groups: dict[str, list[_PassingTrace]] = {}
    for trace in traced:
        groups.setdefault(trace.final_output, []).append(trace)
    queues = list(groups.values())
    rng.shuffle(queues)
    for queue in queues:
        rng.shuffle(queue)
    order = []
    while any(queues):
        for queue in queues:
            if queue:
                order.append(queue.pop())
    return order


def _capped_per_output(order: list[_PassingTrace], size: int) -> list[_PassingTrace]:
    """The first ``size`` traces of ``order`` with at most half of them (rounded up) sharing a
    final output; labeled examples fill the rest of the set."""
    cap = max(1, (size + 1) // 2)
    taken: dict[str, int] = {}
    chosen = []
    for trace in order:
        if len(chosen) == size:
            break
        if taken.get(trace.final_output, 0) < cap:
            taken[trace.final_output] = taken.get(trace.final_output, 0) + 1
            chosen.append(trace)
    return chosen


def _successful_traces(
    program: Module,
    examples: list[Example],
    metric: Metric,
    request: BootstrapRequest,
    teacher_lm: LM | None,
    num_threads: int,
    max_errors: int | None,
    display_progress: bool,
) -> list[_PassingTrace]:
    """What every run that passed ``metric`` yields."""
    if request.max_bootstrapped_demos == 0 or not examples:
        return []
    student = program.deepcopy()
    names_by_id = {id(p): name for name, p in student.named_predictors()}
    for predictor in student.predictors():
        predictor.lm = teacher_lm or predictor.lm
    result = Evaluate(examples, metric, num_threads=num_threads,
                      max_errors=error_budget(max_errors, len(examples)),
                      display_progress=display_progress, description="Bootstrapping demos",
                      dataset="bootstrap sample")(student)
    traced = []
    for outcome in result.results:
        if outcome.error is None and outcome.score >= request.metric_threshold:
            final = outcome.trace[-1].outputs if outcome.trace else {}
            label = repr(sorted((k, str(v)) for k, v in final.items() if k != REASONING.name))
            traced.append(_PassingTrace(outcome.index, _demos_from_trace(outcome.trace, names_by_id),
                                        label))
    return traced


def _demos_from_trace(trace: Sequence[TraceStep], names_by_id: dict[int, str]) -> dict[str, Demo]:
    demos: dict[str, Demo] = {}
    for step in trace:
        name = names_by_id.get(id(step.predictor))
        if name is not None and name not in demos:
            demos[name] = _plain({**step.inputs, **step.outputs})
    return demos


def _labeled(trainset: Sequence[Example], order: list[int], signature: Signature, count: int,
             excluded: set[int]) -> DemoSet:
    """Up to ``count`` raw examples that carry every output field of ``signature``."""
    outputs = [f.name for f in signature.output_fields if f != REASONING]
    demos: list[Demo] = []
    for position, index in enumerate(order):
        if len(demos) >= count:
            break
        example = trainset[index]
        if position in excluded or not all(name in example for name in outputs):
            continue
        fields = {f.name: example[f.name] for f in signature.fields if f.name in example}
        demos.append(_plain(fields))
    return tuple(demos)


def _plain(demo: object) -> dict[str, Any]:
    value: dict[str, Any] = to_jsonable_python(dict(demo))  # type: ignore[call-overload]
    return value
