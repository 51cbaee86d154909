"""``mipro export``: print the final prompt of each predictor of a saved program."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mipro.cli.options import add_output_options
from mipro.export import EXPORT_FORMATS, export_program


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    parser = commands.add_parser(
        "export", help="print each predictor's final prompt, for use outside mipro",
        formatter_class=formatter,
        description="Render the instruction and demos of each predictor of a saved program with "
                    "mipro's adapters: 'text' is the completion prompt, 'openai-messages' the "
                    "chat messages with a template of the final user turn, 'json' both with the "
                    "typed signature and metadata. See docs/cli.md.")
    parser.add_argument("saved", type=Path, metavar="SAVED",
                        help="the saved program (a .json file written by save or optimize)")
    parser.add_argument("--format", choices=EXPORT_FORMATS, default="text",
                        help="what to print")
    add_output_options(parser)
    parser.set_defaults(run=export)


def export(args: argparse.Namespace) -> int:
    print(export_program(args.saved, args.format), end="")
    return 0
