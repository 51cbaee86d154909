"""Stage 2: grounded instruction proposals, and the dataset and program summaries behind them.

The proposer is itself a small mipro program run on the prompt LM, so its replies get the same
parsing, single retry and constrained decoding as any predictor. A proposal that still cannot be
parsed is counted and skipped: it never ends the run.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mipro.adapters.freeform import clean_freeform_reply
from mipro.errors import ParseError
from mipro.lm.base import LM
from mipro.program import Example, Module, Predict, sampling
from mipro.progress import progress_bar
from mipro.signatures import Signature
from mipro.optimize.records import DemoSet, Grounding
from mipro.optimize.tips import TIPS

_MAX_VALUE_CHARS = 300
"""Demo values and examples shown to the proposer are shortened to this, by design."""


@dataclass(frozen=True)
class ProposalSettings:
    """Which grounding one proposal sees; each source can be switched off."""

    dataset_summary: bool = True
    program_summary: bool = True
    demos: bool = True
    demo_set: int = 0
    tip: str = "none"
    temperature: float = 1.0
    history: bool = False

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def build_groundings(
    prompt_lm: LM,
    program: Module,
    trainset: Sequence[Example],
    demo_sets: Mapping[str, Sequence[DemoSet]],
    sources: ProposalSettings,
    *,
    seed: int,
) -> dict[str, Grounding]:
    """What each predictor's proposer may be shown: the summaries ``sources`` switches on, and
    the non-empty demo sets beyond the one the program came with (that one when there is no
    other)."""
    dataset_summary = (summarize_dataset(prompt_lm, trainset, seed=seed)
                       if sources.dataset_summary else "")
    program_summary, roles = (summarize_program(prompt_lm, program)
                              if sources.program_summary else ("", {}))
    shown: dict[str, list[DemoSet]] = {name: [] for name in demo_sets}
    for name, sets in demo_sets.items():
        if sources.demos:
            shown[name] = [s for s in sets[1:] if s] or [s for s in sets[:1] if s]
    return {
        name: Grounding(dataset_summary, program_summary, roles.get(name, ""), shown[name])
        for name, _ in program.named_predictors()
    }


def propose_candidates(
    prompt_lm: LM,
    program: Module,
    groundings: Mapping[str, Grounding],
    sources: ProposalSettings,
    tips: Sequence[str],
    num_candidates: int,
    *,
    seed: int,
    display_progress: bool = True,
) -> tuple[dict[str, list[str]], dict[str, list[dict[str, Any]]], int]:
    """``num_candidates - 1`` proposals per predictor beside its original instruction, each with
    a random tip and its own demo set: (instructions, their proposal settings, skipped count).
    """
    rng = random.Random(seed)
    instructions: dict[str, list[str]] = {}
    settings: dict[str, list[dict[str, Any]]] = {}
    skipped = 0
    predictors = program.named_predictors()
    with progress_bar("Proposing instructions", len(predictors) * (num_candidates - 1),
                      enabled=display_progress) as bar:
        for name, predictor in predictors:
            instructions[name] = [predictor.signature.instructions]
            settings[name] = [{}]
            for index in range(1, num_candidates):
                choice = ProposalSettings(**{**sources.as_dict(), "tip": rng.choice(tips),
                                             "demo_set": index})
                text = propose_instruction(prompt_lm, predictor, groundings[name], choice,
                                           rollout=f"mipro:{seed}:{name}:{index}")
                bar.advance()
                if text is None or text in instructions[name]:
                    skipped += 1
                    continue
                instructions[name].append(text)
                settings[name].append(choice.as_dict())
    return instructions, settings, skipped


def summarize_dataset(prompt_lm: LM, trainset: Sequence[Example], *, seed: int,
                      batch_size: int = 5, max_batches: int = 3) -> str:
    """Observations on the data, written batch by batch, then condensed to a few sentences."""
    observe = Predict(Signature.parse(
        "examples, prior_observations -> observations",
        instructions="Look at these examples of a dataset and write new observations about its "
        "task, topics, content and answer style. If the prior observations already cover them, "
        "reply COMPLETE.",
    ), lm=prompt_lm, max_tokens=150)
    condense = Predict(Signature.parse(
        "observations -> summary",
        instructions="Condense these observations about a dataset into two or three sentences.",
    ), lm=prompt_lm, max_tokens=150)
    rng = random.Random(seed)
    pool = list(trainset)
    rng.shuffle(pool)
    notes: list[str] = []
    for start in range(0, min(len(pool), batch_size * max_batches), batch_size):
        batch = "\n".join(_render_example(example) for example in pool[start:start + batch_size])
        reply = _ask(observe, examples=batch, prior_observations=" ".join(notes) or "none")
        if reply is None or "COMPLETE" in reply.upper():
            break
        notes.append(reply)
    if not notes:
        return ""
    return _ask(condense, observations=" ".join(notes)) or notes[0]


def summarize_program(prompt_lm: LM, program: Module) -> tuple[str, dict[str, str]]:
    """A summary of the program from its source, and a description of each predictor's role."""
    code = _program_source(program)
    describe = Predict(Signature.parse(
        "program_code -> program_description",
        instructions="Describe in two sentences what this language-model program does.",
    ), lm=prompt_lm, max_tokens=150)
    role = Predict(Signature.parse(
        "program_description, module_signature -> module_role",
        instructions="In one sentence, describe the role of this module within the program.",
    ), lm=prompt_lm, max_tokens=100)
    summary = _ask(describe, program_code=code) or ""
    roles = {}
    for name, predictor in program.named_predictors():
        roles[name] = _ask(role, program_description=summary or code[:_MAX_VALUE_CHARS],
                           module_signature=f"{name}: {predictor.signature}") or ""
    return summary, roles


