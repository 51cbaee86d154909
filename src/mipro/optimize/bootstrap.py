"""Stage 1: demo-set candidates per predictor, bootstrapped from the program's own traces.

Every predictor gets ``num_sets`` demo sets. Set 0 is the demos it came with; set 1 holds
labeled training examples only; every further set mixes demos from whole-program traces that
passed the metric with labeled examples. So that the sets cover the training data instead of
repeating a few examples:

- each set draws from its own seeded shuffle (sub-seeds ``("demo_set", k, ...)`` of the run's
  seed), for its traced and its labeled demos alike;
- no trace is in two sets (traced sets take turns, so scarce traces are shared out), and an
  example an earlier set showed goes last in every later set's labeled order;
- labeled demos cycle through the values of a categorical output (a ``Literal`` or ``bool``,
  or a field with few distinct values in the trainset), and traced demos through the
  program's final outputs, at most half a set per output, so that no set shows one label only.

Traces are collected batch by batch until every traced set can be filled, within the budget of
``bootstrap_budget`` training examples. ``Candidates.demo_set_overlap`` measures the result:
the mean share of demos two sets of a predictor have in common. ``Bootstrapped.shown`` names the
training examples an LM saw (run, or shown as a labeled demo): selection may confirm its choice
on the others (``select.py``).
"""

from __future__ import annotations

import math
import random
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_jsonable_python

from mipro.errors import EvaluationError
from mipro.evaluate import Evaluate, Metric
from mipro.lm.base import LM
from mipro.optimize.run.candidates import Demo, DemoSet
from mipro.optimize.run.seeds import sub_seed
from mipro.program import Example, Module, TraceStep
from mipro.program.predict import REASONING
from mipro.signatures import Signature
from mipro.signatures.types import is_literal

MAX_CATEGORIES = 10
"""An output with at most this many distinct values in the trainset (and at most one value per
two examples) counts as categorical, even when its type is ``str``."""


@dataclass(frozen=True, kw_only=True)
class BootstrapRequest:
    """Which demo sets to bootstrap: how many, how large, when a trace passes, and the budget."""

    num_sets: int
    max_bootstrapped_demos: int = 4
    max_labeled_demos: int = 4
    metric_threshold: float = 1.0
    max_examples: int | None = None
    """The bootstrapping budget: the most training examples the program is run on to collect
    traces (``None``: ``bootstrap_budget``'s default)."""

    @property
    def num_traced_sets(self) -> int:
        """How many sets hold traced demos (every set after the given one and the labeled one)."""
        return max(0, self.num_sets - 2) if self.max_bootstrapped_demos else 0


@dataclass(frozen=True)
class Bootstrapped:
    """What bootstrapping built, and which training examples it showed to an LM."""

    demo_sets: dict[str, tuple[DemoSet, ...]]
    """Every predictor's demo sets; set 0 is the demos it came with."""
    shown: frozenset[int]
    """The training examples (indices) the program ran on or a demo set holds as labeled demos."""


def bootstrap_budget(request: BootstrapRequest, num_examples: int) -> int:
    """The most training examples bootstrapping runs the program on (0: no traced sets).

    ``request.max_examples``, or by default four runs per traced demo the sets can hold
    (``4 * max_bootstrapped_demos * num_traced_sets``, at least 8: enough to fill every set
    when a quarter of the runs pass), never more than the trainset. Bootstrapping stops
    earlier, once every traced set can be filled with traces of its own.
    """
    if request.num_traced_sets == 0:
        return 0
    default = max(8, 4 * request.max_bootstrapped_demos * request.num_traced_sets)
    return min(num_examples, request.max_examples or default)


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
) -> Bootstrapped:
    """Demo-set candidates for every predictor of ``program`` (see the module docstring).

    Traces come from running the program (every predictor on ``teacher_lm`` when given) on a
    seeded shuffle of ``trainset``, batch by batch, until every traced set can be filled or
    ``bootstrap_budget`` examples have run. A trace gives demos to every predictor at once, so
    a set is coherent across stages. The program's code may raise on up to ``max_errors`` of
    the examples run (never on all of them).
    """
    named = dict(program.named_predictors())
    given = {name: tuple(_plain(d) for d in p.demos) for name, p in named.items()}
    if request.max_bootstrapped_demos == 0 and request.max_labeled_demos == 0:
        return Bootstrapped({name: (given[name],) for name in named}, frozenset())
    sizes = _traced_set_sizes(request, seed)
    traces, ran = _collect_traces(program, trainset, metric, request, sizes, seed=seed,
                             teacher_lm=teacher_lm, num_threads=num_threads,
                             max_errors=max_errors, display_progress=display_progress)
    traced_sets = _allocate_traces(traces, sizes, seed)
    labels = {name: _label_fields(p.signature, trainset) for name, p in named.items()}
    sets: dict[str, list[DemoSet]] = {name: [given[name]] for name in named}
    # Labeled demos avoid the examples of every traced set, not only of their own.
    traced_examples = Counter(trace.index for chosen in traced_sets for trace in chosen)
    used = {name: traced_examples.copy() for name in named}
    for set_index in range(1, request.num_sets):
        order = list(range(len(trainset)))
        _rng(seed, "demo_set", set_index, "labeled").shuffle(order)
        chosen = traced_sets[set_index - 2] if 2 <= set_index < 2 + len(traced_sets) else []
        taken = {trace.index for trace in chosen}
        for name, predictor in named.items():
            traced = tuple(trace.demos[name] for trace in chosen if name in trace.demos)
            room = max(0, request.max_labeled_demos - len(traced))
            labeled = _labeled(trainset, order, predictor.signature, labels[name], room,
                               used[name], traced, taken)
            used[name].update(labeled)
            sets[name].append(traced + tuple(_labeled_demo(trainset[i], predictor.signature)
                                             for i in labeled))
    shown = set(ran).union(*(counts for counts in used.values()))
    return Bootstrapped({name: tuple(demo_sets) for name, demo_sets in sets.items()},
                        frozenset(shown))


