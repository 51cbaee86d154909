"""The optimizer family compared at equal budget on the simulated landscape (minutes, no model).

    python -m benchmarks.optimizer_family
    python -m benchmarks.optimizer_family --seeds 0 1 2 3 4 --max-lm-calls 10000

Every optimizer of ``mipro.optimize.OPTIMIZERS``, the greedy credit-assignment variants and
``mipro (random search)`` (MIPRO's candidates, every trial sampled at random) get the same
keyword arguments and the same hard cap on LM calls; ``bootstrap_random_search (at budget)``
gets as many demo sets as the cap lets it score. The task is ``mipro.testing.landscape``, where
grounding, the interaction of the two predictors, the rightness of demos and per-example noise
matter, and whose LM knows the exact expected score of any program. The table shows that score
on a held-out test set the optimizers never see, the best test score any configuration of the
run's candidates reaches, the validation score the optimizer reported (on the examples
selection held out from the search), how often selection kept the program as given, and LM
calls. Prints a markdown table and writes ``results/optimizer_family.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

from mipro.evaluate import Metric
from mipro.optimize import OPTIMIZERS, MIPRO, BayesianBootstrap, BootstrapRandomSearch, Optimizer
from mipro.program import Example
from mipro.testing import SimulatedProgram, exact_answer, make_examples
from mipro.testing.landscape import LandscapeLM

from benchmarks.paper.provenance import src_hash


def random_search(metric: Metric, **options: Any) -> Optimizer:
    """MIPRO whose every trial is sampled at random (no TPE model)."""
    return MIPRO(metric, n_startup_trials=options["num_trials"], **options)


def bootstrap_at_budget(metric: Metric, **options: Any) -> Optimizer:
    """Bootstrap random search with demo sets to spare: the LM-call cap ends it."""
    return BootstrapRandomSearch(metric, **{**options, "num_candidates": 60})


VARIANTS: dict[str, Callable[..., Optimizer]] = {
    **OPTIMIZERS,
    "mipro (greedy)": partial(MIPRO, credit_assignment="greedy"),
    "mipro (random search)": random_search,
    "bayesian_bootstrap (greedy)": partial(BayesianBootstrap, credit_assignment="greedy"),
    "bootstrap_random_search (at budget)": bootstrap_at_budget,
}
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "optimizer_family.json"


def run_one(name: str, seed: int, args: argparse.Namespace, storage: str) -> dict[str, Any]:
    """One optimizer, one seed: what it found (scored on the test set) and what it spent."""
    lm = LandscapeLM()
    optimizer = VARIANTS[name](
        exact_answer, task_lm=lm, seed=seed, max_lm_calls=args.max_lm_calls, storage=storage,
        run_name=f"{name}-seed{seed}", auto=None, num_trials=args.num_trials,
        num_candidates=args.num_candidates, minibatch_size=args.minibatch_size, verbose=False,
    )
    trainset, valset, testset = splits(args)
    program = optimizer.compile(SimulatedProgram(), trainset, valset)
    result = optimizer.result
    assert result is not None
    usage = result.usage
    return {
        "optimizer": name, "seed": seed,
        "test_score": lm.expected_accuracy(program, testset),
        "best_possible_test_score": (float(lm.accuracies(result.candidates, testset).max())
                                     if result.candidates else None),
        "heldout_val_score": result.best_score, "baseline_heldout_val_score": result.baseline_score,
        "kept_program_as_given": result.selection.kept_baseline if result.selection else None,
        "trials": len(result.trials), "full_evaluations": len(result.full_evaluations),
        "stopped_by_budget": result.stopped_by_budget,
        "task_lm_calls": usage.task_lm.calls, "prompt_lm_calls": usage.prompt_lm.calls,
        "task_lm_tokens": usage.task_lm.prompt_tokens + usage.task_lm.completion_tokens,
        "prompt_lm_tokens": usage.prompt_lm.prompt_tokens + usage.prompt_lm.completion_tokens,
        "demos_in_program": sum(len(p.demos) for p in program.predictors()),
        "proposal_model": asdict(result.proposal_model) if result.proposal_model else None,
    }


def splits(args: argparse.Namespace) -> tuple[list[Example], list[Example], list[Example]]:
    """Train (with a share of wrong labels), validation and test examples, disjoint."""
    trainset = make_examples(args.train, mislabeled=args.mislabeled)
    valset = make_examples(args.val, start=args.train)
    return trainset, valset, make_examples(args.test, start=args.train + args.val)


def summarize(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per optimizer: means over seeds (and the spread of the test score)."""
    rows = []
    for name in VARIANTS:
        mine = [r for r in runs if r["optimizer"] == name]
        scores = [r["test_score"] for r in mine]
        possible = [r["best_possible_test_score"] for r in mine
                    if r["best_possible_test_score"] is not None]
        rows.append({
            "optimizer": name, "seeds": len(mine),
            "test_score_mean": statistics.mean(scores),
            "test_score_sd": statistics.stdev(scores) if len(scores) > 1 else 0.0,
            "best_possible_test_score_mean": statistics.mean(possible) if possible else None,
            **{key: statistics.mean(r[key] for r in mine)
               for key in ("heldout_val_score", "trials", "task_lm_calls", "prompt_lm_calls")},
            "kept_program_as_given": sum(bool(r["kept_program_as_given"]) for r in mine),
        })
    return rows


def render(rows: Sequence[dict[str, Any]], baseline: float) -> str:
    lines = ["| optimizer | test score (mean ± sd) | best possible | held-out val score | "
             "kept as given | trials | task-LM calls | prompt-LM calls |",
             "|---|---|---|---|---|---|---|---|",
             f"| unoptimized | {baseline:.3f} | | | | | | |"]
    for row in sorted(rows, key=lambda r: -r["test_score_mean"]):
        possible = row["best_possible_test_score_mean"]
        lines.append(
            f"| {row['optimizer']} | {row['test_score_mean']:.3f} ± {row['test_score_sd']:.3f} | "
            f"{'' if possible is None else f'{possible:.3f}'} | {row['heldout_val_score']:.3f} | "
            f"{row['kept_program_as_given']}/{row['seeds']} | {row['trials']:.1f} | {row['task_lm_calls']:.0f} | {row['prompt_lm_calls']:.0f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-lm-calls", type=int, default=8000)
    parser.add_argument("--num-trials", type=int, default=50)
    parser.add_argument("--num-candidates", type=int, default=6)
    parser.add_argument("--minibatch-size", type=int, default=35)
    parser.add_argument("--train", type=int, default=100)
    parser.add_argument("--mislabeled", type=float, default=0.2,
                        help="share of training examples with a wrong label")
    parser.add_argument("--val", type=int, default=200,
                        help="validation examples; selection holds out half of them")
    parser.add_argument("--test", type=int, default=300)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        storage = f"sqlite:///{Path(folder) / 'studies.db'}"
        runs = [run_one(name, seed, args, storage) for seed in args.seeds for name in VARIANTS]
    rows = summarize(runs)
    baseline = LandscapeLM().expected_accuracy(SimulatedProgram(), splits(args)[2])
    print(render(rows, baseline))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    settings = {key: value for key, value in vars(args).items() if key != "out"}
    args.out.write_text(json.dumps({"src_hash": src_hash(), "settings": settings,
                                    "unoptimized_test_score": baseline,
                                    "summary": rows, "runs": runs}, indent=2) + "\n")
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
