"""Selection with its noise in mind: the program as given is kept unless a candidate beats it
with the stated confidence on validation examples that did not steer the search, and the
reported score is measured on those examples."""

import hashlib
import math
import re
import statistics

import pytest

from mipro import ConfigurationError, Evaluate
from mipro.lm.base import BaseLM, LMRequest, LMResponse
from mipro.optimize import MIPRO
from mipro.optimize.confidence import paired_lower_bound, wilson_interval
from mipro.optimize.run.candidates import configuration_key
from mipro.optimize.select import SelectionSettings, best_full_evaluation, label_strata, split_holdout
from mipro.program import Example
from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples

TRAIN, VAL = make_examples(60), make_examples(60, start=100)
SEEDS = range(8)
SETTINGS = dict(auto=None, num_candidates=4, num_trials=10, minibatch_size=15, full_eval_every=3)


class NoisyLM(BaseLM):
    """Each stage succeeds on a question with a chance that depends on the prompt
    (``chance(context)``, the prompt before the question), drawn afresh for every (prompt,
    question). Proposals and summaries come from the simulated LM."""

    prompt_format = "completion"

    def __init__(self, chance):
        super().__init__()
        self.model_id, self.inner, self.chance = "noisy", SimulatedLM(), chance

    def _generate(self, request: LMRequest) -> LMResponse:
        prompt = request.prompt or ""
        label = prompt.rsplit("\n", 1)[-1]
        if label not in ("Hint:", "Answer:"):
            return self.inner(request)
        context, _, question = prompt.rpartition("---")
        number = re.search(r"Question: q(\d+)", question).group(1)
        digest = hashlib.sha256(f"{label}|{context}|{number}".encode()).digest()
        success = int.from_bytes(digest[:4], "big") / 2**32 < self.chance(context)
        if label == "Hint:":
            text = " ok" if success else " bad"
        else:
            text = f" a{number}" if success and "Hint: ok" in question else " wrong"
        return LMResponse((text,) * request.n)


def flat_lm():
    """Every prompt is as good as any other (0.7 a stage, 0.49 a program): configurations
    differ only by noise."""
    return NoisyLM(lambda context: 0.7)


def tiered_lm():
    """The program as given is poor (0.3 a stage: 0.09); a stage with demos or a proposed
    instruction is good (0.8), so the search's best configurations are clearly better."""
    def chance(context):
        as_given = context.startswith("Given the fields") and context.count("---") == 1  # no demos
        return 0.3 if as_given else 0.8

    return NoisyLM(chance)


def optimize(tmp_path, lm, seed, **kwargs):
    optimizer = MIPRO(exact_answer, task_lm=lm, seed=seed, verbose=False,
                      storage=f"sqlite:///{tmp_path / 'study.db'}",
                      **{"run_name": f"seed{seed}", **SETTINGS, **kwargs})
    return optimizer, optimizer.compile(SimulatedProgram(), TRAIN, VAL)


def test_keeps_the_program_as_given_when_candidates_are_within_noise(tmp_path):
    kept, reported, searched = 0, [], []
    for seed in SEEDS:
        optimizer, program = optimize(tmp_path, flat_lm(), seed)
        result = optimizer.result
        kept += result.selection.kept_baseline
        reported.append(result.best_score)
        searched.append(best_full_evaluation(result.full_evaluations).score)
        if result.selection.kept_baseline:
            assert result.best_configuration == result.candidates.baseline()
            assert result.best_score == result.baseline_score
            assert result.selection.reason.startswith("kept the program as given")
    # At the default 84% confidence, a candidate that is no better wins about 1 run in 6.
    assert kept >= len(SEEDS) - 2
    # The search's own best score shows the winner's curse; the held-out score does not.
    assert statistics.mean(searched) > 0.49 + 0.08
    assert abs(statistics.mean(reported) - 0.49) < 0.06


