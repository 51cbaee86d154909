"""The harder simulated landscape behaves as documented: grounding, interaction, demos, noise."""

import statistics

from mipro import Evaluate
from mipro.optimize import MIPRO, GroundingSources
from mipro.optimize.run.proposals import NO_GROUNDING
from mipro.program import Example
from mipro.testing import SimulatedProgram, exact_answer, make_examples
from mipro.testing.landscape import STYLES, Instruction, LandscapeLM, skill_of

TRAIN, VAL, TEST = make_examples(60, mislabeled=0.2), make_examples(30, start=100), make_examples(
    300, start=1000)


def program(hint=Instruction(frozenset(), None, "none"), answer=Instruction(frozenset(), None, "none"),
            *, hint_demos=(), answer_demos=()):
    built = SimulatedProgram()
    if hint.facts or hint.style or hint.tip != "none":
        built.hint.signature = built.hint.signature.with_instructions(hint.render("hint", 1))
    if answer.facts or answer.style or answer.tip != "none":
        built.answer.signature = built.answer.signature.with_instructions(answer.render("answer", 1))
    built.hint.demos = [Example(d) for d in hint_demos]
    built.answer.demos = [Example(d) for d in answer_demos]
    return built


def styled(style, *facts):
    return Instruction(frozenset(facts), style, "none")


def test_expected_accuracy_is_what_evaluation_measures():
    lm = LandscapeLM()
    examples = make_examples(1000, start=1000)
    for candidate in (program(), program(styled("keywords", "hint_role"),
                                         styled("keywords", "rule"))):
        measured = Evaluate(examples, exact_answer, display_progress=False)(
            _on(candidate, lm)).score
        assert abs(measured - lm.expected_accuracy(candidate, examples)) < 0.04


def test_the_best_answer_instruction_depends_on_the_hint_instruction():
    lm = LandscapeLM()
    answers = {style: styled(style, "rule") for style in STYLES}
    for hint_style in STYLES:
        hint = styled(hint_style, "hint_role")
        scores = {style: lm.expected_accuracy(program(hint, answer), TEST)
                  for style, answer in answers.items()}
        assert max(scores, key=scores.get) == hint_style
        assert abs(scores["keywords"] - scores["sentence"]) > 0.1


def test_demos_help_only_when_they_are_right():
    lm = LandscapeLM()
    passed = [{"question": f"q{i}", "hint": "clue", "answer": f"a{i}"} for i in range(4)]
    mislabeled = [{"question": f"q{i}", "answer": f"a{i + 1}"} for i in range(4)]
    no_clue = [{"question": f"q{i}", "hint": "no clue"} for i in range(4)]
    none = lm.expected_accuracy(program(), TEST)
    right_hints = [{"question": d["question"], "hint": "clue"} for d in passed]
    assert lm.expected_accuracy(program(answer_demos=passed), TEST) > none + 0.03
    assert lm.expected_accuracy(program(hint_demos=right_hints), TEST) > none + 0.03
    assert lm.expected_accuracy(program(answer_demos=mislabeled), TEST) < none - 0.03
    assert lm.expected_accuracy(program(hint_demos=no_clue), TEST) < none - 0.03


def test_minibatch_scores_are_noisy_around_the_expected_accuracy():
    lm = LandscapeLM()
    candidate = _on(program(styled("keywords", "hint_role"), styled("keywords")), lm)
    minibatches = [make_examples(20, start=2000 + 20 * k) for k in range(30)]
    scores = [Evaluate(batch, exact_answer, display_progress=False)(candidate).score
              for batch in minibatches]
    expected = lm.expected_accuracy(candidate, [e for batch in minibatches for e in batch])
    assert statistics.stdev(scores) > 0.05
    assert abs(statistics.mean(scores) - expected) < 0.03


def test_grounding_decides_what_the_proposer_writes(tmp_path):
    """The real proposer pipeline, grounded or not: proposals grounded in the dataset summary,
    the program summary and demos are worth more to the step they are proposed for."""
    worth = {True: [], False: []}
    for seed in range(3):
        for grounded in (True, False):
            optimizer = MIPRO(exact_answer, task_lm=LandscapeLM(), auto=None, num_candidates=6,
                              num_trials=1, minibatch_size=5, seed=seed, verbose=False,
                              grounding=GroundingSources() if grounded else NO_GROUNDING,
                              storage=f"sqlite:///{tmp_path / 'study.db'}",
                              run_name=f"seed{seed}-{grounded}")
            optimizer.compile(SimulatedProgram(), TRAIN, VAL)
            for stage, options in optimizer.result.candidates.predictors.items():
                worth[grounded] += [skill_of(stage, text, ()) - skill_of(stage, options.instructions[0], ())
                                    for text in options.instructions[1:]]
    assert statistics.mean(worth[True]) > statistics.mean(worth[False]) + 0.8


def _on(candidate, lm):
    for predictor in candidate.predictors():
        predictor.lm = lm
    return candidate
