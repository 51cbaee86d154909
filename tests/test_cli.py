import json
import textwrap

import pytest

from mipro.cli import main

PROGRAM_FILE = textwrap.dedent("""
    from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples
    program = SimulatedProgram(SimulatedLM())
    trainset = make_examples(60)
    valset = make_examples(40, start=60)
    testset = make_examples(40, start=100)
    metric = exact_answer
""")


def optimize_program_file(folder, monkeypatch, *options: str) -> int:
    """Run ``mipro optimize`` in ``folder`` on the simulated task with 3 candidates."""
    monkeypatch.chdir(folder)
    (folder / "task.py").write_text(PROGRAM_FILE)
    return main(["optimize", "--program-file", "task.py", "--num-candidates", "3",
                 "--minibatch-size", "10", *options])


def test_optimize_a_program_file_reports_and_saves(tmp_path, monkeypatch, capsys):
    code = optimize_program_file(tmp_path, monkeypatch, "--num-trials", "6", "--output", "best.json")
    assert code == 0
    err = capsys.readouterr().err
    assert "Planned LM calls" in err
    assert "Trial   6/6" in err
    assert "Held-out test score (40 examples)" in err and "before" in err and "after" in err
    assert "saved to best.json" in err
    saved = json.loads((tmp_path / "best.json").read_text())
    assert set(saved["predictors"]) == {"hint", "answer"}
    assert (tmp_path / "mipro_runs" / "task-mipro-seed0.db").exists()


def test_optimize_with_another_optimizer_of_the_family(tmp_path, monkeypatch, capsys):
    code = optimize_program_file(tmp_path, monkeypatch, "--optimizer", "bayesian_bootstrap",
                                 "--num-trials", "4")
    assert code == 0
    saved = json.loads((tmp_path / "mipro_runs" / "task-bayesian_bootstrap-seed0.json").read_text())
    original = "Given the fields `question`, produce the fields `hint`."
    assert saved["predictors"]["hint"]["signature"]["instructions"] == original


def test_program_file_missing_names_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "bad.py"
    path.write_text("program = None\n")
    assert main(["optimize", "--program-file", str(path)]) == 2
    assert "must define trainset, metric" in capsys.readouterr().err


def test_unknown_task_is_rejected_by_the_parser():
    with pytest.raises(SystemExit):
        main(["optimize", "--task", "nope"])