@dataclass(frozen=True)
class _PassingTrace:
    """The demos one passing run yields, and the final output it reached."""

    index: int
    """The training example it ran on."""
    demos: dict[str, Demo]
    final_output: str


def _traced_set_sizes(request: BootstrapRequest, seed: int) -> list[int]:
    """How many traced demos each traced set holds: the first the most, the others a seeded
    random number from 1 to the most (so the search can also choose fewer demos)."""
    most = request.max_bootstrapped_demos
    return [most if k == 0 else _rng(seed, "demo_set", k + 2, "size").randint(1, most)
            for k in range(request.num_traced_sets)]


def _collect_traces(
    program: Module,
    trainset: Sequence[Example],
    metric: Metric,
    request: BootstrapRequest,
    sizes: list[int],
    *,
    seed: int,
    teacher_lm: LM | None,
    num_threads: int,
    max_errors: int | None,
    display_progress: bool,
) -> tuple[list[_PassingTrace], list[int]]:
    """Passing traces from the first examples of a seeded shuffle of ``trainset``, batch by
    batch, until ``_fillable`` says every traced set can be filled or the budget is spent, and
    the examples run. The program's code may raise on ``max_errors`` of the examples run, over
    all batches."""
    budget = bootstrap_budget(request, len(trainset))
    if budget == 0:
        return [], []
    pool = _rng(seed, "bootstrap", "pool").sample(range(len(trainset)), budget)
    student = program.deepcopy()
    names_by_id = {id(p): name for name, p in student.named_predictors()}
    for predictor in student.predictors():
        predictor.lm = teacher_lm or predictor.lm
    wanted, traces, ran = sum(sizes), [], 0
    failures: list[tuple[int, str]] = []
    while ran < budget and (usable := _fillable(traces, sizes)) < wanted:
        # Size the next batch from the pass rate so far, so a few batches reach the goal.
        shortfall = wanted - usable
        batch = shortfall if ran == 0 else math.ceil(shortfall * ran / max(usable, 1))
        indices = pool[ran:ran + max(batch, num_threads)]
        allowance = None if max_errors is None else max_errors - len(failures)  # over all batches
        evaluate = Evaluate(trainset, metric, num_threads=num_threads, max_errors=allowance,
                            display_progress=display_progress, description="Bootstrapping demos",
                            dataset="trainset")
        try:
            result = evaluate(student, ids=indices)
        except EvaluationError as error:  # say the budget over all batches, not this batch's rest
            failed = failures + error.failures
            raise EvaluationError(
                f"the program raised on {len(failed)} examples of the trainset while "
                f"bootstrapping, more than max_errors={max_errors}", failures=failed,
                dataset="trainset") from None
        ran += len(indices)
        failures += [(r.index, r.error or "") for r in result.results if r.failure == "program"]
        for outcome in result.results:
            if outcome.error is None and outcome.score >= request.metric_threshold:
                final = outcome.trace[-1].outputs if outcome.trace else {}
                label = repr(sorted((k, str(v)) for k, v in final.items() if k != REASONING.name))
                traces.append(_PassingTrace(outcome.index,
                                            _demos_from_trace(outcome.trace, names_by_id), label))
    if failures and len(failures) == ran:
        raise EvaluationError(f"the program raised on every one of the {ran} examples of the "
                              "trainset it ran on while bootstrapping", failures=failures,
                              dataset="trainset")
    return traces, pool[:ran]


