"""The HTML report of a finished run, opened in headless Chromium: plots and the prompt diff
are there, and opening it makes no network request."""

import html
import json
import shutil
import subprocess

import pytest

from mipro import load_run
from mipro.report import write_report
from mipro.report.diff import diff_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it with "
                             "apt-get when it runs as root; else: apt-get install chromium)")
_QUIET = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-default-apps"]


def open_in_chromium(page, tmp_path):
    """(the page's DOM after loading, the URLs of the network requests the page made).

    Chromium's net log holds every request; the page's own are those in its network
    isolation context (``file://``), apart from the browser's background requests."""
    net_log = tmp_path / f"{page.stem}.netlog.json"
    dom = subprocess.run(
        [CHROMIUM, *_QUIET, f"--user-data-dir={tmp_path / 'profile'}",
         f"--log-net-log={net_log}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=60, check=True).stdout
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    requests = {
        event["params"]["url"] for event in log["events"]
        if event["type"] == start_job
        and event["params"].get("network_isolation_key", "").startswith("file://")
        and not event["params"]["url"].startswith(("file:", "data:"))
    }
    return dom, requests


@needs_chromium
def test_the_report_shows_plots_and_the_prompt_diff_and_fetches_nothing(finished_run, tmp_path):
    storage, name, optimizer, _ = finished_run
    page = write_report(load_run(name, storage), tmp_path / "report.html",
                        png_dir=tmp_path / "png")
    dom, requests = open_in_chromium(page, tmp_path)
    assert requests == set()
    assert dom.count("<svg") == 2 and 'id="trial-curve"' in dom and 'id="importances"' in dom
    assert "full validation score" in dom and "minibatch score" in dom  # the curve's legend
    result = optimizer.result
    for predictor, options in result.candidates.predictors.items():
        index = result.best_configuration[f"{predictor}.instruction"]
        assert diff_html(options.instructions[0], options.instructions[index]) in dom
    assert dom.count('class="prompt instruction-diff"') == len(result.candidates.predictors)
    assert "<ins>" in dom and "<del>" in dom
    assert f"{result.best_score:.3f}" in dom and "winner" in dom
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == ["importances.png",
                                                                    "trial_curve.png"]


@needs_chromium
def test_the_network_check_sees_a_page_that_fetches(tmp_path):
    """The check above can fail: a page with an external image and stylesheet is caught."""
    page = tmp_path / "fetching.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/pixel.png">'
                    '<link rel="stylesheet" href="http://127.0.0.1:9/style.css"></body></html>')
    _, requests = open_in_chromium(page, tmp_path)
    assert requests == {"http://127.0.0.1:9/pixel.png", "http://127.0.0.1:9/style.css"}


def test_the_instruction_diff_marks_removed_and_added_words():
    assert diff_html("Answer the question.", "Answer the question carefully.") == (
        "Answer the question<ins> carefully</ins>.")
    assert diff_html("a <b>", "c <b>") == "<del>a</del><ins>c</ins> &lt;b&gt;"


def test_the_report_has_lm_usage_per_stage(finished_run, tmp_path):
    storage, name, optimizer, _ = finished_run
    page = write_report(load_run(name, storage), tmp_path / "report.html").read_text()
    stages = optimizer.result.usage.stages
    assert list(stages) == ["bootstrap", "ground", "propose", "search", "select"]
    section = page.split("<h2>LM usage per stage</h2>", 1)[1].split("<h2>", 1)[0]
    for stage, spent in stages.items():
        assert (f"<td>{stage}</td><td><span class='num'>{spent.calls}</span></td>"
                f"<td><span class='num'>{spent.cache_hits}</span></td>"
                f"<td><span class='num'>{spent.prompt_tokens}</span></td>") in section


def test_the_report_states_the_selection_decision_and_its_confidence(finished_run, tmp_path):
    storage, name, optimizer, _ = finished_run
    run = load_run(name, storage)
    page = write_report(run, tmp_path / "report.html").read_text()
    selection = optimizer.result.selection
    low, high = selection.score_interval
    assert (f"<p id='selection-decision'>On the {selection.examples.describe()}, at "
            f"84% confidence: {html.escape(selection.reason)}. The chosen program scores "
            f"{selection.chosen_score:.3f} on them (84% interval {low:.3f} to {high:.3f}).</p>"
            ) in page
    for contender in selection.contenders:
        better, worse, tied = run.against_baseline(contender.configuration)
        assert (f"<td><span class='num'>{contender.holdout_score:.3f}</span></td>"
                f"<td>{better} / {worse} / {tied}</td><td>{contender.difference:+.3f}</td>"
                f"<td>{contender.lower_bound:+.3f}</td>") in page
