"""The command follows CLI conventions: --version, python -m, help for every option, exit codes,
Ctrl-C with a resume hint, and a resume that finishes the run."""

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pytest

import mipro
from mipro.cli import build_parser, main
from mipro.optimize.select import SelectionSettings, split_holdout
from mipro.testing.stub_server import StubServer, completion
from tests.cli.conftest import write_task_file

SRC = str(Path(mipro.__file__).parent.parent)


def run_mipro(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mipro", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=_env())


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}


def test_python_m_mipro_prints_the_version(tmp_path):
    done = run_mipro("--version", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout == f"mipro {mipro.__version__}\n"


def test_every_option_of_every_command_has_help_and_shows_its_default():
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(commands.choices) == {"optimize", "worker", "eval", "export", "report", "show",
                                     "tasks"}
    for name, command in commands.choices.items():
        text = command.format_help()
        for action in command._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"
            if action.option_strings and action.default not in (None, False, argparse.SUPPRESS) \
                    and action.nargs != 0 and action.help != argparse.SUPPRESS:
                assert f"(default: {action.default})" in " ".join(text.split()), \
                    f"{name} {action.option_strings[0]} does not show its default"


def test_tasks_lists_names_with_descriptions_and_as_json(capsys):
    assert main(["tasks"]) == 0
    assert any(line.startswith("iris ") for line in capsys.readouterr().out.splitlines())
    assert main(["tasks", "--json"]) == 0
    assert "iris" in json.loads(capsys.readouterr().out)


def test_runtime_error_exits_1_with_one_line_and_no_traceback(tmp_path, capsys):
    path = tmp_path / "bad.py"
    path.write_text("program = None\n")
    assert main(["optimize", "--program-file", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"error: {path} must define trainset, metric")
    assert "Traceback" not in captured.err


def test_verbose_runtime_error_shows_the_traceback(tmp_path, capsys):
    path = tmp_path / "bad.py"
    path.write_text("program = None\n")
    assert main(["optimize", "-v", "--program-file", str(path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ConfigurationError" in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["optimize", "--task", "nope"])
    assert exit_.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_quiet_and_verbose_are_accepted_before_the_command(task_file, capsys):
    assert main(["-q", "optimize", "--program-file", "task.py", "--num-candidates", "3",
                 "--minibatch-size", "10", "--num-trials", "2"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.startswith("Run task-mipro-seed0: 2 trials")


def test_ctrl_c_exits_130_with_a_resume_hint_and_the_resume_finishes(tmp_path):
    write_task_file(tmp_path, doc=" with 20 ms per call, so that a run lasts a few seconds",
                    reply="time.sleep(0.02)")
    command = ["optimize", "--program-file", "task.py", "--num-candidates", "3",
               "--minibatch-size", "10", "--num-trials", "8"]
    # A cache of its own: the session's shared reply cache may already hold these replies
    # (other tests run the same task file), and cached replies skip the delay, so the run
    # would end before the signal.
    env = {**_env(), "MIPRO_CACHE_DIR": str(tmp_path / "cache")}
    # preexec_fn: Ctrl-C works in the child even when this test runs where SIGINT is ignored
    # (a job a non-interactive shell started with `&`), whose children inherit SIG_IGN.
    process = subprocess.Popen([sys.executable, "-m", "mipro", *command], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env, preexec_fn=_default_sigint)
    err_lines, reader = _read_lines(process.stderr)
    deadline = time.monotonic() + 90
    while not any(line.startswith("Trial   2/8") for line in err_lines):
        assert process.poll() is None and time.monotonic() < deadline, "".join(err_lines)
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 130
    assert process.stdout.read() == ""
    reader.join(timeout=10)
    err = "".join(err_lines)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    hint = err.strip().splitlines()[-1]
    assert hint == ("interrupted; resume with: mipro " + shlex.join(command)
                    + " --run-name task-mipro-seed0")
    finished_before = _completed_trials(tmp_path)
    assert 2 <= finished_before < 8

    resumed = run_mipro(*shlex.split(hint.split("resume with: mipro ", 1)[1]), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith("Run task-mipro-seed0: 8 trials")
    assert "Trial   1/8" not in resumed.stderr  # finished trials are not run again
    assert _completed_trials(tmp_path) == 8


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _read_lines(stream) -> tuple[list[str], threading.Thread]:
    """The lines of ``stream`` as they come, read by a thread that ends at end of stream."""
    lines: list[str] = []

    def pump() -> None:
        for line in stream:
            lines.append(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    return lines, reader


def _completed_trials(folder: Path) -> int:
    study = optuna.load_study(study_name="task-mipro-seed0",
                              storage=f"sqlite:///{folder / 'mipro_runs' / 'task-mipro-seed0.db'}")
    return sum(trial.state == optuna.trial.TrialState.COMPLETE for trial in study.trials)


def test_verbose_logs_each_request_to_an_lm_server(task_file):
    def propose(received):
        return completion(received, "Proposed Instruction: Answer the question carefully.")

    with StubServer(propose).running() as server:
        done = run_mipro("optimize", "-v", "--program-file", "task.py", "--num-candidates", "3",
                         "--minibatch-size", "10", "--num-trials", "2", "--prompt-lm-url",
                         server.base_url, "--prompt-lm-model", "proposer", cwd=task_file.parent)
    assert done.returncode == 0, done.stderr
    assert f"HTTP Request: POST {server.base_url}/chat/completions" in done.stderr


def test_a_run_stopped_by_its_lm_exits_1_with_the_error_and_the_resume_command(tmp_path, monkeypatch,
                                                                                capsys):
    monkeypatch.chdir(tmp_path)
    search_ids, _ = split_holdout(40, SelectionSettings(), seed=0)
    question = f"q{60 + search_ids[0]}"  # a validation example the search scores
    write_task_file(tmp_path, doc=f" whose server goes down on question {question}",
                    reply=f'if "Question: {question}\\n" in prompt + "\\n":\n'
                          '    from mipro.errors import LMUnavailableError\n'
                          '    raise LMUnavailableError("the server at http://127.0.0.1:1 is down")')
    assert main(["optimize", "--program-file", "task.py", "--num-candidates", "3",
                 "--minibatch-size", "10", "--num-trials", "4"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "error: the LM failed during the search: the server at http://127.0.0.1:1 is down" in err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == ("resume with: mipro optimize --program-file task.py --num-candidates 3 "
                         "--minibatch-size 10 --num-trials 4 --run-name task-mipro-seed0")