def test_picks_a_candidate_that_is_clearly_better(tmp_path):
    for seed in SEEDS:
        optimizer, program = optimize(tmp_path, tiered_lm(), seed)
        result = optimizer.result
        selection = result.selection
        assert not selection.kept_baseline, selection.reason
        winner = selection.contenders[selection.chosen]
        assert result.best_configuration == winner.configuration != result.candidates.baseline()
        assert winner.lower_bound > 0 and winner.holdout_score > selection.baseline_holdout_score
        assert winner.lower_bound == max(c.lower_bound for c in selection.contenders)
        assert selection.reason.startswith("chose ") and "at 84% confidence" in selection.reason
        assert result.best_score == winner.holdout_score > result.baseline_score + 0.2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reported_score_and_interval_come_from_examples_no_minibatch_used(tmp_path, seed):
    lm = SimulatedLM()
    optimizer, program = optimize(tmp_path, lm, seed)
    result = optimizer.result
    holdout = set(result.selection.holdout_ids)
    assert len(holdout) == len(VAL) // 2
    for trial in result.trials:
        assert holdout.isdisjoint(trial.minibatch_ids)
    # The reported score is the chosen program's mean on exactly those examples and the unseen
    # training examples that topped them up.
    train_ids = result.selection.train_ids
    assert 0 < len(train_ids) <= len(TRAIN) and len(set(train_ids)) == len(train_ids)
    scores = [r.score for dataset, ids in ((VAL, sorted(holdout)), (TRAIN, train_ids))
              for r in Evaluate(dataset, exact_answer, lm=lm, display_progress=False)(program, ids=ids).results]
    assert result.best_score == sum(scores) / len(scores)
    assert result.selection.score_interval == wilson_interval(result.best_score, len(scores), 0.84)
    low, high = result.selection.score_interval
    assert low < result.best_score < high


def test_the_output_says_what_was_chosen_and_why(tmp_path, capsys):
    optimizer = MIPRO(exact_answer, task_lm=flat_lm(), seed=0, verbose=True, run_name="loud",
                      storage=f"sqlite:///{tmp_path / 'study.db'}", **SETTINGS)
    optimizer.compile(SimulatedProgram(), TRAIN, VAL)
    output = capsys.readouterr().err
    train = len(optimizer.result.selection.train_ids)
    assert f"Selection on 30 held-out validation and {train} unseen training examples" in output
    assert "Kept the program as given" in output or "it beats the program as given" in output
    assert "Held-out score of the chosen program" in output and "84% interval" in output


def test_held_out_scores_are_stored_and_never_scored_again(tmp_path):
    first, _ = optimize(tmp_path, SimulatedLM(), 0)
    lm = SimulatedLM()
    again, _ = optimize(tmp_path, lm, 0)
    scored = {configuration_key(c.configuration) for c in first.result.selection.contenders}
    rescored = [c for c in again.result.selection.contenders if configuration_key(c.configuration) in scored]
    assert rescored == [c for c in first.result.selection.contenders
                        if configuration_key(c.configuration) in scored][:len(rescored)]
    new_full = len(again.result.full_evaluations) - len(first.result.full_evaluations)
    new_held_out = len(again.result.selection.contenders) - len(rescored)
    selected = 30 + len(first.result.selection.train_ids)  # held-out and unseen training examples
    assert lm.usage.calls == 2 * (30 * new_full + selected * new_held_out)


class RecordingLM(SimulatedLM):
    """The simulated LM, keeping every prompt it answers."""

    def __init__(self):
        super().__init__()
        self.prompts = []

    def _generate(self, request):
        self.prompts.append(request.prompt or "")
        return super()._generate(request)


@pytest.mark.parametrize("seed", [0, 1])
def test_training_examples_selection_adds_were_never_shown_to_an_lm(tmp_path, seed):
    """A run that selects on validation examples only shows the LM every example the run uses
    besides selection's: none of the training examples the default run tops up with is among
    them (not run while bootstrapping, in no demo, not in the dataset summary)."""
    shown = RecordingLM()
    optimize(tmp_path, shown, seed, selection_examples=0, run_name="val-only")
    seen = {int(n) for prompt in shown.prompts for n in re.findall(r"\bq(\d+)\b", prompt)}
    optimizer, _ = optimize(tmp_path, SimulatedLM(), seed)
    train_ids = optimizer.result.selection.train_ids
    assert len(train_ids) >= 10
    assert seen.isdisjoint(train_ids)  # TRAIN's example i asks "q<i>"
    assert len(seen & set(range(len(TRAIN)))) > 20  # bootstrapping and demos did show others