def _fillable(traces: list[_PassingTrace], sizes: list[int]) -> int:
    """How many traced demos the sets could hold without repeating a trace: a final output
    fills at most ``_output_cap`` of each set."""
    room_per_output = sum(_output_cap(size) for size in sizes)
    counts = Counter(trace.final_output for trace in traces)
    return sum(min(count, room_per_output) for count in counts.values())


def _output_cap(size: int) -> int:
    """At most half of a set's traced demos (rounded up) share a final output."""
    return max(1, (size + 1) // 2)


def _allocate_traces(traces: list[_PassingTrace], sizes: list[int],
                     seed: int) -> list[list[_PassingTrace]]:
    """Every traced set's traces. Sets take turns, one trace at a time, each from its own
    label-diverse order and at most ``_output_cap`` per final output, so scarce traces are
    shared out instead of filling the first sets; no trace is in two sets, except that a set
    left with none shows the least used one."""
    orders = [_label_diverse_order(traces, _rng(seed, "demo_set", k + 2, "traces"))
              for k in range(len(sizes))]
    chosen: list[list[_PassingTrace]] = [[] for _ in sizes]
    uses: Counter[int] = Counter()
    growing = True
    while growing:
        growing = False
        for k, order in enumerate(orders):
            outputs = Counter(trace.final_output for trace in chosen[k])
            pick = next((t for t in order if uses[t.index] == 0
                         and outputs[t.final_output] < _output_cap(sizes[k])), None)
            if pick is not None and len(chosen[k]) < sizes[k]:
                chosen[k].append(pick)
                uses[pick.index] += 1
                growing = True
    for k, order in enumerate(orders):
        if not chosen[k] and order:
            pick = min(order, key=lambda trace: uses[trace.index])
            chosen[k].append(pick)
            uses[pick.index] += 1
    return chosen


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
    return _round_robin(queues)


def _demos_from_trace(trace: Sequence[TraceStep], names_by_id: dict[int, str]) -> dict[str, Demo]:
    demos: dict[str, Demo] = {}
    for step in trace:
        name = names_by_id.get(id(step.predictor))
        if name is not None and name not in demos:
            demos[name] = _plain({**step.inputs, **step.outputs})
    return demos


def _label_fields(signature: Signature, trainset: Sequence[Example]) -> tuple[str, ...]:
    """The categorical output fields of ``signature``: labeled demos are balanced over them."""
    fields = []
    for field in signature.output_fields:
        if field == REASONING:
            continue
        values = [str(example[field.name]) for example in trainset if field.name in example]
        distinct = len(set(values))
        typed = is_literal(field.annotation) or field.annotation is bool
        if values and (typed or (distinct <= MAX_CATEGORIES and 2 * distinct <= len(values))):
            fields.append(field.name)
    return tuple(fields)


def _labeled(trainset: Sequence[Example], order: list[int], signature: Signature,
             label_fields: tuple[str, ...], count: int, used: Counter[int],
             traced: Sequence[Demo], excluded: set[int]) -> list[int]:
    """Up to ``count`` training examples (indices) that carry every output of ``signature``,
    least used first (in ``order`` among equals), each of the label the set (with its
    ``traced`` demos) shows least so far."""
    outputs = [f.name for f in signature.output_fields if f != REASONING]
    eligible = [i for i in order
                if i not in excluded and all(name in trainset[i] for name in outputs)]
    eligible.sort(key=lambda i: used[i])  # stable: the set's own shuffle among equals
    groups: dict[tuple[str, ...], deque[int]] = {}
    for i in eligible:
        groups.setdefault(_label(trainset[i], label_fields), deque()).append(i)
    shown = Counter(_label(demo, label_fields) for demo in traced)
    picked: list[int] = []
    while len(picked) < count and any(groups.values()):
        label = min((label for label, queue in groups.items() if queue), key=shown.__getitem__)
        picked.append(groups[label].popleft())
        shown[label] += 1
    return picked


def _label(example: Mapping[str, Any], label_fields: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(str(example.get(name)) for name in label_fields)


def _round_robin(queues: Iterable[list[Any]]) -> list[Any]:
    """The first item of every queue, then the second of every queue, and so on."""
    pending = [list(queue) for queue in queues]
    order = []
    for depth in range(max((len(q) for q in pending), default=0)):
        order.extend(queue[depth] for queue in pending if depth < len(queue))
    return order


def _labeled_demo(example: Example, signature: Signature) -> Demo:
    return _plain({f.name: example[f.name] for f in signature.fields if f.name in example})


def _rng(seed: int, *purpose: object) -> random.Random:
    return random.Random(sub_seed(seed, *purpose))


def _plain(demo: object) -> dict[str, Any]:
    value: dict[str, Any] = to_jsonable_python(dict(demo))  # type: ignore[call-overload]
    return value
