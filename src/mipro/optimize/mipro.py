"""MIPRO = bootstrap demo sets + propose grounded instructions + Bayesian search."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from mipro.evaluate import Metric
from mipro.optimize.bootstrap import BootstrapSettings
from mipro.optimize.engine import CREDIT_ASSIGNMENTS, Optimizer, Run, check_credit_assignment
from mipro.optimize.propose import ProposalSettings, propose_candidates
from mipro.optimize.records import Candidates, DemoSet, Grounding, PredictorCandidates
from mipro.optimize.search import Search
from mipro.optimize.tips import TIPS, check_tips


class MIPRO(Optimizer):
    """Optimizes every predictor's instruction and demos for the whole program's ``metric``.

    Candidates: ``num_candidates`` bootstrapped demo sets and ``num_candidates`` instructions
    per predictor (its own plus proposals grounded in a dataset summary, a program summary,
    demos and a random tip from ``tips``). Credit: a TPE surrogate over every predictor's
    choices learned from minibatch scores (``credit_assignment="greedy"``: coordinate ascent).
    ``zero_shot=True`` is 0-shot MIPRO: instructions only; the final program keeps the demos it
    came with, and bootstrapped demos only ground the proposer. Other keyword arguments are
    those of ``Optimizer``.
    """

    def __init__(
        self,
        metric: Metric,
        *,
        zero_shot: bool = False,
        grounding: ProposalSettings = ProposalSettings(),
        tips: Sequence[str] = tuple(TIPS),
        credit_assignment: str = "bayesian",
        **options: Any,
    ) -> None:
        super().__init__(metric, **options)
        self.zero_shot, self.grounding, self.tips = zero_shot, grounding, check_tips(tips)
        self.credit_assignment = check_credit_assignment(credit_assignment)

    def _bootstrap_settings(self, num_candidates: int) -> BootstrapSettings:
        settings = super()._bootstrap_settings(num_candidates)
        # 0-shot: demos only ground the proposer, so bootstrapped ones, no raw labels.
        return replace(settings, max_labeled_demos=0) if self.zero_shot else settings

    def _grounding_sources(self) -> ProposalSettings:
        return self.grounding

    def _make_candidates(self, run: Run, demo_sets: Mapping[str, list[DemoSet]],
                         groundings: Mapping[str, Grounding]) -> tuple[Candidates, int]:
        instructions, settings, skipped = propose_candidates(
            run.prompt_lm, run.program, groundings, self.grounding, self.tips, run.num_candidates,
            seed=self.seed, display_progress=self.verbose,
        )
        return Candidates({
            name: PredictorCandidates(instructions[name],
                                      demo_sets[name][:1] if self.zero_shot else demo_sets[name],
                                      settings[name])
            for name in instructions
        }), skipped

    def _make_search(self, run: Run, candidates: Candidates,
                     groundings: Mapping[str, Grounding]) -> Search:
        return self._new_search(CREDIT_ASSIGNMENTS[self.credit_assignment], run, candidates)

    def _settings(self) -> dict[str, Any]:
        return {"zero_shot": self.zero_shot, "grounding": self.grounding.as_dict(),
                "tips": list(self.tips), "credit_assignment": self.credit_assignment}

    def _planned_proposals(self, run: Run) -> int:
        return len(run.program.named_predictors()) * (run.num_candidates - 1)
