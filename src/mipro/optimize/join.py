"""Join a run that another process started: the optimizer it was started with, rebuilt from the
settings stored in its database (``mipro worker``).

A worker needs no shared disk: the run's database holds its optimizer, plan and options
(``Optimizer.run_settings``), its fingerprint, candidates, trials and budget. The worker brings
the program, data and metric (the same program file) and its LMs; the fingerprint check refuses
anything that differs from the run's.
"""

from __future__ import annotations

import json
import time
from typing import Any

from mipro.errors import ConfigurationError
from mipro.evaluate import Metric
from mipro.optimize.family import OPTIMIZERS
from mipro.optimize.optimizer import Optimizer
from mipro.optimize.run.storage import storage_url
from mipro.optimize.run.study import RunStudy


def join_run(run_name: str, storage: str, metric: Metric, *, wait: float = 0.0,
             **local: Any) -> Optimizer:
    """The optimizer that runs ``run_name`` in ``storage``, rebuilt from its stored settings,
    waiting up to ``wait`` seconds for the run to be started; ``local`` are this process's own
    keyword arguments (``task_lm``, ``n_jobs``, ``num_threads``, ``verbose``, ...).
    ``compile`` it on the run's program and data to run trials with the other workers."""
    url = storage_url(run_name, storage)
    deadline = time.monotonic() + wait
    settings = _stored_settings(run_name, url)
    while not settings and time.monotonic() < deadline:  # not started, or just being started
        time.sleep(1.0)
        settings = _stored_settings(run_name, url)
    if settings is None:
        raise ConfigurationError(
            f"there is no run {run_name!r} in {url}: start it first (mipro optimize --run-name "
            f"{run_name} --storage URL ..., or compile with run_name and storage), then start "
            "workers")
    if not settings:
        raise ConfigurationError(
            f"run {run_name!r} in {url} stores no settings to join it with (it was started by an "
            "older mipro): start the other processes the way it was started")
    for make in OPTIMIZERS.values():
        candidate = make(metric, **settings["options"])
        plan = json.loads(json.dumps(candidate.plan.fingerprint(), default=str))
        if type(candidate).__name__ == settings["optimizer"] and plan == settings["plan"]:
            return make(metric, **settings["options"], run_name=run_name, storage=storage, **local)
    raise ConfigurationError(
        f"run {run_name!r} in {url} was started by a {settings['optimizer']} with a plan none "
        "of mipro's optimizers has (custom options): start the other processes the way it was "
        "started (the same script, with the same run_name and storage)")


def _stored_settings(run_name: str, url: str) -> dict[str, Any] | None:
    """The run's stored settings (empty when it stores none); ``None`` when there is no run."""
    try:
        return RunStudy.open_existing(run_name, url).settings
    except KeyError:
        return None
