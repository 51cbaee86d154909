"""A simulated LM with a known landscape, for deterministic tests of optimizers.

The task: questions ``q<i>`` whose answer is ``a<i>``, solved by a two-stage program
(``question -> hint`` then ``question, hint -> answer``, see ``SimulatedProgram``). For each
stage, the chance of a good output is its *quality*::

    quality = base + instruction_bonus * (the instruction contains GOOD_WORD)
                   + demo_bonus * (share of the stage's demos whose question id is divisible by 3)

Noise comes from the example: a stage succeeds on example ``i`` when a fixed pseudo-random
number of (stage, i) is below its quality, so a program's expected accuracy is the product of
its stages' qualities, which ``expected_accuracy`` computes exactly.

As a proposer it answers with instructions that contain GOOD_WORD for one rollout salt in
three, and with an empty (unparseable) reply for salts listed in ``garbled_rollouts``.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from mipro.lm.base import BaseLM, LMRequest, LMResponse, TokenUsage
from mipro.program import Example, Module, Predict, Prediction

GOOD_WORD = "carefully"
_QUESTION = re.compile(r"Question: q(\d+)")


def unit_hash(*parts: object) -> float:
    """A stable pseudo-random number in [0, 1) of ``parts``."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()
    return int(digest[:12], 16) / float(16**12)


def make_examples(count: int, *, start: int = 0, mislabeled: float = 0.0) -> list[Example]:
    """``Example(question="q<i>", answer="a<i>")`` with the question as input; a share
    ``mislabeled`` of them (a fixed pseudo-random choice) carry the wrong answer ``a<i+1>``."""
    return [Example(question=f"q{i}", answer=f"a{i + (unit_hash('mislabeled', i) < mislabeled)}")
            .with_inputs("question") for i in range(start, start + count)]


def exact_answer(example: Example, prediction: Prediction) -> bool:
    return bool(prediction.answer == example.answer)


class SimulatedProgram(Module):
    """Two stages: a hint, then the answer."""

    def __init__(self, lm: BaseLM | None = None) -> None:
        self.hint = Predict("question -> hint", lm=lm)
        self.answer = Predict("question, hint -> answer", lm=lm)

    def forward(self, question: str) -> Prediction:  # type: ignore[override]
        hint = self.hint(question=question).hint
        return self.answer(question=question, hint=hint)


class SimulatedLM(BaseLM):
    """Completion-form LM whose accuracy depends on the prompt in the known way above."""

    prompt_format = "completion"

    def __init__(self, *, base: float = 0.3, instruction_bonus: float = 0.3,
                 demo_bonus: float = 0.4, garbled_rollouts: Collection[str] = (),
                 model_id: str = "simulated") -> None:
        super().__init__(cache=None)
        self.model_id = model_id
        self.base, self.instruction_bonus, self.demo_bonus = base, instruction_bonus, demo_bonus
        self.garbled_rollouts = set(garbled_rollouts)
        self.proposer_prompts: list[str] = []
        self._lock = threading.Lock()

    def quality(self, instruction: str, demos: Sequence[Mapping[str, Any]]) -> float:
        """Chance that one stage succeeds with this instruction and these demos."""
        gold = [d for d in demos if int(str(d.get("question", "q1"))[1:]) % 3 == 0]
        share = len(gold) / len(demos) if demos else 0.0
        good = GOOD_WORD in instruction.lower()
        return min(1.0, self.base + self.instruction_bonus * good + self.demo_bonus * share)

    def expected_accuracy(self, program: Module) -> float:
        """Exact expected accuracy of a ``SimulatedProgram`` under this LM."""
        accuracy = 1.0
        for predictor in program.predictors():
            accuracy *= self.quality(predictor.signature.instructions, predictor.demos)
        return accuracy

    def _generate(self, request: LMRequest) -> LMResponse:
        prompt = request.prompt or ""
        text = self._reply(prompt, str(request.rollout))
        return LMResponse((text,) * request.n, TokenUsage(len(prompt.split()), len(text.split())))

    def _reply(self, prompt: str, rollout: str) -> str:
        blocks = prompt.split("\n\n---\n\n")
        label = prompt.rsplit("\n", 1)[-1]
        if label == "Proposed Instruction:":
            with self._lock:
                self.proposer_prompts.append(prompt)
            if rollout in self.garbled_rollouts:
                return ""
            variant = int(unit_hash("proposal", rollout) * 1_000_000)  # repeats are rare
            extra = f" Read the question {GOOD_WORD}." if variant % 3 == 0 else ""
            return f" Answer the question (variant {variant}).{extra}"
        if label not in ("Hint:", "Answer:"):
            return " A small synthetic question answering dataset."
        demos = [demo_fields(block) for block in blocks[2:-1]]
        quality = self.quality(blocks[0], demos)
        match = _QUESTION.search(blocks[-1])
        number = match.group(1) if match else "0"
        stage = label[:-1].lower()
        success = unit_hash(stage, number) < quality
        if stage == "hint":
            return " ok" if success else " bad"
        hint_ok = "Hint: ok" in blocks[-1]
        return f" a{number}" if success and hint_ok else " wrong"


def demo_fields(block: str) -> dict[str, str]:
    """The ``Label: value`` lines of one prompt block, by lower-cased label."""
    fields = {}
    for line in block.splitlines():
        key, _, value = line.partition(": ")
        fields[key.strip().lower()] = value.strip()
    return fields
