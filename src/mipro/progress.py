"""Progress bars for long work (rich). Nested bars share one live display."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

console = Console(stderr=True, soft_wrap=True)
"""Where mipro prints progress and run reports (stderr)."""

_lock = threading.Lock()
_active: list[Progress] = []


class ProgressBar:
    """One task of a rich progress display; a no-op when disabled."""

    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self._progress = progress
        self._task = task

    def advance(self, status: str = "", steps: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=steps, status=status)

    def log(self, message: str) -> None:
        """Print a line above the live bars (or plainly when there are none)."""
        target = self._progress.console if self._progress is not None else console
        target.print(message, highlight=False)


@contextlib.contextmanager
def progress_bar(description: str, total: int, *, enabled: bool = True) -> Iterator[ProgressBar]:
    """A bar for ``total`` steps; inside another bar it is drawn as a transient second line."""
    if not enabled:
        yield ProgressBar(None, None)
        return
    with _lock:
        outer = _active[-1] if _active else None
    if outer is not None:
        task = outer.add_task(description, total=total, status="")
        try:
            yield ProgressBar(outer, task)
        finally:
            outer.remove_task(task)
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
        console=console, transient=True,
    )
    with progress:
        with _lock:
            _active.append(progress)
        try:
            yield ProgressBar(progress, progress.add_task(description, total=total, status=""))
        finally:
            with _lock:
                _active.remove(progress)
