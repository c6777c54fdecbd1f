"""Driving wrk with generated Lua: unary and batched pings over many device tokens.

The server rejects device times outside its window (FILTER_PAST_S / FILTER_FUTURE_S)
and counts the same driver and device time twice as a duplicate, so request k (numbered
across wrk threads) goes to driver k mod N, whose i-th request (i = k div N) has
ts = base + i * step (+ j ms for the j-th ping of a batch), base being the wall clock
when the phase starts: unique per driver, increasing per driver, and within seconds of
now. Positions stay within a few metres per driver so no fix looks like a jump.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

INGEST_PATH = "/api/v1/driver/pings"
_MARK = "BENCHJSON "

_LUA = r"""
local tokens = {%(tokens)s}
local ntok = #tokens
local base = %(base).3f
local step = %(step).6f
local nthreads = %(threads)d
local per_request = %(per_request)d
local path = "%(path)s"

local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

local n = 0
local fmt = string.format
local function ping(k, i, j)
  -- Drivers on a ~2 km grid around Berlin, each jittering by a few metres.
  local d = k %% ntok
  local lat = 52.45 + (d %% 100) * 0.0012 + (i %% 7) * 0.00001
  local lng = 13.30 + math.floor(d / 100) * 0.0012
  return fmt('{"lat":%%.6f,"lng":%%.6f,"ts":%%.3f,"speed_mps":8.5,"heading":90}', lat, lng, base + i * step + j * 0.001)
end

function request()
  n = n + 1
  local k = n * nthreads + tid
  local i = math.floor(k / ntok)
  local body
  if per_request == 1 then
    body = ping(k, i, 0)
  else
    local parts = {}
    for j = 1, per_request do parts[j] = ping(k, i, j - 1) end
    body = '{"pings":[' .. table.concat(parts, ",") .. ']}'
  end
  local headers = {}
  headers["Authorization"] = "Bearer " .. tokens[(k %% ntok) + 1]
  headers["Content-Type"] = "application/json"
  return wrk.format("POST", path, headers, body)
end

-- Count what the server says it accepted: a batch answers 202 even when it rejects some pings.
accepted = 0
function response(status, headers, body)
  if status == 202 then
    local a = string.match(body, '"accepted":(%%d+)')
    if a then accepted = accepted + tonumber(a) end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("accepted") end
  io.write(fmt('%(mark)s{"accepted":%%d,"duration_us":%%d,"requests":%%d,"bytes":%%d,' ..
    '"connect_errors":%%d,"read_errors":%%d,' ..
    '"write_errors":%%d,"status_errors":%%d,"timeouts":%%d,"lat_p50_us":%%d,"lat_p90_us":%%d,' ..
    '"lat_p99_us":%%d,"lat_max_us":%%d}\n',
    total, summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


class WrkMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class WrkResult:
    duration_s: float
    requests: int
    non_2xx: int  # wrk counts statuses >= 400
    socket_errors: int
    timeouts: int
    pings_per_request: int
    accepted: int  # pings the server reported accepted in its 202 answers
    lat_p50_ms: float
    lat_p90_ms: float
    lat_p99_ms: float
    lat_max_ms: float

    @property
    def pings_per_s(self) -> float:
        return self.accepted / self.duration_s

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise WrkMissing(
            "wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`, "
            "then run the bench again"
        )
    return found


def write_script(path: Path, tokens: list[str], base: float, step: float, threads: int, per_request: int) -> Path:
    script = _LUA % {
        "tokens": ",".join(f'"{t}"' for t in tokens),
        "base": base,
        "step": step,
        "threads": threads,
        "per_request": per_request,
        "path": INGEST_PATH,
        "mark": _MARK,
    }
    path.write_text(script)
    return path


def run_wrk(
    url: str,
    script: Path,
    duration_s: float,
    threads: int,
    connections: int,
    per_request: int,
    log: Path,
    on_started: Callable[[int], None] = lambda pid: None,
) -> WrkResult:
    argv = [
        wrk_binary(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url + INGEST_PATH,
    ]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        on_started(proc.pid)
        stdout, stderr = proc.communicate(timeout=duration_s + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n{stdout}{stderr}\n")
    line = next((ln for ln in stdout.splitlines() if ln.startswith(_MARK)), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {proc.returncode}):\n{stdout}{stderr}")
    raw = orjson.loads(line[len(_MARK) :])
    return WrkResult(
        duration_s=raw["duration_us"] / 1e6,
        requests=raw["requests"],
        non_2xx=raw["status_errors"],
        socket_errors=raw["connect_errors"] + raw["read_errors"] + raw["write_errors"],
        timeouts=raw["timeouts"],
        pings_per_request=per_request,
        accepted=raw["accepted"],
        lat_p50_ms=raw["lat_p50_us"] / 1000,
        lat_p90_ms=raw["lat_p90_us"] / 1000,
        lat_p99_ms=raw["lat_p99_us"] / 1000,
        lat_max_ms=raw["lat_max_us"] / 1000,
    )
