"""Options shared by the commands (LMs, program source, output) and what they resolve to."""

from __future__ import annotations

import argparse
import json
import os
import runpy
from pathlib import Path
from typing import Any

from mipro.errors import ConfigurationError
from mipro.lm.base import LM
from mipro.program import Module
from mipro.tasks import Task, available_tasks, load_task


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``-q``/``-v`` and ``--json``, accepted after the command name too."""
    parser.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const=0,
                        default=argparse.SUPPRESS,
                        help="print only the result and errors: no plan, progress or warnings")
    parser.add_argument("-v", "--verbose", dest="verbosity", action="store_const", const=2,
                        default=argparse.SUPPRESS,
                        help="also log LM requests and print the traceback of an error")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="print the result as one JSON object on stdout, for scripts")


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """``--task`` or ``--program-file``: the program, its data and its metric."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--task", choices=available_tasks(), metavar="TASK",
                        help=f"a built-in task: {', '.join(available_tasks())}")
    source.add_argument("--program-file", type=Path, metavar="FILE",
                        help="a Python file that defines `program` (a mipro.Module or a function "
                             "returning one), `trainset`, `metric` and optionally `valset` and "
                             "`testset`")


def add_lm_options(parser: argparse.ArgumentParser, role: str, *, what: str) -> None:
    """``--<role>-url`` with ``--<role>-model``, or ``--<role>-path``, in a group titled ``what``."""
    flag = role.replace("_", "-")
    group = parser.add_argument_group(what)
    where = group.add_mutually_exclusive_group()
    where.add_argument(f"--{flag}-url", dest=f"{role}_url", metavar="URL",
                       help="base URL of an OpenAI-compatible server, e.g. "
                            f"http://127.0.0.1:8000/v1 (needs --{flag}-model)")
    where.add_argument(f"--{flag}-path", dest=f"{role}_path", type=Path, metavar="GGUF",
                       help="a GGUF model file to run in-process with llama.cpp")
    group.add_argument(f"--{flag}-model", dest=f"{role}_model", metavar="NAME",
                       help=f"the model name the server serves (required with --{flag}-url)")
    if role == "lm":
        group.add_argument("--api-key-env", default="OPENAI_API_KEY", metavar="VAR",
                           help="environment variable holding the servers' API key "
                                "(not needed for local servers)")


def check_lm_options(parser: argparse.ArgumentParser, args: argparse.Namespace, role: str) -> None:
    """Usage errors: a server URL needs a model name, and a model name needs a URL."""
    flag = role.replace("_", "-")
    url, model = getattr(args, f"{role}_url"), getattr(args, f"{role}_model")
    if url and not model:
        parser.error(f"--{flag}-url needs --{flag}-model, the model name the server serves "
                     f"(e.g. --{flag}-model llama-3.1-8b-instruct)")
    if model and not url:
        parser.error(f"--{flag}-model names a model on a server: give its --{flag}-url too")


def build_lm(args: argparse.Namespace, role: str = "lm") -> LM | None:
    """The LM the options name, or None when they name none."""
    url, path = getattr(args, f"{role}_url"), getattr(args, f"{role}_path")
    if url:
        from mipro.lm.openai_lm import OpenAILM

        return OpenAILM(getattr(args, f"{role}_model"), base_url=url,
                        api_key=os.environ.get(args.api_key_env, "not-needed"))
    if path:
        from mipro.lm.local import LocalLM

        return LocalLM(path)
    return None


def program_lm(program: Module) -> LM | None:
    """The LM the program's own predictors name, if any."""
    return next((p.lm for p in program.predictors() if p.lm is not None), None)


def load_source(args: argparse.Namespace) -> Task:
    """The task of ``--task`` or ``--program-file``."""
    return load_task(args.task) if args.task else task_from_file(args.program_file)


def task_from_file(path: Path) -> Task:
    """A task from a Python file defining ``program``, ``trainset``, ``metric`` (and splits)."""
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


def emit(args: argparse.Namespace, result: dict[str, Any], text: str) -> None:
    """The command's result on stdout: ``text``, or ``result`` as JSON with ``--json``."""
    if getattr(args, "json", False):
        print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    else:
        print(text)
