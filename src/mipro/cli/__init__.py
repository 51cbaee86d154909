"""The ``mipro`` command: argument parsing only; the work is done by the library.

Results go to stdout (``--json`` for scripts), progress and messages to stderr. Exit codes: 0
on success, 1 on a runtime error (a ``MiproError``, one line unless ``-v``; a run stopped by a
failing LM adds the command that resumes it), 2 on a usage error, 130 on Ctrl-C (with a one-line
hint on how to resume).
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence

from mipro._version import __version__
from mipro.cli import evaluate, export, optimize, report, worker
from mipro.cli.options import add_json_option, add_output_options, emit
from mipro.errors import MiproError, RunInterruptedError
from mipro.tasks import available_tasks, load_task


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command in ``argv`` (default: the process's arguments); returns the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(words)
    if hasattr(args, "check"):
        args.check(args.command_parser, args)
    args.argv = words
    _configure_logging(args.verbosity)
    try:
        return int(args.run(args) or 0)
    except MiproError as error:
        if args.verbosity > 1:
            traceback.print_exc()
        print(f"error: {error}", file=sys.stderr)
        if isinstance(error, RunInterruptedError) and hasattr(args, "resume_hint"):
            print(args.resume_hint, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        hint = getattr(args, "resume_hint", None)
        print(f"\ninterrupted{f'; {hint}' if hint else ''}", file=sys.stderr)
        return 130


class _HelpFormatter(argparse.HelpFormatter):
    """Adds ``(default: X)`` to an option's help, unless it has none or the help states it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("default" in text or not action.option_strings or action.nargs == 0
                or action.default in (None, argparse.SUPPRESS)):
            return text
        return f"{text} (default: %(default)s)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `mipro` command and its subcommands."""
    formatter = _HelpFormatter
    parser = argparse.ArgumentParser(
        prog="mipro", formatter_class=formatter,
        description="Optimize the instructions and demos of LM programs (MIPRO), then evaluate "
                    "and export them. Results go to stdout, progress to stderr; see "
                    "'mipro COMMAND --help'.")
    parser.add_argument("--version", action="version", version=f"mipro {__version__}")
    add_output_options(parser)
    parser.set_defaults(verbosity=1)
    commands = parser.add_subparsers(required=True, metavar="command", title="commands")
    optimize.add_parser(commands, formatter)
    worker.add_parser(commands, formatter)
    evaluate.add_parser(commands, formatter)
    export.add_parser(commands, formatter)
    report.add_parsers(commands, formatter)
    tasks = commands.add_parser("tasks", help="list the built-in tasks", formatter_class=formatter,
                                description="The built-in tasks (the paper's programs).")
    add_json_option(tasks)
    add_output_options(tasks)
    tasks.set_defaults(run=_tasks)
    return parser


def _tasks(args: argparse.Namespace) -> int:
    described = {name: load_task(name).description for name in available_tasks()}
    emit(args, described, "\n".join(f"{name:22} {text}" for name, text in described.items()))
    return 0


def _configure_logging(verbosity: int) -> None:
    """Warnings by default; errors only with ``-q``; with ``-v`` also info logs of every
    library (e.g. the HTTP client's line per LM request)."""
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger().setLevel({0: logging.ERROR, 1: logging.WARNING}.get(verbosity, logging.INFO))
