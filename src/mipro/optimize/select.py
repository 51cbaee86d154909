"""Stage 5: select the final program with its noise in mind, and report the run.

The search's own scores are optimistic: its best full score is a maximum over many
configurations, measured on the examples whose minibatches steered the search (the winner's
curse of model selection, Cawley & Talbot 2010). So part of the validation set is held out
from the search (``split_holdout``, stratified by label for classification), and topped up with
training examples no LM was shown during the run (``selection_train_ids``: not run while
bootstrapping, in no demo set, not in the dataset summary), so that the test has the power to
see a real gain. Selection scores the program as given on those examples, then the search's
best configuration (by search score; more with ``configurations``), and keeps the program as
given unless the configuration beats it with the stated confidence: the lower confidence bound
of its paired per-example difference is above 0 (``confidence.paired_lower_bound``). The
reported score is the mean of the program chosen on those examples, with a Wilson interval.
docs/selection.md explains the choice.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from mipro.errors import BudgetExhausted, ConfigurationError
from mipro.optimize.bootstrap import MAX_CATEGORIES
from mipro.optimize.confidence import paired_lower_bound, wilson_interval
from mipro.optimize.run.candidates import Configuration, describe_configuration
from mipro.optimize.run.records import (
    Contender,
    FullEvaluation,
    OptimizationResult,
    RunUsage,
    Selection,
    SelectionExamples,
)
from mipro.optimize.run.seeds import sub_seed
from mipro.optimize.search import Search
from mipro.program import Example


@dataclass(frozen=True, kw_only=True)
class SelectionSettings:
    """How the final program is chosen (the ``holdout_fraction``, ``selection_configurations``
    and ``selection_confidence`` options of every optimizer)."""

    holdout_fraction: float = 0.5
    """The share of the validation set held out from the search for selection."""
    configurations: int = 1
    """How many of the search's best configurations may be tested on the held-out examples, in
    order of search score, each only after the ones before it beat the program as given
    (fixed-sequence testing). With more than one, the held-out examples also choose among
    them (the highest lower bound wins), and the reported score becomes optimistic."""
    confidence: float = 0.84
    """How sure selection must be that a configuration beats the program as given; also the
    level of the reported score interval. The default, 0.84, is the one-standard-error rule:
    the gain must exceed about one standard error of the paired difference
    (docs/selection.md, "Other confidence levels")."""
    examples: int = 100
    """How many examples selection compares on, at most: the held-out validation examples, then
    training examples no LM was shown during the run up to this number (0: validation only)."""

    def __post_init__(self) -> None:
        if not 0 < self.holdout_fraction < 1:
            raise ConfigurationError(
                f"holdout_fraction must be between 0 and 1 (exclusive), got {self.holdout_fraction}")
        if self.configurations < 1:
            raise ConfigurationError(
                f"selection_configurations must be >= 1, got {self.configurations}")
        if not 0 < self.confidence < 1:
            raise ConfigurationError(
                f"selection_confidence must be between 0 and 1 (exclusive), got {self.confidence}")
        if self.examples < 0:
            raise ConfigurationError(f"selection_examples must be >= 0, got {self.examples}")

    def holdout_size(self, valset_size: int) -> int:
        """How many validation examples are held out: ``holdout_fraction`` of them, leaving
        the search at least one."""
        return min(valset_size - 1, max(1, round(self.holdout_fraction * valset_size)))

    def train_examples(self, holdout_size: int, trainset_size: int) -> int:
        """How many training examples may top up ``holdout_size`` held-out ones (if that many
        were never shown to an LM)."""
        return max(0, min(trainset_size, self.examples - holdout_size))

    def reserved_program_runs(self, valset_size: int) -> int:
        """How many program runs selection needs at most on the held-out validation examples:
        the program as given and every configuration tested. (Training examples top them up
        only as far as the LM-call budget left allows.)"""
        return (self.configurations + 1) * self.holdout_size(valset_size)


def split_holdout(valset_size: int, settings: SelectionSettings, seed: int,
                  strata: Sequence[Hashable] | None = None) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(search ids, held-out ids): a seeded split of the validation set's indices. With
    ``strata`` (one per example, e.g. ``label_strata(valset)``), every stratum is split in the
    same proportion (to within one example), so that both parts hold each label as often as
    the whole set does: a held-out half that happens to hold mostly one class would favour a
    program that always answers that class."""
    if valset_size < 2:
        raise ConfigurationError(
            f"the validation set has {valset_size} example(s): the optimizer searches on part of "
            "it and chooses the final program on the rest, so give at least 2 (40 or more for a "
            "choice that means something)")
    rng = random.Random(sub_seed(seed, "holdout"))
    size = settings.holdout_size(valset_size)
    if strata is None or len(set(strata)) < 2:
        holdout = set(rng.sample(range(valset_size), size))
    else:  # systematic sampling over the examples ordered by stratum, shuffled within
        order = list(range(valset_size))
        rng.shuffle(order)
        order.sort(key=lambda i: str(strata[i]))
        start = rng.random()
        holdout = {i for position, i in enumerate(order)
                   if math.floor((position + 1) * size / valset_size + start)
                   > math.floor(position * size / valset_size + start)}
    return (tuple(i for i in range(valset_size) if i not in holdout), tuple(sorted(holdout)))


