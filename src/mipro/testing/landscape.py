"""A harder simulated landscape, for acceptance tests of optimizers (no model needed).

The task is ``SimulatedProgram``'s (``question -> hint``, then ``question, hint -> answer``;
the answer to ``q<i>`` is ``a<i>``), but ``LandscapeLM`` makes every choice of an optimizer
matter the way it does with a real LM:

- **Grounding.** ``LandscapeLM`` is also the prompt LM. Its dataset summary states the task's
  rule and its program summary each predictor's role; its proposer writes each of those facts
  into an instruction with a chance ``SHOWN`` when the fact is in its prompt and ``UNSHOWN``
  otherwise, learns the format from the task demos it is shown (from wrong demos it learns a
  wrong format), and follows the tip. What each fact is worth differs by predictor
  (``FACT_VALUES``): the rule matters to ``answer``, the role to ``hint``; tips have values
  of both signs (``TIP_VALUES``). With a history of scored instructions it starts from the
  best one shown. Asked for one sentence of guidance instead, it writes one of the sentences
  it would have put in an instruction.
- **Interaction.** A proposed ``hint`` instruction asks for clues in one of two styles
  (keywords or a sentence), a proposed ``answer`` instruction says which style it reads.
  The answer step gains much from a clue in the style it reads, less from a clue when it
  expects none, and loses when the styles differ: the best ``answer`` instruction depends on
  the ``hint`` instruction chosen with it.
- **Demos.** A demo helps only if it is right: a hint demo that gave no clue, or an answer
  demo with a wrong label (``make_examples(..., mislabeled=...)`` plants some in a trainset),
  hurts. Bootstrapped demos come from traces that passed the metric, so their labels are
  right; raw labeled demos may not be.
- **Noise.** Example ``q<i>`` has a fixed difficulty; a step succeeds on it when a uniform
  draw falls below ``sigmoid(skill - difficulty)``. The draw is hashed from the example alone
  for a share ``SHARED_DRAW`` of the prompts (as an LM tends to fail an example whatever the
  prompt) and from the example and the whole prompt prefix (instruction, demos, the hint) for
  the others. So minibatch scores are noisy, full scores too, while ``expected_accuracy`` is
  exact.

A step's *skill* (a logit) is its base plus the values of the facts, style and tip in its
instruction and of its demos. ``expected_accuracy(program, examples)`` is the exact expected
score of a program on those examples: the measure of what an optimizer returned;
``accuracies(candidates, examples)`` that of every configuration of a run's candidates.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mipro.lm.base import BaseLM, LMRequest, LMResponse, TokenUsage
from mipro.optimize.propose import TIPS
from mipro.optimize.run.candidates import Candidates
from mipro.program import Example, Module
from mipro.testing.simulated import demo_fields, unit_hash

STAGES = ("hint", "answer")
BASE_SKILL = {"hint": -0.6, "answer": -1.3}
"""Each step's skill with its instruction as given and no demos."""
DIFFICULTY_SPREAD = 6.0
"""Example difficulties are uniform over ``[-SPREAD / 2, SPREAD / 2]``."""

FACTS: dict[str, dict[str, str]] = {
    stage: {
        "rule": "The answer is the letter a followed by the number of the question.",
        "hint_role": "Write a short clue in the hint that the answer step will read.",
        "answer_role": "Read the clue in the hint before you answer the question.",
        "format": f"Give the {stage} in exactly the format of the worked examples.",
        "misformat": f"Copy the {stage} of the worked examples, even when they give no clue.",
    }
    for stage in ("hint", "answer")
}
"""The sentences a proposer may write for a step, each standing for one thing it learned."""
FACT_VALUES: dict[str, dict[str, float]] = {
    "hint": {"rule": 0.3, "hint_role": 2.0, "answer_role": 0.0, "format": 0.7, "misformat": -1.0},
    "answer": {"rule": 2.4, "hint_role": 0.0, "answer_role": 0.4, "format": 0.7, "misformat": -1.0},
}
"""What each fact adds to a step's skill."""
TIP_SENTENCES: dict[str, str] = {
    "creative": "Think far outside the box.",
    "simple": "Be brief and precise.",
    "description": "Describe every step in detail.",
    "high_stakes": "Lives depend on this answer, so panic if unsure!",
    "persona": "You are an expert puzzle solver.",
}
TIP_VALUES: dict[str, float] = {"none": 0.0, "creative": -0.4, "simple": 0.6,
                                "description": 0.1, "high_stakes": -1.0, "persona": 0.0}
