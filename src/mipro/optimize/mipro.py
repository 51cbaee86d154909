"""MIPRO = bootstrap demo sets + propose grounded instructions + Bayesian search."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from typing import Any

from mipro.errors import BudgetExhausted, ConfigurationError
from mipro.evaluate import Metric
from mipro.lm.base import LM
from mipro.lm.context import active_lm
from mipro.optimize.bootstrap import BootstrapSettings, bootstrap_demo_sets
from mipro.optimize.budget import BudgetedLM, CallBudget
from mipro.optimize.presets import resolve_counts
from mipro.optimize.propose import (
    Grounding,
    ProposalSettings,
    propose_instruction,
    summarize_dataset,
    summarize_program,
)
from mipro.optimize.records import (
    Candidates,
    DemoSet,
    FullEvaluation,
    OptimizationResult,
    PredictorCandidates,
    TrialRecord,
    describe_configuration,
)
from mipro.optimize.search import BayesianSearch, SearchSettings, best_full_evaluation, build_program
from mipro.optimize.study import RunStudy
from mipro.optimize.tips import TIPS
from mipro.program import Example, Module
from mipro.progress import console, progress_bar


class MIPRO:
    """Optimizes every predictor's instruction and demos for the whole program's ``metric``.

    ``auto`` ("light", "medium", "heavy") picks candidate and trial counts from the program's
    size; explicit ``num_candidates`` / ``num_trials`` override it. ``max_lm_calls`` is a hard
    cap on real LM calls (cache hits are free). The run is an Optuna study in ``storage``
    (default ``./mipro_runs/<run_name>.db``): running again with the same ``run_name`` resumes.
    """

    def __init__(
        self,
        metric: Metric,
        *,
        task_lm: LM | None = None,
        prompt_lm: LM | None = None,
        teacher_lm: LM | None = None,
        auto: str | None = "light",
        num_candidates: int | None = None,
        num_trials: int | None = None,
        minibatch_size: int = 35,
        full_eval_every: int = 5,
        max_bootstrapped_demos: int = 4,
        max_labeled_demos: int = 4,
        metric_threshold: float = 1.0,
        zero_shot: bool = False,
        grounding: ProposalSettings = ProposalSettings(),
        tips: Sequence[str] = tuple(TIPS),
        seed: int = 0,
        max_lm_calls: int | None = None,
        run_name: str | None = None,
        storage: str | None = None,
        num_threads: int = 1,
        verbose: bool = True,
    ) -> None:
        if not callable(metric):
            raise ConfigurationError(f"metric must be callable(example, prediction), got {metric!r}")
        for name, value in (("minibatch_size", minibatch_size), ("full_eval_every", full_eval_every),
                            ("num_threads", num_threads)):
            if value < 1:
                raise ConfigurationError(f"{name} must be >= 1, got {value}")
        unknown_tips = sorted(set(tips) - set(TIPS))
        if unknown_tips or not tips:
            raise ConfigurationError(f"tips must be a non-empty subset of {sorted(TIPS)}, got {list(tips)}")
        if max_lm_calls is not None and max_lm_calls < 1:
            raise ConfigurationError(f"max_lm_calls must be >= 1 or None, got {max_lm_calls}")
        resolve_counts(auto, 1, num_candidates, num_trials)  # fail early on a bad preset
        self.metric = metric
        self.task_lm, self.prompt_lm, self.teacher_lm = task_lm, prompt_lm, teacher_lm
        self.auto, self.num_candidates, self.num_trials = auto, num_candidates, num_trials
        self.minibatch_size, self.full_eval_every = minibatch_size, full_eval_every
        self.max_bootstrapped_demos = 0 if zero_shot else max_bootstrapped_demos
        self.max_labeled_demos = 0 if zero_shot else max_labeled_demos
        self.grounding_demos = max_bootstrapped_demos if zero_shot else 0
        self.metric_threshold, self.zero_shot = metric_threshold, zero_shot
        self.grounding, self.tips, self.seed = grounding, tuple(tips), seed
        self.max_lm_calls, self.run_name, self.storage = max_lm_calls, run_name, storage
        self.num_threads, self.verbose = num_threads, verbose
        self.result: OptimizationResult | None = None

    def compile(self, program: Module, trainset: Sequence[Example],
                valset: Sequence[Example] | None = None) -> Module:
        """The optimized copy of ``program``; details of the run are in ``self.result``."""
        predictors = program.named_predictors()
        num_candidates, num_trials, max_valset = resolve_counts(
            self.auto, len(predictors), self.num_candidates, self.num_trials)
        trainset, valset = _split(trainset, valset, self.seed, max_valset)
        task_lm = self.task_lm or _lm_of(program) or active_lm()
        budget = CallBudget(self.max_lm_calls)
        task, proposer = BudgetedLM(task_lm, budget), BudgetedLM(self.prompt_lm or task_lm, budget)
        working = program.deepcopy()
        for _, predictor in working.named_predictors():
            predictor.lm = BudgetedLM(predictor.lm, budget) if predictor.lm else task
        settings = self._fingerprint(program, trainset, valset, task_lm, num_candidates)
        run_name = self.run_name or _default_run_name(program, settings)
        study = RunStudy(run_name, self.storage, settings)
        self._say(f"MIPRO run {run_name!r} in {study.url}")
        self._say_plan(len(predictors), len(trainset), len(valset), num_candidates, num_trials)
        skipped = 0
        try:
            candidates = study.load_candidates()
            if candidates is None:
                candidates, skipped = self._make_candidates(working, trainset, proposer, num_candidates)
                study.save_candidates(candidates)
        except BudgetExhausted:
            self._say("The LM-call budget ran out before the search; returning the program as given.")
            self.result = _empty_result(task, proposer)
            return program.deepcopy()
        search = BayesianSearch(
            working, candidates, valset, self.metric, study,
            SearchSettings(num_trials, self.minibatch_size, self.full_eval_every, self.seed,
                           num_threads=self.num_threads, display_progress=self.verbose),
            budget,
        )
        self._run_search(search, num_trials)
        return self._finish(program, study, candidates, task, proposer, search, skipped)

    def _make_candidates(self, program: Module, trainset: Sequence[Example], proposer: LM,
                         num_candidates: int) -> tuple[Candidates, int]:
        demo_budget = self.grounding_demos or self.max_bootstrapped_demos
        demo_sets = bootstrap_demo_sets(
            program, trainset, self.metric,
            BootstrapSettings(num_candidates, demo_budget, self.max_labeled_demos,
                              self.metric_threshold, num_threads=self.num_threads),
            seed=self.seed, teacher_lm=self.teacher_lm, display_progress=self.verbose,
        )
        instructions, settings, skipped = self._propose(program, trainset, proposer, demo_sets,
                                                        num_candidates)
        return Candidates({
            name: PredictorCandidates(
                instructions[name],
                [demo_sets[name][0]] if self.zero_shot else demo_sets[name],
                settings[name],
            )
            for name, _ in program.named_predictors()
        }), skipped

    def _propose(self, program: Module, trainset: Sequence[Example], proposer: LM,
                 demo_sets: dict[str, list[DemoSet]], num_candidates: int
                 ) -> tuple[dict[str, list[str]], dict[str, list[dict[str, Any]]], int]:
        """``num_candidates - 1`` proposals per predictor beside its original instruction."""
        rng = random.Random(self.seed)
        dataset_summary = (summarize_dataset(proposer, trainset, seed=self.seed)
                           if self.grounding.dataset_summary else "")
        program_summary, roles = (summarize_program(proposer, program)
                                  if self.grounding.program_summary else ("", {}))
        instructions: dict[str, list[str]] = {}
        settings: dict[str, list[dict[str, Any]]] = {}
        skipped = 0
        predictors = program.named_predictors()
        with progress_bar("Proposing instructions", len(predictors) * (num_candidates - 1),
                          enabled=self.verbose) as bar:
            for name, predictor in predictors:
                instructions[name] = [predictor.signature.instructions]
                settings[name] = [{}]
                grounding = Grounding(dataset_summary, program_summary, roles.get(name, ""),
                                      demo_sets[name][1:] or demo_sets[name])
                for index in range(1, num_candidates):
                    choice = ProposalSettings(**{**self.grounding.as_dict(),
                                                 "tip": rng.choice(self.tips), "demo_set": index})
                    text = propose_instruction(proposer, predictor, grounding, choice,
                                               rollout=f"mipro:{self.seed}:{name}:{index}")
                    bar.advance()
                    if text is None or text in instructions[name]:
                        skipped += 1
                        continue
                    instructions[name].append(text)
                    settings[name].append(choice.as_dict())
        return instructions, settings, skipped

    def _run_search(self, search: BayesianSearch, num_trials: int) -> None:
        done = len(search.study.completed_trials())
        with progress_bar("MIPRO trials", num_trials, enabled=self.verbose) as bar:
            bar.advance(steps=done)

            def on_trial(record: TrialRecord, full: FullEvaluation | None) -> None:
                best = best_full_evaluation(search.study.full_evaluations()).score
                note = f"  full eval {full.score:.3f}" if full else ""
                bar.advance(f"best full {best:.3f}")
                if self.verbose:
                    bar.log(f"Trial {record.number + 1:>3}/{num_trials}  "
                            f"{describe_configuration(record.configuration)}  "
                            f"minibatch {record.minibatch_score:.3f}  best full {best:.3f}{note}")

            search.on_trial = on_trial
            search.run()

    def _finish(self, program: Module, study: RunStudy, candidates: Candidates, task: BudgetedLM,
                proposer: BudgetedLM, search: BayesianSearch, skipped: int) -> Module:
        evaluations = study.full_evaluations()
        baseline = next((e for e in evaluations if e.after_trial == -1), None)
        if not evaluations:
            self.result = _empty_result(task, proposer, stopped=True)
            return program.deepcopy()
        best = best_full_evaluation(evaluations)
        self.result = OptimizationResult(
            best_configuration=best.configuration, best_score=best.score,
            baseline_score=baseline.score if baseline else float("nan"),
            trials=tuple(study.completed_trials()), full_evaluations=tuple(evaluations),
            usage=_usage(task, proposer), candidates=candidates,
            stopped_by_budget=search.stopped_by_budget,
            skipped_proposals=skipped,
        )
        if search.stopped_by_budget:
            self._say("The LM-call budget is spent: returning the best program found so far.")
        self._say(f"Best full validation score {best.score:.3f} (unoptimized "
                  f"{self.result.baseline_score:.3f}); {task.usage.calls} task-LM and "
                  f"{proposer.usage.calls} prompt-LM calls.")
        return build_program(program, candidates, best.configuration)

    def _fingerprint(self, program: Module, trainset: Sequence[Example], valset: Sequence[Example],
                     task_lm: LM, num_candidates: int) -> dict[str, Any]:
        return {
            "optimizer": type(self).__name__, "seed": self.seed, "num_candidates": num_candidates,
            "minibatch_size": self.minibatch_size, "zero_shot": self.zero_shot,
            "max_bootstrapped_demos": self.max_bootstrapped_demos,
            "max_labeled_demos": self.max_labeled_demos, "grounding": self.grounding.as_dict(),
            "tips": list(self.tips), "task_lm": task_lm.model_id,
            "predictors": [name for name, _ in program.named_predictors()],
            "data": _data_hash(trainset, valset),
        }

    def _say_plan(self, predictors: int, train: int, val: int, candidates: int, trials: int) -> None:
        full_evals = 2 + trials // self.full_eval_every
        bootstrap = min(train, max(8, 2 * self.max_bootstrapped_demos * candidates)) * predictors
        search = (trials * min(self.minibatch_size, val) + full_evals * val) * predictors
        prompt = 4 + (1 + predictors) + predictors * (candidates - 1)
        self._say(f"Planned LM calls (before cache hits): about {bootstrap + search} task-LM "
                  f"({bootstrap} bootstrapping, {search} search over {trials} trials and up to "
                  f"{full_evals} full evaluations of {val} examples) and about {prompt} prompt-LM"
                  + (f"; hard cap {self.max_lm_calls}" if self.max_lm_calls else ""))

    def _say(self, message: str) -> None:
        if self.verbose:
            console.print(message, highlight=False)


def _lm_of(program: Module) -> LM | None:
    return next((p.lm for p in program.predictors() if p.lm is not None), None)


def _split(trainset: Sequence[Example], valset: Sequence[Example] | None, seed: int,
           max_valset: int | None) -> tuple[list[Example], list[Example]]:
    """Check the data; without a valset, hold out part of the trainset (seeded)."""
    if not trainset:
        raise ConfigurationError("trainset is empty: MIPRO needs training examples")
    for label, examples in (("trainset", trainset), ("valset", valset or [])):
        for row, example in enumerate(examples):
            if not isinstance(example, Example) or not example.input_keys:
                raise ConfigurationError(
                    f"{label}[{row}] is not an Example with inputs marked; build rows as "
                    "Example(question=..., answer=...).with_inputs('question')"
                )
    train = list(trainset)
    if valset is None:
        shuffled = train[:]
        random.Random(seed).shuffle(shuffled)
        cut = max(1, len(shuffled) // 2)
        train, valset = shuffled[:cut], shuffled[cut:] or shuffled[:cut]
    val = list(valset)
    if max_valset is not None and len(val) > max_valset:
        val = random.Random(seed).sample(val, max_valset)
    return train, val


def _data_hash(trainset: Sequence[Example], valset: Sequence[Example]) -> str:
    payload = json.dumps([[dict(e) for e in trainset], [dict(e) for e in valset]], default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _default_run_name(program: Module, settings: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    return f"{type(program).__name__.lower()}-{digest}"


def _usage(task: BudgetedLM, proposer: BudgetedLM) -> dict[str, dict[str, Any]]:
    return {"task_lm": task.usage.snapshot().as_dict(),
            "prompt_lm": proposer.usage.snapshot().as_dict()}


def _empty_result(task: BudgetedLM, proposer: BudgetedLM, *, stopped: bool = True) -> OptimizationResult:
    return OptimizationResult({}, float("nan"), float("nan"), (), (), _usage(task, proposer),
                              stopped_by_budget=stopped)
