"""Selection levels: what the search-quality runs would have returned at other confidences.

Selection keeps the program as given unless the search's best configuration beats it on the
held-out examples with the stated confidence (``selection_confidence``, 0.84 by default;
``mipro.optimize.select``). Each search-quality record holds the per-example scores selection
compared (``held_out_scores``), so the decision at any other level can be recomputed without
an LM call: the lower bound of the paired difference at that level, with the same sign
patterns selection used. This reads the records of ``benchmarks/search_quality.py`` and gives,
per level, the test score of the program each run would have returned (the search's best
when its bound is above 0, else the program as given), how many runs keep the program as
given, and the held-out-minus-test gap of the returned program.

A level chosen on these figures is chosen on the test sets; to check a level, choose it
first and read it on seeds that did not inform the choice (``--labels`` and ``--out``).
Writes ``selection_levels.json`` into ``--out``.

    python -m benchmarks.selection_levels --out benchmarks/results/search_quality/more_seeds
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from statistics import fmean
from pathlib import Path
from typing import Any

from mipro.optimize.confidence import paired_lower_bound
from mipro.optimize.run.seeds import sub_seed

from benchmarks.search_quality import DEFAULT_OUT, load_records

LEVELS = (0.95, 0.9, 0.84, 0.8, 0.75, 0.5)
"""0.84, the default, is the one-standard-error rule (a one-sided bound one standard error
below the mean difference); 0.9 was the default until src 021355f701c9; 0.5 keeps any
configuration that scored higher."""


def held_out_differences(record: dict[str, Any]) -> list[float] | None:
    """The search's best configuration's per-example held-out score minus the program as
    given's (the record's ``held_out_scores``); ``None`` when selection tested no
    configuration."""
    if "held_out_scores" not in record:
        raise ValueError(f"the record of {record['task']} seed {record['seed']} has no "
                         "held_out_scores: rerun it with the current benchmarks/search_quality.py")
    scores = record["held_out_scores"]
    if scores is None:
        return None
    return [c - r for c, r in zip(scores["search_best"], scores["as_given"])]


def decisions(record: dict[str, Any], differences: Sequence[float] | None,
              levels: Sequence[float] = LEVELS) -> dict[str, Any]:
    """Per level, whether the run would return the search's best (given its per-example
    held-out ``differences`` from the program as given; ``None``: nothing was tested), the
    returned program's test score and its held-out-minus-test gap."""
    selection = record["selection"]
    seed = sub_seed(record["seed"], "selection")
    rows = {}
    for level in levels:
        switch = differences is not None and paired_lower_bound(differences, level, seed=seed) > 0
        held_out = (selection["contenders"][0]["holdout_score"] if switch
                    else selection["baseline_holdout_score"])
        test = record["test_search_best"] if switch else record["test_unoptimized"]
        rows[str(level)] = {"returns_search_best": switch, "test": test, "gap": held_out - test}
    return {"task": record["task"], "seed": record["seed"], "src_hash": record["src_hash"][:12],
            "levels": rows}


def summarize(runs: Sequence[dict[str, Any]], levels: Sequence[float] = LEVELS) -> dict[str, Any]:
    """Per level: the mean test score of the returned programs over the runs, per task and
    over all, the mean gap and how many runs keep the program as given."""
    summary = {}
    for level in map(str, levels):
        tasks: dict[str, list[float]] = {}
        for run in runs:
            tasks.setdefault(run["task"], []).append(run["levels"][level]["test"])
        summary[level] = {
            "test": fmean([run["levels"][level]["test"] for run in runs]),
            "test_by_task": {task: fmean(scores) for task, scores in sorted(tasks.items())},
            "gap": fmean([run["levels"][level]["gap"] for run in runs]),
            "kept_as_given": sum(not run["levels"][level]["returns_search_best"] for run in runs),
            "runs": len(runs),
        }
    return summary


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="a search-quality results folder (one sub-folder per label)")
    parser.add_argument("--labels", nargs="+", default=["after"])
    args = parser.parse_args(argv)
    analysis = {}
    for label in args.labels:
        records = [record for record in load_records(args.out) if record["label"] == label]
        runs = [decisions(record, held_out_differences(record)) for record in records]
        analysis[label] = {"runs": runs, "summary": summarize(runs)}
        for level, row in analysis[label]["summary"].items():
            by_task = ", ".join(f"{task} {score:.3f}" for task, score in row["test_by_task"].items())
            print(f"{label} at {float(level):.0%}: test {row['test']:.3f} ({by_task}); gap "
                  f"{100 * row['gap']:+.1f}; kept as given {row['kept_as_given']} of {row['runs']}")
    (args.out / "selection_levels.json").write_text(json.dumps(analysis, indent=1))


if __name__ == "__main__":
    main()