STYLES = {"keywords": "keywords", "sentence": "one sentence"}
"""The clue styles a proposal may ask for (hint) or expect (answer), and how it says them."""
STYLE_SENTENCES: dict[str, dict[str, str]] = {
    "hint": {style: f"Write the clue in the hint as {words}." for style, words in STYLES.items()},
    "answer": {style: f"The clue in the hint comes as {words}." for style, words in STYLES.items()},
}
CLUE_VALUE = {"matched": 1.5, "unstyled": 0.6, "mismatched": -1.0, "none": -1.5}
"""What the hint adds to the answer step: a clue in the style it reads, a clue when it reads
no style, a clue in another style (or without the style it expects), no clue."""
GOOD_DEMO, LABELED_DEMO, BAD_DEMO, MAX_DEMO_VALUE = 0.35, 0.15, -0.6, 1.2
"""A right demo of the whole step, a right answer without its hint, a wrong demo; the cap."""
SHARED_DRAW = 0.8
"""How often a step's draw on an example is the one every prompt shares (else its own)."""
SHOWN, UNSHOWN = 0.6, {"rule": 0.0, "hint_role": 0.1, "answer_role": 0.1, "format": 0.1}
"""How likely a proposer writes a fact it was shown, and one it was not shown (a lucky guess;
the rule cannot be guessed)."""
WRONG_FORMAT, KEEP_FROM_HISTORY = 0.6, 0.9
"""How likely a proposer writes a wrong format after wrong demos, and each fact of the best
earlier instruction it was shown."""

DATASET_SUMMARY = ("Questions are tokens like q12 and every answer is the letter a followed by "
                   "the number of the question.")
PROGRAM_SUMMARY = "A two-step program: the first step writes a clue, the second answers with it."
ROLES = {"hint": "Writes the clue that the answer step reads.",
         "answer": "Answers the question using the clue from the first step."}
_OUTPUT = re.compile(r"produce the fields `(\w+)`")
_NUMBER = re.compile(r"q(\d+)")


def sigmoid(x: Any) -> Any:
    """The logistic function, of a number or elementwise of an array."""
    return 1.0 / (1.0 + np.exp(-x))


def difficulty(number: int) -> float:
    """The fixed difficulty of example ``q<number>``."""
    return DIFFICULTY_SPREAD * (unit_hash("difficulty", number) - 0.5)


@dataclass(frozen=True)
class Instruction:
    """What the landscape reads in an instruction: its facts, the clue style it writes (hint) or
    reads (answer), and its tip."""

    facts: frozenset[str]
    style: str | None
    tip: str

    @classmethod
    def parse(cls, text: str, stage: str) -> Instruction:
        facts = frozenset(name for name, sentence in FACTS[stage].items() if sentence in text)
        style = next((s for s, sentence in STYLE_SENTENCES[stage].items() if sentence in text), None)
        tip = next((t for t, sentence in TIP_SENTENCES.items() if sentence in text), "none")
        return cls(facts, style, tip)

    def skill(self, stage: str) -> float:
        return (sum(FACT_VALUES[stage][fact] for fact in self.facts) + TIP_VALUES[self.tip])

    def sentences(self, stage: str) -> list[str]:
        """What the instruction says beyond its opening: facts, clue style, tip."""
        parts = [FACTS[stage][fact] for fact in sorted(self.facts)]
        if self.style:
            parts.append(STYLE_SENTENCES[stage][self.style])
        if self.tip in TIP_SENTENCES:
            parts.append(TIP_SENTENCES[self.tip])
        return parts

    def render(self, stage: str, variant: int) -> str:
        return " ".join([f"Read the question and write the {stage} (draft {variant}).",
                         *self.sentences(stage)])


def clue(style: str | None) -> str:
    """The hint text of a success: a clue in ``style``."""
    return f"clue in {style}" if style else "clue"


def clue_value(hint: str, expected: str | None) -> float:
    """What hint text ``hint`` adds to an answer step that reads clues in style ``expected``."""
    if not hint.startswith("clue"):
        return CLUE_VALUE["none"]
    written = hint.removeprefix("clue in ").strip() if hint != "clue" else None
    if expected is None:
        return CLUE_VALUE["unstyled"]
    return CLUE_VALUE["matched" if written == expected else "mismatched"]