def propose_instruction(
    prompt_lm: LM,
    predictor: Predict,
    grounding: Grounding,
    settings: ProposalSettings,
    *,
    rollout: str,
) -> str | None:
    """One fresh proposal for ``predictor``; ``None`` when the reply could not be parsed."""
    fields: dict[str, str] = {}
    if settings.dataset_summary and grounding.dataset_summary:
        fields["dataset_description"] = grounding.dataset_summary
    if settings.program_summary and grounding.program_summary:
        fields["program_description"] = grounding.program_summary
        fields["module_role"] = grounding.module_role or "N/A"
    if settings.demos and grounding.demo_sets:
        demos = grounding.demo_sets[settings.demo_set % len(grounding.demo_sets)]
        if demos:
            fields["task_demos"] = "\n".join(_render_example(demo) for demo in demos[:3])
    if settings.history and grounding.history:
        fields["previous_instructions"] = "\n".join(
            f"Instruction: {text} | Score: {score:.2f}" for text, score in grounding.history
        )
    fields["basic_instruction"] = predictor.signature.instructions
    if TIPS.get(settings.tip):
        fields["tip"] = TIPS[settings.tip]
    proposer = Predict(Signature.parse(
        f"{', '.join(fields)} -> proposed_instruction",
        instructions=_PROPOSER_INSTRUCTION + (_HISTORY_NOTE if "previous_instructions" in fields else ""),
    ), lm=prompt_lm, max_tokens=200)
    with sampling(temperature=settings.temperature, rollout=rollout):
        return _ask(proposer, **fields)


_PROPOSER_INSTRUCTION = (
    "Use the information below to write a new instruction for a language model module. The "
    "instruction should tell the module exactly how to turn its inputs into its outputs well."
)
_HISTORY_NOTE = (
    " Earlier instructions are listed with the score the whole program got with them; "
    "write a new instruction that would score higher than all of them."
)


def _ask(predictor: Predict, **inputs: str) -> str | None:
    """The predictor's single output as text, or ``None`` when the reply did not parse."""
    output = predictor.signature.output_fields[0]
    try:
        value = predictor(**inputs)[output.name]
    except ParseError:
        return None
    return clean_freeform_reply(str(value), output.label)


def _render_example(example: object) -> str:
    parts = []
    for key, value in dict(example).items():  # type: ignore[call-overload]
        text = str(value).replace("\n", " ")
        if len(text) > _MAX_VALUE_CHARS:
            text = text[:_MAX_VALUE_CHARS] + "..."
        parts.append(f"{key}: {text}")
    return " | ".join(parts)


def _program_source(program: Module) -> str:
    try:
        return inspect.getsource(type(program))
    except (OSError, TypeError):
        return "\n".join(f"{name}: {p.signature}" for name, p in program.named_predictors())
