"""Instruction candidates that stay on task: the filter, and how proposals go through it."""

from typing import Literal

import pytest

from mipro import ConfigurationError
from mipro.optimize import MIPRO
from mipro.optimize.proposal_filter import rejection, seed_constraints, similarity
from mipro.lm.base import LMCapabilities
from mipro.optimize.propose import UpfrontProposals, propose_candidates, propose_instruction
from mipro.optimize.run.grounding import Grounding
from mipro.optimize.run.proposals import GroundingSources, ProposalSettings
from mipro.program import ChainOfThought, Module, Predict
from mipro.signatures import InputField, OutputField, Signature, ensure_signature
from mipro.testing import ScriptedLM


class Sentiment(Signature):
    """Classify the sentiment of the review as positive or negative."""

    review: str = InputField()
    sentiment: Literal["positive", "negative"] = OutputField()


class Iris(Signature):
    """Given the petal and sepal dimensions in cm, predict the iris species: setosa, versicolor, or virginica."""

    petal_length: str = InputField()
    sepal_length: str = InputField()
    answer: Literal["setosa", "versicolor", "virginica"] = OutputField()


SENTIMENT, IRIS = ensure_signature(Sentiment), ensure_signature(Iris)
GENERIC = "Predicts a response based on a given signature and few-shot demonstrations."


def test_a_description_of_the_module_is_generic():
    constraints = seed_constraints(SENTIMENT)
    assert rejection(GENERIC, constraints, [SENTIMENT.instructions]) == "generic"
    assert rejection("Use the few-shot demonstrations to produce the output fields.", constraints,
                     [SENTIMENT.instructions]) == "generic"
    on_task = "Read the review and decide whether its sentiment is positive or negative overall."
    assert rejection(on_task, constraints, [SENTIMENT.instructions]) is None


IRIS_STR = Signature.parse("petal_length, sepal_length -> answer", instructions=IRIS.instructions)
"""The iris signature with an untyped answer: the prompt does not list the species."""
SPECIES = ("setosa", "versicolor", "virginica")


def test_a_proposal_that_drops_a_label_the_seed_names_misses_a_constraint():
    constraints = seed_constraints(IRIS_STR, SPECIES)  # the values the answer takes in the demos
    assert constraints.labels == SPECIES
    kept = [IRIS.instructions]
    for dropped in ("Given the petal and sepal dimensions in cm, determine the color of the iris species.",
                    "From the petal length and width, predict the iris species: setosa, setosa, or virginica."):
        assert rejection(dropped, constraints, kept) == "missing_constraint"
    whole = "Compare petal and sepal sizes in cm to name the species: setosa, versicolor or virginica."
    assert rejection(whole, constraints, kept) is None


def test_labels_a_typed_output_states_are_not_required():
    """A Literal output's values are in every prompt and the only replies decoding allows: an
    instruction that does not repeat them loses nothing."""
    constraints = seed_constraints(IRIS, SPECIES)
    assert constraints.labels == ()
    shorter = "Given the petal and sepal dimensions in cm, determine the species of the iris."
    assert rejection(shorter, constraints, [IRIS.instructions]) is None
    assert rejection(GENERIC, constraints, [IRIS.instructions]) == "generic"  # still on task


def test_labels_count_only_when_the_seed_instruction_names_them():
    quiet = SENTIMENT.with_instructions("Judge the review.")
    assert seed_constraints(quiet).labels == ()
    assert rejection("Judge the tone of the review carefully.", seed_constraints(quiet),
                     [quiet.instructions]) is None
    # Labels of a str output, from the values its demos take, when the seed names them.
    yes_no = Signature.parse("question -> answer", instructions="Answer the question with yes or no.")
    assert seed_constraints(yes_no, ["yes", "no"]).labels == ("no", "yes")


