"""The ``mipro`` command: argument parsing only; the work is done by the library."""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from mipro.errors import ConfigurationError, MiproError
from mipro.evaluate import Evaluate
from mipro.lm.base import LM
from mipro.optimize import OPTIMIZERS
from mipro.program import Module
from mipro.progress import console
from mipro.tasks import Task, available_tasks, load_task


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except MiproError as error:
        console.print(f"[red]error:[/red] {error}", highlight=False)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mipro", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="command")
    optimize = commands.add_parser("optimize", help="optimize a program (MIPRO by default)")
    source = optimize.add_mutually_exclusive_group(required=True)
    source.add_argument("--task", choices=available_tasks(), help="a built-in task")
    source.add_argument("--program-file", type=Path, help="a Python file that defines `program`, "
                        "`trainset`, `metric` and optionally `valset` and `testset`")
    optimize.add_argument("--lm-url", help="base URL of an OpenAI-compatible server "
                          "(default: the embedded local model)")
    optimize.add_argument("--lm-model", default="default", help="model name on that server")
    optimize.add_argument("--api-key-env", default="OPENAI_API_KEY",
                          help="environment variable holding the server's API key")
    optimize.add_argument("--optimizer", default="mipro", choices=sorted(OPTIMIZERS),
                          help="which optimizer of the family (default: mipro)")
    optimize.add_argument("--auto", default="light", choices=["light", "medium", "heavy"])
    optimize.add_argument("--num-trials", type=int)
    optimize.add_argument("--num-candidates", type=int)
    optimize.add_argument("--minibatch-size", type=int, default=35)
    optimize.add_argument("--max-lm-calls", type=int)
    optimize.add_argument("--threads", type=int, default=2,
                          help="parallel program runs (the embedded model has 2 contexts)")
    optimize.add_argument("--seed", type=int, default=0)
    optimize.add_argument("--run-name", help="name of the run; the same name resumes it")
    optimize.add_argument("--storage", help="Optuna storage URL (default ./mipro_runs/<run>.db)")
    optimize.add_argument("--output", type=Path, help="where to save the optimized program "
                          "(default ./mipro_runs/<run>.json)")
    optimize.set_defaults(run=_optimize)
    tasks = commands.add_parser("tasks", help="list the built-in tasks")
    tasks.set_defaults(run=lambda args: print("\n".join(available_tasks())))
    return parser


def _optimize(args: argparse.Namespace) -> int:
    task = load_task(args.task) if args.task else _task_from_file(args.program_file)
    lm = _lm(args)
    optimizer = OPTIMIZERS[args.optimizer](
        task.metric, task_lm=lm, auto=args.auto, num_trials=args.num_trials,
        num_candidates=args.num_candidates, minibatch_size=args.minibatch_size,
        max_lm_calls=args.max_lm_calls, num_threads=args.threads, seed=args.seed,
        run_name=args.run_name or f"{task.name}-{args.optimizer}-seed{args.seed}",
        storage=args.storage,
    )
    started = time.perf_counter()
    program = task.make_program()
    optimized = optimizer.compile(program, task.trainset, task.valset or None)
    output = args.output or Path("mipro_runs") / f"{optimizer.run_name}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    optimized.save(output)
    if task.testset:
        evaluate = Evaluate(task.testset, task.metric, num_threads=args.threads, lm=lm,
                            description="Held-out test")
        before, after = evaluate(program).score, evaluate(optimized).score
        console.print(f"Held-out test score ({len(task.testset)} examples): "
                      f"{before:.3f} before, {after:.3f} after", highlight=False)
    console.print(f"Wall time {time.perf_counter() - started:.0f} s. Optimized program saved to "
                  f"{output}", highlight=False)
    return 0


def _lm(args: argparse.Namespace) -> LM | None:
    """The server LM when ``--lm-url`` is given; else None: the program's own or the default."""
    if not args.lm_url:
        return None
    from mipro.lm.openai_lm import OpenAILM

    return OpenAILM(args.lm_model, base_url=args.lm_url,
                    api_key=os.environ.get(args.api_key_env, "not-needed"))


def _task_from_file(path: Path) -> Task:
    if not path.is_file():
        raise ConfigurationError(f"--program-file {path}: no such file")
    namespace = runpy.run_path(str(path))
    missing = [name for name in ("program", "trainset", "metric") if name not in namespace]
    if missing:
        raise ConfigurationError(
            f"{path} must define {', '.join(missing)} (a mipro.Module or a function returning "
            "one, a list of Examples with inputs marked, and metric(example, prediction))"
        )
    program = namespace["program"]
    if isinstance(program, Module):
        make_program = program.deepcopy
    elif callable(program):
        make_program = program
    else:
        raise ConfigurationError(f"{path}: `program` must be a mipro.Module or a function "
                                 f"returning one, got {type(program).__name__}")
    return Task(
        name=path.stem, description=f"program from {path}", make_program=make_program,
        trainset=list(namespace["trainset"]), valset=list(namespace.get("valset") or []),
        testset=list(namespace.get("testset") or []), metric=namespace["metric"],
    )


if __name__ == "__main__":
    sys.exit(main())
