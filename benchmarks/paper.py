"""Reproduce the MIPRO paper's Table 2 on a local model: tasks x optimizers x seeds.

    python benchmarks/paper.py --tasks iris scone --optimizers unoptimized mipro --seeds 0 1 2
    python benchmarks/paper.py --report-only

Each run writes ``<out>/<task>__<optimizer>__seed<k>.json`` (train/dev/test scores, LM calls,
tokens, cache hits, wall time, sizes, LM and mipro version); runs whose record exists are
skipped, so a full table accumulates over several sittings. A run that crashes is reported and
the next one starts; its Optuna study stays in ``<out>/studies/`` and a rerun resumes it.
Afterwards ``<out>/table.md`` and ``<out>/scores.png`` are rendered from every record.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mipro.lm import LM, default_lm
from mipro.progress import console, progress_bar
from mipro.tasks import Task, available_tasks, load_task

from benchmarks.paper_figure import save_scores_figure
from benchmarks.paper_runs import (
    UNOPTIMIZED,
    HarnessSettings,
    RunSpec,
    available_optimizers,
    claimed,
    pending_runs,
    plan_runs,
    run_one,
)
from benchmarks.paper_sizes import PROFILES
from benchmarks.paper_table import collect_cells, load_runs, render_table

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "paper"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    unknown = sorted(set(args.optimizers) - set(available_optimizers()))
    if unknown:
        parser.error(f"unknown optimizers {unknown}; available: {', '.join(available_optimizers())}")
    failures = [] if args.report_only else run_all(args)
    report(args.out)
    return 1 if failures else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", choices=available_tasks(), default=available_tasks(),
                        metavar="TASK", help=f"tasks (default: all): {', '.join(available_tasks())}")
    parser.add_argument("--optimizers", nargs="+", default=[UNOPTIMIZED, "mipro"], metavar="NAME",
                        help="optimizers (default: unoptimized mipro); available now: "
                             f"{', '.join(available_optimizers())}")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--size", choices=PROFILES, default="default",
                        help="size profile: quick (~1/3 of default), default (~5 min per run on "
                             "2 cores with the embedded model) or paper (the paper's sizes)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"folder of the run records, table and figure (default {DEFAULT_OUT})")
    parser.add_argument("--lm-url", help="base URL of an OpenAI-compatible server "
                        "(default: the embedded local model)")
    parser.add_argument("--lm-model", default="default", help="model name on that server")
    parser.add_argument("--lm-threads", type=int,
                        help="CPU threads per context of the embedded model (default: cores / 2)")
    parser.add_argument("--threads", type=int, default=2,
                        help="program runs in parallel (default 2: the embedded model's 2 slots)")
    parser.add_argument("--max-lm-calls", type=int, help="hard cap on each optimizer's LM calls")
    parser.add_argument("--report-only", action="store_true",
                        help="only render table.md and scores.png from the records in --out")
    return parser


def run_all(args: argparse.Namespace) -> list[RunSpec]:
    """Run every pending run of the command line; returns the runs that crashed."""
    settings = HarnessSettings(args.out.resolve(), args.size, args.max_lm_calls, args.lm_url,
                               args.threads)
    specs = plan_runs(args.tasks, args.optimizers, args.seeds)
    pending = pending_runs(specs, settings)
    _say(f"{len(specs)} runs planned, {len(specs) - len(pending)} already recorded in "
         f"{settings.out}, {len(pending)} to run ({settings.profile} sizes).")
    return run_pending(pending, settings, make_lm(args)) if pending else []


def run_pending(pending: Sequence[RunSpec], settings: HarnessSettings, lm: LM,
                load: Callable[[str], Task] = load_task) -> list[RunSpec]:
    """Run ``pending`` one after the other on ``lm``; a crash is reported and the next run starts.

    A run recorded or claimed by another harness process meanwhile is skipped, so several
    processes can share one output folder.
    """
    tasks: dict[str, Task] = {}
    failures: list[RunSpec] = []
    with progress_bar("Paper benchmark runs", len(pending)) as bar:
        for number, spec in enumerate(pending, 1):
            bar.log(f"Run {number}/{len(pending)}: {spec.task} x {spec.optimizer} x seed {spec.seed}")
            with claimed(spec, settings) as ours:
                if not ours:
                    bar.log(f"  {spec.stem}: recorded or running in another process; skipped")
                elif not _run_reporting(spec, tasks, load, lm, settings, bar.log):
                    failures.append(spec)
            bar.advance()
    if failures:
        _say(f"{len(failures)} of {len(pending)} runs crashed: "
             f"{', '.join(spec.stem for spec in failures)}")
    return failures


def _run_reporting(spec: RunSpec, tasks: dict[str, Task], load: Callable[[str], Task], lm: LM,
                   settings: HarnessSettings, log: Callable[[str], None]) -> bool:
    """Run ``spec`` and log its outcome; False when it crashed."""
    try:
        if spec.task not in tasks:
            tasks[spec.task] = load(spec.task)
        record = run_one(spec, tasks[spec.task], lm, settings)
    except Exception:  # noqa: BLE001 - reported; the next run goes on
        log(f"Run {spec.stem} crashed; its study is kept, rerun to resume.\n"
            + traceback.format_exc())
        return False
    log(describe_record(record))
    return True


def make_lm(args: argparse.Namespace) -> LM:
    """The server LM for ``--lm-url``, else the embedded model."""
    if args.lm_url:
        from mipro.lm.openai_lm import OpenAILM

        return OpenAILM(args.lm_model, base_url=args.lm_url,
                        api_key=os.environ.get("OPENAI_API_KEY", "not-needed"))
    if args.lm_threads:
        from mipro.lm.local import LocalLM

        return LocalLM(n_threads=args.lm_threads)
    return default_lm()


def describe_record(record: dict) -> str:
    """One line per finished run: its scores, LM calls and wall time."""
    scores = record["scores"]
    calls = record["lm_usage"]["total"]
    return (f"  {record['task']} x {record['optimizer']} x seed {record['seed']}: "
            f"test {100 * scores['test']:.1f}, dev {100 * scores['dev']:.1f}, "
            f"train {100 * scores['train']:.1f}; {calls['calls']} LM calls "
            f"({calls['cache_hits']} cache hits), {record['wall_seconds']['total'] / 60:.1f} min")


def report(out: Path) -> None:
    """Render ``table.md`` and ``scores.png`` from every record in ``out``; print the table."""
    runs = load_runs(out)
    if not runs:
        _say(f"No run records in {out} yet: nothing to tabulate.")
        return
    table = render_table(runs)
    (out / "table.md").write_text(table)
    save_scores_figure(collect_cells(runs), out / "scores.png")
    print(table)
    _say(f"Wrote {out / 'table.md'} and {out / 'scores.png'} from {len(runs)} runs.")


def _say(message: str) -> None:
    console.print(message, highlight=False)


if __name__ == "__main__":
    sys.exit(main())
