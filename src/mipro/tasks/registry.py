"""The built-in tasks by name."""

from __future__ import annotations

from collections.abc import Callable

from mipro.errors import ConfigurationError
from mipro.tasks.breast_cancer import load_breast_cancer
from mipro.tasks.heart_disease import load_heart_disease
from mipro.tasks.hotpotqa import load_hotpotqa
from mipro.tasks.hotpotqa_conditional import load_hotpotqa_conditional
from mipro.tasks.hover import load_hover
from mipro.tasks.iris import load_iris, load_iris_typo
from mipro.tasks.scone import load_scone
from mipro.tasks.task import Task
from mipro.tasks.wine import load_wine

_LOADERS: dict[str, Callable[[], Task]] = {
    "breast_cancer": load_breast_cancer,
    "heart_disease": load_heart_disease,
    "hotpotqa": load_hotpotqa,
    "hotpotqa_conditional": load_hotpotqa_conditional,
    "hover": load_hover,
    "iris": load_iris,
    "iris_typo": load_iris_typo,
    "scone": load_scone,
    "wine": load_wine,
}


def available_tasks() -> list[str]:
    """The names of the built-in tasks, sorted."""
    return sorted(_LOADERS)


def load_task(name: str) -> Task:
    """The built-in task called ``name``, with its data read from the package."""
    try:
        loader = _LOADERS[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown task {name!r}; available tasks: {', '.join(available_tasks())}"
        ) from None
    return loader()
