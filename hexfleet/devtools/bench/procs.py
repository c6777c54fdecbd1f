"""Child processes of the bench and what /proc says about them (CPU time, memory).

Servers run in their own session (so a terminal Ctrl-C reaches only the bench, which
then stops them in order) and are stopped as a whole process group: uvicorn's workers
included. Linux only, like the deployment target.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hexfleet.devtools.embedded import die_with_parent

STOP_TIMEOUT_S = 10.0
_TICKS = os.sysconf("SC_CLK_TCK")


class Proc:
    """A server process started by the bench, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> None:
        self.name = name
        self.argv = argv
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                argv,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent(),
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM the whole group, then SIGKILL whatever is left after ``timeout``."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        # The leader may be gone while its workers linger: always sweep the group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)


def stop_all(procs: Iterable[Proc]) -> None:
    for proc in procs:
        try:
            proc.stop()
        except Exception as error:  # keep stopping the others
            print(f"bench: could not stop {proc.name}: {error}", flush=True)


# --- /proc ------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may contain spaces and parentheses: split after the last ')'.
    return raw[raw.rfind(")") + 2 :].split()


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def descendants(roots: Iterable[int]) -> set[int]:
    """The roots and every process below them (one scan of /proc)."""
    children: dict[int, list[int]] = {}
    for pid in _all_pids():
        fields = _stat_fields(pid)
        if fields:
            children.setdefault(int(fields[1]), []).append(pid)
    found: set[int] = set()
    stack = [r for r in roots if r]
    while stack:
        pid = stack.pop()
        if pid in found:
            continue
        found.add(pid)
        stack.extend(children.get(pid, ()))
    return found


def cpu_seconds(pids: Iterable[int]) -> float:
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / _TICKS


def machine_busy_seconds() -> tuple[float, float, float]:
    """(busy, total, irq) CPU seconds of the whole machine since boot, summed over cores.

    irq is interrupt and softirq time: on loopback most TCP work runs there and is
    charged to no process.
    """
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already inside user
    irq = values[5] + values[6] if len(values) > 6 else 0
    return (total - idle) / _TICKS, total / _TICKS, irq / _TICKS


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def pids_with_cmdline(fragment: str) -> list[int]:
    out = []
    for pid in _all_pids():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fragment in cmdline:
            out.append(pid)
    return out


def listening_pid(port: int) -> int | None:
    """The process holding a TCP listening socket on ``port`` (IPv4 loopback or any)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(parts[9])
    if not inodes:
        return None
    targets = {f"socket:[{i}]" for i in inodes}
    for pid in _all_pids():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in targets:
                    return pid
    return None


@dataclass
class CpuSample:
    at: float
    busy: float
    total: float
    irq: float
    groups: dict[str, float] = field(default_factory=dict)


class CpuMeter:
    """CPU used per named group of processes (each a root pid and its descendants).

    Used to say what ran out of CPU in each phase: on two shared cores the load
    generator, the broker and the servers all compete.
    """

    def __init__(self) -> None:
        self.roots: dict[str, list[int]] = {}

    def track(self, group: str, pid: int | None) -> None:
        if pid:
            self.roots.setdefault(group, []).append(pid)

    def untrack(self, group: str) -> None:
        self.roots.pop(group, None)

    def sample(self) -> CpuSample:
        busy, total, irq = machine_busy_seconds()
        groups = {name: cpu_seconds(descendants(roots)) for name, roots in self.roots.items()}
        # The load tools (wrk, SSE readers, load generator) are our children and are waited
        # for before the phase's closing sample, so their whole CPU time is here by then.
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        groups["load"] = children.ru_utime + children.ru_stime
        return CpuSample(time.monotonic(), busy, total, irq, groups)

    @staticmethod
    def usage(before: CpuSample, after: CpuSample) -> dict[str, float]:
        """Cores used per group between two samples (1.0 = one core busy), plus machine and other."""
        wall = max(after.at - before.at, 1e-6)
        out: dict[str, float] = {}
        for name, value in after.groups.items():
            if name in before.groups:
                out[name] = max(0.0, value - before.groups[name]) / wall
        out["irq"] = (after.irq - before.irq) / wall
        out["machine"] = (after.busy - before.busy) / wall
        out["other"] = max(0.0, out["machine"] - sum(v for k, v in out.items() if k != "machine"))
        return out
