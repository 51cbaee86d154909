"""``mipro eval``: a saved program scored on a split, with per-example results in --json."""

import json

import pytest

from mipro.cli import main
from mipro.lm.local import default_model_path
from mipro.tasks import load_task
from mipro.testing import SimulatedProgram
from tests.cli.conftest import write_task_file

SMALL = ["--num-candidates", "3", "--minibatch-size", "10", "--num-trials", "4"]


@pytest.fixture
def optimized(task_file, capsys):
    """The simulated task optimized; returns the optimize command's JSON summary."""
    assert main(["optimize", "--program-file", "task.py", *SMALL, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_eval_prints_the_score_the_optimize_run_reported(optimized, capsys):
    assert main(["eval", "--program-file", "task.py", "--program", optimized["output"]]) == 0
    out, err = capsys.readouterr()
    assert out == (f"Score on the test split of task (40 examples): "
                   f"{optimized['test']['after']:.3f}; 0 examples failed\n")
    assert "Scoring test" not in out


def test_eval_json_lists_every_example(optimized, capsys):
    assert main(["eval", "--program-file", "task.py", "--program", optimized["output"],
                 "--split", "val", "--json", "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    report = json.loads(captured.out)
    assert report["split"] == "val" and report["examples"] == 40 and report["lm"] == "simulated"
    results = report["results"]
    assert [r["inputs"] for r in results] == [{"question": f"q{i}"} for i in range(60, 100)]
    assert results[0]["labels"] == {"answer": "a60"}
    right = [r for r in results if r["score"] == 1.0]
    assert right and all(r["prediction"]["answer"] == r["labels"]["answer"] for r in right)
    assert report["score"] == pytest.approx(len(right) / 40)


def test_failed_examples_are_counted_and_carry_their_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_task_file(tmp_path, doc=" that fails on question q105",
                    reply='if "Question: q105\\n" in prompt + "\\n":\n'
                          '    raise RuntimeError("the model crashed")')
    SimulatedProgram().save("plain.json")
    assert main(["eval", "--program-file", "task.py", "--program", "plain.json", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["failed_examples"] == 1
    failed = [r for r in report["results"] if r["error"]]
    assert [r["inputs"]["question"] for r in failed] == ["q105"]
    assert failed[0]["error"] == "RuntimeError: the model crashed" and failed[0]["score"] == 0.0
    assert main(["eval", "--program-file", "task.py", "--program", "plain.json"]) == 0
    assert "; 1 examples failed (--json lists their errors)" in capsys.readouterr().out


def test_a_split_the_task_lacks_is_an_error_naming_the_present_ones(task_file, capsys):
    task_file.write_text(task_file.read_text().replace("testset = make_examples(40, start=100)", ""))
    assert main(["eval", "--program-file", "task.py", "--program", "x.json"]) == 1
    assert "error: task has no test split; it has ['train', 'val']" in capsys.readouterr().err


def test_a_saved_program_of_another_task_is_refused_before_any_lm_call(task_file, capsys):
    assert main(["eval", "--task", "iris", "--program", "mipro_runs/none.json"]) == 1
    assert "none.json: no such saved-program file" in capsys.readouterr().err
    main(["optimize", "--program-file", "task.py", *SMALL, "-q"])
    capsys.readouterr()
    assert main(["eval", "--task", "iris", "--program", "mipro_runs/task-mipro-seed0.json"]) == 1
    assert ("mipro_runs/task-mipro-seed0.json: saved predictors ['answer', 'hint'] do not match "
            "IrisClassifier's ['predict']") in capsys.readouterr().err


IRIS_FILE = """
from mipro.tasks import load_task

iris = load_task("iris")
program = iris.make_program
trainset = iris.trainset
testset = iris.testset[:3]
metric = iris.metric
"""


@pytest.mark.real_lm
def test_lm_path_runs_any_gguf_in_process(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    tmp_path.joinpath("iris3.py").write_text(IRIS_FILE)
    load_task("iris").make_program().save("iris.json")
    assert main(["eval", "--program-file", "iris3.py", "--program", "iris.json", "--json", "-q",
                 "--lm-path", str(default_model_path())]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["lm"].startswith("local:") and report["examples"] == 3
    assert report["failed_examples"] == 0
    assert all(r["prediction"]["answer"] in ("setosa", "versicolor", "virginica")
               for r in report["results"])