def test_a_valset_too_small_to_hold_out_from_is_refused_before_any_lm_call(tmp_path):
    lm = SimulatedLM()
    with pytest.raises(ConfigurationError, match="the validation set has 1 example"):
        MIPRO(exact_answer, task_lm=lm, verbose=False, storage=f"sqlite:///{tmp_path / 's.db'}",
              **SETTINGS).compile(SimulatedProgram(), TRAIN, VAL[:1])
    assert lm.usage.calls == 0
    for option, value in (("holdout_fraction", 1.0), ("selection_confidence", 0.0),
                          ("selection_configurations", 0), ("selection_examples", -1)):
        with pytest.raises(ConfigurationError, match=option):
            MIPRO(exact_answer, **{option: value})


# The confidence bounds ----------------------------------------------------------------------
@pytest.mark.parametrize(("wins", "beats"), [(3, False), (4, True), (6, True)])
def test_paired_bound_is_the_exact_sign_flip_test_on_few_differences(wins, beats):
    """Wins with every other example tied: the one-sided sign-flip p-value is 2**-wins, so at
    90% confidence 3 wins (p = 0.125) are not enough and 4 (p = 0.0625) are."""
    differences = [1.0] * wins + [0.0] * (25 - wins)
    assert (paired_lower_bound(differences, 0.9, seed=0) > 0) == beats
    assert paired_lower_bound([0.0] * 25, 0.9, seed=0) == 0.0
    assert paired_lower_bound([1.0, 1.0, 1.0], 0.9, seed=0) == -math.inf  # p = 1/8 at best


def test_paired_bound_on_many_differences_is_seeded_and_near_the_normal_bound():
    differences = [(-1.0, 0.0, 0.0, 1.0, 1.0)[i % 5] for i in range(60)]
    bound = paired_lower_bound(differences, 0.9, seed=3)
    assert bound == paired_lower_bound(differences, 0.9, seed=3)
    mean, spread = statistics.mean(differences), statistics.pstdev(differences)
    normal = mean - 1.2816 * spread / math.sqrt(len(differences))
    assert bound < mean and abs(bound - normal) < 0.03


def test_wilson_interval_stays_inside_0_1_and_is_not_degenerate():
    low, high = wilson_interval(1.0, 25, 0.9)
    assert 0.85 < low < 1.0 and high == 1.0
    low, high = wilson_interval(0.5, 100, 0.95)
    assert low == pytest.approx(0.404, abs=1e-3) and high == pytest.approx(0.596, abs=1e-3)


@pytest.mark.parametrize("seed", range(5))
def test_the_held_out_part_holds_every_label_in_proportion(seed):
    valset = [Example(question=f"q{i}", answer="A" if i % 4 else "B", id=f"x{i}")
              .with_inputs("question") for i in range(40)]  # 30 A, 10 B; ids are not labels
    strata = label_strata(valset)
    assert strata is not None and set(strata) == {("A",), ("B",)}
    search, holdout = split_holdout(len(valset), SelectionSettings(), seed, strata=strata)
    assert sorted(search + holdout) == list(range(40)) and len(holdout) == 20
    assert sum(valset[i].answer == "B" for i in holdout) == 5


def test_free_text_answers_are_not_strata():
    assert label_strata(make_examples(40)) is None


def test_the_optimizer_holds_out_a_stratified_half(tmp_path):
    valset = [Example(question=f"q{i}", answer=f"a{i}", kind="rare" if i < 106 else "common")
              .with_inputs("question") for i in range(100, 160)]
    for seed in range(3):
        optimizer = MIPRO(exact_answer, task_lm=SimulatedLM(), **SETTINGS, seed=seed,
                          verbose=False, storage=f"sqlite:///{tmp_path / f'{seed}.db'}")
        optimizer.compile(SimulatedProgram(), TRAIN, valset)
        held_out = optimizer.result.selection.holdout_ids
        assert sum(valset[i].kind == "rare" for i in held_out) == 3
