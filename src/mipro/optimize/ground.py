"""Stage 2: ground the proposers: summaries of the data and the program, and demo sets to show.

The summaries are written by small mipro programs run on the prompt LM, so their replies get
the same parsing, single retry and constrained decoding as any predictor.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Mapping, Sequence

from mipro.adapters.freeform import clean_freeform_reply
from mipro.errors import ParseError
from mipro.lm.base import LM
from mipro.optimize.run.candidates import DemoSet
from mipro.optimize.run.grounding import Grounding
from mipro.optimize.run.proposals import GroundingSources
from mipro.optimize.run.seeds import sub_seed
from mipro.program import Example, Module, Predict
from mipro.signatures import Signature

MAX_VALUE_CHARS = 300
"""Demo values and examples shown to the prompt LM are shortened to this, by design."""


def ground(
    prompt_lm: LM,
    program: Module,
    trainset: Sequence[Example],
    demo_sets: Mapping[str, Sequence[DemoSet]],
    sources: GroundingSources,
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
    shown: dict[str, tuple[DemoSet, ...]] = {name: () for name in demo_sets}
    for name, sets in demo_sets.items():
        if sources.demos:
            shown[name] = tuple(s for s in sets[1:] if s) or tuple(s for s in sets[:1] if s)
    return {
        name: Grounding(dataset_summary=dataset_summary, program_summary=program_summary,
                        role=roles.get(name, ""), demo_sets=shown[name])
        for name, _ in program.named_predictors()
    }


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
    pool = [trainset[i] for i in summarized_examples(len(trainset), seed=seed,
                                                     batch_size=batch_size, max_batches=max_batches)]
    notes: list[str] = []
    for start in range(0, len(pool), batch_size):
        batch = "\n".join(render_example(example) for example in pool[start:start + batch_size])
        reply = ask(observe, examples=batch, prior_observations=" ".join(notes) or "none")
        if reply is None or "COMPLETE" in reply.upper():
            break
        notes.append(reply)
    if not notes:
        return ""
    return ask(condense, observations=" ".join(notes)) or notes[0]


def summarized_examples(num_examples: int, *, seed: int, batch_size: int = 5,
                        max_batches: int = 3) -> list[int]:
    """The training examples (indices, in order) that ``summarize_dataset`` may show the
    prompt LM: the first batches of a seeded shuffle."""
    order = list(range(num_examples))
    random.Random(sub_seed(seed, "ground", "dataset_summary")).shuffle(order)
    return order[:batch_size * max_batches]


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
    summary = ask(describe, program_code=code) or ""
    roles = {}
    for name, predictor in program.named_predictors():
        roles[name] = ask(role, program_description=summary or code[:MAX_VALUE_CHARS],
                          module_signature=f"{name}: {predictor.signature}") or ""
    return summary, roles


def ask(predictor: Predict, **inputs: str) -> str | None:
    """The predictor's single output as text, or ``None`` when the reply did not parse."""
    output = predictor.signature.output_fields[0]
    try:
        value = predictor(**inputs)[output.name]
    except ParseError:
        return None
    return clean_freeform_reply(str(value), output.label)


def render_example(example: object) -> str:
    """``key: value | key: value`` with long values shortened."""
    parts = []
    for key, value in dict(example).items():  # type: ignore[call-overload]
        text = str(value).replace("\n", " ")
        if len(text) > MAX_VALUE_CHARS:
            text = text[:MAX_VALUE_CHARS] + "..."
        parts.append(f"{key}: {text}")
    return " | ".join(parts)


def _program_source(program: Module) -> str:
    try:
        return inspect.getsource(type(program))
    except (OSError, TypeError):
        return "\n".join(f"{name}: {p.signature}" for name, p in program.named_predictors())
