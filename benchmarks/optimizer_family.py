"""The optimizer family compared at equal budget on the simulated task (seconds, no model).

    python benchmarks/optimizer_family.py
    python benchmarks/optimizer_family.py --seeds 0 1 2 3 4 --max-lm-calls 4000

Every optimizer of ``mipro.optimize.OPTIMIZERS`` (and the greedy credit-assignment variants)
gets the same keyword arguments and the same hard cap on LM calls. The simulated LM knows the
exact expected accuracy of any program (``SimulatedLM.expected_accuracy``), so the table shows
the true quality of what each optimizer returns, beside its validation score and LM calls.
Prints a markdown table and writes ``results/optimizer_family.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from dataclasses import asdict
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from mipro.optimize import OPTIMIZERS, BayesianBootstrap, MIPRO, Optimizer
from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples

VARIANTS: dict[str, Callable[..., Optimizer]] = {
    **OPTIMIZERS,
    "mipro (greedy)": partial(MIPRO, credit_assignment="greedy"),
    "bayesian_bootstrap (greedy)": partial(BayesianBootstrap, credit_assignment="greedy"),
}
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "optimizer_family.json"


def run_one(name: str, seed: int, args: argparse.Namespace, storage: str) -> dict[str, Any]:
    """One optimizer, one seed: what it found and what it spent."""
    lm = SimulatedLM()
    optimizer = VARIANTS[name](
        exact_answer, task_lm=lm, seed=seed, max_lm_calls=args.max_lm_calls, storage=storage,
        run_name=f"{name}-seed{seed}", auto=None, num_trials=args.num_trials,
        num_candidates=args.num_candidates, minibatch_size=args.minibatch_size, verbose=False,
    )
    program = optimizer.compile(SimulatedProgram(), make_examples(args.train),
                                make_examples(args.val, start=args.train))
    result = optimizer.result
    assert result is not None
    return {
        "optimizer": name, "seed": seed,
        "expected_accuracy": lm.expected_accuracy(program),
        "best_val_score": result.best_score, "baseline_val_score": result.baseline_score,
        "trials": len(result.trials), "full_evaluations": len(result.full_evaluations),
        "stopped_by_budget": result.stopped_by_budget,
        "task_lm_calls": result.usage.task_lm.calls,
        "prompt_lm_calls": result.usage.prompt_lm.calls,
        "task_lm_tokens": result.usage.task_lm.prompt_tokens + result.usage.task_lm.completion_tokens,
        "prompt_lm_tokens": result.usage.prompt_lm.prompt_tokens + result.usage.prompt_lm.completion_tokens,
        "demos_in_program": sum(len(p.demos) for p in program.predictors()),
        "proposal_model": asdict(result.proposal_model) if result.proposal_model else None,
    }


def summarize(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per optimizer: means over seeds (and the spread of the expected accuracy)."""
    rows = []
    for name in VARIANTS:
        mine = [r for r in runs if r["optimizer"] == name]
        accuracy = [r["expected_accuracy"] for r in mine]
        rows.append({
            "optimizer": name, "seeds": len(mine),
            "expected_accuracy_mean": statistics.mean(accuracy),
            "expected_accuracy_sd": statistics.stdev(accuracy) if len(accuracy) > 1 else 0.0,
            **{key: statistics.mean(r[key] for r in mine)
               for key in ("best_val_score", "trials", "task_lm_calls", "prompt_lm_calls")},
        })
    return rows


def render(rows: Sequence[dict[str, Any]], baseline: float) -> str:
    lines = ["| optimizer | expected accuracy (mean ± sd) | best val score | trials | "
             "task-LM calls | prompt-LM calls |",
             "|---|---|---|---|---|---|",
             f"| unoptimized | {baseline:.3f} | | | | |"]
    for row in sorted(rows, key=lambda r: -r["expected_accuracy_mean"]):
        lines.append(
            f"| {row['optimizer']} | {row['expected_accuracy_mean']:.3f} ± "
            f"{row['expected_accuracy_sd']:.3f} | {row['best_val_score']:.3f} | {row['trials']:.1f} | "
            f"{row['task_lm_calls']:.0f} | {row['prompt_lm_calls']:.0f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-lm-calls", type=int, default=2500)
    parser.add_argument("--num-trials", type=int, default=30)
    parser.add_argument("--num-candidates", type=int, default=8)
    parser.add_argument("--minibatch-size", type=int, default=20)
    parser.add_argument("--train", type=int, default=100)
    parser.add_argument("--val", type=int, default=100)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        storage = f"sqlite:///{Path(folder) / 'studies.db'}"
        runs = [run_one(name, seed, args, storage) for seed in args.seeds for name in VARIANTS]
    rows = summarize(runs)
    baseline = SimulatedLM().expected_accuracy(SimulatedProgram())
    print(render(rows, baseline))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    settings = {key: value for key, value in vars(args).items() if key != "out"}
    args.out.write_text(json.dumps({"settings": settings, "unoptimized_expected_accuracy": baseline,
                                    "summary": rows, "runs": runs}, indent=2) + "\n")
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
