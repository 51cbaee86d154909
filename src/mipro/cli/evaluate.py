"""``mipro eval``: score a saved program on a split of its task."""

from __future__ import annotations

import argparse
from pathlib import Path
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
from mipro.errors import ConfigurationError
from mipro.evaluate import Evaluate, EvaluationResult
from mipro.lm.context import active_lm
from mipro.program.saved import read_saved_program
from mipro.progress import console
from mipro.signatures.types import jsonable

SPLITS = ("train", "val", "test")


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    parser = commands.add_parser(
        "eval", help="score a saved program on a split of its task", formatter_class=formatter,
        description="Load a saved program into the task's program and score it; --json prints "
                    "every example's prediction, score and error.")
    parser.add_argument("--program", type=Path, required=True, metavar="SAVED",
                        help="the saved program (a .json file written by save or optimize)")
    add_source_options(parser)
    parser.add_argument("--split", choices=SPLITS, default="test",
                        help="which examples to score")
    parser.add_argument("--threads", type=int, default=2, metavar="N",
                        help="parallel program runs (the embedded model has 2 contexts)")
    add_lm_options(parser, "lm", what="the LM (default: the program's own, else the embedded "
                                      "SmolLM2-135M-Instruct)")
    add_json_option(parser)
    add_output_options(parser)
    parser.set_defaults(run=evaluate, command_parser=parser,
                        check=lambda parser, args: check_lm_options(parser, args, "lm"))


def evaluate(args: argparse.Namespace) -> int:
    task = load_source(args)
    splits = {"train": task.trainset, "val": task.valset, "test": task.testset}
    examples = splits[args.split]
    if not examples:
        present = [split for split in SPLITS if splits[split]]
        raise ConfigurationError(f"{task.name} has no {args.split} split; it has {present}")
    program = task.make_program().load(args.program)
    lm = build_lm(args, "lm") or program_lm(program) or active_lm()
    saved_lm = read_saved_program(args.program).lm
    if saved_lm and saved_lm != lm.model_id and args.verbosity > 0:
        console.print(f"note: {args.program} was saved with LM {saved_lm}; scoring with "
                      f"{lm.model_id}", highlight=False)
    result = Evaluate(examples, task.metric, num_threads=args.threads, lm=lm,
                      display_progress=args.verbosity > 0, description=f"Scoring {args.split}")(program)
    summary = {"program": str(args.program), "task": task.name, "split": args.split,
               "lm": lm.model_id, "examples": len(examples), "score": result.score,
               "failed_examples": result.num_failed, "results": _results(result)}
    text = (f"Score on the {args.split} split of {task.name} ({len(examples)} examples): "
            f"{result.score:.3f}; {result.num_failed} examples failed"
            + (" (--json lists their errors)" if result.num_failed else ""))
    emit(args, summary, text)
    return 0


def _results(result: EvaluationResult) -> list[dict[str, Any]]:
    return [
        {"index": item.index, "id": item.example.get("id"), "inputs": jsonable(item.example.inputs()),
         "labels": jsonable(item.example.labels()),
         "prediction": jsonable(dict(item.prediction)) if item.prediction is not None else None,
         "score": item.score, "error": item.error}
        for item in result.results
    ]
