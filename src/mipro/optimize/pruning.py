"""Early stopping of hopeless trials: a trial's minibatch is scored in chunks, each example's
score is reported to its Optuna trial (the step is the example's index), and the trial stops
when the best configuration so far beats it with confidence on the examples it scored.

``PairedPruner`` works like Optuna's ``WilcoxonPruner`` (made for evaluating on many
instances), with two changes. Its reference is the best fully evaluated configuration, whose
score on every example of the search is stored, rather than the best trial, which shares only
part of a minibatch with another trial (minibatches differ) and whose minibatch mean is the
luckiest of many. And its test is the project's paired sign-flip test
(``confidence.paired_lower_bound``, exact for a few dozen 0/1 scores that mostly agree; no
SciPy) rather than Wilcoxon's signed-rank test. A pruned trial is told to the study as
``PRUNED``, so TPE counts it among the bad trials, and it is never fully evaluated
(docs/scale.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import optuna
from optuna.trial import FrozenTrial

from mipro.optimize.confidence import paired_lower_bound

PRUNE_CONFIDENCE = 0.9
"""How sure the pruner must be that the best trial beats a trial (Wilcoxon's p < 0.1)."""
MIN_SHARED_EXAMPLES = 5
"""A trial is compared with the reference only once it has scored at least this many examples."""
CHUNK = 5
"""Examples a pruned search scores between two looks at a trial (at least ``num_threads``)."""


class PairedPruner(optuna.pruners.BasePruner):
    """Prunes a trial when the reference configuration (``reference()``: its score on each
    example; ``None``: none yet) beats it with ``confidence`` on the examples the trial
    scored, once they are at least ``min_shared``, and the trial's mean on them is below the
    reference's (Optuna's safety)."""

    def __init__(self, reference: Callable[[], Mapping[int, float] | None], *, seed: int,
                 confidence: float = PRUNE_CONFIDENCE,
                 min_shared: int = MIN_SHARED_EXAMPLES) -> None:
        self.reference, self.seed = reference, seed
        self.confidence, self.min_shared = confidence, min_shared

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        reference = self.reference()
        if not reference:
            return False
        scores = trial.intermediate_values
        shared = sorted(step for step in scores if step in reference)
        if len(shared) < self.min_shared:
            return False
        differences = [reference[step] - scores[step] for step in shared]
        if sum(differences) <= 0:
            return False
        return paired_lower_bound(differences, self.confidence, seed=self.seed) > 0
