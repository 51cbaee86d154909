"""Which proposed instructions become candidates: cheap, deterministic checks, no LM call.

A proposal is rejected, with one of ``REJECT_REASONS``, when it

- ``repeat``: is an instruction the predictor already has;
- ``near_duplicate``: shares at least ``NEAR_DUPLICATE`` of its words (Jaccard) with one
  (for the seed instruction with guidance or a fill-in added, what is added is compared);
- ``generic``: describes the module rather than the task: it shares no content word with the
  seed instruction, the field names and descriptions or the labels, or it names the machinery
  (signature, few-shot, demonstrations, module, ...) and shares fewer than two; for the seed
  instruction with guidance or a fill-in added, what is added is what is checked;
- ``missing_constraint``: leaves out a constraint the seed instruction states: a label the
  seed instruction names (a value of an untyped output whose demos take few values), or a
  format rule (``FORMAT_RULE`` phrases such as "one word", "yes or no", "JSON", "at most 3
  sentences"). The values of a ``Literal`` or ``bool`` output are not required: every prompt
  states them beside the output field and constrained decoding allows no other, so an
  instruction that leaves them out loses nothing. On iris the candidates that name none can
  be the better ones: with the seed instruction and one demo set the embedded model answered
  "setosa" to 74 of 75 test flowers (0.333), and with the same demos and an instruction the
  embedded proposer wrote, which names no species, it scored 0.507 (search_quality's
  before-code at seed 1, the run's best).

``unparseable`` (the reply could not be read) is counted beside them by the proposer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from mipro.program.predict import REASONING
from mipro.signatures import Signature
from mipro.signatures.types import is_literal

RejectReason = Literal["unparseable", "repeat", "near_duplicate", "generic", "missing_constraint"]
REJECT_REASONS: tuple[RejectReason, ...] = get_args(RejectReason)

NEAR_DUPLICATE = 0.8
"""Word-set Jaccard similarity from which two instructions count as the same."""

FORMAT_RULE = re.compile(
    r"\b(?:one word|single word|one sentence|single sentence|one line|single line|a single \w+"
    r"|yes or no|true or false|json|lower ?case|upper ?case"
    r"|(?:at most|no more than|exactly|fewer than|under) \w+"
    r" (?:words?|sentences?|lines?|characters?|items?)"
    r"|only (?:the|a|an|one) \w+)\b",
    re.IGNORECASE,
)
"""Format rules of a seed instruction that every candidate must keep, word for word."""

_MACHINERY = re.compile(
    r"\b(?:signatures?|few[- ]shot|demonstrations?|modules?|language model|input fields?"
    r"|output fields?|given fields?)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset("""
    a an the and or but if then than of to in on at by for from with without into onto as is are
    be been being was were this that these those it its their there here which who whom what
    when where how why all any each every some such no not only own same so too very can will
    just should would could may might must do does did done have has had given produce produces
    field fields input inputs output outputs value values using use based make sure your you
    please following provide provided return returns write task model answer response
""".split())


@dataclass(frozen=True, kw_only=True)
class SeedConstraints:
    """What a predictor's seed instruction states, that every candidate must keep."""

    seed: str
    """The seed instruction itself."""
    labels: tuple[str, ...]
    """Labels the seed instruction names (allowed output values)."""
    format_rules: tuple[str, ...]
    """``FORMAT_RULE`` phrases of the seed instruction, lower-cased."""
    task_words: frozenset[str]
    """Stems of the content words of the seed instruction, fields and labels."""


def seed_constraints(signature: Signature, known_labels: Iterable[str] = ()) -> SeedConstraints:
    """The constraints of ``signature``'s instruction. The labels are ``known_labels`` (e.g. the
    few values an output takes in the demos) other than the values of its ``Literal`` and
    ``bool`` outputs, which the prompt states and decoding enforces whatever the instruction
    says; those the instruction names are constraints."""
    seed = signature.instructions.rstrip()
    typed = set(literal_labels(signature))
    if any(field.annotation is bool for field in signature.output_fields):
        typed.update(("true", "false", "True", "False"))
    labels = tuple(sorted(label for label in set(known_labels) - typed if _mentions(seed, label)))
    rules = tuple(dict.fromkeys(_normalize(m.group()) for m in FORMAT_RULE.finditer(seed)))
    described = [seed, *labels]
    for field in signature.fields:
        if field != REASONING:
            described += [field.name.replace("_", " "), field.desc]
    return SeedConstraints(seed=seed, labels=labels, format_rules=rules,
                           task_words=frozenset(_stems(" ".join(described))))


def literal_labels(signature: Signature) -> tuple[str, ...]:
    """The values of ``signature``'s ``Literal`` outputs, in order: what every prompt lists
    beside those fields and the only replies constrained decoding allows."""
    return tuple(str(value) for field in signature.output_fields
                 if is_literal(field.annotation) for value in get_args(field.annotation))


def rejection(text: str, constraints: SeedConstraints, kept: Sequence[str]) -> RejectReason | None:
    """Why the proposal ``text`` is not a candidate beside the ``kept`` instructions (the
    predictor's own first), or ``None`` when it is one."""
    if text in kept:
        return "repeat"
    own = _own_words(text, constraints.seed)
    if any(similarity(own, _own_words(other, constraints.seed)) >= NEAR_DUPLICATE for other in kept):
        return "near_duplicate"
    shared = len(_stems(own) & constraints.task_words)
    if shared == 0 or (_MACHINERY.search(own) and shared < 2):
        return "generic"
    if _is_guided(text, constraints.seed):  # it keeps all the seed states
        return None
    if not all(_mentions(text, label) for label in constraints.labels):
        return "missing_constraint"
    if not all(rule in _normalize(text) for rule in constraints.format_rules):
        return "missing_constraint"
    return None


def _is_guided(text: str, seed: str) -> bool:
    """Whether ``text`` is the seed instruction with guidance (or a fill-in) added."""
    return text.startswith(seed) and bool(text[len(seed):].strip())


def _own_words(text: str, seed: str) -> str:
    """What a candidate says beyond the seed: the guidance, when it is the seed with guidance
    added; else the whole text."""
    return text[len(seed):].strip() if _is_guided(text, seed) else text


def similarity(first: str, second: str) -> float:
    """Jaccard similarity of the two texts' lower-cased word sets."""
    a, b = set(_WORD.findall(first.lower())), set(_WORD.findall(second.lower()))
    return len(a & b) / len(a | b) if a | b else 1.0


def _mentions(text: str, label: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(label)}(?!\w)", text, re.IGNORECASE) is not None


def _normalize(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").split())


def _stems(text: str) -> set[str]:
    """Crude stems (the first five letters) of the words that carry content."""
    return {word[:5] for word in _WORD.findall(text.lower())
            if len(word) >= 3 and word not in _STOPWORDS and not word.isdigit()}
