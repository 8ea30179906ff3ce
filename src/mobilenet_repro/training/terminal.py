"""What a long job shows on the terminal while it runs: how far, how fast, how long still.

A job's standard error goes to its log (jobs.log_to), so its per-epoch lines reach only the
log; the terminal Snakemake runs in showed nothing for the whole of a one-hour CIFAR-10 run.
`Pacer` sends a line to the terminal too (jobs.tell) at most every `TERMINAL_EVERY_S` seconds:
a run or extraction of under half a minute (every job of the default configuration but the
longest) prints none, a long one about two lines a minute, each with its rate and the time
left at that rate.
"""

from __future__ import annotations

import time

from mobilenet_repro import jobs

# At most one terminal line per job this often: with two jobs at a time, about four lines a
# minute, few enough to leave Snakemake's own lines readable.
TERMINAL_EVERY_S = 30.0


def duration(seconds: float) -> str:
    """45s, 3m05s, 1h02m: a time left, to the precision that matters."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{s:02d}s"
    hours, m = divmod(minutes, 60)
    return f"{hours}h{m:02d}m"


def rate_and_left(done: float, total: float, seconds: float, unit: str) -> str:
    """'412 img/s, ~3m05s left': the rate so far and the time the rest takes at that rate."""
    if done <= 0 or seconds <= 0:
        return f"? {unit}/s"
    rate = done / seconds
    return f"{rate:,.0f} {unit}/s, ~{duration(max(total - done, 0) / rate)} left"


class Pacer:
    """Says when the next terminal line is due: `every_s` seconds after the last one (or
    after the pacer started), never more often."""

    def __init__(self, every_s: float | None = None, clock=time.monotonic):
        self.every_s = TERMINAL_EVERY_S if every_s is None else every_s
        self.clock = clock
        self.last = clock()

    def due(self) -> bool:
        return self.clock() - self.last >= self.every_s

    def tell(self, line: str) -> None:
        """Show `line` on the terminal (inside a workflow job) and restart the wait."""
        jobs.tell(line)
        self.last = self.clock()
