import json

from benchmarks.optimizer_family import VARIANTS, main
from mipro.optimize import OPTIMIZERS


def test_family_benchmark_prints_a_row_per_optimizer_and_writes_json(tmp_path, capsys):
    out = tmp_path / "family.json"
    assert main(["--seeds", "0", "--num-trials", "3", "--num-candidates", "3", "--train", "20",
                 "--val", "10", "--minibatch-size", "5", "--max-lm-calls", "150",
                 "--out", str(out)]) == 0
    table = capsys.readouterr().out
    saved = json.loads(out.read_text())
    assert set(OPTIMIZERS) <= set(VARIANTS)
    assert [row["optimizer"] for row in saved["summary"]] == list(VARIANTS)
    assert all(f"| {name} |" in table for name in VARIANTS)
    for run in saved["runs"]:
        assert run["task_lm_calls"] + run["prompt_lm_calls"] <= 150
    zero_shot = {"mipro_0shot", "mipro++_0shot", "opro", "opro_grounded"}
    assert all(run["demos_in_program"] == 0 for run in saved["runs"] if run["optimizer"] in zero_shot)