def selection_train_ids(unseen: Sequence[int], settings: SelectionSettings, holdout_size: int,
                        seed: int) -> tuple[int, ...]:
    """The training examples selection may compare on besides the held-out validation examples:
    a seeded sample of ``unseen`` (training examples no LM was shown during the run), as many
    as ``settings.train_examples`` allows, in random order (``select`` takes the first ones the
    budget can pay for). None of them steered the search or gave a demo, and which ones they
    are does not depend on any score, so they are as unseen as the held-out validation
    examples."""
    size = settings.train_examples(holdout_size, len(unseen))
    return tuple(random.Random(sub_seed(seed, "selection", "train")).sample(list(unseen), size))


def label_strata(examples: Sequence[Example]) -> tuple[tuple[str, ...], ...] | None:
    """Each example's values of its categorical label fields (fields other than the inputs
    that take at most ``MAX_CATEGORIES`` values, each twice on average), as strata for
    ``split_holdout``; ``None`` when no label field is categorical (e.g. free-text answers)."""
    names = dict.fromkeys(name for example in examples for name in example.labels())
    values = {name: [str(example.labels().get(name)) for example in examples] for name in names}
    categorical = [name for name, column in values.items()
                   if len(set(column)) <= MAX_CATEGORIES and 2 * len(set(column)) <= len(column)]
    if not categorical:
        return None
    return tuple(zip(*(values[name] for name in categorical)))


def select(search: Search, settings: SelectionSettings, holdout_ids: Sequence[int],
           train_ids: Sequence[int] = ()) -> Selection | None:
    """Choose the final program: the program as given, or a configuration that beats it with
    ``settings.confidence`` on the held-out validation examples and the training examples
    ``train_ids`` (see the module docstring). ``None`` when nothing was fully evaluated (the
    budget ran out first)."""
    evaluations = search.study.full_evaluations()
    if not evaluations:
        return None
    affordable = search.study.selection_train_ids(
        lambda: _affordable(search, settings, len(holdout_ids), train_ids))
    examples = SelectionExamples(holdout_ids=tuple(holdout_ids), train_ids=affordable)
    baseline = next((e for e in evaluations if e.after_trial == -1), None)
    baseline_search = baseline.score if baseline else math.nan
    shortlist = _shortlist(evaluations, baseline_search, settings.configurations)
    try:
        reference = _holdout_scores(search, search.candidates.baseline(), examples)
    except BudgetExhausted:
        search.stopped_by_budget = True
        return Selection(
            holdout_ids=examples.holdout_ids, train_ids=examples.train_ids,
            confidence=settings.confidence, baseline_search_score=baseline_search,
            baseline_holdout_score=math.nan, contenders=(), chosen=None,
            score_interval=(math.nan, math.nan),
            reason="kept the program as given: the LM-call budget ran out before it was scored "
                   "on the held-out examples")
    contenders = _tested(search, shortlist, reference, examples, settings.confidence)
    chosen = _winner(contenders)
    score = _mean(reference) if chosen is None else contenders[chosen].holdout_score
    return Selection(
        holdout_ids=examples.holdout_ids, train_ids=examples.train_ids,
        confidence=settings.confidence, baseline_search_score=baseline_search,
        baseline_holdout_score=_mean(reference), contenders=contenders, chosen=chosen,
        score_interval=wilson_interval(score, examples.size, settings.confidence),
        reason=_reason(contenders, chosen, len(shortlist), settings.confidence,
                       examples.describe()),
    )


def result_of(search: Search, selection: Selection | None, *, usage: RunUsage,
              skipped_proposals: int,
              rejected_proposals: Mapping[str, int]) -> OptimizationResult | None:
    """The run's result: the selected configuration, its held-out score, what the search did
    and what the run spent; ``None`` without a selection."""
    if selection is None:
        return None
    configuration = (search.candidates.baseline() if selection.chosen is None
                     else selection.contenders[selection.chosen].configuration)
    return OptimizationResult(
        best_configuration=configuration, best_score=selection.chosen_score,
        baseline_score=selection.baseline_holdout_score,
        trials=tuple(search.study.finished_trials()),
        full_evaluations=tuple(search.study.full_evaluations()), usage=usage,
        candidates=search.candidates, stopped_by_budget=search.stopped_by_budget,
        skipped_proposals=skipped_proposals + search.skipped_proposals,
        rejected_proposals=dict(Counter(rejected_proposals) + search.rejected_proposals),
        demo_set_overlap=search.candidates.demo_set_overlap(),
        proposal_model=search.strategy.proposal_model(search), selection=selection,
    )


