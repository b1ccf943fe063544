"""How far a long command has got (import, export, backup, restore, audit), on stderr: a bar
with the rate and the time left on a terminal (rich), and a plain line every few seconds
otherwise (a log, a pipe, a scheduled job), so stdout keeps only what the command writes.

The work reports itself through a callback `(done, total)`, total None when unknown; a
`Meter` is one. A run shorter than the interval writes no plain line at all."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

# How the work reports: units done, and of how many (None: not known).
Callback = Callable[[int, int | None], object]


class _Rate(ProgressColumn):
    """Units done a second, over the last moments (rich's estimate)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self._unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        shown = "—" if speed is None else f"{speed:,.0f}"
        return Text(f"{shown} {self._unit}/秒", style="progress.data.speed")


class Meter:
    """The callback of one piece of work, shown while it runs (a context manager)."""

    def __init__(
        self,
        what: str,
        unit: str,
        *,
        total: int | None = None,
        every: float = 10.0,
        stream: TextIO | None = None,
    ) -> None:
        self.what = what
        self.unit = unit
        self.total = total
        self.done = 0
        self._every = every
        self._stream = stream if stream is not None else sys.stderr
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._start = self._last = time.monotonic()
        self._last_done = 0
        self._lines = 0

    def __enter__(self) -> Meter:
        self._start = self._last = time.monotonic()
        console = Console(file=self._stream)
        if console.is_terminal:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.completed:,.0f}/{task.fields[of]} " + self.unit),
                _Rate(self.unit),
                TextColumn("剩余"),
                TimeRemainingColumn(),
                console=console,
                transient=True,
                # What the command writes to stdout (an export) goes there as it is, not
                # through the bar's console: a million lines would crawl through it.
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.what, total=self.total, of=self._of())
        return self

    def __call__(self, done: int, total: int | None = None) -> None:
        if total is not None:
            self.total = total
        self.done = done
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=done, total=self.total, of=self._of())
            return
        now = time.monotonic()
        if now - self._last >= self._every:
            rate = (done - self._last_done) / (now - self._last)
            self._say(f"{self._so_far()}，{rate:,.0f} {self.unit}/秒{self._left(rate)}")
            self._last, self._last_done = now, done

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            return
        if self._lines and error is None:
            took = _clock(time.monotonic() - self._start)
            self._say(f"完成，{self.done:,} {self.unit}，用时 {took}")

    def _of(self) -> str:
        return "?" if self.total is None else f"{self.total:,}"

    def _so_far(self) -> str:
        if self.total is None:
            return f"{self.done:,} {self.unit}"
        share = 100 * self.done / self.total if self.total else 100.0
        return f"{self.done:,}/{self.total:,} {self.unit}（{share:.0f}%）"

    def _left(self, rate: float) -> str:
        if self.total is None or rate <= 0:
            return ""
        return f"，约剩 {_clock(max(self.total - self.done, 0) / rate)}"

    def _say(self, text: str) -> None:
        print(f"{self.what}：{text}", file=self._stream, flush=True)
        self._lines += 1


def _clock(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


@contextmanager
def meter(what: str, unit: str, *, every: float, total: int | None = None) -> Iterator[Meter]:
    """A meter on stderr for the work of the block."""
    with Meter(what, unit, total=total, every=every) as shown:
        yield shown
