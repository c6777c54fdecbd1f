"""The rides phases' part of the bench table and of its JSON line."""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from hexfleet.devtools.bench.rides_load import DeskResult, DispatchResult, OfferResult, QuoteResult
from hexfleet.devtools.bench.sse import percentiles

TARGET_QUOTE_P99_MS = 20.0
TARGET_QUOTE_RATE = 200.0
TARGET_OFFER_P99_MS = 300.0
TARGET_DISPATCH_PER_S = 200.0
RIDES_STACK = ("web", "tracker", "worker", "tansu", "postgres", "redis", "irq")


# Where a booking's time to its offer goes, from the client's clock and PostgreSQL's
# (one machine, one clock): key → what the step covers.
SEGMENTS = {
    "request": "POST start → booking row (HTTP, auth, validation)",
    "dispatch": "booking row → offer decided (answer, background task, driver search)",
    "outbox": "offer decided → on the broker (commit, NOTIFY, relay read, produce + ack)",
    "fanout": "acked → on the staff stream (web consumer fetch, hub, SSE)",
}


def offer_segments(
    timeline: list[tuple[int, float, float]], times: dict[int, tuple[float, float, float | None]]
) -> dict[str, list[float]]:
    """Per booking: the milliseconds of each SEGMENTS step. The relay marks an event
    published just after the ack, so 'fanout' can come out a little short (even negative)."""
    out: dict[str, list[float]] = {key: [] for key in SEGMENTS}
    for booking_id, started, seen in timeline:
        created, offered, published = times.get(booking_id, (0.0, 0.0, None))
        if published is None:
            continue
        for key, (a, b) in (
            ("request", (started, created)),
            ("dispatch", (created, offered)),
            ("outbox", (offered, published)),
            ("fanout", (published, seen)),
        ):
            out[key].append((b - a) * 1000)
    return out


@dataclass
class RidesReport:
    drivers_per_area: int
    customers: int
    geometry: str
    quotes: QuoteResult | None = None
    quotes_cpu: dict[str, float] = field(default_factory=dict)
    offers: OfferResult | None = None
    offers_cpu: dict[str, float] = field(default_factory=dict)
    offers_db: dict[str, float] = field(default_factory=dict)
    dispatch: DispatchResult | None = None
    dispatch_cpu: dict[str, float] = field(default_factory=dict)
    dispatch_db: dict[str, float] = field(default_factory=dict)
    offer_segments: dict[str, list[float]] = field(default_factory=dict)  # SEGMENTS key → ms per booking


def as_array(raw: bytes) -> array:
    values = array("d")
    values.frombytes(raw)
    return values


def load_percentiles(raw: bytes) -> dict[str, float]:
    return percentiles(as_array(raw))


def _ok(passed: bool) -> str:
    return "yes" if passed else "NO"


def _failures(statuses: dict[int, int], errors: dict[str, int]) -> dict:
    return {k: v for k, v in statuses.items() if k != 201} | errors


def _pcts(p: dict[str, float]) -> str:
    if not p:
        return "no samples"
    return f"p50 {p['p50']:.1f}  p95 {p['p95']:.1f}  p99 {p['p99']:.1f}  max {p['max']:.1f} ms"


def _put(numbers: dict[str, float], prefix: str, p: dict[str, float]) -> None:
    for key, value in p.items():
        numbers[f"{prefix}_{key}_ms"] = round(value, 2)


def _cpu_numbers(numbers: dict[str, float], prefix: str, cpu: dict[str, float], per_s: float, unit: str) -> str:
    """CPU per group into the numbers; returns the 'us per <unit>' text for the table."""
    for group, used in cpu.items():
        numbers[f"{prefix}_cpu_{group}"] = round(used, 2)
    if per_s <= 0 or not cpu:
        return ""
    web_us = cpu.get("web", 0.0) * 1e6 / per_s
    stack_us = sum(cpu.get(g, 0.0) for g in RIDES_STACK) * 1e6 / per_s
    numbers[f"{prefix}_web_us_per_{unit}"] = round(web_us, 1)
    numbers[f"{prefix}_stack_us_per_{unit}"] = round(stack_us, 1)
    return f"CPU per {unit}: web {web_us:,.0f} us, whole stack {stack_us:,.0f} us ({', '.join(RIDES_STACK)})"


def _desk(d: DeskResult, prefix: str, numbers: dict[str, float]) -> str:
    accept = percentiles(as_array(d.accept_ms))
    accepted = d.accept_statuses.get(200, 0)
    others = {k: v for k, v in d.accept_statuses.items() if k != 200} | d.accept_errors
    numbers[f"{prefix}_accepts_ok"] = accepted
    numbers[f"{prefix}_accepts_failed"] = sum(others.values())
    numbers[f"{prefix}_stream_ended"] = d.stream_ended
    if accept:
        numbers[f"{prefix}_accept_p99_ms"] = round(accept["p99"], 2)
    return (
        f"accept-bot: {accepted:,} accepted"
        + (f", failed {others}" if others else "")
        + (f", round trip p50 {accept['p50']:.1f} p99 {accept['p99']:.1f} ms" if accept else "")
        + f"; staff stream: {d.stream_events:,} events, ended by the server {d.stream_ended}"
        + (f", connect failures {d.stream_failures}" if d.stream_failures else "")
    )


