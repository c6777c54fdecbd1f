"""The bench's table (for people) and its last line: one JSON object of numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

from hexfleet.devtools.bench import rides_report
from hexfleet.devtools.bench.metrics import IngestCounters
from hexfleet.devtools.bench.sse import SseResult, percentiles
from hexfleet.devtools.bench.wrk import WrkResult

TARGET_UNARY = 10_000
TARGET_BATCH = 60_000
TARGET_SSE_P99_MS = 200.0
TARGET_SSE_RATE = 2_000
TARGET_SSE_CLIENTS = 500
CPU_GROUPS = ("web", "tracker", "worker", "tansu", "postgres", "redis", "load", "irq")
STACK_GROUPS = ("web", "tracker", "tansu", "postgres", "redis", "irq")


@dataclass
class Phase:
    key: str  # unary | batch | bare_unary | bare_batch
    label: str
    wrk: WrkResult
    cpu: dict[str, float]
    counters: IngestCounters | None = None
    settle_s: float = 0.0
    tracker: dict = field(default_factory=dict)  # records and batches the tracker took in this phase

    @property
    def pings_per_s(self) -> float:
        return self.wrk.pings_per_s


@dataclass
class Report:
    cores: int
    web_workers: int
    drivers: int
    threads: int
    connections: int
    batch_connections: int
    duration_s: float
    batch_size: int
    load_before: float
    phases: dict[str, Phase] = field(default_factory=dict)
    sse: SseResult | None = None
    sse_cpu: dict[str, float] = field(default_factory=dict)
    sse_settle_s: float = 0.0
    idle_cpu: dict[str, float] = field(default_factory=dict)
    totals: IngestCounters | None = None
    tracker: dict = field(default_factory=dict)
    tansu_rss_mb: float | None = None
    rides: rides_report.RidesReport | None = None
    notes: list[str] = field(default_factory=list)


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _ok(passed: bool) -> str:
    return "yes" if passed else "NO"


def _cpu(cpu: dict[str, float]) -> str:
    parts = [f"{g} {cpu[g]:.2f}" for g in CPU_GROUPS if g in cpu]
    parts.append(f"other {cpu.get('other', 0.0):.2f}")
    return f"{' '.join(parts)} | machine {cpu.get('machine', 0.0):.2f}"


def render(r: Report) -> tuple[str, dict[str, float]]:
    out: list[str] = []
    numbers: dict[str, float] = {
        "cores": r.cores,
        "web_workers": r.web_workers,
        "drivers": r.drivers,
        "wrk_threads": r.threads,
        "wrk_connections": r.connections,
        "wrk_batch_connections": r.batch_connections,
        "wrk_duration_s": r.duration_s,
        "batch_size": r.batch_size,
        "load_avg_before": round(r.load_before, 2),
    }
    out.append("")
    out.append(
        f"hexfleet bench: {r.cores} cores shared by everything (servers, broker, databases, load tools), "
        f"{r.web_workers} web workers, {r.drivers:,} drivers, "
        f"wrk -t{r.threads} -c{r.connections} (batches -c{r.batch_connections}) "
        f"-d{r.duration_s:g}s, fresh Tansu broker; 1-min load average before start {r.load_before:.2f}"
    )
    out.append(
        "CPU columns: cores used during the phase (1.00 = one full core of the machine's "
        f"{r.cores}); 'tracker' = `python -m streaming` (tracker and outbox relay); 'worker' = the arq "
        "worker (rides phases only); 'load' = wrk or the load tools; 'irq' = interrupts "
        "and softirqs (loopback TCP); 'other' = every other process on the machine."
    )
    out.append("")
    header = (
        f"{'phase':<22}{'pings/s':>10}{'target':>9}{'met':>5}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'errors':>7}{'web us/ping':>13}{'stack us/ping':>15}{'CPU ceiling':>13}"
    )
    out.append(header)
    out.append("-" * len(header))
    if r.idle_cpu:
        out.append(f"{'idle stack (no load)':<22}")
        out.append(f"    CPU {_cpu(r.idle_cpu)}")
        for group, used in r.idle_cpu.items():
            numbers[f"idle_cpu_{group}"] = round(used, 2)
    targets = {"unary": TARGET_UNARY, "batch": TARGET_BATCH}
    for key in ("unary", "batch", "bare_unary", "bare_batch"):
        phase = r.phases.get(key)
        if phase is None:
            continue
        w = phase.wrk
        target = targets.get(key)
        met = _ok(phase.pings_per_s >= target) if target else ""
        pings = max(phase.pings_per_s, 1e-9)
        web_us = phase.cpu.get("web", 0.0) * 1e6 / pings
        stack_us = sum(phase.cpu.get(g, 0.0) for g in STACK_GROUPS) * 1e6 / pings
        ceiling = r.cores * 1e6 / stack_us if stack_us else 0.0
        out.append(
            f"{phase.label:<22}{_n(phase.pings_per_s):>10}{(f'>= {target // 1000}k' if target else ''):>9}{met:>5}"
            f"{_n(w.requests_per_s):>8}{w.lat_p50_ms:>8.1f}{w.lat_p99_ms:>8.1f}{w.non_2xx + w.socket_errors:>7}"
            f"{web_us:>13.1f}{stack_us:>15.1f}{_n(ceiling):>13}"
        )
        out.append(f"    CPU {_cpu(phase.cpu)}")
        numbers[f"{key}_pings_per_s"] = round(phase.pings_per_s, 1)
        numbers[f"{key}_requests_per_s"] = round(w.requests_per_s, 1)
        numbers[f"{key}_req_p50_ms"] = round(w.lat_p50_ms, 2)
        numbers[f"{key}_req_p99_ms"] = round(w.lat_p99_ms, 2)
        numbers[f"{key}_non_2xx"] = w.non_2xx
        numbers[f"{key}_socket_errors"] = w.socket_errors + w.timeouts
        numbers[f"{key}_web_us_per_ping"] = round(web_us, 2)
        numbers[f"{key}_stack_us_per_ping"] = round(stack_us, 2)
        numbers[f"{key}_cpu_ceiling_pings_per_s"] = round(ceiling, 1)
        for group, used in phase.cpu.items():
            numbers[f"{key}_cpu_{group}"] = round(used, 2)
        if target:
            numbers[f"{key}_target_pings_per_s"] = target
    for kind in ("unary", "batch"):
        real, bare = r.phases.get(kind), r.phases.get(f"bare_{kind}")
        if real and bare and bare.pings_per_s:
            numbers[f"{kind}_real_to_bare"] = round(real.pings_per_s / bare.pings_per_s, 3)
            bare_web_us = numbers[f"bare_{kind}_web_us_per_ping"]
            if bare_web_us:
                numbers[f"{kind}_web_cost_real_to_bare"] = round(numbers[f"{kind}_web_us_per_ping"] / bare_web_us, 2)
    ratios = [
        f"{k} {numbers[f'{k}_real_to_bare']:.2f} "
        f"(web CPU per ping {numbers.get(f'{k}_web_cost_real_to_bare', 0):.1f}x bare)"
        for k in ("unary", "batch")
        if f"{k}_real_to_bare" in numbers
    ]
    if ratios:
        out.append(f"{'real / bare pings/s':<22}{', '.join(ratios)}")
    out.append(
        "us/ping: CPU microseconds per accepted ping, in the web processes and in the whole stack (web, tracker, "
        f"tansu, postgres, redis, irq); CPU ceiling = {r.cores} cores / stack us per ping, the rate if the stack "
        "had the machine to itself and scaled linearly. Both hold up better than pings/s on a busy machine."
    )
    for key in ("unary", "batch"):
        phase = r.phases.get(key)
        if phase and phase.counters:
            c = phase.counters
            sent = phase.wrk.requests * phase.wrk.pings_per_request
            reasons = ", ".join(f"{k} {_n(v)}" for k, v in sorted(c.rejected.items()))
            # The counters also include requests still in flight when wrk stopped (not in its count).
            out.append(
                f"  {phase.label}: {_n(phase.wrk.accepted)} of {_n(sent)} pings answered as accepted "
                f"(server counters: {_n(c.accepted)} accepted), duplicates "
                f"{_n(c.duplicates)}, rejected {_n(c.rejected_total)}{f' ({reasons})' if reasons else ''}; "
                f"tracker caught up {phase.settle_s:.0f} s after the phase"
            )
            records, batches = phase.tracker.get("records", 0), phase.tracker.get("batches", 0)
            if batches:
                out.append(
                    f"    tracker took {_n(records)} records in {_n(batches)} batches "
                    f"({records / batches:,.1f} records, {records / batches * phase.wrk.pings_per_request:,.0f} pings "
                    "per batch; each batch costs a PostgreSQL insert, a Redis pipeline and an offset commit)"
                )
                numbers[f"{key}_tracker_records_per_batch"] = round(records / batches, 1)
            numbers[f"{key}_pings_sent"] = sent
            numbers[f"{key}_pings_accepted"] = phase.wrk.accepted
            numbers[f"{key}_server_pings_accepted"] = c.accepted
            numbers[f"{key}_pings_rejected"] = c.rejected_total
            numbers[f"{key}_pings_duplicate"] = c.duplicates
            numbers[f"{key}_tracker_catch_up_s"] = round(phase.settle_s, 1)
    if r.sse is not None:
        _render_sse(r, out, numbers)
    if r.rides is not None:
        rides_report.render(r.rides, out, numbers, _cpu)
    out.append("")
    if r.tracker:
        t = r.tracker
        batches = t.get("batches", 0)
        per_batch = f" ({t.get('records', 0) / batches:,.1f} records per batch)" if batches else ""
        out.append(
            f"tracker: {_n(t.get('records', 0))} records in {_n(batches)} batches{per_batch}, "
            f"{_n(t.get('history_rows', 0))} history rows written, lag {_n(t.get('lag', 0))}, "
            f"bad events {_n(t.get('bad_events', 0))}"
        )
        for figure in ("records", "batches", "history_rows", "lag", "bad_events"):
            numbers[f"tracker_{figure}"] = t.get(figure, 0)
    if r.totals is not None:
        c = r.totals
        rejected = ", ".join(f"{k} {_n(v)}" for k, v in sorted(c.rejected.items())) or "none"
        out.append(
            f"web counters (whole run, {c.workers_seen} of {r.web_workers} workers seen): accepted {_n(c.accepted)} "
            f"(per worker {'/'.join(_n(a) for a in c.per_worker_accepted)}), "
            f"duplicates {_n(c.duplicates)}, rejected {rejected}, subscribers dropped {_n(c.hub_dropped)}"
        )
        numbers["pings_accepted_total"] = c.accepted
        numbers["pings_duplicate_total"] = c.duplicates
        numbers["pings_rejected_total"] = c.rejected_total
        numbers["hub_dropped_total"] = c.hub_dropped
        numbers["web_workers_seen"] = c.workers_seen
    if r.tansu_rss_mb is not None:
        out.append(f"Tansu broker RSS at the end: {r.tansu_rss_mb:,.0f} MB (memory engine: keeps every message)")
        numbers["tansu_rss_mb"] = round(r.tansu_rss_mb, 1)
    for note in r.notes:
        out.append(f"note: {note}")
    return "\n".join(out), numbers


def _render_sse(r: Report, out: list[str], numbers: dict[str, float]) -> None:
    s = r.sse
    assert s is not None
    both = percentiles(s.all_ms)
    fol = percentiles(s.follower_ms)
    dis = percentiles(s.dispatcher_ms)
    post = percentiles(s.post_ms)
    late = percentiles(s.late_ms)
    received = len(s.follower_ms) + len(s.dispatcher_ms)
    expected = s.expected_follower_events + s.expected_dispatcher_events
    kept_rate = s.achieved_rate >= 0.97 * s.target_rate
    out.append("")
    out.append(
        f"ping→SSE latency at {s.target_rate:,.0f} pings/s with {s.clients} SSE clients "
        f"({s.followers} following one driver each, {s.dispatchers} unfiltered dispatcher maps), "
        f"{s.window_s:g} s window"
    )
    if both:
        met = both["p99"] <= TARGET_SSE_P99_MS
        out.append(
            f"  all events      p50 {both['p50']:.1f}  p95 {both['p95']:.1f}  p99 {both['p99']:.1f}  "
            f"max {both['max']:.1f} ms   target p99 <= {TARGET_SSE_P99_MS:.0f} ms: {_ok(met)}"
            + (
                ""
                if (s.target_rate, s.clients) == (TARGET_SSE_RATE, TARGET_SSE_CLIENTS)
                else f" (the target is stated at {TARGET_SSE_RATE:,} pings/s and {TARGET_SSE_CLIENTS} clients)"
            )
        )
        for key, value in both.items():
            numbers[f"sse_{key}_ms"] = round(value, 2)
        numbers["sse_target_p99_ms"] = TARGET_SSE_P99_MS
    else:
        out.append("  no events received in the window")
    for label, values, key in (("followers", fol, "follower"), ("dispatchers", dis, "dispatcher")):
        if values:
            out.append(
                f"  {label:<15} p50 {values['p50']:.1f}  p95 {values['p95']:.1f}  p99 {values['p99']:.1f}  "
                f"max {values['max']:.1f} ms"
            )
            numbers[f"sse_{key}_p99_ms"] = round(values["p99"], 2)
    out.append(
        f"  events received {_n(received)} of ~{_n(expected)} expected ({received / expected:.0%}) "
        f"[followers {_n(len(s.follower_ms))}/{_n(s.expected_follower_events)}, "
        f"dispatchers {_n(len(s.dispatcher_ms))}/{_n(s.expected_dispatcher_events)}]"
        if expected
        else f"  events received {_n(received)}"
    )
    out.append(
        f"  clients connected {s.connected}/{s.clients}, connect failures {s.connect_failures}"
        + (f" {s.failure_statuses}" if s.failure_statuses else "")
        + f", streams ended by the server (dropped) {s.ended}"
    )
    rate_note = "kept the rate" if kept_rate else "COULD NOT keep the rate: latency is measured at the achieved rate"
    out.append(
        f"  send rate achieved {s.achieved_rate:,.0f}/s of {s.target_rate:,.0f}/s ({rate_note}); "
        f"accepted {_n(s.accepted_in_window)} of {_n(s.sent_in_window)} sent in the window; "
        f"non-202/errors (whole run) {s.gen_failed}"
        + (f"; {_n(s.gen_skipped)} sends skipped, over 1 s behind schedule" if s.gen_skipped else "")
    )
    if post:
        out.append(
            f"  POST round trip p50 {post['p50']:.1f}  p99 {post['p99']:.1f} ms; "
            f"sends behind schedule p99 {late.get('p99', 0):.1f} ms"
        )
        numbers["sse_post_p50_ms"] = round(post["p50"], 2)
        numbers["sse_post_p99_ms"] = round(post["p99"], 2)
    out.append(f"  CPU {_cpu(r.sse_cpu)}")
    numbers.update(
        sse_target_rate=s.target_rate,
        sse_send_rate=round(s.achieved_rate, 1),
        sse_rate_kept=1 if kept_rate else 0,
        sse_clients=s.clients,
        sse_dispatchers=s.dispatchers,
        sse_connected=s.connected,
        sse_connect_failures=s.connect_failures,
        sse_streams_ended=s.ended,
        sse_sends_skipped=s.gen_skipped,
        sse_events=received,
        sse_expected_events=round(expected),
        sse_window_s=s.window_s,
    )
    for group, used in r.sse_cpu.items():
        numbers[f"sse_cpu_{group}"] = round(used, 2)
