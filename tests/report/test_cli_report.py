"""``mipro report`` and ``mipro show`` on a finished run."""

import subprocess
import sys

from mipro.cli import main


def test_report_writes_the_html_and_the_pngs(finished_run, tmp_path, capsys):
    storage, name, _, _ = finished_run
    out = tmp_path / "r.html"
    code = main(["report", name, "--storage", storage, "--out", str(out), "--png", str(tmp_path / "png")])
    assert code == 0
    assert capsys.readouterr().out.strip() == str(out.resolve())
    assert "<svg" in out.read_text() and (tmp_path / "png" / "trial_curve.png").is_file()


def test_show_prints_the_summary_on_stdout(finished_run, capsys):
    storage, name, optimizer, _ = finished_run
    assert main(["show", name, "--storage", storage]) == 0
    printed = capsys.readouterr().out
    assert f"Winner {optimizer.result.best_score:.3f}" in printed


def test_a_missing_run_is_a_runtime_error_naming_what_is_there(finished_run, tmp_path):
    storage, _, _, _ = finished_run
    done = subprocess.run([sys.executable, "-m", "mipro", "show", "nope", "--storage", storage],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "no run 'nope'" in done.stderr and "demo" in done.stderr