def test_format_rules_of_the_seed_must_be_kept():
    seed = Signature.parse("question -> answer", instructions="Answer the trivia question in one word.")
    constraints = seed_constraints(seed)
    assert constraints.format_rules == ("one word",)
    assert rejection("Answer the trivia question with a full explanation.", constraints,
                     [seed.instructions]) == "missing_constraint"
    assert rejection("Think about the trivia question, then reply in one word.", constraints,
                     [seed.instructions]) is None


def test_repeats_and_near_duplicates_are_rejected():
    constraints = seed_constraints(SENTIMENT)
    kept = [SENTIMENT.instructions]
    assert rejection(SENTIMENT.instructions, constraints, kept) == "repeat"
    near = "Classify the sentiment of this review as positive or negative."
    assert similarity(near, SENTIMENT.instructions) >= 0.8
    assert rejection(near, constraints, kept) == "near_duplicate"


def test_guidance_added_to_the_seed_keeps_its_constraints_but_must_be_on_task():
    constraints = seed_constraints(IRIS)
    kept = [IRIS.instructions]
    assert rejection(f"{IRIS.instructions} Long petals point to virginica.", constraints, kept) is None
    for off_task in ("Follow the signature and the few-shot demonstrations closely.",
                     "This is a one-line Python function that takes a list of 3D", "1"):
        assert rejection(f"{IRIS.instructions} {off_task}", constraints, kept) == "generic"


class Classifier(Module):
    def __init__(self, lm, signature=IRIS):
        self.predict = Predict(signature, lm=lm)

    def forward(self, **inputs):
        return self.predict(**inputs)


class Summarizer(Module):
    def __init__(self, lm, signature):
        self.predict = Predict(signature, lm=lm)

    def forward(self, **inputs):
        return self.predict(**inputs)


def proposer(instructions, guidance, fill_ins=(), *, grammar=False):
    """A scripted proposer: the next whole instruction, guidance sentence or fill-in reply."""
    replies = {"Proposed Instruction:": list(instructions), "Additional Guidance:": list(guidance),
               "Focus:": list(fill_ins)}

    def reply(request):
        return " " + replies[request.prompt.rsplit("\n", 1)[-1]].pop(0)
    return ScriptedLM(reply, capabilities=LMCapabilities(grammar=grammar))


def filled(focus, advice):
    """A fill-in reply (the prompt ends with the first label, ``Focus:``)."""
    return f"{focus}\nAdvice: {advice}"


def propose(lm, form, num_candidates, signature=IRIS, demo_sets=((),)):
    grounding = Grounding(dataset_summary="", program_summary="", role="")
    return propose_candidates(lm, Classifier(lm, signature), {"predict": list(demo_sets)},
                              {"predict": grounding},
                              GroundingSources(), UpfrontProposals(form=form), num_candidates,
                              seed=0, display_progress=False)


def test_rejected_proposals_are_counted_by_reason_and_asked_again_as_guidance_then_fill_in():
    drops_label = "From the petal sizes, predict the iris species: setosa or virginica."
    good = "Compare petal and sepal sizes in cm to name the species: setosa, versicolor or virginica."
    lm = proposer([GENERIC, drops_label, good], ["Setosa has by far the shortest petals.",
                                                 "Use the module signature to answer."],
                  [filled("sepal length", "Pay most attention to the focus")])
    # An untyped answer whose demos name the species: the seed's list of them is a constraint.
    demos = tuple({"petal_length": "1.4", "sepal_length": "5.1", "answer": species} for species in SPECIES)
    candidates, tally = propose(lm, "auto", num_candidates=4, signature=IRIS_STR,
                                demo_sets=((), demos))
    instructions = candidates.predictors["predict"].instructions
    assert instructions == (IRIS.instructions,
                            f"{IRIS.instructions} Setosa has by far the shortest petals.",
                            f"{IRIS.instructions} Pay most attention to the sepal length.", good)
    assert tally.rejected == {"generic": 2, "missing_constraint": 1}
    assert tally.skipped == 0
    forms = [record.form for record in candidates.predictors["predict"].proposals[1:]]
    assert forms == ["guidance", "fill_in", "instruction"]
    assert len({request.rollout for request in lm.requests}) == len(lm.requests) == 6


