"""``mipro worker``: join a running run from another process or machine and run its trials."""

from __future__ import annotations

import argparse
from typing import Any

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
from mipro.lm.context import active_lm
from mipro.optimize.join import join_run
from mipro.optimize.run.storage import HEARTBEAT_INTERVAL


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    parser = commands.add_parser(
        "worker", help="join a running run and run its trials", formatter_class=formatter,
        description="Join the run RUN in the database at URL, started by 'mipro optimize' (or a "
                    "script) on this or another machine, and run its trials with the other "
                    "workers. The optimizer and its settings come from the run's database; give "
                    "the same program file (or task) and LMs. Candidates are built once, the "
                    "LM-call budget is shared, and a worker that dies has its trial tried again "
                    "by the others. Share a run across machines through PostgreSQL (see "
                    "docs/scale.md).")
    add_source_options(parser)
    add_lm_options(parser, "lm", what="the task LM (default: the program's own, else the "
                                      "embedded SmolLM2-135M-Instruct); the run's own")
    add_lm_options(parser, "prompt_lm", what="the prompt LM (default: the task LM); the run's own")
    parser.add_argument("--run-name", required=True, metavar="NAME", help="the run to join")
    parser.add_argument("--storage", required=True, metavar="URL",
                        help="the run's Optuna storage URL, e.g. "
                             "postgresql+psycopg://user:password@host/db")
    parser.add_argument("--wait", type=float, default=60.0, metavar="SECONDS",
                        help="how long to wait for the run to be started")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="trials in flight at once in this worker")
    parser.add_argument("--threads", type=int, default=2, metavar="N",
                        help="parallel program runs per trial")
    parser.add_argument("--heartbeat", type=int, default=HEARTBEAT_INTERVAL, metavar="SECONDS",
                        help="seconds between the heartbeats of a running trial")
    add_json_option(parser)
    add_output_options(parser)
    parser.set_defaults(run=worker, check=_check, command_parser=parser)


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    check_lm_options(parser, args, "lm")
    check_lm_options(parser, args, "prompt_lm")


def worker(args: argparse.Namespace) -> int:
    task = load_source(args)
    program = task.make_program()
    lm = build_lm(args, "lm") or program_lm(program) or active_lm()
    optimizer = join_run(args.run_name, args.storage, task.metric, wait=args.wait, task_lm=lm,
                         prompt_lm=build_lm(args, "prompt_lm"), n_jobs=args.jobs,
                         num_threads=args.threads, heartbeat_interval=args.heartbeat,
                         verbose=args.verbosity > 0)
    optimizer.compile(program, task.trainset, task.valset or None)
    result = optimizer.result
    assert result is not None  # compile always sets it
    summary = {"run_name": args.run_name, "trials": len(result.trials),
               "full_evaluations": len(result.full_evaluations),
               "stopped_by_budget": result.stopped_by_budget, "usage": result.usage.as_dict()}
    emit(args, summary, f"Run {args.run_name}: {summary['trials']} trials, "
                        f"{summary['full_evaluations']} full evaluations; this worker sent "
                        f"{result.usage.task_lm.calls} task-LM calls.")
    return 0
