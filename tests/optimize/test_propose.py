"""Proposing instructions: what each proposal is shown, how it samples, what is recorded."""

import pytest

from mipro.errors import ConfigurationError
from mipro.optimize.propose import TIPS, UpfrontProposals, check_tips, propose_candidates, propose_instruction
from mipro.optimize.run.grounding import Grounding, ScoredInstruction
from mipro.optimize.run.proposals import GroundingSources, ProposalSettings
from mipro.optimize.run.seeds import sub_seed
from mipro.program import Predict
from mipro.testing import ScriptedLM, SimulatedLM, SimulatedProgram

GROUNDING = Grounding(dataset_summary="Short questions.", program_summary="A two-step QA program.",
                      role="Writes a hint.", demo_sets=(({"question": "q3", "hint": "ok"},),
                                                        ({"question": "q6", "hint": "ok"},)))
LABELS = {"dataset_summary": "Dataset Description:", "program_summary": "Program Description:",
          "demos": "Task Demos:"}


def proposed(settings, grounding=GROUNDING, reply=" Think step by step."):
    lm = ScriptedLM(lambda request: reply)
    text = propose_instruction(lm, Predict("question -> hint"), grounding, settings, rollout=17)
    return text, lm.requests[-1]


@pytest.mark.parametrize("off", ["dataset_summary", "program_summary", "demos"])
def test_a_proposal_is_shown_only_the_sources_switched_on(off):
    text, request = proposed(ProposalSettings(**{off: False}))
    assert text == "Think step by step."
    for source, label in LABELS.items():
        assert (label in request.prompt) == (source != off)
    assert "Basic Instruction:" in request.prompt


def test_a_proposal_samples_at_its_temperature_with_its_rollout_and_tip():
    _, request = proposed(ProposalSettings(temperature=0.8, tip="persona", demo_set=1))
    assert (request.temperature, request.rollout) == (0.8, 17)
    assert TIPS["persona"] in request.prompt
    assert "q6" in request.prompt and "q3" not in request.prompt  # the demo set it was given


def test_history_is_shown_with_scores_only_when_asked():
    history = (ScoredInstruction(index=0, text="Answer.", score=0.25),
               ScoredInstruction(index=2, text="Answer well.", score=0.5))
    grounding = Grounding(dataset_summary="", program_summary="", role="", history=history)
    _, shown = proposed(ProposalSettings(history=True), grounding)
    _, hidden = proposed(ProposalSettings(history=False), grounding)
    assert "Instruction: Answer. | Score: 0.25\nInstruction: Answer well. | Score: 0.50" in shown.prompt
    assert "Score:" not in hidden.prompt


def test_an_unparseable_reply_is_no_proposal():
    text, _ = proposed(ProposalSettings(), reply="")
    assert text is None


def test_upfront_proposals_are_recorded_with_how_they_were_made():
    program = SimulatedProgram()
    garbled = str(sub_seed(0, "propose", "answer", 2))
    lm = SimulatedLM(garbled_rollouts={garbled})
    demo_sets = {name: ((), ({"question": "q3"},), ({"question": "q6"},)) for name in ("hint", "answer")}
    groundings = {name: GROUNDING for name in demo_sets}
    sources = GroundingSources(program_summary=False)
    candidates, tally = propose_candidates(lm, program, demo_sets, groundings, sources,
                                           UpfrontProposals(tips=("simple", "persona")), 4,
                                           seed=0, display_progress=False)
    assert tally.skipped == 1 and tally.rejected == {"unparseable": 1}
    hint, answer = candidates.predictors["hint"], candidates.predictors["answer"]
    assert len(hint.instructions) == 4 and len(answer.instructions) == 3
    assert hint.instructions[0] == program.hint.signature.instructions and hint.proposals[0] is None
    assert [record.demo_set for record in hint.proposals[1:]] == [1, 2, 3]
    assert [record.demo_set for record in answer.proposals[1:]] == [1, 3]  # 2 did not parse
    for record in hint.proposals[1:] + answer.proposals[1:]:
        assert record.tip in ("simple", "persona") and record.trial is None
        assert (record.dataset_summary, record.program_summary, record.demos) == (True, False, True)
    assert hint.demo_sets == demo_sets["hint"]


def test_a_repeated_proposal_is_skipped():
    program = SimulatedProgram()
    lm = ScriptedLM(lambda request: " Always the same question.")
    demo_sets = {name: ((),) for name in ("hint", "answer")}
    candidates, tally = propose_candidates(lm, program, demo_sets, {n: GROUNDING for n in demo_sets},
                                           GroundingSources(dataset_summary=False, program_summary=False),
                                           UpfrontProposals(form="instruction"), 4, seed=0,
                                           display_progress=False)
    assert tally.skipped == 2 * 2 and tally.rejected == {"repeat": 2 * 2}
    assert all(c.instructions[1:] == ("Always the same question.",)
               for c in candidates.predictors.values())


def test_tips_must_be_known():
    assert check_tips(["none", "simple"]) == ("none", "simple")
    with pytest.raises(ConfigurationError, match="tips must be a non-empty subset .* got \\['shout'\\]"):
        check_tips(["shout"])
    with pytest.raises(ConfigurationError, match="got \\[\\]"):
        check_tips([])