def test_a_fill_in_after_a_rejected_instruction_and_guidance_is_the_seed_with_a_filled_sentence():
    lm = proposer([GENERIC], ["1."], [filled("petal length", "Tell the labels apart by the focus")])
    candidates, tally = propose(lm, "auto", num_candidates=2)
    assert candidates.predictors["predict"].instructions[1] == (
        f"{IRIS.instructions} Tell setosa, versicolor and virginica apart by the petal length.")
    assert tally.rejected == {"generic": 2} and tally.skipped == 0
    shown = lm.requests[-1].prompt
    assert f"Basic Instruction: {IRIS.instructions}" in shown and "Tip:" in shown


def test_every_slot_gets_a_fill_in_when_the_choices_differ_and_a_repeated_one_is_rejected():
    choices = [filled("petal length", "Look closely at the focus before you answer"),
               filled("sepal length", "Check which of the labels the focus points to"),
               filled("petal length", "Decide from the focus first and then check the other inputs")]
    candidates, tally = propose(proposer([], [], choices), "fill_in", num_candidates=4)
    assert candidates.predictors["predict"].instructions[1:] == (
        f"{IRIS.instructions} Look closely at the petal length before you answer.",
        f"{IRIS.instructions} Check which of setosa, versicolor and virginica the sepal length "
        "points to.",
        f"{IRIS.instructions} Decide from the petal length first and then check the other inputs.")
    assert tally.rejected == {} and tally.skipped == 0

    candidates, tally = propose(proposer([], [], choices[:1] * 3), "fill_in", num_candidates=4)
    assert len(candidates.predictors["predict"].instructions) == 2
    assert tally.rejected == {"repeat": 2} and tally.skipped == 2


def test_a_fill_in_that_repeats_a_kept_candidate_leaves_the_slot_empty_in_auto():
    repeat = filled("sepal length", "Pay most attention to the focus")
    lm = proposer([GENERIC, GENERIC], ["1.", "1."], [repeat, repeat])
    candidates, tally = propose(lm, "auto", num_candidates=3)
    assert candidates.predictors["predict"].instructions[1:] == (
        f"{IRIS.instructions} Pay most attention to the sepal length.",)
    assert tally.rejected == {"generic": 4, "repeat": 1} and tally.skipped == 1


def test_fill_in_choices_are_constrained_to_the_allowed_values():
    reply = filled("Sepal Length (the longest)", "pay most attention to the focus.")
    lm = proposer([], [], [reply], grammar=True)
    candidates, _ = propose(lm, "fill_in", num_candidates=2)
    assert candidates.predictors["predict"].instructions[1] == (
        f"{IRIS.instructions} Pay most attention to the sepal length.")
    grammar = lm.requests[0].grammar
    assert '("petal length" | "sepal length")' in grammar
    assert '"Tell the labels apart by the focus"' in grammar


def test_fill_in_choices_fit_the_predictor():
    one_input = Signature.parse("review -> summary", instructions="Summarize the review.")
    lm = proposer([], [], [filled("review", "Pay most attention to the focus")], grammar=True)
    grounding = Grounding(dataset_summary="", program_summary="", role="")
    propose_candidates(lm, Summarizer(lm, one_input), {"predict": [()]}, {"predict": grounding},
                       GroundingSources(), UpfrontProposals(form="fill_in"), 2, seed=0,
                       display_progress=False)
    grammar = lm.requests[0].grammar
    assert '("review")' in grammar and "Pay most attention to the focus" in grammar
    assert "labels" not in grammar and "other inputs" not in grammar


