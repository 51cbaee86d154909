"""``mipro report`` and ``mipro show``: see a finished or running run, read from its study."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from mipro.cli.options import add_output_options
from mipro.optimize.loaded import load_run
from mipro.report import show_run, write_report

_RUN_HELP = "the run's name (as given to optimize with --run-name, or printed by it)"
_STORAGE_HELP = "the run's Optuna storage URL (default: ./mipro_runs/RUN.db)"


def add_parsers(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    report = commands.add_parser(
        "report", help="write a self-contained HTML report of a run", formatter_class=formatter,
        description="One HTML file with the trial curve, parameter importances, the winner's "
                    "prompt diffed against the original, LM usage, failures and the selection. "
                    "Nothing is fetched when it is opened. Needs the [report] extra "
                    "(matplotlib).")
    report.add_argument("run_name", metavar="RUN", help=_RUN_HELP)
    report.add_argument("--storage", help=_STORAGE_HELP)
    report.add_argument("--out", type=Path, help="the HTML file to write (default: RUN.html)")
    report.add_argument("--png", type=Path, metavar="DIR",
                        help="also write the plots as PNG files into DIR (e.g. for a README)")
    add_output_options(report)
    report.set_defaults(run=_report)
    show = commands.add_parser(
        "show", help="summarize a run in the terminal", formatter_class=formatter,
        description="The run's winner against the program as given, its full evaluations, the "
                    "winner's instructions, LM usage and failures.")
    show.add_argument("run_name", metavar="RUN", help=_RUN_HELP)
    show.add_argument("--storage", help=_STORAGE_HELP)
    add_output_options(show)
    show.set_defaults(run=_show)


def _report(args: argparse.Namespace) -> int:
    run = load_run(args.run_name, args.storage)
    out = write_report(run, args.out or Path(f"{args.run_name}.html"), png_dir=args.png)
    print(out.resolve())
    return 0


def _show(args: argparse.Namespace) -> int:
    show_run(load_run(args.run_name, args.storage), Console(file=sys.stdout))
    return 0
