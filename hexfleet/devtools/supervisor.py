"""Run the Procfile's processes for `hexfleet dev`, and restart the ones that crash.

honcho (used before) stops every process as soon as one exits: a killed worker took the
web app, the tracker and the embedded servers down with it. Here a process that exits on
its own is restarted after a backoff (1 s, doubling to 30 s; back to 1 s once it has run
for a minute), and the others never notice. A process that exits with status 0 (the
simulator after --duration) is done and stays stopped.

Output is prefixed like honcho's (``12:00:01 web.1 | ...``). Each process runs in its own
process group, so a stop reaches the children a shell starts too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
HEALTHY_AFTER_S = 60.0  # a process that ran this long starts its backoff afresh
STOP_TIMEOUT_S = 10.0
COLOURS = ("36", "33", "35", "32", "34", "31")


@dataclass(frozen=True)
class Spec:
    name: str
    command: str


def read_procfile(path: Path) -> dict[str, Spec]:
    """``name: command`` lines (comments and blank lines skipped), as Procfile runners read them."""
    specs: dict[str, Spec] = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line.strip())
        if match:
            specs[match[1]] = Spec(match[1], match[2])
    return specs


@dataclass
class Running:
    spec: Spec
    colour: str
    proc: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    backoff: float = FIRST_BACKOFF_S
    restarts: int = 0
    done: bool = False
    reader: asyncio.Task | None = field(default=None, repr=False)


class Supervisor:
    def __init__(
        self,
        specs: list[Spec],
        env: dict[str, str],
        cwd: Path,
        on_change: Callable[[dict[str, int]], None] = lambda pids: None,
        out=sys.stdout,
    ) -> None:
        self.env = env
        self.cwd = cwd
        self.on_change = on_change  # told the pids whenever a process (re)starts
        self.out = out
        self.colour = out.isatty() and "NO_COLOR" not in os.environ
        self.width = max(len(s.name) for s in specs) + 2
        self.running = {s.name: Running(s, COLOURS[i % len(COLOURS)]) for i, s in enumerate(specs)}
        self.stopping = False

    # --- output ---

    def say(self, name: str, text: str, colour: str = "0") -> None:
        label = f"{time.strftime('%H:%M:%S')} {name:<{self.width}} |"
        if self.colour:
            label = f"\033[{colour}m{label}\033[0m"
        print(f"{label} {text}", file=self.out, flush=True)

    async def _pump(self, run: Running) -> None:
        assert run.proc is not None and run.proc.stdout is not None
        while True:
            line = await run.proc.stdout.readline()
            if not line:
                return
            self.say(f"{run.spec.name}.1", line.decode(errors="replace").rstrip(), run.colour)

    # --- lifecycle ---

    async def _start(self, run: Running) -> None:
        run.proc = await asyncio.create_subprocess_exec(
            "/bin/sh", "-c", "exec " + run.spec.command,  # exec: the pid is the process itself
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        run.started_at = time.monotonic()
        run.reader = asyncio.create_task(self._pump(run))
        self.say("system", f"{run.spec.name}.1 started (pid={run.proc.pid})")
        self.on_change(self.pids())

    def pids(self) -> dict[str, int]:
        return {name: r.proc.pid for name, r in self.running.items() if r.proc is not None and not r.done}

    async def _watch(self, run: Running) -> None:
        """Keep one process running until the supervisor stops (or it finishes with status 0)."""
        while not self.stopping:
            await self._start(run)
            assert run.proc is not None
            code = await run.proc.wait()
            if run.reader is not None:
                await run.reader
            if self.stopping:
                return
            if code == 0:
                run.done = True
                self.say("system", f"{run.spec.name}.1 finished")
                self.on_change(self.pids())
                return
            if time.monotonic() - run.started_at > HEALTHY_AFTER_S:
                run.backoff = FIRST_BACKOFF_S
            run.restarts += 1
            self.say(
                "system",
                f"{run.spec.name}.1 exited with {_describe(code)}; restarting in {run.backoff:g} s "
                f"(restart {run.restarts}); the other processes keep running",
            )
            await asyncio.sleep(run.backoff)
            run.backoff = min(run.backoff * 2, MAX_BACKOFF_S)

    async def run(self, stop: asyncio.Event) -> None:
        """Start everything and keep it running until ``stop`` is set; then stop every process."""
        watchers = [asyncio.create_task(self._watch(r)) for r in self.running.values()]
        await stop.wait()
        self.stopping = True
        await self.stop_all()
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)

    async def stop_all(self) -> None:
        alive = [r for r in self.running.values() if r.proc is not None and r.proc.returncode is None]
        for run in alive:
            self.say("system", f"sending SIGTERM to {run.spec.name}.1 (pid {run.proc.pid})")  # type: ignore[union-attr]
            _signal_group(run.proc.pid, signal.SIGTERM)  # type: ignore[union-attr]
        for run in alive:
            try:
                await asyncio.wait_for(run.proc.wait(), STOP_TIMEOUT_S)  # type: ignore[union-attr]
            except TimeoutError:
                self.say("system", f"{run.spec.name}.1 did not stop within {STOP_TIMEOUT_S:g} s: SIGKILL")
                _signal_group(run.proc.pid, signal.SIGKILL)  # type: ignore[union-attr]
                await run.proc.wait()  # type: ignore[union-attr]
            if run.reader is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(run.reader, 2)
            self.say("system", f"{run.spec.name}.1 stopped")


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"status {code}"
