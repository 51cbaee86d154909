"""Progress bars for long work (rich), silent when disabled or not on a terminal."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class ProgressBar:
    """One task of a rich progress display."""

    def __init__(self, progress: Progress | None, total: int, description: str) -> None:
        self._progress = progress
        self._task = progress.add_task(description, total=total, status="") if progress else None

    def advance(self, status: str = "", steps: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=steps, status=status)


@contextlib.contextmanager
def progress_bar(description: str, total: int, *, enabled: bool = True) -> Iterator[ProgressBar]:
    """A progress bar for ``total`` steps; ``advance()`` moves it and shows a status text."""
    if not enabled:
        yield ProgressBar(None, total, description)
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), TextColumn("{task.fields[status]}"), transient=True,
    )
    with progress:
        bar = ProgressBar(progress, total, description)
        yield bar
