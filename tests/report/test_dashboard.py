"""optuna-dashboard on a finished run's study shows each trial's instruction text and the winner."""

import json
import importlib.util
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

INSTALLED = importlib.util.find_spec("optuna_dashboard") is not None
COMMAND = [str(Path(sys.executable).with_name("optuna-dashboard"))]
if not Path(COMMAND[0]).is_file():
    COMMAND = [shutil.which("optuna-dashboard") or "optuna-dashboard"]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url, deadline):
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                return json.load(reply)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.skipif(not INSTALLED,
                    reason="optuna-dashboard is not installed (pip install 'mipro[dashboard]')")
def test_the_dashboard_reads_instruction_texts_the_winner_and_the_candidates_note(finished_run):
    storage, name, optimizer, _ = finished_run
    port = free_port()
    server = subprocess.Popen([*COMMAND, storage, "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}/api"
        summaries = get_json(f"{base}/studies", time.monotonic() + 30)["study_summaries"]
        study_id = next(s["study_id"] for s in summaries if s["study_name"] == name)
        study = get_json(f"{base}/studies/{study_id}?after=0", time.monotonic() + 10)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert study["objective_names"] == ["minibatch score"]
    result = optimizer.result
    candidates = result.candidates.predictors
    for trial in study["trials"]:
        attrs = {a["key"]: a["value"] for a in trial["user_attrs"]}
        params = {p["name"]: int(float(p["param_internal_value"])) for p in trial["params"]}
        for predictor, options in candidates.items():
            assert attrs[f"{predictor}: instruction"] == (
                options.instructions[params[f"{predictor}.instruction"]])
        assert (attrs.get("winner") == "True") == (params == result.best_configuration)
    winner = json.loads(next(a["value"] for a in study["user_attrs"] if a["key"] == "winner"))
    assert winner["configuration"] == result.best_configuration
    assert winner["score"] == result.best_score
    # The study's note lists every candidate, marks the winner's and says why it was chosen.
    note = study["note"]["body"]
    assert note.startswith(f"# mipro run `{name}`") and result.selection.reason in note
    for predictor, options in candidates.items():
        section = note.split(f"## {predictor}\n", 1)[1].split("\n## ", 1)[0]
        for index, text in enumerate(options.instructions):
            line = next(l for l in section.splitlines() if l.startswith(f"- **{index}** ("))
            assert line.endswith(f": {' '.join(text.split())}")
            chosen = index == result.best_configuration[f"{predictor}.instruction"]
            assert ("**(winner)**" in line) == chosen
        demo_lines = [l for l in section.splitlines() if l.startswith("- set ")]
        assert len(demo_lines) == len(options.demo_sets)
        assert [i for i, l in enumerate(demo_lines) if "**(winner)**" in l] == [
            result.best_configuration[f"{predictor}.demos"]]
