"""Candidates: frozen; a proposing search grows them into new records; JSON round trip."""

import dataclasses

import pytest

from mipro.optimize.run.candidates import Candidates, PredictorCandidates, build_program
from mipro.optimize.run.proposals import ProposalRecord
from mipro.testing import SimulatedProgram

RECORD = ProposalRecord(dataset_summary=True, program_summary=True, demos=False, history=True,
                        demo_set=0, tip="none", temperature=1.0, trial=3)


def candidates():
    return Candidates(predictors={
        "hint": PredictorCandidates(instructions=("Hint.",), demo_sets=((), ({"question": "q3", "hint": "ok"},)),
                                    proposals=(None,)),
        "answer": PredictorCandidates(instructions=("Answer.",), demo_sets=((),), proposals=(None,)),
    })


def test_a_new_instruction_makes_new_candidates_and_leaves_the_old_ones_alone():
    before = candidates()
    after, index = before.with_instruction("hint", "Hint well.", RECORD)
    assert index == 1 and after.predictors["hint"].instructions == ("Hint.", "Hint well.")
    assert after.predictors["hint"].proposals == (None, RECORD)
    assert before == candidates() and after.predictors["answer"] is before.predictors["answer"]


def test_a_repeated_instruction_keeps_its_index_and_first_record():
    grown, _ = candidates().with_instruction("hint", "Hint well.", RECORD)
    again, index = grown.with_instruction("hint", "Hint well.", dataclasses.replace(RECORD, trial=9))
    assert again is grown and index == 1 and again.predictors["hint"].proposals[1].trial == 3


def test_candidates_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        candidates().predictors["hint"].instructions = ()  # type: ignore[misc]


def test_candidates_survive_json():
    grown, _ = candidates().with_instruction("answer", "Answer well.", RECORD)
    assert Candidates.from_json(grown.to_json()) == grown


def test_a_configuration_builds_the_program_it_names():
    grown, _ = candidates().with_instruction("answer", "Answer well.", RECORD)
    program = build_program(SimulatedProgram(), grown, {"hint.demos": 1, "answer.instruction": 1})
    assert program.hint.signature.instructions == "Hint."
    assert [dict(d) for d in program.hint.demos] == [{"question": "q3", "hint": "ok"}]
    assert program.answer.signature.instructions == "Answer well." and program.answer.demos == []
    assert grown.baseline() == {"hint.instruction": 0, "hint.demos": 0,
                                "answer.instruction": 0, "answer.demos": 0}