def is_right(stage: str, demo: Mapping[str, Any]) -> bool:
    """A hint demo is right when it gave a clue, an answer demo when its label is right."""
    if stage == "hint":
        return str(demo.get("hint", "")).startswith("clue")
    return str(demo.get("answer", "")) == f"a{_number(str(demo.get('question', '')))}"


def demo_value(stage: str, demos: Sequence[Mapping[str, Any]]) -> float:
    """What a step's demos add to its skill: right demos help (up to a cap), wrong ones hurt.
    A right answer demo helps fully with the clue that led to it, less without a hint (a raw
    labeled example), and not at all after a hint that gave no clue."""
    value = 0.0
    for demo in demos:
        if not is_right(stage, demo):
            value += BAD_DEMO
        elif stage == "hint" or str(demo.get("hint", "")).startswith("clue"):
            value += GOOD_DEMO
        elif "hint" not in demo:
            value += LABELED_DEMO
    return min(MAX_DEMO_VALUE, value)


def skill_of(stage: str, instruction: str, demos: Sequence[Mapping[str, Any]]) -> float:
    """A step's skill with this instruction and these demos (before the hint's effect)."""
    return (BASE_SKILL[stage] + Instruction.parse(instruction, stage).skill(stage)
            + demo_value(stage, demos))


def _accuracies(options: Mapping[str, Sequence[tuple[str, Sequence[Mapping[str, Any]]]]],
                examples: Sequence[Example]) -> np.ndarray:
    """Expected scores on ``examples`` of every pair of a hint option and an answer option
    (an option: an instruction and demos), as a matrix."""
    numbers = np.array([_number(e["question"]) for e in examples])
    labeled = np.array([e["answer"] == f"a{n}" for e, n in zip(examples, numbers)])
    d = np.array([difficulty(int(n)) for n in numbers])
    hint = np.array([skill_of("hint", text, demos) for text, demos in options["hint"]])
    answer = np.array([skill_of("answer", text, demos) for text, demos in options["answer"]])
    written = [clue(Instruction.parse(text, "hint").style) for text, _ in options["hint"]]
    expected = [Instruction.parse(text, "answer").style for text, _ in options["answer"]]
    gain = np.array([[clue_value(w, e) for e in expected] for w in written])
    p_hint = sigmoid(hint[:, None, None] - d)
    p_with_clue = sigmoid(answer[None, :, None] + gain[:, :, None] - d)
    p_without = sigmoid(answer[None, :, None] + CLUE_VALUE["none"] - d)
    success = (p_hint * p_with_clue + (1 - p_hint) * p_without) * labeled
    return success.mean(axis=2)


