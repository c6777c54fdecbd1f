"""The simulator's output: counts, the progress bar or periodic summary lines, and
rate-limited one-line warnings (never a traceback)."""

from __future__ import annotations

import asyncio
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from hexfleet.devtools.sim.config import SimConfig

SUMMARY_EVERY_S = 30.0
WARN_EVERY_S = 15.0


@dataclass
class Stats:
    sent: int = 0  # pings answered 2xx
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: int = 0  # unreachable, timeouts, 5xx and other unexpected answers
    token_rejected: bool = False
    # Rides, as the demo riders and drivers saw them.
    booked: int = 0
    scheduled: int = 0  # of the booked, for later
    assigned: int = 0  # offers a demo driver accepted
    completed: int = 0
    cancelled: int = 0  # by a demo rider, or seen cancelled by staff
    no_driver: int = 0  # bookings that found no driver

    def rides_line(self) -> str:
        return (
            f"rides: {self.booked} booked ({self.scheduled} scheduled), {self.assigned} assigned, "
            f"{self.completed} completed, {self.cancelled} cancelled, {self.no_driver} no driver"
        )


@dataclass
class Reporter:
    """Counts, the progress bar or periodic summary lines, and rate-limited warnings."""

    config: SimConfig
    stats: Stats = field(default_factory=Stats)
    started: float = field(default_factory=time.monotonic)
    bar: Any = None
    _warned: dict[str, float] = field(default_factory=dict)
    _last_error_at: float = 0.0
    _failing: bool = False

    def open(self) -> None:
        self.started = time.monotonic()  # the rate counts driving time, not the wait for the server
        self.bar = tqdm(
            desc="simulate", unit=" pings", dynamic_ncols=True, disable=not self.config.progress, smoothing=0.1
        )

    def say(self, message: str, *, error: bool = False) -> None:
        out = sys.stderr if error else sys.stdout
        if self.bar is not None and not self.bar.disable:
            self.bar.write(message, file=out)
        else:
            print(message, file=out, flush=True)

    def warn(self, kind: str, message: str) -> None:
        """One line per kind of problem at most every WARN_EVERY_S, never a traceback."""
        now = time.monotonic()
        if now - self._warned.get(kind, -math.inf) >= WARN_EVERY_S:
            self._warned[kind] = now
            self.say(f"simulate: warning: {message}", error=True)

    def failed(self, kind: str, message: str) -> None:
        self.stats.errors += 1
        self._last_error_at, self._failing = time.monotonic(), True
        self.warn(kind, f"{message}; retrying with backoff ({self.stats.errors} errors so far)")

    def tick(self) -> None:
        if self._failing and time.monotonic() - self._last_error_at > max(5.0, 2 * self.config.interval):
            self._failing = False
            self._warned.clear()
            self.say("simulate: the server is answering again")
        if self.bar is not None and not self.bar.disable:
            s = self.stats
            # A dict keeps this order (keyword arguments tqdm would sort).
            postfix = {"accepted": s.accepted, "errors": s.errors, "booked": s.booked, "assigned": s.assigned}
            postfix.update(completed=s.completed, cancelled=s.cancelled, no_driver=s.no_driver)
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(s.sent - self.bar.n)

    def summary(self, final: bool = False) -> str:
        s, elapsed = self.stats, time.monotonic() - self.started
        rate = s.sent / elapsed if elapsed > 0 else 0.0
        head = "stopped after" if final else "running for"
        return (
            f"simulate: {head} {format_duration(elapsed)}: {s.sent} pings sent ({rate:.1f}/s), "
            f"{s.accepted} accepted, {s.duplicates} duplicates, {s.rejected} rejected, {s.errors} errors; "
            f"{s.rides_line()}"
        )

    async def run(self, stop: asyncio.Event) -> None:
        next_summary = time.monotonic() + SUMMARY_EVERY_S
        while not stop.is_set():
            await pause(stop, 0.5)
            self.tick()
            if not self.config.progress and time.monotonic() >= next_summary:
                next_summary += SUMMARY_EVERY_S
                self.say(self.summary())

    def close(self) -> None:
        self.tick()
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.say(self.summary(final=True))


def format_duration(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"


def describe_error(error: Exception) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep up to ``seconds``, waking early when ``stop`` is set."""
    if seconds > 0 and not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), seconds)
        except TimeoutError:
            pass
