"""The paper's tasks: programs, data splits and metrics, usable offline.

``load_task("hotpotqa")`` returns a ``Task``; ``available_tasks()`` lists the names.
"""

from mipro.tasks.registry import available_tasks, load_task
from mipro.tasks.task import Task

__all__ = ["Task", "available_tasks", "load_task"]
