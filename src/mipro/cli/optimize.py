"""``mipro optimize``: run an optimizer of the family on a task and save the optimized program."""

from __future__ import annotations

import argparse
import math
import shlex
import time
from pathlib import Path
from typing import Any

from mipro.cli.interrupt import CtrlC
from mipro.cli.options import (
    add_json_option,
    add_lm_options,
    add_output_options,
    add_source_options,
    build_lm,
    check_lm_options,
    emit,
    load_source,
    program_lm,
)
from mipro.evaluate import Evaluate
from mipro.lm.context import active_lm
from mipro.optimize import OPTIMIZERS, OptimizationResult
from mipro.optimize.run.storage import HEARTBEAT_INTERVAL


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    parser = commands.add_parser(
        "optimize", help="optimize a program (MIPRO by default)", formatter_class=formatter,
        description="Optimize the instructions and demos of a program, save it, and report the "
                    "held-out score before and after. Running the same command again resumes "
                    "the run (its name defaults to <task>-<optimizer>-seed<seed>).")
    add_source_options(parser)
    add_lm_options(parser, "lm", what="the task LM (default: the program's own, else the "
                                      "embedded SmolLM2-135M-Instruct)")
    add_lm_options(parser, "prompt_lm", what="the prompt LM, which writes instruction "
                                             "candidates (default: the task LM)")
    search = parser.add_argument_group("the search")
    search.add_argument("--optimizer", default="mipro", choices=sorted(OPTIMIZERS),
                        help="which optimizer of the family")
    search.add_argument("--auto", default="light", choices=["light", "medium", "heavy"],
                        help="candidate and trial counts from the program's size")
    search.add_argument("--num-trials", type=int, metavar="N",
                        help="search trials (default: set by --auto)")
    search.add_argument("--num-candidates", type=int, metavar="N",
                        help="instruction and demo-set candidates per predictor "
                             "(default: set by --auto)")
    search.add_argument("--minibatch-size", type=int, default=35, metavar="N",
                        help="validation examples scored per trial")
    search.add_argument("--max-lm-calls", type=int, metavar="N",
                        help="hard cap on real (non-cached) LM calls (default: no cap)")
    search.add_argument("--threads", type=int, default=2, metavar="N",
                        help="parallel program runs (the embedded model has 2 contexts)")
    search.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="trials in flight at once (worth it when the LM serves requests in "
                             "parallel, e.g. a server with parallel slots)")
    search.add_argument("--no-prune", dest="prune", action="store_false",
                        help="score every trial's whole minibatch (by default a trial stops early "
                             "when the best configuration so far clearly beats it)")
    search.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    run = parser.add_argument_group("the run")
    run.add_argument("--run-name", metavar="NAME",
                     help="name of the run; the same name resumes it "
                          "(default: <task>-<optimizer>-seed<seed>)")
    run.add_argument("--storage", metavar="URL",
                     help="Optuna storage URL (default: sqlite:///mipro_runs/<run-name>.db)")
    run.add_argument("--fresh", action="store_true",
                     help="delete the stored run of this name and start it over, instead of "
                          "resuming it (e.g. after changing the program, data or settings)")
    run.add_argument("--heartbeat", type=int, default=HEARTBEAT_INTERVAL, metavar="SECONDS",
                     help="seconds between the heartbeats of a running trial; a worker silent for "
                          "three of them is taken for dead and its trial tried again")
    run.add_argument("--output", type=Path, metavar="FILE",
                     help="where to save the optimized program "
                          "(default: mipro_runs/<run-name>.json)")
    add_json_option(parser)
    add_output_options(parser)
    parser.set_defaults(run=optimize, check=_check, command_parser=parser)


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    check_lm_options(parser, args, "lm")
    check_lm_options(parser, args, "prompt_lm")


