"""Fixtures of the CLI tests: a program file on the simulated task, and the llama.cpp server."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.lm.test_llama_server import server_url  # noqa: F401 - the llama.cpp server fixture

TASK_FILE = """
import time

from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples


class TaskLM(SimulatedLM):
    \"\"\"The simulated LM{doc}.\"\"\"

    def _reply(self, prompt, rollout):
{reply}
        return super()._reply(prompt, rollout)


program = SimulatedProgram(TaskLM({options}))
trainset = make_examples(60)
valset = make_examples(40, start=60)
testset = make_examples(40, start=100)
metric = exact_answer
"""


def write_task_file(folder: Path, *, doc: str = "", reply: str = "pass", options: str = "") -> Path:
    """``task.py`` in ``folder``: the simulated two-stage task, its LM's ``_reply`` prefixed by
    the lines ``reply`` (e.g. a delay, an error or a garbled proposal)."""
    path = folder / "task.py"
    path.write_text(TASK_FILE.format(doc=doc, reply=textwrap.indent(reply, " " * 8),
                                     options=options))
    return path


@pytest.fixture
def task_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The plain simulated task in ``task.py``, in the current directory."""
    monkeypatch.chdir(tmp_path)
    return write_task_file(tmp_path)