def render(r: RidesReport, out: list[str], numbers: dict[str, float], cpu_line: Callable[[dict], str]) -> None:
    out.append("")
    out.append(
        f"rides: {r.drivers_per_area:,} available drivers per city (fixes written as the tracker does; "
        f"{r.geometry}), {r.customers} customers, arq worker running; latencies measured by the client"
    )
    numbers["rides_drivers_per_city"] = r.drivers_per_area
    numbers["rides_customers"] = r.customers
    if r.quotes is not None:
        _quotes(r, out, numbers, cpu_line)
    if r.offers is not None:
        _offers(r, out, numbers, cpu_line)
    if r.dispatch is not None:
        _dispatch(r, out, numbers, cpu_line)


def _quotes(r: RidesReport, out: list[str], numbers: dict[str, float], cpu_line) -> None:
    q = r.quotes
    assert q is not None
    p = load_percentiles(q.latency_ms)
    late = load_percentiles(q.late_ms)
    kept = q.achieved_rate >= 0.97 * q.rate
    met = bool(p) and p["p99"] <= TARGET_QUOTE_P99_MS and kept
    failures = _failures(q.statuses, q.errors)
    failed = sum(failures.values())
    out.append(
        f"  quotes at {q.rate:g}/s, {q.window_s:g} s window: {_pcts(p)}   "
        f"target p99 <= {TARGET_QUOTE_P99_MS:g} ms at {TARGET_QUOTE_RATE:g}/s: {_ok(met)}"
    )
    out.append(
        f"    achieved {q.achieved_rate:,.1f} quotes/s ({'kept the rate' if kept else 'COULD NOT keep the rate'}), "
        f"{q.ok_in_window:,} of {q.sent_in_window:,} answered 201, failures (whole run) {failed}"
        + (f" {failures}" if failed else "")
        + f"; sends late p99 {late.get('p99', 0):.1f} ms, at most {q.max_in_flight} in flight"
    )
    per_unit = _cpu_numbers(numbers, "rides_quote", r.quotes_cpu, q.achieved_rate, "quote")
    out.append(f"    CPU {cpu_line(r.quotes_cpu)}" + (f"; {per_unit}" if per_unit else ""))
    _put(numbers, "rides_quote", p)
    numbers.update(
        rides_quote_target_p99_ms=TARGET_QUOTE_P99_MS,
        rides_quote_target_rate=TARGET_QUOTE_RATE,
        rides_quote_rate=q.rate,
        rides_quote_achieved_rate=round(q.achieved_rate, 1),
        rides_quote_failed=failed,
        rides_quote_met=1 if met else 0,
        rides_quote_late_p99_ms=round(late.get("p99", 0.0), 2),
    )


def _offers(r: RidesReport, out: list[str], numbers: dict[str, float], cpu_line) -> None:
    o = r.offers
    assert o is not None
    p = load_percentiles(o.offer_ms)
    post = load_percentiles(o.post_ms)
    missing = o.booked_in_window - o.offered_in_window
    failures = _failures(o.statuses, o.errors)
    failed = sum(failures.values())
    met = bool(p) and p["p99"] <= TARGET_OFFER_P99_MS and missing == 0
    out.append(
        f"  booking→offer at {o.rate:g} bookings/s, {o.window_s:g} s window: {_pcts(p)}   "
        f"target p99 <= {TARGET_OFFER_P99_MS:g} ms: {_ok(met)}"
    )
    out.append(
        f"    (POST /bookings start → 'offered' on the staff stream: dispatch, PostgreSQL, outbox relay, Kafka, "
        f"web fan-out) {o.offered_in_window:,} of {o.booked_in_window:,} bookings in the window offered"
        + (f" ({missing} NEVER)" if missing else "")
        + f", {o.assigned_in_window:,} assigned; booking POST p50 {post.get('p50', math.nan):.1f} "
        f"p99 {post.get('p99', math.nan):.1f} ms; failures {failed}" + (f" {failures}" if failed else "")
    )
    for key, label in SEGMENTS.items():
        seg = percentiles(array("d", r.offer_segments.get(key, [])))
        if seg:
            out.append(f"      {label:<75} p50 {seg['p50']:7.1f}  p99 {seg['p99']:7.1f} ms")
            numbers[f"rides_offer_{key}_p50_ms"] = round(seg["p50"], 2)
            numbers[f"rides_offer_{key}_p99_ms"] = round(seg["p99"], 2)
    out.append(f"    {_desk(o.desk, 'rides_offer', numbers)}")
    per_unit = _cpu_numbers(numbers, "rides_offer", r.offers_cpu, o.achieved_rate, "booking")
    out.append(f"    CPU {cpu_line(r.offers_cpu)}" + (f"; {per_unit}" if per_unit else ""))
    _put(numbers, "rides_offer", p)
    numbers.update(
        rides_offer_target_p99_ms=TARGET_OFFER_P99_MS,
        rides_offer_rate=o.rate,
        rides_offer_achieved_rate=round(o.achieved_rate, 1),
        rides_offer_bookings=o.booked_in_window,
        rides_offer_missing=missing,
        rides_offer_failed=failed,
        rides_offer_met=1 if met else 0,
        rides_offer_post_p99_ms=round(post.get("p99", 0.0), 2),
    )