def optimize(args: argparse.Namespace) -> int:
    task = load_source(args)
    program = task.make_program()
    lm = build_lm(args, "lm") or program_lm(program) or active_lm()
    run_name = args.run_name or f"{task.name}-{args.optimizer}-seed{args.seed}"
    args.resume_hint = f"resume with: {resume_command(args.argv, run_name)}"
    verbose = args.verbosity > 0
    optimizer = OPTIMIZERS[args.optimizer](
        task.metric, task_lm=lm, prompt_lm=build_lm(args, "prompt_lm"), auto=args.auto,
        num_trials=args.num_trials, num_candidates=args.num_candidates,
        minibatch_size=args.minibatch_size, max_lm_calls=args.max_lm_calls,
        num_threads=args.threads, n_jobs=args.jobs, prune=args.prune, seed=args.seed,
        run_name=run_name, storage=args.storage, heartbeat_interval=args.heartbeat,
        verbose=verbose, fresh=args.fresh, callbacks=[ctrl_c := CtrlC()],
    )
    started = time.perf_counter()
    with ctrl_c.installed():
        optimized = optimizer.compile(program, task.trainset, task.valset or None)
    result = optimizer.result
    assert result is not None  # compile always sets it
    summary: dict[str, Any] = {
        "run_name": run_name, "optimizer": args.optimizer, "lm": lm.model_id,
        **_outcome(result),
    }
    if task.testset:
        evaluate = Evaluate(task.testset, task.metric, num_threads=args.threads, lm=lm,
                            display_progress=verbose, description="Held-out test")
        before, after = evaluate(program), evaluate(optimized)
        summary["test"] = {"examples": len(task.testset), "before": before.score,
                           "after": after.score, "failed_before": before.num_failed,
                           "failed_after": after.num_failed}
    output = args.output or Path("mipro_runs") / f"{run_name}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    scores = {"validation": summary["validation"]["best"]}
    if "test" in summary:
        scores["test"] = summary["test"]["after"]
    optimized.save(output, run_name=run_name, lm=lm.model_id,
                   scores={k: v for k, v in scores.items() if v is not None})
    summary.update(output=str(output), wall_seconds=round(time.perf_counter() - started, 1))
    emit(args, summary, _summary_text(summary))
    return 0


def resume_command(argv: list[str], run_name: str) -> str:
    """The command line that resumes this run: the same one, with its run name (and without
    ``--fresh``, which would start it over)."""
    words = ["mipro", *(word for word in argv if word != "--fresh")]
    if not any(word == "--run-name" or word.startswith("--run-name=") for word in argv):
        words += ["--run-name", run_name]
    return shlex.join(words)


def _outcome(result: OptimizationResult) -> dict[str, Any]:
    """What the run found, as plain data: scores, whether the original was kept, what failed."""
    winner = next((e for e in result.full_evaluations
                   if e.configuration == result.best_configuration), None)
    selection = result.selection
    return {
        "validation": {"best": _number(result.best_score),
                       "unoptimized": _number(result.baseline_score),
                       "interval": [_number(bound) for bound in selection.score_interval] if selection else None,
                       "confidence": selection.confidence if selection else None,
                       "held_out_examples": len(selection.holdout_ids) if selection else 0,
                       "unseen_train_examples": len(selection.train_ids) if selection else 0,
                       "examples": selection.examples.describe() if selection else None,
                       "failed_examples": winner.num_failed if winner else None},
        "kept_original": all(index == 0 for index in result.best_configuration.values()),
        "selection": _plain(selection.as_dict()) if selection else None,
        "skipped_proposals": result.skipped_proposals,
        "stopped_by_budget": result.stopped_by_budget,
        "trials": len(result.trials), "full_evaluations": len(result.full_evaluations),
        "usage": result.usage.as_dict(),
    }


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


def _plain(value: Any) -> Any:
    """``value`` with every NaN replaced by ``None`` (JSON has no NaN)."""
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _summary_text(summary: dict[str, Any]) -> str:
    validation = summary["validation"]
    lines = [f"Run {summary['run_name']}: {summary['trials']} trials, "
             f"{summary['full_evaluations']} full evaluations"
             + (", stopped by the LM-call budget" if summary["stopped_by_budget"] else "")]
    selection = summary["selection"]
    if validation["best"] is not None:
        low, high = validation["interval"] or (None, None)
        level = f"{validation['confidence']:.0%} " if validation["confidence"] else ""
        lines.append(f"Validation score {validation['best']:.3f} (unoptimized "
                     f"{_format(validation['unoptimized'])}) on the {validation['examples']}, "
                     f"{level}interval {_format(low)} to {_format(high)}")
    if "test" in summary:
        test = summary["test"]
        lines.append(f"Held-out test score ({test['examples']} examples): "
                     f"{test['before']:.3f} before, {test['after']:.3f} after")
    failed = [f"{validation['failed_examples'] or 0} in the winner's validation run"]
    if "test" in summary:
        failed.append(f"{summary['test']['failed_before']} / {summary['test']['failed_after']} "
                      "in the test runs before / after")
    kept = "kept the original program" if summary["kept_original"] else "kept an optimized program"
    lines.append(f"Outcome: {kept}; {summary['skipped_proposals']} proposals skipped; "
                 f"failed examples: {', '.join(failed)}")
    if selection:
        lines.append(f"Selection at {selection['confidence']:.0%} confidence: {selection['reason']}")
    stages = summary["usage"]["stages"]
    if stages:
        lines.append("LM calls per stage: " + ", ".join(
            f"{stage} {spent['calls']}" for stage, spent in stages.items()))
    lines.append(f"Wall time {summary['wall_seconds']:.0f} s. "
                 f"Optimized program saved to {summary['output']}")
    return "\n".join(lines)


def _format(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
