"""What a run on the simulated task should have stored: every score, recomputed.

The simulated LM answers every prompt the same way every time, so the score a configuration
gets on some validation examples is a fact; a stored score that differs from it was made of
something else (an LM failure scored as a bad prompt, say).
"""

from __future__ import annotations

from collections.abc import Sequence

from mipro.evaluate import Evaluate
from mipro.optimize.run.candidates import Configuration, build_program
from mipro.optimize.run.records import OptimizationResult
from mipro.program import Example
from mipro.testing.simulated import SimulatedLM, SimulatedProgram, exact_answer


def mis_scored(result: OptimizationResult, valset: Sequence[Example],
               trainset: Sequence[Example] = ()) -> list[str]:
    """The trials, full evaluations and held-out scores of a run of ``SimulatedProgram``
    (scored with ``exact_answer`` on ``valset``, and on the unseen ``trainset`` examples that
    selection compared on) whose stored score is not the configuration's true score."""
    assert result.candidates is not None, "the run built no candidates"
    assert result.selection is not None, "the run selected nothing"
    candidates, selection = result.candidates, result.selection

    def true_scores(configuration: Configuration, ids: Sequence[int],
                    examples: Sequence[Example]) -> list[float]:
        if not ids:
            return []
        program = build_program(SimulatedProgram(SimulatedLM()), candidates, configuration)
        evaluation = Evaluate(examples, exact_answer, display_progress=False)(program, ids=ids)
        return [outcome.score for outcome in evaluation.results]

    def true_score(configuration: Configuration, ids: Sequence[int]) -> float:
        scores = true_scores(configuration, ids, valset)
        return sum(scores) / len(scores)

    def held_out_score(configuration: Configuration) -> float:
        scores = (true_scores(configuration, selection.holdout_ids, valset)
                  + true_scores(configuration, selection.train_ids, trainset))
        return sum(scores) / len(scores)

    held_out = selection.holdout_ids
    searched = [i for i in range(len(valset)) if i not in set(held_out)]
    wrong = [f"trial {trial.number}" for trial in result.trials
             if trial.minibatch_score != true_score(trial.configuration, trial.minibatch_ids)]
    wrong += [f"full evaluation after trial {evaluation.after_trial}"
              for evaluation in result.full_evaluations
              if evaluation.score != true_score(evaluation.configuration, searched)]
    wrong += [f"held-out score of {contender.configuration}" for contender in selection.contenders
              if contender.holdout_score != held_out_score(contender.configuration)]
    if selection.baseline_holdout_score != held_out_score(candidates.baseline()):
        wrong.append("held-out score of the program as given")
    return wrong