class LandscapeLM(BaseLM):
    """Completion-form LM of the landscape above: the task LM and the prompt LM of a run."""

    prompt_format = "completion"

    def __init__(self, *, model_id: str = "landscape") -> None:
        super().__init__(cache=None)
        self.model_id = model_id
        self.proposer_prompts: list[str] = []
        self._lock = threading.Lock()

    # The measure -------------------------------------------------------------------------
    def expected_accuracy(self, program: Module, examples: Sequence[Example]) -> float:
        """Exact expected ``exact_answer`` score of a ``SimulatedProgram`` on ``examples``."""
        steps = dict(program.named_predictors())
        options = {stage: [(steps[stage].signature.instructions, steps[stage].demos)]
                   for stage in STAGES}
        return float(_accuracies(options, examples)[0, 0])

    def accuracies(self, candidates: Candidates, examples: Sequence[Example]) -> np.ndarray:
        """The expected score on ``examples`` of every configuration of ``candidates`` (each
        predictor's instruction and demo-set candidates), flat and in no particular order."""
        options = {stage: [(instruction, demos)
                           for instruction in candidates.predictors[stage].instructions
                           for demos in candidates.predictors[stage].demo_sets]
                   for stage in STAGES}
        return _accuracies(options, examples).ravel()

    # The LM ------------------------------------------------------------------------------
    def _generate(self, request: LMRequest) -> LMResponse:
        prompt = request.prompt or ""
        text = " " + self._reply(prompt, str(request.rollout))
        return LMResponse((text,) * request.n, TokenUsage(len(prompt.split()), len(text.split())))

    def _reply(self, prompt: str, rollout: str) -> str:
        blocks = prompt.split("\n\n---\n\n")
        label = prompt.rsplit("\n", 1)[-1]
        if label in ("Hint:", "Answer:"):
            return self._step(label[:-1].lower(), blocks)
        if label in ("Proposed Instruction:", "Additional Guidance:"):
            with self._lock:
                self.proposer_prompts.append(prompt)
            stage, learned = self._learn(_fields(blocks[1], blocks[-1]), rollout)
            if label == "Additional Guidance:":  # one sentence of what it learned
                said = learned.sentences(stage) or ["Read the question with care."]
                return said[int(unit_hash(rollout, "guidance") * len(said))]
            return learned.render(stage, int(unit_hash(rollout, "variant") * 10_000))
        if label == "Observations:":
            return "COMPLETE" if "letter a" in blocks[-1] else DATASET_SUMMARY
        if label == "Summary:":
            return DATASET_SUMMARY if "letter a" in blocks[-1] else "Short questions and answers."
        if label == "Program Description:":
            return PROGRAM_SUMMARY
        if label == "Module Role:":
            return ROLES["hint" if "hint: question -> hint" in blocks[-1] else "answer"]
        return "N/A"

    def _step(self, stage: str, blocks: list[str]) -> str:
        """One step of the task on the example in the last block."""
        instruction, query = blocks[0], blocks[-1]
        demos = [demo_fields(block) for block in blocks[2:-1]]
        number = _number(query)
        skill = skill_of(stage, instruction, demos)
        if stage == "answer":
            skill += clue_value(_hint_of(query), Instruction.parse(instruction, stage).style)
        prompt = (stage, number, *blocks[:-1], _hint_of(query))
        shared = unit_hash(*prompt, "shared") < SHARED_DRAW
        draw = unit_hash(stage, number) if shared else unit_hash(*prompt)
        success = draw < sigmoid(skill - difficulty(number))
        if stage == "hint":
            return clue(Instruction.parse(instruction, stage).style) if success else "no clue"
        return f"a{number}" if success else "wrong"

    def _learn(self, fields: dict[str, str], rollout: str) -> tuple[str, Instruction]:
        """The step a proposal is for, and what its instruction will say: facts that depend on
        what the proposer was shown (see the module), a clue style and the tip."""
        match = _OUTPUT.search(fields.get("basic instruction", ""))
        stage = match.group(1) if match and match.group(1) in STAGES else "answer"
        start = _best_shown(fields.get("previous instructions", ""), stage)

        def writes(fact: str, shown: bool) -> bool:
            if fact in start.facts and unit_hash(rollout, "keep", fact) < KEEP_FROM_HISTORY:
                return True
            return unit_hash(rollout, fact) < (SHOWN if shown else UNSHOWN[fact])

        facts = set()
        if writes("rule", "letter a" in fields.get("dataset description", "")):
            facts.add("rule")
        role = f"{stage}_role"
        if writes(role, ROLES[stage] in fields.get("module role", "")):
            facts.add(role)
        demos = [demo_fields(line.replace(" | ", "\n")) for line in
                 fields.get("task demos", "").splitlines() if line.strip()]
        right = bool(demos) and all(is_right(stage, demo) for demo in demos)
        if demos and not right and unit_hash(rollout, "misformat") < WRONG_FORMAT:
            facts.add("misformat")
        elif writes("format", right):
            facts.add("format")
        keeps_style = start.style and unit_hash(rollout, "keep", "style") < KEEP_FROM_HISTORY
        style = start.style if keeps_style else list(STYLES)[int(unit_hash(rollout, "style") * len(STYLES))]
        tip = next((t for t, text in TIPS.items() if text and text == fields.get("tip")), "none")
        return stage, Instruction(frozenset(facts), style, tip)


def _best_shown(history: str, stage: str) -> Instruction:
    """The best instruction of a history (shown worst first), or one with nothing in it."""
    lines = [line for line in history.splitlines() if line.startswith("Instruction: ")]
    if not lines:
        return Instruction(frozenset(), None, "none")
    return Instruction.parse(lines[-1], stage)


def _fields(layout: str, block: str) -> dict[str, str]:
    """The fields of a prompt's last block by their labels in the format block ``layout``,
    lower-cased (a value may span several lines)."""
    labels = {line.partition(":")[0] for line in layout.splitlines() if ": ${" in line}
    fields: dict[str, str] = {}
    current = None
    for line in block.splitlines():
        label, colon, value = line.partition(":")
        if colon and label in labels:
            current = label.lower()
            fields[current] = value.strip()
        elif current is not None:
            fields[current] = f"{fields[current]}\n{line}".strip()
    return fields


def _hint_of(query: str) -> str:
    return demo_fields(query).get("hint", "")


def _number(text: str) -> int:
    match = _NUMBER.search(text)
    return int(match.group(1)) if match else 0
