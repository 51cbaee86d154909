"""Stage 3: propose instructions, each grounded in what its proposer is shown.

The proposer is itself a small mipro program run on the prompt LM, so its replies get the same
parsing, single retry and constrained decoding as any predictor. A proposal that still cannot be
parsed is counted and skipped: it never ends the run. Upfront proposals then pass the checks of
``proposal_filter`` (not generic, not a near-duplicate, keeping the seed's constraints); a tiny
proposer model may instead write one sentence of guidance added to the seed instruction, or
fill in a fixed sentence added to it, choosing among typed (``Literal``) values.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Literal

from mipro.errors import ConfigurationError, ParseError
from mipro.lm.base import LM
from mipro.optimize.bootstrap import MAX_CATEGORIES
from mipro.optimize.ground import ask, render_example
from mipro.optimize.proposal_filter import literal_labels, rejection, seed_constraints
from mipro.optimize.run.candidates import Candidates, DemoSet, PredictorCandidates
from mipro.optimize.run.grounding import Grounding
from mipro.optimize.run.proposals import (
    GroundingSources,
    ProposalForm,
    ProposalRecord,
    ProposalSettings,
)
from mipro.optimize.run.seeds import sub_seed
from mipro.program import Module, Predict, sampling
from mipro.program.predict import REASONING
from mipro.progress import progress_bar
from mipro.signatures import Field, Signature

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


UpfrontForm = Literal["auto", "instruction", "guidance", "fill_in"]


def check_form(form: str) -> UpfrontForm:
    """``form`` after checking that it is one of ``UpfrontForm``."""
    if form not in _FORMS:
        raise ConfigurationError(f"proposal_form must be one of {sorted(_FORMS)}, got {form!r}")
    return form  # type: ignore[return-value]


@dataclass(frozen=True, kw_only=True)
class UpfrontProposals:
    """MIPRO's proposals, made before the search: ``num_candidates - 1`` per predictor beside
    its own instruction, each shown its own demo set and given a random tip from ``tips``.

    ``form``: "instruction" asks for whole new instructions, "guidance" for one sentence added
    to the seed instruction (for tiny proposer models: every candidate keeps what the seed
    states), "fill_in" for the choices that fill a fixed sentence added to the seed instruction
    (``FILL_IN_ADVICE``: every candidate is a usable instruction), and "auto" for an
    instruction, then guidance when the instruction is rejected (``proposal_filter``: generic,
    a near-duplicate, or missing a constraint), then a fill-in when the guidance is rejected.
    """

    tips: tuple[str, ...] = tuple(TIPS)
    form: UpfrontForm = "auto"


@dataclass(frozen=True, kw_only=True)
class ProposalTally:
    """What became of the upfront proposals."""

    rejected: Mapping[str, int]
    """Rejected replies by reason (``proposal_filter.REJECT_REASONS``), re-asked ones included."""
    skipped: int
    """Candidate slots left empty: proposals rejected (after the re-asks, if any)."""


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
) -> tuple[Candidates, ProposalTally]:
    """The candidates with ``proposals`` beside every predictor's own instruction, and what
    became of the proposals. A proposal ``proposal_filter`` rejects is dropped, or with
    ``form="auto"`` asked for again as guidance, then as a fill-in (each its own rollout); an
    unparseable one is not asked for again."""
    rng = random.Random(sub_seed(seed, "propose", "tips"))
    predictors: dict[str, PredictorCandidates] = {}
    rejected: Counter[str] = Counter()
    skipped = 0
    named = program.named_predictors()
    with progress_bar("Proposing instructions", len(named) * (num_candidates - 1),
                      enabled=display_progress) as bar:
        for name, predictor in named:
            constraints = seed_constraints(predictor.signature,
                                           _demo_labels(predictor, demo_sets[name]))
            instructions: list[str] = [predictor.signature.instructions]
            records: list[ProposalRecord | None] = [None]
            for index in range(1, num_candidates):
                forms = _FORMS[proposals.form]
                settings = ProposalSettings(**asdict(sources), tip=rng.choice(proposals.tips),
                                            demo_set=index, form=forms[0])
                for form in forms:
                    settings = replace(settings, form=form)
                    purpose = ("propose", name, index) + (() if form == forms[0] else (form,))
                    text = propose_instruction(prompt_lm, predictor, groundings[name], settings,
                                               rollout=sub_seed(seed, *purpose))
                    reason = ("unparseable" if text is None
                              else rejection(text, constraints, instructions))
                    if reason is None:
                        break
                    rejected[reason] += 1
                    if reason == "unparseable":
                        break
                bar.advance()
                if text is None or reason is not None:
                    skipped += 1
                    continue
                instructions.append(text)
                records.append(ProposalRecord(**asdict(settings)))
            predictors[name] = PredictorCandidates(
                instructions=tuple(instructions), demo_sets=tuple(demo_sets[name]),
                proposals=tuple(records))
    return Candidates(predictors=predictors), ProposalTally(rejected=dict(rejected), skipped=skipped)


_FORMS: dict[str, tuple[ProposalForm, ...]] = {
    "auto": ("instruction", "guidance", "fill_in"), "instruction": ("instruction",),
    "guidance": ("guidance",), "fill_in": ("fill_in",)}


def propose_instruction(
    prompt_lm: LM,
    predictor: Predict,
    grounding: Grounding,
    settings: ProposalSettings,
    *,
    rollout: int,
) -> str | None:
    """One fresh proposal for ``predictor``; ``None`` when the reply could not be parsed.

    With ``settings.form == "guidance"`` the proposer writes one sentence, and the proposal is
    the seed instruction followed by it; with ``"fill_in"`` it chooses the input to focus on
    and one of ``FILL_IN_ADVICE``, and the proposal is the seed instruction followed by that
    sentence about that input.
    """
    fields = _shown_fields(predictor, grounding, settings)
    seed = predictor.signature.instructions
    if settings.form == "fill_in":
        with sampling(temperature=settings.temperature, rollout=rollout):
            return _fill_in(prompt_lm, predictor, _labels(predictor, grounding.demo_sets), fields)
    if settings.form == "guidance":
        output, instruction, max_tokens = "additional_guidance", _GUIDANCE_INSTRUCTION, 80
    else:
        output, instruction, max_tokens = "proposed_instruction", _PROPOSER_INSTRUCTION, 200
        if "previous_instructions" in fields:
            instruction += _HISTORY_NOTE
    proposer = Predict(Signature.parse(f"{', '.join(fields)} -> {output}", instructions=instruction),
                       lm=prompt_lm, max_tokens=max_tokens)
    with sampling(temperature=settings.temperature, rollout=rollout):
        text = ask(proposer, **fields)
    if text is None or settings.form == "instruction":
        return text
    guidance = _first_sentence(text.removeprefix(seed).strip())
    return f"{seed.rstrip()} {guidance}" if guidance else None


def _shown_fields(predictor: Predict, grounding: Grounding,
                  settings: ProposalSettings) -> dict[str, str]:
    """The proposer's inputs: the grounding ``settings`` switches on, the seed instruction and
    the tip."""
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
    return fields


FILL_IN_ADVICE: tuple[str, ...] = (
    "Look closely at the {focus} before you answer.",
    "Pay most attention to the {focus}.",
    "Base the answer mainly on the {focus}.",
    "Decide from the {focus} first and then check the other inputs.",
    "Tell {labels} apart by the {focus}.",
    "Check which of {labels} the {focus} points to.",
)
"""The sentences a fill-in proposal chooses from, ``{focus}`` being the input it chooses and
``{labels}`` the predictor's labels. Sentences about other inputs are offered only when the
predictor has several, and those about labels only when it has categorical outputs."""


def _fill_in(prompt_lm: LM, predictor: Predict, labels: Sequence[str],
             fields: Mapping[str, str]) -> str | None:
    """The seed instruction followed by the sentence of ``FILL_IN_ADVICE`` the proposer chose,
    about the input it chose; ``None`` when its choices could not be parsed. Both are typed
    outputs (``Literal``), so a constrained decoder can only write allowed values."""
    focuses = tuple(field.name.replace("_", " ") for field in predictor.signature.input_fields)
    shown = _advice_choices(several_inputs=len(focuses) > 1, labeled=bool(labels))
    signature = Signature(
        tuple(Field(name, "input") for name in fields),
        (_choice("focus", focuses, "the input to focus on"),
         _choice("advice", tuple(shown), "advice about the focus")),
        _FILL_IN_INSTRUCTION)
    try:
        choice = Predict(signature, lm=prompt_lm, max_tokens=200)(**fields)
    except ParseError:
        return None
    sentence = shown[choice["advice"]].format(focus=choice["focus"], labels=_listed(labels))
    return f"{predictor.signature.instructions.rstrip()} {sentence}"


def _choice(name: str, values: tuple[str, ...], desc: str) -> Field:
    """An output field whose value is one of ``values``."""
    return Field(name, "output", Literal[values], desc=desc)  # type: ignore[valid-type]


def _advice_choices(*, several_inputs: bool, labeled: bool) -> dict[str, str]:
    """The sentences of ``FILL_IN_ADVICE`` that fit the predictor, as the proposer is shown
    them (about "the focus" and "the labels", without the final stop), to the template."""
    templates = [template for template in FILL_IN_ADVICE
                 if (several_inputs or "other inputs" not in template)
                 and (labeled or "{labels}" not in template)]
    return {template.format(focus="focus", labels="the labels").removesuffix("."): template
            for template in templates}


def _listed(words: Sequence[str]) -> str:
    """``a, b and c``."""
    return " and ".join(filter(None, (", ".join(words[:-1]), *words[-1:])))


def _first_sentence(text: str) -> str:
    """The first sentence of ``text`` on one line (at most ``MAX_GUIDANCE_CHARS``)."""
    line = " ".join(text.split())
    match = re.match(r"(.+?[.!?])(?:\s|$)", line)
    return (match.group(1) if match else line)[:MAX_GUIDANCE_CHARS].strip()


MAX_GUIDANCE_CHARS = 300
"""Guidance beyond this length is cut: one sentence is what the form asks for."""


def _labels(predictor: Predict, demo_sets: Sequence[DemoSet]) -> tuple[str, ...]:
    """The labels of the predictor's categorical outputs: the values of its ``Literal``
    outputs, then those its other outputs take in the demo sets when they take few."""
    return tuple(dict.fromkeys([*literal_labels(predictor.signature),
                                *_demo_labels(predictor, demo_sets)]))


def _demo_labels(predictor: Predict, demo_sets: Sequence[DemoSet]) -> tuple[str, ...]:
    """The values the predictor's outputs take in the demo sets, when they take few (labels)."""
    labels: list[str] = []
    for field in predictor.signature.output_fields:
        if field == REASONING:
            continue
        values = {str(demo[field.name]) for demos in demo_sets for demo in demos
                  if field.name in demo}
        if 0 < len(values) <= MAX_CATEGORIES:
            labels.extend(sorted(values))
    return tuple(labels)


_PROPOSER_INSTRUCTION = (
    "Use the information below to write a new instruction for a language model module. The "
    "instruction should tell the module exactly how to turn its inputs into its outputs well."
)
_GUIDANCE_INSTRUCTION = (
    "Read the basic instruction of a language model module and the information below. Write "
    "one sentence of extra guidance that helps the module follow the basic instruction well on "
    "this data: what to look at, or what to watch out for. Do not repeat the basic instruction."
)
_FILL_IN_INSTRUCTION = (
    "Read the basic instruction of a language model module and the information below. Choose "
    "the input the module should focus on, and the advice about it that helps the module most "
    "on this data."
)
_HISTORY_NOTE = (
    " Earlier instructions are listed with the score the whole program got with them; "
    "write a new instruction that would score higher than all of them."
)