def describe_selection(selection: Selection) -> list[str]:
    """Lines that say how the final program was chosen, for the console."""
    percent = f"{selection.confidence:.0%}"
    lines = [f"Selection on {selection.examples.describe()} (no minibatch, search-time full "
             f"evaluation or demo used them), {percent} confidence:",
             f"  {'the program as given':<44} search {selection.baseline_search_score:.3f}  "
             f"held-out {selection.baseline_holdout_score:.3f}"]
    for number, contender in enumerate(selection.contenders):
        mark = "*" if number == selection.chosen else " "
        lines.append(f"{mark} {describe_configuration(contender.configuration):<44} search "
                     f"{contender.search_score:.3f}  held-out {contender.holdout_score:.3f}  "
                     f"difference {contender.difference:+.3f}  lower bound {contender.lower_bound:+.3f}")
    low, high = selection.score_interval
    lines.append(f"{selection.reason[0].upper()}{selection.reason[1:]}. Held-out score of the "
                 f"chosen program: {selection.chosen_score:.3f} ({percent} interval "
                 f"{low:.3f} to {high:.3f}).")
    return lines


def best_full_evaluation(evaluations: Sequence[FullEvaluation]) -> FullEvaluation:
    """The best search-time full score, the earliest on ties (for progress reports; selection
    decides the winner)."""
    return max(evaluations, key=lambda record: (record.score, -record.after_trial))


def _shortlist(evaluations: Sequence[FullEvaluation], baseline_search: float,
               limit: int) -> list[FullEvaluation]:
    """The best ``limit`` fully evaluated configurations by search score, other than the
    program as given, that scored at least as well as it on the search's examples."""
    ranked = sorted((e for e in evaluations if e.after_trial != -1),
                    key=lambda e: (-e.score, e.after_trial))
    return [e for e in ranked if not e.score < baseline_search][:limit]


def _affordable(search: Search, settings: SelectionSettings, holdout_size: int,
                train_ids: Sequence[int]) -> tuple[int, ...]:
    """The first of ``train_ids`` that the LM-call budget left can pay for, after the held-out
    validation examples: every configuration selection may test runs on each."""
    remaining = search.budget.remaining if search.budget else None
    if remaining is None:
        return tuple(train_ids)
    per_example = (settings.configurations + 1) * len(search.program.named_predictors())
    return tuple(train_ids[:max(0, remaining // per_example - holdout_size)])


def _holdout_scores(search: Search, configuration: Configuration,
                    examples: SelectionExamples) -> tuple[float, ...]:
    """Per-example scores of ``configuration`` on the selection's examples (held-out validation
    examples, then training examples), stored in the study (a resumed or rerun run reads them
    back)."""
    stored = search.study.holdout_scores(configuration)
    if stored is None:
        stored = (search.example_scores(configuration, examples.holdout_ids, "Held-out evaluation")
                  + search.example_scores(configuration, examples.train_ids,
                                          "Held-out evaluation (unseen training examples)",
                                          dataset="trainset"))
        search.study.add_holdout_scores(configuration, stored)
    return stored


def _tested(search: Search, shortlist: Sequence[FullEvaluation], reference: tuple[float, ...],
            examples: SelectionExamples, confidence: float) -> tuple[Contender, ...]:
    """Fixed-sequence testing: each configuration of the shortlist, in order, is scored on the
    held-out examples and tested at ``confidence`` against the program as given; testing stops
    after the first that does not beat it (or when the budget runs out)."""
    seed = sub_seed(search.seed, "selection")  # the same sign patterns for every contender
    tested: list[Contender] = []
    for evaluation in shortlist:
        try:
            scores = _holdout_scores(search, evaluation.configuration, examples)
        except BudgetExhausted:
            search.stopped_by_budget = True
            break
        differences = [score - base for score, base in zip(scores, reference)]
        tested.append(Contender(
            configuration=evaluation.configuration, search_score=evaluation.score,
            holdout_score=_mean(scores), difference=_mean(differences),
            lower_bound=paired_lower_bound(differences, confidence, seed=seed),
        ))
        if tested[-1].lower_bound <= 0:
            break
    return tuple(tested)


def _winner(contenders: Sequence[Contender]) -> int | None:
    """The contender with the highest lower bound above 0 (then the larger difference, then
    the better search rank); ``None`` when no contender's bound is above 0."""
    beating = [i for i, contender in enumerate(contenders) if contender.lower_bound > 0]
    if not beating:
        return None
    return max(beating, key=lambda i: (contenders[i].lower_bound, contenders[i].difference, -i))


def _reason(contenders: Sequence[Contender], chosen: int | None, shortlisted: int,
            confidence: float, examples: str) -> str:
    percent = f"{confidence:.0%}"
    if chosen is not None:
        winner = contenders[chosen]
        return (f"chose {describe_configuration(winner.configuration)}: it beats the program as "
                f"given by {winner.difference:+.3f} on the {examples} (lower bound "
                f"{winner.lower_bound:+.3f} at {percent} confidence)")
    if shortlisted == 0:
        return ("kept the program as given: no configuration of the search scored at least as "
                "well as it on the search's examples")
    if not contenders:
        return ("kept the program as given: the LM-call budget ran out before the search's best "
                "configuration was scored on the held-out examples")
    best = contenders[0]
    return (f"kept the program as given: the search's best configuration did not beat it with "
            f"{percent} confidence on the {examples} (difference "
            f"{best.difference:+.3f}, lower bound {best.lower_bound:+.3f})")


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan
