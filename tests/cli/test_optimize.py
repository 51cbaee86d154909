"""``mipro optimize``: the summary on stdout, progress on stderr, what the saved program records."""

import json
import re

import pytest

from mipro import load_run
from mipro.cli import main
from mipro.cli.optimize import resume_command
from mipro.optimize.select import SelectionSettings, split_holdout
from tests.cli.conftest import write_task_file
from mipro.testing.stub_server import StubServer, completion

SMALL = ["--num-candidates", "3", "--minibatch-size", "10"]


def optimize(*options: str) -> int:
    return main(["optimize", "--program-file", "task.py", *SMALL, *options])


def test_summary_goes_to_stdout_and_progress_to_stderr(task_file, capsys):
    assert optimize("--num-trials", "6", "--output", "best.json") == 0
    out, err = capsys.readouterr()
    assert "Planned LM calls" in err and "Trial   6/6" in err
    assert "Planned LM calls" not in out and "Trial" not in out
    lines = out.splitlines()
    assert lines[0] == "Run task-mipro-seed0: 6 trials, 3 full evaluations"
    selection = load_run("task-mipro-seed0").result.selection
    assert re.fullmatch(r"Validation score \d\.\d{3} \(unoptimized \d\.\d{3}\) on the 20 held-out "
                        rf"validation and {len(selection.train_ids)} unseen training examples, "
                        r"84% interval \d\.\d{3} to \d\.\d{3}", lines[1])
    assert selection.train_ids
    assert lines[2].startswith("Held-out test score (40 examples): ")
    assert lines[3].startswith("Outcome: kept ")
    assert lines[3].endswith("; 0 proposals skipped; failed examples: 0 in the winner's "
                             "validation run, 0 / 0 in the test runs before / after")
    assert lines[4] == f"Selection at 84% confidence: {selection.reason}"
    assert re.fullmatch(r"LM calls per stage: bootstrap \d+, ground \d+, propose \d+, "
                        r"search \d+, select \d+", lines[5])
    assert lines[6].endswith("Optimized program saved to best.json")
    assert (task_file.parent / "mipro_runs" / "task-mipro-seed0.db").exists()


def test_saved_program_records_the_run_the_lm_and_the_scores(task_file, capsys):
    assert optimize("--num-trials", "6", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    saved = json.loads((task_file.parent / "mipro_runs" / "task-mipro-seed0.json").read_text())
    assert set(saved["predictors"]) == {"hint", "answer"}
    assert saved["run_name"] == "task-mipro-seed0" and saved["lm"] == "simulated"
    assert saved["scores"] == {"validation": summary["validation"]["best"],
                               "test": summary["test"]["after"]}


def test_json_summary_for_scripts(task_file, capsys):
    assert optimize("--num-trials", "6", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["run_name"] == "task-mipro-seed0" and summary["optimizer"] == "mipro"
    assert summary["trials"] == 6 and summary["lm"] == "simulated"
    assert 0 <= summary["validation"]["unoptimized"] <= summary["validation"]["best"] <= 1
    selection = summary["selection"]
    assert summary["kept_original"] == (selection["chosen"] is None) == (
        selection["reason"].startswith("kept the program as given"))
    # The held-out comparison, as the run's study keeps it.
    assert selection == json.loads(json.dumps(load_run("task-mipro-seed0").summary["selection"]))
    assert selection["confidence"] == summary["validation"]["confidence"] == 0.84
    assert len(selection["holdout_ids"]) == summary["validation"]["held_out_examples"] == 20
    assert selection["contenders"] and {"configuration", "holdout_score", "difference",
                                        "lower_bound"} <= set(selection["contenders"][0])
    assert selection["score_interval"] == summary["validation"]["interval"]
    assert summary["skipped_proposals"] == 0
    assert summary["test"]["examples"] == 40 and summary["test"]["failed_after"] == 0
    assert summary["usage"]["prompt_lm"]["calls"] > 0 and summary["usage"]["task_lm"]["calls"] > 0
    assert summary["output"] == "mipro_runs/task-mipro-seed0.json"
    stages = summary["usage"]["stages"]
    assert list(stages) == ["bootstrap", "ground", "propose", "search", "select"]
    assert sum(spent["calls"] for spent in stages.values()) == (
        summary["usage"]["task_lm"]["calls"] + summary["usage"]["prompt_lm"]["calls"])


def test_quiet_prints_only_the_result(task_file, capsys):
    assert optimize("--num-trials", "4", "-q") == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith("Run task-mipro-seed0: 4 trials")


def test_summary_says_when_the_original_program_was_kept(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_task_file(tmp_path, doc=" on which no instruction or demo helps",
                    options="base=0.6, instruction_bonus=0.0, demo_bonus=0.0")
    assert optimize("--num-trials", "4") == 0
    out = capsys.readouterr().out
    assert "Outcome: kept the original program;" in out
    assert "Selection at 84% confidence: kept the program as given: " in out


def test_summary_counts_skipped_proposals(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_task_file(tmp_path, doc=" whose proposals cannot be parsed",
                    reply='if prompt.endswith("Proposed Instruction:"):\n    return ""')
    assert optimize("--num-trials", "4", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["skipped_proposals"] >= 4  # every proposal, for both predictors
    # A fresh run: a resumed run does not know how many proposals its first process skipped.
    assert optimize("--num-trials", "4", "--run-name", "again") == 0
    assert f"; {summary['skipped_proposals']} proposals skipped;" in capsys.readouterr().out


def test_summary_counts_failed_examples(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    search_ids, _ = split_holdout(40, SelectionSettings(), seed=0)
    failing = (60 + search_ids[0], 101, 102)  # a validation question the search scores, two test ones
    write_task_file(tmp_path, doc=" that fails on two test questions and one validation question",
                    reply=f'if any(f"Question: q{{n}}\\n" in prompt + "\\n" for n in {failing}):\n'
                          '    raise RuntimeError("the model crashed")')
    assert optimize("--num-trials", "4", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["validation"]["failed_examples"] == 1
    assert summary["test"]["failed_before"] == 2 and summary["test"]["failed_after"] == 2


def test_prompt_lm_url_sends_the_proposals_to_that_server(task_file, capsys):
    def propose(received):
        return completion(received, "Proposed Instruction: Answer the question carefully.")

    with StubServer(propose).running() as server:
        assert optimize("--num-trials", "4", "--prompt-lm-url", server.base_url,
                        "--prompt-lm-model", "proposer-7b", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert server.received and {r.body["model"] for r in server.received} == {"proposer-7b"}
    assert summary["usage"]["prompt_lm"]["calls"] == len(server.received)


def test_another_optimizer_of_the_family(task_file, capsys):
    assert optimize("--optimizer", "bayesian_bootstrap", "--num-trials", "4") == 0
    saved = json.loads((task_file.parent / "mipro_runs" /
                        "task-bayesian_bootstrap-seed0.json").read_text())
    original = "Given the fields `question`, produce the fields `hint`."
    assert saved["predictors"]["hint"]["signature"]["instructions"] == original


@pytest.mark.parametrize(("options", "message"), [
    (["--lm-url", "http://127.0.0.1:8000/v1"], "--lm-url needs --lm-model"),
    (["--lm-model", "m"], "--lm-model names a model on a server: give its --lm-url too"),
    (["--prompt-lm-url", "http://127.0.0.1:8000/v1"], "--prompt-lm-url needs --prompt-lm-model"),
    (["--lm-url", "http://x/v1", "--lm-model", "m", "--lm-path", "m.gguf"],
     "--lm-path: not allowed with argument --lm-url"),
])
def test_lm_options_misused_are_usage_errors(task_file, capsys, options, message):
    with pytest.raises(SystemExit) as exit_:
        optimize(*options)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_fresh_starts_a_changed_run_over_instead_of_refusing_it(task_file, capsys):
    assert optimize("--num-trials", "6") == 0
    capsys.readouterr()
    changed = ["--num-trials", "4", "--num-candidates", "4"]
    assert main(["optimize", "--program-file", "task.py", "--minibatch-size", "10", *changed]) == 1
    err = capsys.readouterr().err
    assert "changed:" in err and "num_candidates" in err and "--fresh" in err
    assert main(["optimize", "--program-file", "task.py", "--minibatch-size", "10", *changed,
                 "--fresh", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["trials"] == 4  # not the 6 trials of the run it replaced
    run = load_run("task-mipro-seed0")
    assert len(run.trials) == 4 and run.settings["num_candidates"] == 4


def test_the_resume_hint_of_a_fresh_run_resumes_it_rather_than_starting_over():
    assert resume_command(["optimize", "--task", "iris", "--fresh", "--seed", "1"], "r") == (
        "mipro optimize --task iris --seed 1 --run-name r")