def test_a_fill_in_names_the_labels_of_categorical_outputs_only():
    demos = ({"question": "Is it wet?", "reasoning": "It rained.", "answer": "yes"},
             {"question": "Is it dry?", "reasoning": "It rained.", "answer": "no"},
             {"question": "Is it cold?", "reasoning": "It snowed.", "answer": "yes"})
    grounding = Grounding(dataset_summary="", program_summary="", role="", demo_sets=(demos,))
    lm = proposer([], [], [filled("question", "Tell the labels apart by the focus")])
    text = propose_instruction(lm, ChainOfThought("question -> answer"), grounding,
                               ProposalSettings(form="fill_in"), rollout=0)
    assert text.endswith(" Tell no and yes apart by the question.")


def test_a_fill_in_choice_outside_the_allowed_values_is_asked_again_then_unparseable():
    retried = proposer([], [], ["stem length\nAdvice: Pay most attention to the focus",
                                filled("petal length", "Pay most attention to the focus")])
    candidates, tally = propose(retried, "fill_in", num_candidates=2)
    assert candidates.predictors["predict"].instructions[1] == (
        f"{IRIS.instructions} Pay most attention to the petal length.")
    assert "field `focus`" in retried.requests[1].prompt and tally.rejected == {}

    wrong = "petal length\nAdvice: Look at the stem"
    lm = proposer([GENERIC], ["1."], [wrong, wrong])
    candidates, tally = propose(lm, "auto", num_candidates=2)
    assert candidates.predictors["predict"].instructions == (IRIS.instructions,)
    assert tally.rejected == {"generic": 2, "unparseable": 1} and tally.skipped == 1
    assert len(lm.requests) == 4  # the instruction, the guidance, the fill-in and its one retry


def test_instruction_form_drops_rejected_proposals_without_asking_again():
    lm = proposer([GENERIC, GENERIC], [])
    candidates, tally = propose(lm, "instruction", num_candidates=3)
    assert candidates.predictors["predict"].instructions == (IRIS.instructions,)
    assert tally.rejected == {"generic": 2} and tally.skipped == 2 and len(lm.requests) == 2


def test_guidance_form_keeps_only_the_first_sentence_after_the_seed():
    lm = proposer([], [f"{IRIS.instructions} Versicolor sits between the two. Also note this."])
    candidates, tally = propose(lm, "guidance", num_candidates=2)
    assert candidates.predictors["predict"].instructions[1] == (
        f"{IRIS.instructions} Versicolor sits between the two.")
    assert tally.rejected == {}


def test_an_unknown_proposal_form_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="proposal_form must be one of"):
        MIPRO(lambda example, prediction: 1.0, proposal_form="poem")
    fill_in = MIPRO(lambda example, prediction: 1.0, proposal_form="fill_in")
    assert fill_in.plan.proposals.form == "fill_in"


@pytest.mark.parametrize("name", ["opro", "mipro++_0shot"])
def test_proposals_made_during_the_search_pass_the_filter_too(tmp_path, name):
    from mipro.optimize import OPTIMIZERS
    from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples

    prompt_lm = ScriptedLM(lambda request: " " + GENERIC)
    optimizer = OPTIMIZERS[name](exact_answer, task_lm=SimulatedLM(), prompt_lm=prompt_lm,
                                 auto=None, num_candidates=3, num_trials=3, minibatch_size=5, seed=0,
                                 verbose=False, storage=f"sqlite:///{tmp_path / 'study.db'}")
    optimizer.compile(SimulatedProgram(), make_examples(20), make_examples(20, start=20))
    result = optimizer.result
    proposed = sum(1 for request in prompt_lm.requests
                   if request.prompt.endswith("Proposed Instruction:"))
    assert proposed >= 6  # every trial asked for both predictors' instructions
    assert result.rejected_proposals == {"generic": proposed}
    assert result.skipped_proposals == proposed
    assert all(len(c.instructions) == 1 for c in result.candidates.predictors.values())