def _dispatch(r: RidesReport, out: list[str], numbers: dict[str, float], cpu_line) -> None:
    d = r.dispatch
    assert d is not None
    assigned_s = sorted(as_array(d.assigned_s))
    assigned = len(assigned_s)
    last = assigned_s[-1] if assigned_s else 0.0
    per_s = assigned / last if last else 0.0
    steady = 0.0
    if assigned >= 20:
        lo, hi = assigned // 10, assigned * 9 // 10
        span = assigned_s[hi] - assigned_s[lo]
        steady = (hi - lo) / span if span > 0 else 0.0
    db = r.dispatch_db
    db_span = db.get("last_assigned_at", 0.0) - d.start_epoch
    db_assigned = db.get("status_assigned", 0)
    db_per_s = db_assigned / db_span if db_span > 0 else 0.0
    no_driver = d.outcomes.get("no_driver", 0)
    still_open = d.outcomes.get("open", 0)
    met = per_s >= TARGET_DISPATCH_PER_S
    post = load_percentiles(d.post_ms)
    offer = load_percentiles(d.offer_ms)
    failures = _failures(d.statuses, d.errors)
    failed = sum(failures.values())
    out.append(
        f"  dispatch throughput: {per_s:,.1f} bookings assigned/s ({assigned:,} in {last:.2f} s from the first "
        f"POST)   target >= {TARGET_DISPATCH_PER_S:g}/s: {_ok(met)}"
    )
    created_per_s = d.created / max(d.post_s, 1e-9)
    out.append(
        f"    {d.created:,} of {d.bookings:,} bookings created in {d.post_s:.2f} s ({created_per_s:,.1f}/s over "
        f"{d.connections} connections, POST p50 {post.get('p50', math.nan):.1f} p99 "
        f"{post.get('p99', math.nan):.1f} ms, failures {failed}{f' {failures}' if failed else ''}); "
        f"outcomes: assigned {assigned:,}, no_driver {no_driver:,}, still open {still_open:,}"
        + (" (deadline reached)" if d.timed_out else "")
        + (f"; {d.abandoned} not sent (too slow to finish in time)" if d.abandoned else "")
    )
    statuses = ", ".join(f"{k[7:]} {v:,.0f}" for k, v in sorted(db.items()) if k.startswith("status_"))
    out.append(
        f"    steady (10%–90% of assignments) {steady:,.1f}/s; PostgreSQL: {statuses}, {db.get('offers', 0):,.0f} "
        f"offers made, {db_per_s:,.1f} assigned/s by assigned_at; booking→offer under this load {_pcts(offer)}"
    )
    out.append(f"    {_desk(d.desk, 'rides_dispatch', numbers)}")
    per_unit = _cpu_numbers(numbers, "rides_dispatch", r.dispatch_cpu, assigned / max(d.finished_s, 1e-9), "booking")
    out.append(f"    CPU {cpu_line(r.dispatch_cpu)}" + (f"; {per_unit}" if per_unit else ""))
    _put(numbers, "rides_dispatch_offer", offer)
    numbers.update(
        rides_dispatch_assigned_per_s=round(per_s, 1),
        rides_dispatch_target_per_s=TARGET_DISPATCH_PER_S,
        rides_dispatch_steady_per_s=round(steady, 1),
        rides_dispatch_db_assigned_per_s=round(db_per_s, 1),
        rides_dispatch_bookings=d.bookings,
        rides_dispatch_created=d.created,
        rides_dispatch_created_per_s=round(created_per_s, 1),
        rides_dispatch_assigned=assigned,
        rides_dispatch_no_driver=no_driver,
        rides_dispatch_open=still_open,
        rides_dispatch_failed=failed,
        rides_dispatch_met=1 if met else 0,
        rides_dispatch_post_p99_ms=round(post.get("p99", 0.0), 2),
        rides_dispatch_offers=db.get("offers", 0),
    )
    for key, value in db.items():
        if key.startswith("status_"):
            numbers[f"rides_dispatch_db_{key}"] = value
