"""Reproduce the MIPRO paper's Table 2 on a local model: tasks x optimizers x seeds.

    python -m benchmarks.paper --tasks iris scone --optimizers unoptimized mipro --seeds 0 1 2
    python -m benchmarks.paper --size quick --report-only

Each run writes ``<out>/<task>__<optimizer>__seed<k>.json`` (scores per split and per example,
LM calls, tokens, cache hits, wall time, settings, the LM's identity and the hash of the
``src/`` tree it ran with). Runs with a current record are skipped, so a table accumulates over
several sittings; records of another source tree are stale and are run again. A run that
crashes is reported and the next one starts; its Optuna study stays in ``<out>/studies/`` and a
rerun resumes it. Afterwards ``<out>/table.md`` and ``<out>/scores.png`` are rendered from the
records of the current source tree. ``<out>`` defaults to ``benchmarks/results/paper/<size>``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from mipro import LM, LocalLM, OpenAILM
from mipro.lm import default_lm
from mipro.progress import console
from mipro.tasks import available_tasks, load_task

from benchmarks.paper.cells import collect_cells
from benchmarks.paper.figure import save_scores_figure
from benchmarks.paper.provenance import lm_identity, src_hash
from benchmarks.paper.records import RunSpec, load_records, partition_by_src
from benchmarks.paper.runs import (
    UNOPTIMIZED,
    HarnessSettings,
    available_optimizers,
    pending_runs,
    plan_runs,
    run_pending,
)
from benchmarks.paper.sizes import PROFILES
from benchmarks.paper.table import render_table

RESULTS = Path(__file__).resolve().parents[1] / "results" / "paper"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    unknown = sorted(set(args.optimizers) - set(available_optimizers()))
    if unknown:
        parser.error(f"unknown optimizers {unknown}; available: {', '.join(available_optimizers())}")
    out = (args.out or RESULTS / args.size).resolve()
    tree = src_hash()
    failures = [] if args.report_only else run_all(args, out, tree)
    report(out, tree)
    return 1 if failures else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.paper", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", choices=available_tasks(), default=available_tasks(),
                        metavar="TASK", help=f"tasks (default: all): {', '.join(available_tasks())}")
    parser.add_argument("--optimizers", nargs="+", default=[UNOPTIMIZED, "mipro"], metavar="NAME",
                        help="optimizers (default: unoptimized mipro); available: "
                             f"{', '.join(available_optimizers())}")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--size", choices=PROFILES, default="default",
                        help="size profile: quick (~1/3 of default), default (~5 min per run on "
                             "2 cores with the embedded model) or paper (the paper's sizes)")
    parser.add_argument("--out", type=Path,
                        help=f"folder of the run records, table and figure (default "
                             f"{RESULTS}/<size>)")
    parser.add_argument("--lm-url", help="base URL of an OpenAI-compatible server "
                        "(default: the embedded local model)")
    parser.add_argument("--lm-model", default="default", help="model name on that server")
    parser.add_argument("--lm-threads", type=int,
                        help="CPU threads per context of the embedded model (default: cores / 2)")
    parser.add_argument("--threads", type=int, default=2,
                        help="program runs in parallel (default 2: the embedded model's 2 slots)")
    parser.add_argument("--max-lm-calls", type=int, help="hard cap on each optimizer's LM calls")
    parser.add_argument("--report-only", action="store_true",
                        help="only render table.md and scores.png from the records in the folder")
    return parser


def run_all(args: argparse.Namespace, out: Path, tree: str) -> list[RunSpec]:
    """Run every pending run of the command line; returns the runs that crashed."""
    lm = make_lm(args)
    settings = HarnessSettings(out, args.size, tree, lm_identity(lm, args.lm_url),
                               args.max_lm_calls, args.threads)
    specs = plan_runs(args.tasks, args.optimizers, args.seeds)
    pending = pending_runs(specs, settings)
    _say(f"{len(specs)} runs planned, {len(specs) - len(pending)} already recorded from this "
         f"source tree in {out}, {len(pending)} to run ({settings.profile} sizes).")
    return run_pending(pending, settings, lm, load_task, _say) if pending else []


def make_lm(args: argparse.Namespace) -> LM:
    """The server LM for ``--lm-url``, else the embedded model."""
    if args.lm_url:
        return OpenAILM(args.lm_model, base_url=args.lm_url,
                        api_key=os.environ.get("OPENAI_API_KEY", "not-needed"))
    if args.lm_threads:
        return LocalLM(n_threads=args.lm_threads)
    return default_lm()


def report(out: Path, tree: str) -> None:
    """Render ``table.md`` and ``scores.png`` from the records of source tree ``tree`` in
    ``out`` and print the table. With no such record, nothing is written."""
    records = load_records(out)
    current, stale = partition_by_src(records, tree)
    if not current:
        _say(f"No record in {out} was made from this source tree ({tree[:12]}); "
             f"{len(stale)} stale records. table.md and scores.png are left as they are.")
        return
    table = render_table(records, tree)
    (out / "table.md").write_text(table)
    save_scores_figure(collect_cells(current), out / "scores.png")
    print(table)
    _say(f"Wrote {out / 'table.md'} and {out / 'scores.png'} from {len(current)} runs "
         f"({len(stale)} stale records listed, not tabulated).")


def _say(message: str) -> None:
    console.print(message, highlight=False)


if __name__ == "__main__":
    sys.exit(main())
