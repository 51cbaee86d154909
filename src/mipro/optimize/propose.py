"""Stage 3: propose instructions, each grounded in what its proposer is shown.

The proposer is itself a small mipro program run on the prompt LM, so its replies get the same
parsing, single retry and constrained decoding as any predictor. A proposal that still cannot be
parsed is counted and skipped: it never ends the run.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from mipro.errors import ConfigurationError
from mipro.lm.base import LM
from mipro.optimize.ground import ask, render_example
from mipro.optimize.run.candidates import Candidates, DemoSet, PredictorCandidates
from mipro.optimize.run.grounding import Grounding
from mipro.optimize.run.proposals import GroundingSources, ProposalRecord, ProposalSettings
from mipro.optimize.run.seeds import sub_seed
from mipro.program import Module, Predict, sampling
from mipro.progress import progress_bar
from mipro.signatures import Signature

TIPS: dict[str, str] = {
    "none": "",
    "creative": "Don't be afraid to be creative when creating the new instruction!",
    "simple": "Keep the instruction clear and concise.",
    "description": "Make sure your instruction is very informative and descriptive.",
    "high_stakes": "The instruction should include a high stakes scenario in which the LM must "
                   "solve the task!",
    "persona": "Include a persona that is relevant to the task in the instruction (ie. "
               "\"You are a ...\")",
}
"""The tips a proposal may be given (as in the paper)."""


def check_tips(tips: Sequence[str]) -> tuple[str, ...]:
    """``tips`` as a tuple, after checking that it is a non-empty subset of ``TIPS``."""
    unknown = sorted(set(tips) - set(TIPS))
    if unknown or not tips:
        raise ConfigurationError(f"tips must be a non-empty subset of {sorted(TIPS)}, got {list(tips)}")
    return tuple(tips)


@dataclass(frozen=True, kw_only=True)
class UpfrontProposals:
    """MIPRO's proposals, made before the search: ``num_candidates - 1`` per predictor beside
    its own instruction, each shown its own demo set and given a random tip from ``tips``."""

    tips: tuple[str, ...] = tuple(TIPS)


def propose_candidates(
    prompt_lm: LM,
    program: Module,
    demo_sets: Mapping[str, Sequence[DemoSet]],
    groundings: Mapping[str, Grounding],
    sources: GroundingSources,
    proposals: UpfrontProposals,
    num_candidates: int,
    *,
    seed: int,
    display_progress: bool = True,
) -> tuple[Candidates, int]:
    """The candidates with ``proposals`` beside every predictor's own instruction, and how many
    proposals were skipped (unparseable, or a repeat)."""
    rng = random.Random(sub_seed(seed, "propose", "tips"))
    predictors: dict[str, PredictorCandidates] = {}
    skipped = 0
    named = program.named_predictors()
    with progress_bar("Proposing instructions", len(named) * (num_candidates - 1),
                      enabled=display_progress) as bar:
        for name, predictor in named:
            instructions: list[str] = [predictor.signature.instructions]
            records: list[ProposalRecord | None] = [None]
            for index in range(1, num_candidates):
                settings = ProposalSettings(**asdict(sources), tip=rng.choice(proposals.tips),
                                            demo_set=index)
                text = propose_instruction(prompt_lm, predictor, groundings[name], settings,
                                           rollout=sub_seed(seed, "propose", name, index))
                bar.advance()
                if text is None or text in instructions:
                    skipped += 1
                    continue
                instructions.append(text)
                records.append(ProposalRecord(**asdict(settings)))
            predictors[name] = PredictorCandidates(
                instructions=tuple(instructions), demo_sets=tuple(demo_sets[name]),
                proposals=tuple(records))
    return Candidates(predictors=predictors), skipped


def propose_instruction(
    prompt_lm: LM,
    predictor: Predict,
    grounding: Grounding,
    settings: ProposalSettings,
    *,
    rollout: int,
) -> str | None:
    """One fresh proposal for ``predictor``; ``None`` when the reply could not be parsed."""
    fields: dict[str, str] = {}
    if settings.dataset_summary and grounding.dataset_summary:
        fields["dataset_description"] = grounding.dataset_summary
    if settings.program_summary and grounding.program_summary:
        fields["program_description"] = grounding.program_summary
        fields["module_role"] = grounding.role or "N/A"
    if settings.demos and grounding.demo_sets:
        demos = grounding.demo_sets[settings.demo_set % len(grounding.demo_sets)]
        if demos:
            fields["task_demos"] = "\n".join(render_example(demo) for demo in demos[:3])
    if settings.history and grounding.history:
        fields["previous_instructions"] = "\n".join(
            f"Instruction: {shown.text} | Score: {shown.score:.2f}" for shown in grounding.history
        )
    fields["basic_instruction"] = predictor.signature.instructions
    if TIPS.get(settings.tip):
        fields["tip"] = TIPS[settings.tip]
    proposer = Predict(Signature.parse(
        f"{', '.join(fields)} -> proposed_instruction",
        instructions=_PROPOSER_INSTRUCTION + (_HISTORY_NOTE if "previous_instructions" in fields else ""),
    ), lm=prompt_lm, max_tokens=200)
    with sampling(temperature=settings.temperature, rollout=rollout):
        return ask(proposer, **fields)


_PROPOSER_INSTRUCTION = (
    "Use the information below to write a new instruction for a language model module. The "
    "instruction should tell the module exactly how to turn its inputs into its outputs well."
)
_HISTORY_NOTE = (
    " Earlier instructions are listed with the score the whole program got with them; "
    "write a new instruction that would score higher than all of them."
)
