"""A member of the optimizer family is a ``Plan``: which demo sets, which grounding and
proposals, which search. ``Optimizer.compile`` runs the same stages for every plan."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from mipro.optimize.propose import UpfrontProposals
from mipro.optimize.run.proposals import GroundingSources
from mipro.optimize.search import SearchStrategy


@dataclass(frozen=True, kw_only=True)
class DemoSets:
    """Which demos the bootstrapped sets hold, and whether the program may use them."""

    labeled: bool = True
    """Raw labeled training examples."""
    bootstrapped: bool = True
    """Demos from the program's own traces that passed the metric."""
    in_program: bool = True
    """The search chooses each predictor's demo set; else the program keeps the demos it came
    with and the bootstrapped sets only ground the proposers."""


FEW_SHOT = DemoSets()
ZERO_SHOT = DemoSets(labeled=False, in_program=False)
NO_DEMOS = DemoSets(labeled=False, bootstrapped=False, in_program=False)


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What one optimizer of the family does at each stage of ``Optimizer.compile``."""

    demo_sets: DemoSets
    """Stage 1: what to bootstrap, and whether the search may choose it."""
    grounding: GroundingSources
    """Stage 2: what proposers may be shown."""
    proposals: UpfrontProposals | None
    """Stage 3: instructions proposed before the search (``None``: each predictor's own)."""
    search: SearchStrategy
    """Stage 4: how trials choose configurations and credit their scores."""

    def fingerprint(self) -> dict[str, Any]:
        """The plan as JSON, with the kind of each part: a resumed run must match it."""
        return _described(self)


def _described(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"kind": type(value).__name__,
                **{f.name: _described(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, (tuple, list)):
        return [_described(item) for item in value]
    return value
